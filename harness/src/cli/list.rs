//! `eidconf list`: the vectors a run would hold.

use std::io::Write;

use clap::{Args, ValueEnum};
use eidconf::Inputs;
use eidconf::vector::Diagnostics;
use eidconf_report::exit;

use super::{SelectArgs, bad_input, selection};

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// `text`: one id per line; `json`: one `{"id", "operation"}` object per line (what the
    /// adapter crate's `harness!` reads), then one `{"input_error", "message"}` per file or
    /// vector that does not load (exit 2).
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

pub(super) fn cmd_list(args: ListArgs) -> i32 {
    let root = match args.select.corpus.root() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // JSON lists what loads and names each input error, so a harness can fail those alone.
    let (suites, corpus, errors) = match Inputs::load(&root) {
        Ok(i) if i.errors.is_empty() || matches!(args.format, ListFormat::Json) => {
            (i.suites, i.corpus, i.errors)
        }
        Ok(i) => return bad_input(Diagnostics(i.errors)),
        Err(e) => return bad_input(e),
    };
    let sel = selection(&args.select);
    match sel.apply(&corpus.vectors, &suites) {
        Ok(vs) => {
            let mut out = std::io::stdout().lock();
            for v in vs {
                let _ = match args.format {
                    ListFormat::Text => writeln!(out, "{}", v.id()),
                    ListFormat::Json => writeln!(
                        out,
                        "{}",
                        serde_json::json!({"id": v.id(), "operation": v.spec.operation.name()})
                    ),
                };
            }
            for d in &errors {
                let line = serde_json::json!({"input_error": d.location.to_string(), "message": d.to_string()});
                let _ = writeln!(out, "{line}");
            }
            if errors.is_empty() {
                exit::SUCCESS
            } else {
                drop(out);
                bad_input(Diagnostics(errors))
            }
        }
        Err(e) => bad_input(format!("error: {e}\n")),
    }
}
