//! The secret layer: which values are secrets and where they occur in a text. It is a leaf:
//! it imports nothing from the project, and is built from plain values (the run's settings
//! hand it the configured credentials as strings).
//!
//! Secrets are known two ways:
//! - **by position** (`fields`, `mask`): Authorization, Cookie and Set-Cookie values, a
//!   `Location`'s query, credential fields (`Password`, `PrivateKey`, `Passphrase`,
//!   `access_token`, `client_secret`, the `Text` of a Secrets Safe secret, and every field the
//!   endpoint's documented models mark secret) and the bare body of the answers that are a
//!   credential (`GET Credentials/{id}` 200, a file download). These are masked where they
//!   stand, whatever their length, also in a body serde rejects (`lenient`).
//! - **by value** (`store`, `encodings`): configured credentials, captured `secret:` values and
//!   credential values learned from responses, in every encoding and as any fragment of
//!   [`store::FRAGMENT`] bytes, so an escaped, encoded or truncated copy is masked too.
//!
//! What uses these tools on typed values, and marks them fit to write, is `crate::seal`, one
//! layer up.
//!
//! - `store`: the secret values and where they occur in a text
//! - `encodings`: the forms a secret takes in output
//! - `fields`: which JSON fields and bodies are credentials, by the endpoint they come from
//! - `lenient`: a body that is almost JSON, read for its credential positions
//! - `mask`: the mask, header values masked by position, and previews cut after redaction

pub mod encodings;
pub mod fields;
pub mod lenient;
pub mod mask;
pub mod store;

pub use fields::{FieldPolicy, SECRETS_SAFE_FIELDS, SENSITIVE_FIELDS};
pub use mask::{MASK, SENSITIVE_HEADERS, cut, is_sensitive_header, show_header};
pub use store::{Added, Origin, SecretStore};
