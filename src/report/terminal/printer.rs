//! The stream cargo test users read, byte for byte as libtest-mimic 0.8.2 prints it: `running
//! N tests`, one line (pretty), one character (terse) or JSON events per case, the failures
//! with their text, and the `test result:` line. Colour is as libtest's: ANSI through anstream,
//! stripped when the output is not a terminal, `--color` deciding.
//!
//! Unlike libtest-mimic, every write returns its error: a closed standard output (`psconform
//! run | head -1`) is reported to the run, which stops as Ctrl-C stops it, instead of a panic.
//! The counts on the `test result:` line are the run's own ([`RunResult`]), so the line and
//! the exit code cannot disagree. A case is printed once it is final. In the `failures:`
//! section each cause is written once: the cases that failed the same way (the same endpoint,
//! check, expected and actual values) are named under the first one's text.

use std::io::{self, Write};
use std::time::Duration;

use anstream::AutoStream;
use anstyle::{AnsiColor, Color, Style};
use libtest_mimic::{Arguments, ColorSetting, FormatSetting};

use crate::escape::controls;
use crate::result::run::CauseKey;
use crate::result::{CaseResult, Outcome, RunResult};
use crate::seal::Redacted;

/// The stream's format: `--format`, or `-q` for terse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pretty,
    Terse,
    Json,
}

/// Prints a run as libtest does.
pub struct Printer {
    out: Box<dyn Write + Send>,
    format: Format,
    name_width: usize,
    /// Failed cases, their text and their cause, for the `failures:` section at the end.
    failures: Vec<(String, String, Option<CauseKey>)>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").field("format", &self.format).finish_non_exhaustive()
    }
}

fn style(outcome: &Outcome) -> Style {
    let color = match outcome {
        Outcome::Passed => AnsiColor::Green,
        Outcome::Failed => AnsiColor::Red,
        Outcome::Ignored(_) => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(Color::Ansi(color)))
}

/// A string as JSON writes it inside quotes (what libtest's `escape8259` gives).
fn escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

impl Printer {
    /// A printer for the selected cases' names, to standard output or `--logfile`, as the
    /// harness arguments say.
    pub fn new(args: &Arguments, names: impl IntoIterator<Item = impl AsRef<str>>) -> io::Result<Printer> {
        let color = args.color.unwrap_or(ColorSetting::Auto);
        let out: Box<dyn Write + Send> = match &args.logfile {
            Some(path) => {
                let f = std::fs::File::create(path)?;
                if color == ColorSetting::Always {
                    Box::new(AutoStream::always(f))
                } else {
                    Box::new(AutoStream::never(f))
                }
            }
            None => {
                let choice = match color {
                    ColorSetting::Auto => anstream::ColorChoice::Auto,
                    ColorSetting::Always => anstream::ColorChoice::Always,
                    ColorSetting::Never => anstream::ColorChoice::Never,
                };
                Box::new(AutoStream::new(io::stdout(), choice))
            }
        };
        Ok(Printer::to(out, args, names))
    }

