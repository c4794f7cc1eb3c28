use clap::Parser;

fn main() {
    let cli = eidconf::cli::Cli::parse();
    std::process::exit(eidconf::cli::main(cli));
}
