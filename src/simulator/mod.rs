//! The built-in Password Safe simulator: the default target of `psconform run`, and
//! `psconform serve`.
//!
//! It models the endpoints secret-retrieval integrations use, the way real servers behave (see
//! `shared/reference/password-safe-api.md`, §7 above all): Authentication and the cookie
//! session, the managed-account release flow, Secrets Safe, and read-only BeyondInsight lookups.
//! Server conditions a client must cope with are [`SimState`]s; deliberate deviations that a
//! conformance run must catch are [`Fault`]s; [`Profile`]s model documented differences between
//! releases and [`DataVariant`]s the documented variety of the data.
//!
//! - `config`: [`SimConfig`], [`SimState`], [`generate_missing`]
//! - `fault`, `profile`, `data`: [`Fault`], [`Profile`] and [`DataVariant`] names
//! - `app`: the shared state of a running simulator
//! - `routes`: the route table and dispatch; `call` and `reply`: what handlers read and write
//! - one module per API area: `auth`, `managed` (accounts and systems), `requests` (requests,
//!   credentials, check-in), `secrets_safe`, `lookups` (workgroups, assets, users, groups)
//! - `psauth`: the `Authorization` header parser; `store`: bounded, expiring sessions and tokens
//! - `tls`, `server` ([`Simulator`], [`Listen`], [`SimError`]), `serve` ([`ServeArgs`], [`serve`])

mod app;
mod auth;
mod call;
mod config;
mod data;
mod fault;
mod lookups;
mod managed;
mod profile;
mod psauth;
mod reply;
mod requests;
mod resources;
mod routes;
mod secrets_safe;
mod serve;
mod server;
mod store;
mod tls;

pub use config::{
    APPROVAL_POLLS, DEFAULT_IDLE_TIMEOUT, DEFAULT_TOKEN_LIFETIME, DEMO_ACCOUNT, DEMO_RUNAS, DEMO_SECRET,
    SHORT_IDLE_TIMEOUT, SHORT_TOKEN_LIFETIME, SimConfig, SimState, generate_missing,
};
pub use data::DataVariant;
pub use fault::Fault;
pub use profile::Profile;
pub use serve::{EXIT_BIND, EXIT_USAGE, ServeArgs, serve};
pub use server::{Listen, SimError, Simulator};
