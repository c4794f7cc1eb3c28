fn main() {
    let dir = std::path::Path::new("vectors/keys");
    match eidconf::pki::generate(dir, std::env::args().any(|a| a == "--force")) {
        Ok(names) => eprintln!("generated {}", names.join(", ")),
        Err(e) => eprintln!("{e}"),
    }
}
