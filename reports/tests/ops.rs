//! The report commands' logic: diff against a baseline, merge of shards, known failures.

#[allow(dead_code)] // shared with report.rs, which uses the rest
mod fixture;

use eidconf_report::*;
use fixture::report;

fn by_id(r: &Report) -> std::collections::BTreeMap<String, Verdict> {
    r.vectors.iter().map(|v| (v.id.clone(), v.result)).collect()
}

#[test]
fn a_diff_names_regressions_fixes_changed_reasons_and_moved_vectors() {
    let base = report();
    let mut new = report();
    assert_eq!(diff(&base, &new), Diff::default());
    assert!(diff(&base, &new).render().contains("no difference"));
    // freja.http.ok now fails; status.500 is fixed; status.503 fails for another reason.
    for v in &mut new.vectors {
        match v.id.as_str() {
            "freja.http.ok" => {
                v.result = Verdict::Fail;
                v.failure = Some(Failure {
                    kind: FailureKind::WrongVerdict,
                    message: "now broken".into(),
                });
            }
            "freja.http.status.500" => {
                v.result = Verdict::Pass;
                v.failure = None;
            }
            "freja.http.status.503" => {
                v.failure.as_mut().unwrap().message = "another message".into();
            }
            _ => {}
        }
    }
    let removed = new.vectors.pop().unwrap().id;
    let d = diff(&base, &new);
    assert_eq!(d.new_failures, ["freja.http.ok"]);
    assert_eq!(d.fixed, ["freja.http.status.500"]);
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].0, "freja.http.status.503");
    assert_eq!(d.removed, [removed]);
    assert!(d.regressed());
    assert!(d.render().contains("new failures (1):\n  freja.http.ok"));
    // Fixing things alone is no regression.
    let mut fixed_only = report();
    for v in &mut fixed_only.vectors {
        if v.id == "freja.http.status.500" {
            v.result = Verdict::Pass;
            v.failure = None;
        }
    }
    let d = diff(&base, &fixed_only);
    assert_eq!(d.fixed, ["freja.http.status.500"]);
    assert!(!d.regressed());
}

#[test]
fn shards_merge_into_the_unsharded_report() {
    let whole = report();
    let mut a = whole.clone();
    let mut b = whole.clone();
    a.vectors.retain(|v| v.id.len() % 2 == 0);
    b.vectors.retain(|v| v.id.len() % 2 == 1);
    a.summary = Summary::of(&a.vectors);
    b.summary = Summary::of(&b.vectors);
    a.selection.partition = Some("hash:1/2".into());
    b.selection.partition = Some("hash:2/2".into());
    let merged = merge(vec![b, a]).unwrap();
    assert_eq!(by_id(&merged), by_id(&whole));
    assert_eq!(merged.summary, whole.summary);
    assert_eq!(merged.failures_by_severity, whole.failures_by_severity);
    assert_eq!(merged.selection.partition, None);
    for r in &merged.requirements {
        let tested = whole
            .vectors
            .iter()
            .filter(|v| v.requirements.contains(&r.id));
        assert_eq!(r.counts, Summary::of(tested), "{}", r.id);
        assert_eq!(r.status, r.counts.requirement_status(), "{}", r.id);
    }
    // Reports of different runs do not merge.
    let mut other = whole.clone();
    other.vector_set_digest = "sha256:other".into();
    other.vectors.clear();
    assert!(
        merge(vec![whole.clone(), other])
            .unwrap_err()
            .contains("vector set")
    );
    assert!(
        merge(vec![whole.clone(), whole])
            .unwrap_err()
            .contains("more than one shard")
    );
}

#[test]
fn known_failures_list_every_failure_with_its_reason_as_loadable_yaml() {
    let r = report();
    let yaml = known_failures_yaml(&r);
    let failing = r
        .vectors
        .iter()
        .filter(|v| matches!(v.result, Verdict::Fail | Verdict::Error | Verdict::Xfail))
        .count();
    assert_eq!(yaml.matches("\n  - {id: ").count(), failing, "{yaml}");
    assert!(
        yaml.contains(r#"reason: "wrong_verdict: expected reject, RP accepted <b>user</b> | Åsa""#),
        "{yaml}"
    );
    let mut green = fixture::green_report();
    green.vectors.retain(|v| v.result == Verdict::Pass);
    assert!(known_failures_yaml(&green).contains("known_failures: []"));
}
