//! The report files of a run (`--junit`, `--report`, `--html`), written without holding the
//! run: each case is rendered into its JUnit, JSON and HTML fragments as soon as it is final,
//! and the fragments are spooled into an anonymous temporary file. At the end the files are
//! put together in order (by case name; by area, file and outcome on the page), reading one
//! fragment at a time, around the run's counts and exit code.
//!
//! What stays in memory per case is its place (name, area, file, offsets), a few dozen bytes.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::html::{Group, PageHead, PageTally};
use super::{ExitInfo, RunMeta, html, json, junit};
use crate::coverage::Coverage;
use crate::result::{CaseResult, RunResult};
use crate::seal::Redacted;
use crate::shape::drift::DriftReport;

/// Where the report files go.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// JUnit XML.
    pub junit: Option<PathBuf>,
    /// The JSON report.
    pub json: Option<PathBuf>,
    /// The HTML page.
    pub html: Option<PathBuf>,
}

impl Paths {
    /// Whether any report is asked for.
    pub fn any(&self) -> bool {
        self.junit.is_some() || self.json.is_some() || self.html.is_some()
    }
}

/// A fragment's place in the spool.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    at: u64,
    len: usize,
}

/// One spooled case.
#[derive(Debug)]
struct Spooled {
    group: Group,
    junit: Span,
    json: Span,
    html: Span,
}

/// The report files being written.
#[derive(Debug)]
pub struct Reports {
    paths: Paths,
    spool: BufWriter<File>,
    written: u64,
    cases: Vec<Spooled>,
    tally: PageTally,
    /// The first problem spooling met: the reports cannot be written.
    broken: Option<String>,
}

/// Everything a report shows besides its cases.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The run.
    pub meta: &'a Redacted<RunMeta>,
    /// Its counts and exit code.
    pub run: &'a RunResult,
    /// The coverage matrix.
    pub coverage: Option<&'a Redacted<Coverage>>,
    /// The drift report the run wrote, if any.
    pub drift: Option<&'a Redacted<DriftReport>>,
}

impl Reports {
    /// Reports to `paths`, spooled in an anonymous temporary file.
    pub fn new(paths: Paths) -> io::Result<Reports> {
        Ok(Reports {
            paths,
            spool: BufWriter::new(tempfile::tempfile()?),
            written: 0,
            cases: Vec::new(),
            tally: PageTally::default(),
            broken: None,
        })
    }

    /// Renders a final case into its fragments.
    pub fn add(&mut self, case: &Redacted<CaseResult>) {
        if self.broken.is_some() {
            return;
        }
        if let Err(e) = self.spool_case(case.get()) {
            self.broken = Some(e.to_string());
        }
    }

    fn spool_case(&mut self, c: &CaseResult) -> io::Result<()> {
        let junit = if self.paths.junit.is_some() {
            let xml = junit::testcase(c).map_err(|e| io::Error::other(e.to_string()))?;
            self.put(&xml)?
        } else {
            Span::default()
        };
        let json = if self.paths.json.is_some() { self.put(&json::case(c, false))? } else { Span::default() };
        let html = if self.paths.html.is_some() {
            self.tally.add(c);
            self.put(&html::run_case(c))?
        } else {
            Span::default()
        };
        self.cases.push(Spooled { group: Group::of(c), junit, json, html });
        Ok(())
    }

    fn put(&mut self, text: &str) -> io::Result<Span> {
        self.spool.write_all(text.as_bytes())?;
        let span = Span { at: self.written, len: text.len() };
        self.written += text.len() as u64;
        Ok(span)
    }

    /// Writes every report asked for. Returns one line per report that could not be written.
    pub fn finish(self, cx: Context<'_>) -> Vec<String> {
        let Reports { paths, spool, mut cases, tally, broken, .. } = self;
        let targets = [&paths.junit, &paths.json, &paths.html];
        if let Some(why) = broken {
            return targets.into_iter().flatten().map(|p| format!("cannot write {}: {why}", p.display())).collect();
        }
        let mut spool = match spool.into_inner() {
            Ok(f) => f,
            Err(e) => {
                let why = e.error().to_string();
                return targets.into_iter().flatten().map(|p| format!("cannot write {}: {why}", p.display())).collect();
            }
        };
        let mut problems = Vec::new();
        let mut write = |path: &Option<PathBuf>, f: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>| {
            let Some(path) = path else { return };
            let done = File::create(path).and_then(|file| {
                let mut out = BufWriter::new(file);
                f(&mut out)?;
                out.flush()
            });
            if let Err(e) = done {
                problems.push(format!("cannot write {}: {e}", path.display()));
            }
        };
        cases.sort_by(|a, b| a.group.name.cmp(&b.group.name));
        let duration = cx.meta.get().duration;
        write(&paths.junit, &mut |out| {
            out.write_all(junit::header(cx.run, duration).as_bytes())?;
            for c in &cases {
                copy(&mut spool, c.junit, out)?;
            }
            out.write_all(junit::FOOTER.as_bytes())
        });
        let exit = ExitInfo::from(cx.run.exit());
        write(&paths.json, &mut |out| {
            let mut meta = cx.meta.get().clone();
            meta.product_version = meta.product_version.or_else(|| cx.run.product_version.clone());
            out.write_all(json::head(&meta, &cx.run.summary, &exit).as_bytes())?;
            for (i, c) in cases.iter().enumerate() {
                // The first element has no comma before it: the fragment was spooled with one.
                let mut text = read(&mut spool, c.json)?;
                if i == 0 {
                    text.remove(0);
                }
                out.write_all(text.as_bytes())?;
            }
            out.write_all(json::tail(!cases.is_empty(), cx.coverage.map(Redacted::get)).as_bytes())
        });
        cases.sort_by(|a, b| a.group.cmp(&b.group));
        let groups: Vec<Group> = cases.iter().map(|c| c.group.clone()).collect();
        write(&paths.html, &mut |out| {
            let mut meta = cx.meta.get().clone();
            meta.product_version = meta.product_version.or_else(|| cx.run.product_version.clone());
            let head = PageHead {
                meta: &meta,
                summary: &cx.run.summary,
                exit: cx.run.exit(),
                coverage: cx.coverage.map(Redacted::get),
                drift: cx.drift.map(Redacted::get),
                tally: &tally,
            };
            html::write_run_page(out, &head, &groups, &mut |i| read(&mut spool, cases[i].html))
        });
        problems
    }
}

fn read(spool: &mut File, span: Span) -> io::Result<String> {
    spool.seek(SeekFrom::Start(span.at))?;
    let mut buf = vec![0; span.len];
    spool.read_exact(&mut buf)?;
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn copy(spool: &mut File, span: Span, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(read(spool, span)?.as_bytes())
}