    /// A printer writing to `out`.
    pub fn to(
        out: Box<dyn Write + Send>,
        args: &Arguments,
        names: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Printer {
        let format = if args.quiet {
            Format::Terse
        } else {
            match args.format.unwrap_or(FormatSetting::Pretty) {
                FormatSetting::Pretty => Format::Pretty,
                FormatSetting::Terse => Format::Terse,
                FormatSetting::Json => Format::Json,
            }
        };
        let name_width = names.into_iter().map(|n| n.as_ref().chars().count()).max().unwrap_or(0);
        Printer { out, format, name_width, failures: Vec::new() }
    }

    /// `--list`: each name with `: test`.
    pub fn list(&mut self, names: impl IntoIterator<Item = impl AsRef<str>>) -> io::Result<()> {
        for name in names {
            writeln!(self.out, "{}: test", controls(name.as_ref()))?;
        }
        self.out.flush()
    }

    /// The first line: `running N tests`.
    pub fn title(&mut self, n: usize) -> io::Result<()> {
        match self.format {
            Format::Pretty | Format::Terse => {
                let s = if n == 1 { "" } else { "s" };
                writeln!(self.out)?;
                writeln!(self.out, "running {n} test{s}")?;
            }
            Format::Json => writeln!(self.out, r#"{{ "type": "suite", "event": "started", "test_count": {n} }}"#)?,
        }
        self.out.flush()
    }

    /// A final case: its line, character or events. What a server or a file chose (the name,
    /// the failure's words) has its control characters shown escaped: on a terminal they
    /// would act instead of being read.
    pub fn case(&mut self, case: &Redacted<CaseResult>) -> io::Result<()> {
        let c = case.get();
        let name = controls(&c.name).into_owned();
        let failure = (c.outcome == Outcome::Failed).then(|| controls(&super::failure_text(c)).into_owned());
        match self.format {
            Format::Pretty => {
                write!(self.out, "test {: <1$} ... ", name, self.name_width)?;
                self.outcome(&c.outcome)?;
                writeln!(self.out)?;
            }
            Format::Terse => {
                let ch = match c.outcome {
                    Outcome::Passed => '.',
                    Outcome::Failed => 'F',
                    Outcome::Ignored(_) => 'i',
                };
                let style = style(&c.outcome);
                write!(self.out, "{style}{ch}{style:#}")?;
            }
            Format::Json => {
                let name = escaped(&name);
                writeln!(self.out, r#"{{ "type": "test", "event": "started", "name": "{name}" }}"#)?;
                let (event, stdout) = match (&c.outcome, &failure) {
                    (Outcome::Failed, Some(text)) => {
                        ("failed", format!(r#", "stdout": "Error: \"{}\"\n""#, escaped(text)))
                    }
                    (Outcome::Failed, None) => ("failed", String::new()),
                    (Outcome::Passed, _) => ("ok", String::new()),
                    (Outcome::Ignored(_), _) => ("ignored", String::new()),
                };
                writeln!(self.out, r#"{{ "type": "test", "name": "{name}", "event": "{event}"{stdout} }}"#)?;
            }
        }
        if let Some(text) = failure {
            self.failures.push((name, text, CauseKey::of(c)));
        }
        // Standard output writes a line out as it ends (and the terse stream's characters
        // when its buffer fills), as libtest's does: no flush per case.
        Ok(())
    }

    /// The coloured `ok`, `FAILED` or `ignored (reason)`.
    fn outcome(&mut self, outcome: &Outcome) -> io::Result<()> {
        let style = style(outcome);
        match outcome {
            Outcome::Passed => write!(self.out, "{style}ok{style:#}"),
            Outcome::Failed => write!(self.out, "{style}FAILED{style:#}"),
            Outcome::Ignored(reason) => {
                write!(self.out, "{style}ignored ({}){style:#}", controls(&reason.to_string()))
            }
        }
    }

    /// The end: every failure with its text, then the `test result:` line with the run's
    /// counts.
    pub fn end(&mut self, run: &RunResult, elapsed: Duration) -> io::Result<()> {
        let s = &run.summary;
        if !self.failures.is_empty() && self.format != Format::Json {
            writeln!(self.out)?;
            writeln!(self.out, "failures:")?;
            writeln!(self.out)?;
            // The other cases of each cause, named under the first one.
            let mut same: std::collections::BTreeMap<&CauseKey, Vec<&str>> = std::collections::BTreeMap::new();
            for (name, _, cause) in &self.failures {
                if let Some(cause) = cause {
                    same.entry(cause).or_default().push(name);
                }
            }
            for (name, text, cause) in &self.failures {
                let others = match cause.as_ref().and_then(|c| same.get(c)) {
                    Some(names) if names.first() != Some(&name.as_str()) => continue,
                    Some(names) => &names[1..],
                    None => &[],
                };
                writeln!(self.out, "---- {name} ----")?;
                writeln!(self.out, "{text}")?;
                if !others.is_empty() {
                    let shown: Vec<&str> = others.iter().take(crate::result::run::NAMED_PER_CAUSE).copied().collect();
                    let more = others.len() - shown.len();
                    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                    writeln!(
                        self.out,
                        "  the same failure in {} more case(s): {}{more}",
                        others.len(),
                        shown.join(", ")
                    )?;
                }
                writeln!(self.out)?;
            }
            writeln!(self.out)?;
            writeln!(self.out, "failures:")?;
            for (name, _, _) in &self.failures {
                writeln!(self.out, "    {name}")?;
            }
        }
        match self.format {
            Format::Pretty | Format::Terse => {
                writeln!(self.out)?;
                write!(self.out, "test result: ")?;
                self.outcome(if s.failed > 0 { &Outcome::Failed } else { &Outcome::Passed })?;
                writeln!(
                    self.out,
                    ". {} passed; {} failed; {} ignored; 0 measured; {} filtered out; finished in {:.2}s",
                    s.passed,
                    s.failed,
                    s.ignored,
                    run.filtered_out,
                    elapsed.as_secs_f64()
                )?;
                writeln!(self.out)?;
            }
            Format::Json => writeln!(
                self.out,
                r#"{{ "type": "suite", "event": "{}", "passed": {}, "failed": {}, "ignored": {}, "measured": 0, "filtered_out": {}, "exec_time": {} }}"#,
                if s.failed > 0 { "failed" } else { "ok" },
                s.passed,
                s.failed,
                s.ignored,
                run.filtered_out,
                elapsed.as_secs_f64()
            )?,
        }
        self.out.flush()
    }
}

/// Whether the harness arguments leave a case out: the filter (a substring, or the whole name
/// with `--exact`), `--skip` (likewise), and `--ignored` (no case is marked ignored before it
/// runs, so it leaves every case out), as libtest decides.
pub fn filtered_out(args: &Arguments, name: &str) -> bool {
    if let Some(filter) = &args.filter {
        let matches = if args.exact { name == filter } else { name.contains(filter.as_str()) };
        if !matches {
            return true;
        }
    }
    let skipped = |s: &String| if args.exact { name == s } else { name.contains(s.as_str()) };
    args.skip.iter().any(skipped) || args.ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_work_as_libtest_s() {
        let args = |f: Option<&str>, exact: bool, skip: &[&str]| Arguments {
            filter: f.map(str::to_owned),
            exact,
            skip: skip.iter().map(|s| (*s).to_owned()).collect(),
            ..Arguments::default()
        };
        assert!(!filtered_out(&args(Some("auth::"), false, &[]), "auth::sign-out::twice"));
        assert!(filtered_out(&args(Some("auth::"), true, &[]), "auth::sign-out::twice"));
        assert!(!filtered_out(&args(Some("auth::sign-out::twice"), true, &[]), "auth::sign-out::twice"));
        assert!(filtered_out(&args(None, false, &["twice"]), "auth::sign-out::twice"));
        assert!(filtered_out(&Arguments { ignored: true, ..Arguments::default() }, "a"));
    }

    #[test]
    fn json_names_are_escaped_as_libtest_escapes_them() {
        assert_eq!(escaped("a\"b\\c\nd\u{1}é/"), "a\\\"b\\\\c\\nd\\u0001é/");
    }
}
