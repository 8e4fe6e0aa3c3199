//! Case files as written: the format (`spec`), the table of every check it can write
//! (`matchers`), finding and parsing them (`load`), what is wrong with them (`diagnostic`),
//! and the JSON Schema editors use (`schema`). `plan::compile`
//! turns them into what runs.
//!
//! Nothing here touches the network, tokio or reqwest.

pub mod diagnostic;
pub mod load;
pub mod matchers;
pub mod schema;
pub mod spec;

pub use diagnostic::Diagnostic;
pub use load::CaseFile;
