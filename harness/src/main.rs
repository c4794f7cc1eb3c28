//! The `eidconf` binary: a thin command line over the library.

mod cli;

use clap::Parser;

/// Counts heap use per thread, so the in-process RP's memory per vector is measured.
#[global_allocator]
static ALLOC: eidconf::meter::CountingAlloc = eidconf::meter::CountingAlloc;

fn main() {
    let cli = cli::Cli::parse();
    std::process::exit(cli::main(cli));
}

/// The default corpus, embedded at build time (see build.rs).
static CORPUS: eidconf::corpus::Embedded = include!(concat!(env!("OUT_DIR"), "/corpus.rs"));
