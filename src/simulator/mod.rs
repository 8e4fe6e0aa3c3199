//! The built-in Password Safe simulator: the default target of `psconform run`, and
//! `psconform serve`.
//!
//! It models the Authentication endpoints the way real servers behave (see
//! `shared/reference/password-safe-api.md` §1 and §7): `Auth/SignAppin` with `PS-Auth` or
//! `Bearer`, the `ASP.NET_SessionId` cookie session with an idle timeout, `Auth/Signout`,
//! `Auth/Connect/Token`, and the session-only `Configuration/Version`. Server conditions a client
//! must cope with are [`SimState`]; deliberate deviations that a conformance run must catch are
//! [`Fault`]s.
//!
//! - `config`: [`SimConfig`], [`SimState`], [`generate_missing`]
//! - `fault`: [`Fault`] names and descriptions
//! - `psauth`: the `Authorization` header parser
//! - `store`: bounded, expiring session and token maps
//! - `routes`: path normalisation, routing and every handler
//! - `tls`: self-signed or file-based TLS configuration
//! - `server`: [`Simulator`] start/stop, [`Listen`], [`SimError`]
//! - `serve`: the `psconform serve` subcommand ([`ServeArgs`], [`serve`])

mod config;
mod fault;
mod profile;
mod psauth;
mod routes;
mod secrets;
mod serve;
mod server;
mod store;
mod tls;

pub use config::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_TOKEN_LIFETIME, DEMO_ACCOUNT, DEMO_RUNAS, DEMO_SECRET, SHORT_IDLE_TIMEOUT,
    SHORT_TOKEN_LIFETIME, SimConfig, SimState, generate_missing,
};
pub use fault::Fault;
pub use profile::Profile;
pub use serve::{EXIT_BIND, EXIT_USAGE, ServeArgs, serve};
pub use server::{Listen, SimError, Simulator};
