//! `-v` / `-vv` logs on stderr, every line filtered through the secret store, and a panic hook
//! that does the same: the last line of defence if a credential reaches a log or a panic.

use std::io::{self, Write};
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::secrets::SecretStore;

static STORE: OnceLock<SecretStore> = OnceLock::new();

/// The store the logs and the panic hook redact with. Set once, at start-up.
pub fn store() -> SecretStore {
    STORE.get_or_init(SecretStore::new).clone()
}

/// Sets up logging and the panic hook. `verbosity`: 0 warnings, 1 requests (`-v`), 2 and more
/// headers and bodies (`-vv`). `RUST_LOG` overrides the level.
pub fn init(verbosity: u8) {
    let store = store();
    let level = match verbosity {
        0 => "warn",
        1 => "psconform=info,warn",
        _ => "psconform=debug,warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .with_writer(Redacting(store.clone()))
        .try_init();
    let hook_store = store;
    std::panic::set_hook(Box::new(move |info| {
        let payload = panic_text(info.payload());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = writeln!(io::stderr(), "psconform panicked{at}: {}", hook_store.redact(&payload));
    }));
}

/// The text of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[derive(Clone)]
struct Redacting(SecretStore);

/// Buffers one log event and writes it redacted when the event is complete.
struct EventWriter {
    store: SecretStore,
    buf: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let _ = io::stderr().write_all(self.store.redact(&text).as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter { store: self.0.clone(), buf: Vec::new() }
    }
}
