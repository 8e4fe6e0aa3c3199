//! Case files: the format (`spec`), finding and parsing them (`load`), checking them before
//! anything is sent (`validate`), and reporting what is wrong (`diagnostic`).
//!
//! Nothing here touches the network, tokio or reqwest: `validate` and `list` are pure.

pub mod diagnostic;
pub mod load;
pub mod schema;
pub mod spec;
pub mod validate;

pub use diagnostic::Diagnostic;
pub use load::CaseFile;
pub use validate::{Case, Suite, load_suite};
