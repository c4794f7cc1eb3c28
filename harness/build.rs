//! Embeds the default corpus (vectors, keys, suites) in the `eidconf` binary, so a binary moved
//! out of the checkout, or installed with `cargo install`, still has it. Only `src/main.rs`
//! includes the generated list, so editing a vector rebuilds the binary, not the library.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("..");
    let mut files = Vec::new();
    for dir in ["vectors", "suites"] {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        walk(&root, &path, &mut files);
    }
    files.sort();
    git_commit(&root);
    // FNV-1a over names and contents: names the cache folder the binary writes them to.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (relative, absolute) in &files {
        let bytes = std::fs::read(absolute).unwrap_or_default();
        for b in relative.bytes().chain([0]).chain(bytes).chain([0]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut out =
        format!("eidconf::corpus::Embedded {{\n    id: \"{hash:016x}\",\n    files: &[\n");
    for (relative, absolute) in &files {
        writeln!(
            out,
            "        ({relative:?}, include_bytes!({:?}) as &[u8]),",
            absolute.display().to_string()
        )
        .expect("write to a String");
    }
    out.push_str("    ],\n}\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("corpus.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return; // Not a checkout (e.g. a packaged crate): the binary embeds nothing.
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.canonicalize().unwrap_or(path.clone());
            out.push((relative, absolute));
        }
    }
}

/// `EIDCONF_GIT_COMMIT` for the report, when built from a git checkout; rebuilt on a new commit.
fn git_commit(root: &Path) {
    let git = root.join(".git");
    let Ok(head) = std::fs::read_to_string(git.join("HEAD")) else {
        return; // Not a plain checkout (a worktree's .git is a file; a crate has none).
    };
    println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
    if let Some(r) = head.trim().strip_prefix("ref: ") {
        println!("cargo:rerun-if-changed={}", git.join(r).display());
        println!(
            "cargo:rerun-if-changed={}",
            git.join("packed-refs").display()
        );
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output();
    if let Some(out) = out.ok().filter(|o| o.status.success()) {
        let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if commit.len() == 40 {
            println!("cargo:rustc-env=EIDCONF_GIT_COMMIT={commit}");
        }
    }
}
