//! The built-in Password Safe simulator: the default target of `psconform run`, and
//! `psconform serve`.
//!
//! It answers every endpoint the catalog documents (`catalog/models/*.yaml`), as its model
//! says: records of every resource in one store, served by the documented routes over them, and
//! code only for behaviour (signing in, releases and approvals, credentials, Secrets Safe values
//! and model versions, sessions). Server conditions a client must cope with are [`SimState`]s;
//! deliberate deviations that a conformance run must catch are [`Fault`]s; [`Profile`]s model
//! documented differences between releases and [`DataVariant`]s the documented variety of the
//! data. `README.md` in this folder lists what is simulated and what is not, and why.
//!
//! - `config`: [`SimConfig`], [`SimState`], [`Approver`], [`generate_missing`]
//! - `fault`, `profile`, `data`: [`Fault`], [`Profile`] and [`DataVariant`] names
//! - `app`: the shared state of a running simulator
//! - the store: `tables` (records, links, hidden parts), `fill` (values of the documented
//!   models per data variant), `seed` (the demo records)
//! - `routes`: dispatch through the catalog; `resources`: the table-driven routes;
//!   `behaviours`: the named behaviours; `call` and `reply`: what handlers read and write
//! - the behaviours, by area: `auth`, `managed` (requestable accounts, credentials),
//!   `requests` (releases, approvals), `sessions`, `secrets_safe`, `lookups`, `relations`,
//!   `admin`
//! - `psauth`: the `Authorization` header parser; `store`: bounded, expiring sessions and tokens
//! - `log`: `serve`'s request log; `tls`, `server` ([`Simulator`], [`Listen`], [`SimError`]),
//!   `serve` ([`ServeArgs`], [`serve`])

mod admin;
mod app;
mod auth;
mod behaviours;
mod call;
mod config;
mod data;
mod fault;
mod fill;
mod log;
mod lookups;
mod managed;
mod profile;
mod psauth;
mod relations;
mod reply;
mod requests;
mod resources;
mod routes;
mod secrets_safe;
mod seed;
mod serve;
mod server;
mod sessions;
mod store;
mod tables;
#[cfg(test)]
mod testing;
mod tls;
#[cfg(test)]
mod walk;

pub use config::{
    Approver, DEFAULT_IDLE_TIMEOUT, DEFAULT_TOKEN_LIFETIME, DEMO_ACCOUNT, DEMO_APPROVER, DEMO_RUNAS, DEMO_SECRET,
    SHORT_IDLE_TIMEOUT, SHORT_TOKEN_LIFETIME, SimConfig, SimState, generate_missing,
};
pub use data::DataVariant;
pub use fault::Fault;
pub use profile::Profile;
pub use serve::{EXIT_BIND, EXIT_USAGE, ServeArgs, serve};
pub use server::{Listen, Logging, SimError, Simulator};
