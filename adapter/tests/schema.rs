//! The committed JSON Schema of the protocol is what the types produce.

#[test]
fn the_committed_adapter_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let fresh = format!(
        "{}\n",
        serde_json::to_string_pretty(&eidconf_adapter::protocol::schema()).unwrap()
    );
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    assert!(
        committed == fresh,
        "adapter/protocol.schema.json is stale: run `cargo run -- schema adapter > adapter/protocol.schema.json` (or UPDATE_SCHEMA=1 cargo test -p eidconf-adapter --test schema)"
    );
}
