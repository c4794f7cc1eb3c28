//! The committed `reports/schema.json` must match the model.

use std::path::Path;

#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.json");
    let mut current = serde_json::to_string_pretty(&eidconf_report::report_schema()).unwrap();
    current.push('\n');
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "{} is stale or missing; regenerate it with:\n\n    UPDATE_SCHEMA=1 cargo test -p eidconf-report --test schema\n\nand commit the result.",
        path.display()
    );
}

#[test]
fn schema_describes_the_report() {
    let schema = eidconf_report::report_schema();
    assert_eq!(schema["title"], "Report");
    let required = schema["required"].as_array().unwrap();
    for field in [
        "schema_version",
        "vectors",
        "summary",
        "known_failures_unused",
    ] {
        assert!(required.iter().any(|f| f == field), "{field} not required");
    }
    let text = schema.to_string();
    for verdict in ["pass", "fail", "skip", "error", "xfail", "xpass"] {
        assert!(text.contains(&format!("\"{verdict}\"")), "{verdict}");
    }
    assert!(text.contains("wrong_verdict") && text.contains("not_met"));
}
