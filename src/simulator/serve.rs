//! `psconform serve`: the simulator as a long-running process. Owns the command-line arguments,
//! the console output (base URL first, then the credentials in effect, the approver's last)
//! and the exit codes; never prints a credential that came from the environment. With `-v` it
//! logs every request (see `log`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use secrecy::ExposeSecret as _;

use super::config::{Approver, SimConfig, SimState, generate_missing};
use super::data::DataVariant;
use super::fault::Fault;
use super::profile::Profile;
use super::server::{Listen, Logging, Simulator};
use crate::settings::{SETTINGS, Settings};

/// What `serve --help` says about its request log.
const SERVE_LOGGING: &str = "Request log (on stderr):
  -v   one line per request: method, path and query, status, time in ms, and `unsimulated`
       for a path no documented route fits
  -vv  also the request and response headers and bodies, with credentials masked (the
       Authorization, Cookie and Set-Cookie values, every field a model marks secret, and a
       body documented as a credential)";

/// Exit code for bad arguments (unknown fault or state, unreadable certificate).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the address cannot be bound (for example, the port is in use).
pub const EXIT_BIND: u8 = 3;

/// Run the built-in Password Safe simulator until Ctrl-C.
///
/// The first line on stdout is the base URL; then one `PS_…=value` line per credential the
/// simulator accepts, the approver's (`PS_APPROVER_RUNAS`, `PS_APPROVER_PASSWORD`, signed in
/// with the same API key) last. Generated demo values are printed; values taken from the
/// environment are shown as `(from PS_…)`.
#[derive(clap::Args, Debug)]
#[command(after_help = SERVE_LOGGING)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,

    /// Serve HTTPS with a freshly generated self-signed certificate.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: bool,

    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Switch on a deliberate deviation (repeatable); see --list-faults.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,

    /// Switch on a server condition (repeatable), such as password-required or
    /// approval-required; see --list-faults.
    #[arg(long = "state", value_name = "NAME", value_parser = parse_state_name)]
    pub states: Vec<String>,

    /// The release to model where releases differ (see --list-faults).
    #[arg(long, value_name = "NAME", default_value = "24.3")]
    pub profile: Profile,

    /// Which documented shapes the data takes: standard (default), sparse or extended.
    #[arg(long, value_name = "NAME", default_value = "standard")]
    pub data: DataVariant,

    /// List the faults, states, profiles and data variants, then exit.
    #[arg(long)]
    pub list_faults: bool,
}

fn parse_state_name(name: &str) -> Result<String, String> {
    SimState::from_names(&[name]).map(|_| name.to_owned())
}

/// Runs `psconform serve` on its own tokio runtime and returns the process exit code.
pub fn serve(args: ServeArgs) -> ExitCode {
    if args.list_faults {
        print!("{}", render_lists());
        return ExitCode::SUCCESS;
    }
    let state = match SimState::from_names(&args.states) {
        Ok(state) => state,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let listen = match (args.tls, args.tls_cert, args.tls_key) {
        (_, Some(cert_pem), Some(key_pem)) => Listen::Tls { cert_pem, key_pem },
        (true, _, _) => Listen::SelfSignedTls,
        _ => Listen::Plain,
    };
    let from_env = Settings::from_env();
    let config = SimConfig {
        settings: generate_missing(from_env.clone()),
        state,
        faults: args.faults,
        profile: args.profile,
        data: args.data,
    };
    let (approver, approver_from_env) = Approver::from_lookup(|n| std::env::var(n).ok());
    let mut credentials = render_credentials(&from_env, &config.settings);
    credentials.push_str(&render_approver(&approver, approver_from_env));
    let summary = format!(
        "profile: {}; data: {}; faults: {}; states: {}",
        config.profile,
        config.data,
        list_or_none(config.faults.iter().map(|f| f.name())),
        list_or_none(args.states.iter().map(String::as_str)),
    );

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let simulator = match Simulator::start_with(config, approver, args.listen, listen, Logging::Requests).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(if e.is_bind() { EXIT_BIND } else { EXIT_USAGE });
            }
        };
        // The handlers are in place before the URL is printed: a script that reads the URL and
        // sends SIGTERM at once must get a clean stop, not the default signal death.
        let shutdown = shutdown_signal();
        // Scripts read the URL from the first line, so it goes out (and is flushed) first.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", simulator.base_url());
        let _ = write!(out, "{credentials}");
        let _ = out.flush();
        drop(out);
        eprintln!("psconform simulator listening ({summary}); Ctrl-C stops it");

        shutdown.await;
        simulator.stop().await;
        eprintln!("psconform simulator stopped");
        ExitCode::SUCCESS
    })
}

