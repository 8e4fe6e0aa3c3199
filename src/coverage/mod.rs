//! What the suite covers of the API: the catalog of documented endpoints (`catalog`) and the
//! matrix of which cases exercise each one, which statuses they assert, and which statuses a
//! run observed (`matrix`).
//!
//! Password Safe publishes no OpenAPI document, so the catalog is derived from the official
//! Python client library and the project's reference (`catalog/endpoints.yaml`, see its
//! README); it is compiled into the binary.

pub mod catalog;
pub mod matrix;

pub use catalog::{Catalog, Endpoint};
pub use matrix::{Coverage, EndpointCoverage, requests};
