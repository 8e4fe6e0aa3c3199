//! Response shapes and the contracts made of them.
//!
//! - `infer`: the shape of a response (kinds, nullability, optional fields, maps, format
//!   hints), streamed from the body, and the merge of shapes
//! - `text`: the one-line-per-fact text form, rendered and parsed back
//! - `compare`: a response against a contract, and one contract against another
//! - `contract`: one contract per endpoint response, its key, its file, the run's observations
//! - `drift`: what changed between two contract sets
//! - `update`: what a run writes of what it observed (record, update, pending, drift report)
//!
//! Everything here is a pure function of its inputs, apart from reading and writing contract
//! files in `contract`. No value ever enters a shape, so a contract of a credential response is
//! safe to commit.

pub mod compare;
pub mod contract;
pub mod drift;
pub mod infer;
pub mod text;
pub mod update;

pub use compare::{Change, MAX_CHANGES, Mode, Severity, compare};
pub use contract::{Contract, ContractError, ContractKey, ContractSet, Observed, Verdict, VerdictStatus};
pub use infer::{BodyShape, Field, Node, ResponseShape, StringFormat};
pub use text::ShapeParseError;
