//! `-v` / `-vv` logs on stderr, and a panic hook. Log lines are made of values that were
//! redacted where they were formatted; every line passes the run's redactor once more on its
//! way out, and so does every panic message, and both have their control characters shown
//! escaped (`crate::escape::controls`).

use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::escape::controls;
use crate::seal::Redactor;

static REDACTOR: LazyLock<RwLock<Redactor>> = LazyLock::new(Default::default);

/// Sets the redactor logs and panic messages pass through (the run's configured secrets).
pub fn set_redactor(r: Redactor) {
    if let Ok(mut slot) = REDACTOR.write() {
        *slot = r;
    }
}

fn redact(text: &str) -> String {
    // Fail closed: a lock that cannot be read shows nothing.
    REDACTOR.read().map_or_else(|_| crate::secret::MASK.to_owned(), |r| r.text(text))
}

/// Sets up logging and the panic hook. `verbosity`: 0 warnings, 1 requests (`-v`), 2 and more
/// headers and bodies (`-vv`). `RUST_LOG` overrides the level.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => "warn",
        1 => "psconform=info,warn",
        _ => "psconform=debug,warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // No colour: every event has its control characters shown escaped on its way out (a
        // server's body or header could hold an escape sequence), which would escape the
        // formatter's own colours too.
        .with_ansi(false)
        .without_time()
        .with_writer(Redacting)
        .try_init();
    std::panic::set_hook(Box::new(move |info| {
        let payload = panic_text(info.payload());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = writeln!(io::stderr(), "psconform panicked{at}: {}", controls(&redact(&payload)));
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

#[derive(Clone, Copy)]
struct Redacting;

/// Buffers one log event and writes it redacted when the event is complete.
struct EventWriter {
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
        let _ = io::stderr().write_all(controls(&redact(&text)).as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter { buf: Vec::new() }
    }
}
