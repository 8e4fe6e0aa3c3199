//! `psconform list`: each case with its effect, needs, opt-ins and tags, as text or JSON. An
//! entry is made from the plan and sealed before it is formatted, like every other output;
//! [`Entry`] reads the JSON list back, typed.

use serde::{Deserialize, Serialize};

use crate::plan::{CasePlan, Effect};
use crate::seal::{Redact, Redacted, Redactor};

/// One case as `list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// The case file.
    pub file: String,
    /// The line of the case's name.
    pub line: u32,
    /// What a conforming server does.
    pub summary: String,
    /// Labels.
    pub tags: Vec<String>,
    /// What running it does to the target: the most consequential effect of the endpoints it
    /// calls (from the catalog), or what its file declares when that is more.
    pub effect: Effect,
    /// Every effect it has, each needing its own opt-in on a real target.
    pub effects: Vec<Effect>,
    /// Target settings it needs.
    pub needs: Vec<String>,
    /// It may count towards locking out the run-as user.
    pub lockout_risk: bool,
    /// Shared resources it holds while it runs.
    pub locks: Vec<String>,
    /// Simulator states it needs.
    pub simulator_state: Vec<String>,
    /// It runs only against the built-in simulator.
    pub simulator_only: bool,
    /// The documentation statement it checks.
    pub source: Option<String>,
    /// Every request it makes, as `METHOD route`.
    pub endpoints: Vec<String>,
}

impl Entry {
    /// The entry of a compiled case.
    pub fn of(c: &CasePlan) -> Entry {
        Entry {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            line: c.line,
            summary: c.summary.clone(),
            tags: c.tags.clone(),
            effect: c.effect,
            needs: c.needs.clone(),
            lockout_risk: c.lockout_risk,
            effects: c.effects.clone(),
            locks: c.locks.iter().map(|l| l.0.clone()).collect(),
            simulator_state: c.simulator_state.clone(),
            simulator_only: c.simulator_only,
            source: c.source.clone(),
            endpoints: c.all_steps().map(|s| format!("{} {}", s.request.method.as_str(), s.request.route)).collect(),
        }
    }
}

impl Redact for Entry {
    fn redact(&mut self, r: &Redactor) {
        self.name.redact(r);
        self.file.redact(r);
        self.summary.redact(r);
        self.tags.redact(r);
        self.needs.redact(r);
        self.locks.redact(r);
        self.simulator_state.redact(r);
        self.source.redact(r);
        self.endpoints.redact(r);
    }
}

/// The list as people read it: a line of notes per case, then its summary.
pub fn text(entries: &Redacted<Vec<Entry>>) -> String {
    let mut out = String::new();
    for c in entries.get() {
        let mut notes = vec![c.effect.to_string()];
        if !c.needs.is_empty() {
            notes.push(format!("needs {}", c.needs.join(", ")));
        }
        if c.lockout_risk {
            notes.push("lockout risk".into());
        }
        if !c.locks.is_empty() {
            notes.push(format!("locks {}", c.locks.join(", ")));
        }
        if !c.simulator_state.is_empty() {
            notes.push(format!("simulator: {}", c.simulator_state.join(", ")));
        }
        if !c.tags.is_empty() {
            notes.push(format!("tags: {}", c.tags.join(", ")));
        }
        out.push_str(&format!("{}  [{}]\n    {}\n", c.name, notes.join("; "), c.summary));
    }
    out.push_str(&format!("{} cases\n", entries.get().len()));
    out
}

/// The list as pretty JSON.
pub fn json(entries: &Redacted<Vec<Entry>>) -> String {
    serde_json::to_string_pretty(entries).unwrap_or_default() + "\n"
}
