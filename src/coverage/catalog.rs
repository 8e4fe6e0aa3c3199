//! The catalog moved to `crate::catalog`; this keeps the old path working.

pub use crate::catalog::Catalog;
pub use crate::catalog::endpoints::{CATALOG, Endpoint, key};
