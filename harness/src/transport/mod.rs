//! How eidconf reaches an RP: one call under the vector's budget (`call`), in process or
//! through a driver, `stdio` (one persistent driver speaking `adapter/PROTOCOL.md`) or `exec` (a
//! driver per vector); and the deliberately useless built-in RPs that prove the harness can fail
//! an RP.

mod builtin;
mod call;
pub mod exec;
pub mod stdio;

pub use builtin::{AlwaysAccept, AlwaysReject};
pub use call::{AdapterFailure, BudgetedCaller, Caller};
pub use exec::ExecRp;
pub use stdio::StdioRp;
