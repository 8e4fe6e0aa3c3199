//! What a run writes of the shapes it observed, once it has run: the record set (`--record`),
//! the contract set merged or replaced (`--update-snapshots`, `--replace-snapshots`), the
//! contracts that did not conform for review (`--pending`), and the drift report
//! (`--drift-report`, computed here and formatted by `report::drift`); and what it noticed on the way (additive changes, missing contracts,
//! format hints, contracts no case exercised), as data for the terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::contract::{Contract, ContractSet, Verdict, VerdictStatus, write_all};
use super::drift::DriftReport;
use super::{Mode, Severity, compare};
use crate::seal::{Redacted, Redactor};

/// What the run may write into the contract set it compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Nothing.
    None,
    /// Merge observations into what is there.
    Merge,
    /// Replace each observed contract with the observations.
    Replace,
}

/// The contract settings of a run.
#[derive(Debug, Clone)]
pub struct ContractConfig {
    /// The set compared with.
    pub dir: PathBuf,
    /// Compare at all.
    pub compare: bool,
    /// Additive changes and missing contracts fail too.
    pub strict: bool,
    /// What may be written into `dir`.
    pub update: Update,
    /// Where to record every observed contract.
    pub record: Option<PathBuf>,
    /// Where to write contracts that did not conform, for review.
    pub pending: Option<PathBuf>,
    /// Where to write the drift report.
    pub drift_report: Option<PathBuf>,
}

impl ContractConfig {
    /// Whether the run writes anything of what it observes, so each observation is kept.
    pub fn keeps(&self) -> bool {
        self.record.is_some() || self.update != Update::None || self.pending.is_some() || self.drift_report.is_some()
    }

    /// Whether the run observes shapes at all.
    pub fn observes(&self) -> bool {
        self.compare || self.record.is_some() || self.update != Update::None
    }
}

/// Lines of additive changes a run lists on standard error; the rest are counted.
pub const MAX_NOTES: usize = 200;

/// What the run noticed of the contracts, step by step, as cases end.
#[derive(Debug, Default)]
pub struct Notes {
    /// Additive changes that did not fail (without `--strict-shapes`), one line each, at most
    /// [`MAX_NOTES`].
    pub additive: Vec<String>,
    /// Changes of additive verdicts past those lines, counted.
    pub more_additive: usize,
    /// Contract files no contract exists for yet.
    pub missing: BTreeSet<String>,
    /// String format hints that differ (information).
    pub info: usize,
}

impl Notes {
    /// Notes one step's verdict: `case` step `step`.
    pub fn add(&mut self, case: &str, step: usize, v: &Verdict, strict: bool) {
        match v.status {
            VerdictStatus::Missing => {
                self.missing.insert(v.contract.clone());
            }
            VerdictStatus::Additive if !strict => {
                for c in v.changes.iter().filter(|c| c.severity == Severity::Additive) {
                    if self.additive.len() < MAX_NOTES {
                        self.additive.push(format!("  {case} step {step}: {} ({})", c.line(), v.contract));
                    } else {
                        self.more_additive += 1;
                    }
                }
                self.more_additive += v.more_changes;
            }
            _ => {}
        }
        self.info += v.changes.iter().filter(|c| c.severity == Severity::Info).count();
    }
}

/// What [`finish`] did.
#[derive(Debug, Default)]
pub struct Finished {
    /// Sets written: how many contracts, what was done, where.
    pub written: Vec<(usize, &'static str, PathBuf)>,
    /// What could not be written.
    pub errors: Vec<String>,
    /// Contracts of the set no case exercised (only when every case ran and passed).
    pub unused: Vec<String>,
    /// The drift report, when one was asked for (`report::drift` writes it).
    pub drift: Option<Redacted<DriftReport>>,
}

/// Writes what the run was asked to write of its observations (`observed`, by file name,
/// sealed as they were observed) against `set`. `complete` says every case ran and passed, so
/// contracts no case exercised mean something.
pub fn finish(
    config: &ContractConfig,
    set: &ContractSet,
    observed: &BTreeMap<String, Contract>,
    seen: &BTreeSet<String>,
    complete: bool,
    redactor: &Redactor,
) -> Finished {
    let mut done = Finished::default();
    let mut write_set = |dir: &Path, contracts: Vec<&Contract>, what: &'static str| match write_all(dir, contracts) {
        Ok(paths) if !paths.is_empty() => done.written.push((paths.len(), what, dir.to_path_buf())),
        Ok(_) => {}
        Err(e) => done.errors.push(e.to_string()),
    };
    if let Some(dir) = &config.record {
        write_set(dir, observed.values().collect(), "recorded in");
    }
    let merged: BTreeMap<&String, Contract> = observed
        .iter()
        .map(|(name, c)| {
            let m = match set.contracts.get(name) {
                Some(existing) => existing.clone().merge(c.clone()),
                None => c.clone(),
            };
            (name, m)
        })
        .collect();
    match config.update {
        Update::Merge => write_set(&config.dir, merged.values().collect(), "merged into"),
        Update::Replace => write_set(&config.dir, observed.values().collect(), "replaced in"),
        Update::None => {}
    }
    if let Some(dir) = &config.pending {
        let pending: Vec<&Contract> = merged
            .iter()
            .filter(|(name, _)| match (set.contracts.get(name.as_str()), observed.get(name.as_str())) {
                (None, _) | (_, None) => true,
                (Some(existing), Some(o)) => {
                    compare(&existing.shape, &o.shape, Mode::Conform).iter().any(|c| c.severity != Severity::Info)
                }
            })
            .map(|(_, c)| c)
            .collect();
        write_set(dir, pending, "written for review to");
    }
    if config.drift_report.is_some() {
        let baseline: BTreeMap<String, Contract> = set
            .contracts
            .iter()
            .filter(|(k, _)| observed.contains_key(*k))
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        done.drift =
            Some(DriftReport::compare(&config.dir.display().to_string(), &baseline, "this run", observed, redactor));
    }
    if complete && config.compare {
        done.unused = set.contracts.keys().filter(|k| !seen.contains(*k)).cloned().collect();
    }
    done
}
