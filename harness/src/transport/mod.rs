//! How eidconf reaches an RP that is not in its own process: `stdio` (one persistent driver
//! speaking `adapter/PROTOCOL.md`) and `exec` (a driver per vector); and the deliberately useless
//! built-in RPs that prove the harness can fail an RP.

mod builtin;
pub mod exec;
pub mod stdio;

pub use builtin::{AlwaysAccept, AlwaysReject};
pub use exec::ExecRp;
pub use stdio::StdioRp;
