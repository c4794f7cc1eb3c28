//! Bounded fuzzing in `cargo test`: what a hostile user or a broken driver can hand eidconf
//! (vector files, driver replies, text that reaches a report) never panics, and what must hold
//! holds. The CSR and certificate parsers are fuzzed in `dn_csr.rs`.

use std::path::Path;

use eidconf::adapter::protocol::{ParsedLine, parse_reply};
use eidconf::pki::Pki;
use eidconf::run::redact::{REDACTED_KEY, redact_text};
use eidconf::vector::load::parse_file_lenient;
use proptest::prelude::*;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A few real vector files of different shapes (matrices, flow lists, recipes).
fn seeds() -> Vec<String> {
    [
        "vectors/freja/status/final.yaml",
        "vectors/freja/jws/structure.yaml",
        "vectors/freja/custom-identifier/custom-identifier.yaml",
        "vectors/ftn/jwe/integrity.yaml",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(repo().join(p)).expect("seed file"))
    .collect()
}

fn pki() -> Pki {
    Pki::load(&repo().join("vectors/keys")).expect("the test PKI loads")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Byte edits, cuts and line-break forms of real files: every problem is a located
    /// diagnostic, never a panic, and every diagnostic points inside the file.
    #[test]
    fn mutated_vector_files_load_or_fail_located(
        seed in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        breaks in 0u8..3,
    ) {
        let mut bytes = seeds()[seed].clone().into_bytes();
        for (i, b) in edits {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len() + 1));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let text = match breaks {
            0 => text,
            1 => text.replace('\n', "\r\n"),
            _ => text.replace('\n', "\r"),
        };
        let lines = text.split(['\n', '\r']).count() as u64 + 1;
        let (_, errors) = parse_file_lenient(Path::new("f.yaml"), &text);
        for e in errors {
            prop_assert!(e.location.line >= 1 && e.location.line <= lines, "{e}");
        }
    }

    #[test]
    fn arbitrary_text_as_a_vector_file_never_panics(text in "(vectors:\n)?(  - |    |[a-z_]+: |\\$\\{[a-z]*\\}?|[\\[\\]{},:#&*!|>'\"\\-]|[ -~]|\r|\n){0,80}") {
        let _ = parse_file_lenient(Path::new("f.yaml"), &text);
    }

    /// Any line a driver can write is read as a reply, a located bad reply or an unattributable
    /// line; a well-formed reply keeps its id.
    #[test]
    fn driver_lines_are_always_classified(
        id in any::<u64>(),
        verdict in "(accepted|rejected|unsupported|maybe|)",
        junk in "[ -~]{0,40}",
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let line = format!(
            r#"{{"type":"outcome","id":{id},"outcome":{{"verdict":"{verdict}","reason":"transport","detail":"{junk}"}}}}"#
        );
        let mut bytes = line.clone().into_bytes();
        for (i, b) in edits.iter() {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        match parse_reply(&mutated) {
            ParsedLine::Reply { id: got, .. } | ParsedLine::BadReply { id: got, .. } if edits.is_empty() => {
                prop_assert_eq!(got, id);
            }
            _ => {}
        }
    }

    /// Text that reaches a report: redaction never panics, and a private key placed anywhere in
    /// it, armoured or not, never survives.
    #[test]
    fn a_key_anywhere_in_report_text_is_redacted(
        before in "[ -~\n]{0,60}",
        after in "[ -~\n]{0,60}",
        armoured in any::<bool>(),
    ) {
        let pki = pki();
        let key = &pki.get("rp-client").expect("rp-client").key_pem;
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        let placed = if armoured { key.clone() } else { body.clone() };
        // A separator keeps the key's Base64 from running into the text around it.
        let text = format!("{before} {placed} {after}");
        let got = redact_text(&text, &pki).unwrap_or_else(|| text.clone());
        prop_assert!(got.contains(REDACTED_KEY));
        prop_assert!(!got.contains(&body[20..80]));
        let _ = redact_text(&format!("{before}{after}"), &pki);
    }
}
