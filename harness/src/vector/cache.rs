//! Parsed corpora kept between runs. Parsing YAML is nearly all of a load, and a corpus rarely
//! changes from one run to the next (a nextest run lists it once per test binary, a CI job runs it
//! several times). Kept as JSON in the cache folder of the built-in corpus, named by a key over:
//! - this executable (path, size, modification time): another build may read vectors otherwise;
//! - every vector file's path and bytes, and the keys manifest.
//!
//! Only a load without errors is kept, so every diagnostic comes from a real parse (a cached
//! vector no longer knows the line of each key name it uses: with the same manifest, none is
//! unknown). Only one that reads back as parsed is kept, so a value JSON cannot carry (a NaN)
//! costs a parse, never a changed vector.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::load::Vector;

/// Parsed corpora kept; the oldest go first.
const KEEP: usize = 8;

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    vectors: Vec<Vector>,
}

/// The key of these files (display path and text) and keys manifest as this executable reads
/// them; `None` when the executable cannot be identified.
pub(super) fn key(files: &[(PathBuf, String)], manifest: &[u8]) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let built = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update([0]);
    h.update(exe.to_string_lossy().as_bytes());
    h.update([0]);
    h.update(meta.len().to_be_bytes());
    h.update(built.as_nanos().to_be_bytes());
    h.update((manifest.len() as u64).to_be_bytes());
    h.update(manifest);
    for (name, text) in files {
        h.update(name.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((text.len() as u64).to_be_bytes());
        h.update(text.as_bytes());
    }
    Some(hex::encode(h.finalize()))
}

/// The vectors kept under `key`, if any.
pub(super) fn read(key: &str) -> Option<Vec<Vector>> {
    crate::corpus::cache_bases().into_iter().find_map(|base| {
        let bytes = std::fs::read(path(&base, key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == key).then_some(entry.vectors)
    })
}

/// Keep `vectors` under `key` if they read back as they are. Failing to write costs the next run
/// a parse, nothing else.
pub(super) fn write(key: &str, vectors: &[Vector]) {
    let entry = Entry {
        key: key.to_owned(),
        vectors: vectors.to_vec(),
    };
    let Ok(bytes) = serde_json::to_vec(&entry) else {
        return;
    };
    let Ok(back) = serde_json::from_slice::<Entry>(&bytes) else {
        return;
    };
    let same = back.vectors.len() == vectors.len()
        && back
            .vectors
            .into_iter()
            .zip(vectors)
            .all(|(b, v)| format!("{b:?}") == format!("{v:?}"));
    if !same {
        return;
    }
    for base in crate::corpus::cache_bases() {
        if store(&base, key, &bytes).is_ok() {
            prune(&base.join(DIR));
            return;
        }
    }
}

const DIR: &str = "parsed";

fn path(base: &Path, key: &str) -> PathBuf {
    base.join(DIR).join(format!("{key}.json"))
}

/// Write beside and rename: a concurrent reader sees the whole file or none.
fn store(base: &Path, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = base.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let staging = dir.join(format!(".{key}.{}", std::process::id()));
    std::fs::write(&staging, bytes)?;
    std::fs::rename(&staging, path(base, key)).inspect_err(|_| {
        let _ = std::fs::remove_file(&staging);
    })
}

fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut kept: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    kept.sort();
    let excess = kept.len().saturating_sub(KEEP);
    for (_, p) in kept.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::Corpus;

    #[test]
    fn the_shipped_corpus_reads_back_from_the_cache_as_parsed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let files = crate::vector::load::vector_files(&root.join("vectors")).unwrap();
        let (parsed, errors) = Corpus::parse_files_lenient(&root, &files);
        assert!(errors.is_empty(), "{errors:?}");
        // Kept by the first load, found by the second.
        let (first, _) = Corpus::load_lenient(&root);
        let texts: Vec<(PathBuf, String)> = files
            .iter()
            .map(|f| {
                let name = f.strip_prefix(&root).unwrap().to_owned();
                (name, std::fs::read_to_string(f).unwrap())
            })
            .collect();
        let manifest = std::fs::read(root.join("vectors/keys/manifest.yaml")).unwrap();
        let cached = read(&key(&texts, &manifest).unwrap()).expect("kept by the load");
        let (second, errors) = Corpus::load_lenient(&root);
        assert!(errors.is_empty(), "{errors:?}");
        for loaded in [&first.vectors, &cached, &second.vectors] {
            assert_eq!(loaded.len(), parsed.vectors.len());
            for (c, p) in loaded.iter().zip(&parsed.vectors) {
                assert_eq!(format!("{c:?}"), format!("{p:?}"));
            }
        }
        assert_eq!(second.digest, parsed.digest);
    }

    #[test]
    fn another_file_set_or_text_is_another_key() {
        let a = vec![(PathBuf::from("vectors/a.yaml"), "vectors: []\n".to_owned())];
        let b = vec![(PathBuf::from("vectors/b.yaml"), "vectors: []\n".to_owned())];
        let c = vec![(PathBuf::from("vectors/a.yaml"), "vectors: [] \n".to_owned())];
        let keys = [key(&a, b""), key(&b, b""), key(&c, b""), key(&a, b"x")];
        assert!(keys.iter().all(Option::is_some));
        for other in &keys[1..] {
            assert_ne!(&keys[0], other);
        }
        assert_eq!(key(&a, b""), keys[0]);
    }

    #[test]
    fn a_vector_json_cannot_carry_is_not_kept() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let files = crate::vector::load::vector_files(&root.join("vectors")).unwrap();
        let (parsed, _) = Corpus::parse_files_lenient(&root, &files[..1]);
        let mut v = parsed.vectors[0].clone();
        let mut row = crate::vector::matrix::Row::new();
        row.insert("x".into(), crate::vector::MatrixValue::Float(f64::NAN));
        v.row = Some(row);
        let texts = vec![(
            PathBuf::from("nan.yaml"),
            format!("{:?}", std::time::Instant::now()),
        )];
        let key = key(&texts, b"").unwrap();
        write(&key, &[v]);
        assert!(read(&key).is_none());
    }
}
