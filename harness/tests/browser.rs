//! The HTML report in a real browser (Debian's chromium, headless): no element is wider than a
//! printed page, and printing to PDF works. `.ci/run` installs chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new(name).arg("--version").output();
        if found.is_ok_and(|o| o.status.success()) {
            return name;
        }
    }
    panic!("no chromium: install Debian's `chromium` (.ci/run does)");
}

fn browser(args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// A failing run's report.html (long messages, hostile-looking evidence, every section).
fn failing_report(dir: &Path) -> PathBuf {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = Command::new(env!("CARGO_BIN_EXE_eidconf"))
        .args(["run", "--rp", "always-accept", "--report-dir"])
        .arg(dir)
        .args([
            "--filter",
            "freja.http.*",
            "--filter",
            "freja.jws.*",
            "--filter",
            "dn.*",
        ])
        .args([
            "--operator",
            "A. Auditor",
            "--note",
            "browser test",
            "--corpus",
        ])
        .arg(&corpus)
        .output()
        .expect("eidconf runs");
    assert_eq!(o.status.code(), Some(1), "a failing run: {o:?}");
    dir.join("report.html")
}

#[test]
fn no_element_overflows_a_page_width_and_the_report_prints_to_pdf() {
    let tmp = tempfile::tempdir().unwrap();
    let page = failing_report(tmp.path());
    let html = std::fs::read_to_string(&page).unwrap();

    // The report forbids scripts (its CSP); a copy for measuring carries one that records, in
    // the title, every element whose right edge passes the viewport.
    let probe = r#"<script>
addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const width = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + ':' + Math.round(e.getBoundingClientRect().right));
  document.title = 'OVERFLOW ' + wide.length + ' ' + document.documentElement.scrollWidth + '/' + width + ' ' + wide.slice(0, 5).join(' ');
});
</script></head>"#;
    let measured = html
        .replacen(
            "<meta http-equiv=\"Content-Security-Policy\"",
            "<meta name=\"csp-off\"",
            1,
        )
        .replacen("</head>", probe, 1);
    let copy = tmp.path().join("measure.html");
    std::fs::write(&copy, measured).unwrap();
    // 720 CSS px: an A4 page's printable width.
    let o = browser(
        &[
            "--window-size=720,1000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ],
        &copy,
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        title.starts_with("OVERFLOW 0 "),
        "elements wider than the page: {title}"
    );

    let pdf = tmp.path().join("report.pdf");
    let o = browser(
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
        &page,
    );
    let bytes = std::fs::read(&pdf).unwrap_or_else(|e| panic!("no PDF ({e}): {o:?}"));
    assert!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}
