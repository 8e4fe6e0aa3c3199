//! Drift between two contract sets (two recordings of instances, or a baseline and a live
//! run): per contract, every change from the older shape to the newer, counted by severity.
//! `report::drift` formats it, and [`DriftReport`] reads its JSON back, typed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Change, Contract, Mode, Severity, compare};
use crate::seal::{Redact, Redacted, Redactor};

/// The changes of one contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContractDrift {
    /// The contract file name.
    pub contract: String,
    /// The endpoint, as `GET Credentials/{requestId} 200`.
    pub title: String,
    /// How many cases exercise it in the newer set.
    pub cases: usize,
    /// The changes, breaking first, at most [`super::MAX_CHANGES`].
    pub changes: Vec<Change>,
    /// How many more changes there are.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A drift report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriftReport {
    /// The baseline.
    pub old: String,
    /// What is compared with it.
    pub new: String,
    /// Contracts present in both and compared.
    pub compared: usize,
    /// Endpoints only in the baseline.
    pub only_old: Vec<String>,
    /// Endpoints only in the newer set.
    pub only_new: Vec<String>,
    /// Breaking changes.
    pub breaking: usize,
    /// Additive changes.
    pub additive: usize,
    /// Information (format hints, variety not seen again).
    pub info: usize,
    /// The contracts that changed.
    pub contracts: Vec<ContractDrift>,
}

impl DriftReport {
    /// Compares two sets of contracts by file name.
    pub fn compare(
        old_name: &str,
        old: &BTreeMap<String, Contract>,
        new_name: &str,
        new: &BTreeMap<String, Contract>,
        redactor: &Redactor,
    ) -> Redacted<DriftReport> {
        let mut r = DriftReport {
            old: old_name.to_owned(),
            new: new_name.to_owned(),
            compared: 0,
            only_old: old.iter().filter(|(k, _)| !new.contains_key(*k)).map(|(_, c)| c.title()).collect(),
            only_new: new.iter().filter(|(k, _)| !old.contains_key(*k)).map(|(_, c)| c.title()).collect(),
            breaking: 0,
            additive: 0,
            info: 0,
            contracts: Vec::new(),
        };
        for (name, o) in old {
            let Some(n) = new.get(name) else { continue };
            r.compared += 1;
            let changes = compare(&o.shape, &n.shape, Mode::Drift);
            for c in &changes {
                match c.severity {
                    Severity::Breaking => r.breaking += 1,
                    Severity::Additive => r.additive += 1,
                    Severity::Info => r.info += 1,
                }
            }
            if !changes.is_empty() {
                let mut changes = changes;
                let more = super::compare::cap(&mut changes);
                r.contracts.push(ContractDrift {
                    contract: name.clone(),
                    title: n.title(),
                    cases: n.cases.len(),
                    changes,
                    more,
                });
            }
        }
        redactor.seal(r)
    }
}

impl Redact for DriftReport {
    fn redact(&mut self, r: &Redactor) {
        self.old.redact(r);
        self.new.redact(r);
        self.only_old.redact(r);
        self.only_new.redact(r);
        for c in &mut self.contracts {
            c.contract.redact(r);
            c.title.redact(r);
            c.changes.redact(r);
        }
    }
}
