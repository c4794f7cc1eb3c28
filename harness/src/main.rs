//! The `eidconf` binary: a thin command line over the library.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    std::process::exit(cli::main(cli));
}