/// Installs the handlers at once and returns a future that resolves on Ctrl-C, or on SIGTERM
/// where there is one (a plain `kill PID` is a clean stop).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).ok().zip(signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = handlers {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        ctrl_c_only().await;
    }
}

async fn ctrl_c_only() {
    // Without a signal handler there is nothing to wait for but Ctrl-C; if even that cannot
    // be installed, the process only ends when killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One `PS_…=value` line per credential; environment values are never shown.
fn render_credentials(from_env: &Settings, effective: &Settings) -> String {
    let mut text = String::new();
    for info in SETTINGS {
        let shown = if from_env.get(info.var).is_some() {
            format!("(from {})", info.env)
        } else {
            effective.get(info.var).unwrap_or_default().to_owned()
        };
        text.push_str(&format!("{}={shown}\n", info.env));
    }
    text
}

/// The approver's two lines; values from the environment are never shown.
fn render_approver(approver: &Approver, from_env: [bool; 2]) -> String {
    let runas = if from_env[0] { "(from PS_APPROVER_RUNAS)".to_owned() } else { approver.runas.clone() };
    let password = if from_env[1] {
        "(from PS_APPROVER_PASSWORD)".to_owned()
    } else {
        approver.password.expose_secret().to_owned()
    };
    format!("PS_APPROVER_RUNAS={runas}\nPS_APPROVER_PASSWORD={password}\n")
}

fn render_lists() -> String {
    let mut text = String::from("faults (--fault NAME):\n");
    for f in Fault::ALL {
        text.push_str(&format!("  {:<28} {}\n", f.name(), f.description()));
    }
    text.push_str("states (--state NAME):\n");
    for (name, description) in SimState::NAMES {
        text.push_str(&format!("  {name:<28} {description}\n"));
    }
    text.push_str("profiles (--profile NAME):\n");
    for p in Profile::ALL {
        text.push_str(&format!("  {:<28} {}\n", p.name(), p.description()));
    }
    text.push_str("data variants (--data NAME):\n");
    for d in DataVariant::ALL {
        text.push_str(&format!("  {:<28} {}\n", d.name(), d.description()));
    }
    text
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn environment_credentials_are_never_printed() {
        let from_env = Settings {
            api_key: Some(SecretString::from("env-key-canary")),
            runas: Some("env-user-canary".into()),
            ..Settings::default()
        };
        let text = render_credentials(&from_env, &generate_missing(from_env.clone()));
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("PS_API_KEY=(from PS_API_KEY)\n"), "{text}");
        assert!(text.contains("PS_RUNAS=(from PS_RUNAS)\n"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("PS_CLIENT_ID=") && l.len() == "PS_CLIENT_ID=".len() + 36));
    }

    #[test]
    fn the_approver_is_printed_last_and_never_from_the_environment() {
        let (approver, given) =
            Approver::from_lookup(|n| (n == "PS_APPROVER_PASSWORD").then(|| "env-canary".to_owned()));
        let text = render_approver(&approver, given);
        assert!(!text.contains("env-canary"), "{text}");
        assert_eq!(text, "PS_APPROVER_RUNAS=psconform-approver\nPS_APPROVER_PASSWORD=(from PS_APPROVER_PASSWORD)\n");
        let (approver, given) = Approver::from_lookup(|_| None);
        let text = render_approver(&approver, given);
        assert!(text.lines().nth(1).is_some_and(|l| l.len() == "PS_APPROVER_PASSWORD=".len() + 24), "{text}");
    }

    #[test]
    fn help_says_what_the_request_log_shows() {
        use clap::CommandFactory as _;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let help = Wrapper::command().render_long_help().to_string();
        assert!(help.contains("-v   one line per request"), "{help}");
        assert!(help.contains("unsimulated") && help.contains("credentials masked"), "{help}");
    }

    #[test]
    fn lists_name_every_fault_and_state() {
        let text = render_lists();
        for f in Fault::ALL {
            assert!(text.contains(f.name()), "{}", f.name());
        }
        for (name, _) in SimState::NAMES {
            assert!(text.contains(name), "{name}");
        }
        for d in DataVariant::ALL {
            assert!(text.contains(d.name()), "{d}");
        }
    }
}
