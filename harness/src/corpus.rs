//! The corpus a binary carries: the vector files, the TEST-ONLY keys and the suites it was built
//! with (`build.rs` embeds them). The loaders read folders, so the first use writes the files out
//! once to a cache folder named by their digest; later runs only find it there.

use std::io;
use std::path::{Path, PathBuf};

/// Files embedded at build time, paths relative to the corpus root (`vectors/…`, `suites/…`).
pub struct Embedded {
    /// A digest of the names and contents (FNV-1a, 64 bits, hex): names the cache folder.
    pub id: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
}

impl Embedded {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The folder holding these files, written on first use. Tries `$XDG_CACHE_HOME/eidconf`,
    /// `~/.cache/eidconf`, then the temporary folder; concurrent first uses are safe (each writes
    /// its own folder and renames it into place).
    pub fn root(&self) -> Result<PathBuf, String> {
        let name = format!("corpus-{}-{}", env!("CARGO_PKG_VERSION"), self.id);
        let mut tried = Vec::new();
        for base in cache_bases() {
            let dir = base.join(&name);
            if dir.join(COMPLETE).is_file() {
                return Ok(dir);
            }
            match self.write_atomically(&base, &dir) {
                Ok(()) => return Ok(dir),
                Err(e) => tried.push(format!("{}: {e}", base.display())),
            }
        }
        Err(format!(
            "cannot write the built-in corpus to a cache folder ({}); pass --corpus DIR (see `eidconf corpus export`)",
            tried.join("; ")
        ))
    }

    fn write_atomically(&self, base: &Path, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(base)?;
        let staging = base.join(format!(
            ".{}.{}",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&staging);
        self.write_to(&staging)?;
        std::fs::write(staging.join(COMPLETE), self.id)?;
        match std::fs::rename(&staging, dir) {
            Ok(()) => Ok(()),
            // Another process won the race: its copy is the same.
            Err(_) if dir.join(COMPLETE).is_file() => {
                let _ = std::fs::remove_dir_all(&staging);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    fn write_to(&self, dir: &Path) -> io::Result<()> {
        for (name, bytes) in self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)?;
        }
        Ok(())
    }

    /// `eidconf corpus export DIR`: write the corpus out to extend it. Refuses a folder that
    /// already holds vectors/ or suites/ unless `force`, and then overwrites only these files.
    pub fn export(&self, dir: &Path, force: bool) -> Result<usize, String> {
        if self.is_empty() {
            return Err("this eidconf was built without a corpus".into());
        }
        if !force && (dir.join("vectors").exists() || dir.join("suites").exists()) {
            return Err(format!(
                "{} already holds vectors/ or suites/; pass --force to overwrite the built-in files there",
                dir.display()
            ));
        }
        self.write_to(dir)
            .map_err(|e| format!("cannot write to {}: {e}", dir.display()))?;
        Ok(self.files.len())
    }
}

/// Written last: a cache folder without it is incomplete.
const COMPLETE: &str = ".eidconf-corpus-complete";

/// Where eidconf keeps what it can rebuild: the built-in corpus, parsed corpora.
pub(crate) fn cache_bases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        out.push(PathBuf::from(x).join("eidconf"));
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        out.push(PathBuf::from(h).join(".cache/eidconf"));
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    out.push(std::env::temp_dir().join(format!("eidconf-{uid}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: &[(&str, &[u8])] = &[
        ("vectors/a.yaml", b"vectors: []\n"),
        ("suites/s.yaml", b"x: 1\n"),
    ];

    #[test]
    fn export_refuses_an_existing_corpus_without_force() {
        let e = Embedded {
            id: "t",
            files: FILES,
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(e.export(dir.path(), false), Ok(2));
        assert_eq!(
            std::fs::read(dir.path().join("suites/s.yaml")).unwrap(),
            b"x: 1\n"
        );
        assert!(e.export(dir.path(), false).unwrap_err().contains("--force"));
        assert_eq!(e.export(dir.path(), true), Ok(2));
    }
}
