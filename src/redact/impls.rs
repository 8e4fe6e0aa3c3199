//! How the redaction point walks each type that reaches an output: every string, every JSON
//! value (keys included), every shape name. A new type that reaches an output gets its walk
//! here, next to the others.

use super::{FieldPolicy, MASK, Redact, Redactor};
use crate::case::Diagnostic;
use crate::result::{
    Attempt, CaseResult, CheckKind, CheckOutcome, IgnoreReason, Outcome, RequestLine, StepError, StepResult,
};
use crate::run::http::TransportError;
use crate::shape::{Change, Contract, ResponseShape, Verdict};

fn outcome(o: &mut CheckOutcome, r: &Redactor, fields: FieldPolicy, masked_body: bool) {
    o.subject.redact(r);
    r.value(&mut o.expected, fields);
    r.value(&mut o.actual, fields);
    o.note.redact(r);
    let from_body = matches!(o.kind, CheckKind::Body | CheckKind::Path | CheckKind::Capture | CheckKind::Status);
    if masked_body && from_body {
        if !o.actual.is_null() && !o.actual.is_boolean() && !o.actual.is_number() {
            o.actual = serde_json::Value::String(MASK.into());
        }
        if o.note.is_some() {
            o.note = Some(format!("{MASK} (the response carried more secrets than psconform keeps track of)"));
        }
    }
}

impl Redact for TransportError {
    fn redact(&mut self, r: &Redactor) {
        match self {
            TransportError::Connect { url, reason }
            | TransportError::Tls { url, reason, .. }
            | TransportError::Broken { url, reason } => {
                url.redact(r);
                reason.redact(r);
            }
            TransportError::Timeout { url, .. } => url.redact(r),
            TransportError::TooLarge { seen, .. } => seen.redact(r),
        }
    }
}

impl Redact for StepError {
    fn redact(&mut self, r: &Redactor) {
        match self {
            StepError::Transport(t) => t.redact(r),
            StepError::Undefined(s) | StepError::InvalidRequest(s) | StepError::Setup(s) => s.redact(r),
            StepError::Budget { .. } | StepError::Interrupted => {}
        }
    }
}

impl Redact for RequestLine {
    fn redact(&mut self, r: &Redactor) {
        self.path.redact(r);
        self.route.redact(r);
    }
}

impl Redact for Change {
    fn redact(&mut self, r: &Redactor) {
        self.at.redact(r);
        self.before.redact(r);
        self.after.redact(r);
    }
}

impl Redact for Verdict {
    fn redact(&mut self, r: &Redactor) {
        self.contract.redact(r);
        self.changes.redact(r);
    }
}

impl Redact for StepResult {
    fn redact(&mut self, r: &Redactor) {
        let fields = self.request.as_ref().map_or_else(FieldPolicy::default, |l| FieldPolicy::for_path(&l.path));
        self.name.redact(r);
        self.request.redact(r);
        for o in &mut self.outcomes {
            outcome(o, r, fields, self.body_masked);
        }
        for Attempt { failed, error, .. } in &mut self.attempts {
            for o in failed {
                outcome(o, r, fields, self.body_masked);
            }
            error.redact(r);
        }
        self.error.redact(r);
        self.contract.redact(r);
    }
}

impl Redact for IgnoreReason {
    fn redact(&mut self, r: &Redactor) {
        match self {
            IgnoreReason::SimulatorOnly { states } => states.redact(r),
            IgnoreReason::MissingSettings { variables } => variables.redact(r),
            IgnoreReason::NeedsOptIn { flag, because } => {
                flag.redact(r);
                because.redact(r);
            }
            IgnoreReason::NotOffered { endpoint } => endpoint.redact(r),
        }
    }
}

impl Redact for CaseResult {
    fn redact(&mut self, r: &Redactor) {
        self.name.redact(r);
        self.file.redact(r);
        self.endpoint.redact(r);
        self.summary.redact(r);
        self.source.redact(r);
        if let Outcome::Ignored(reason) = &mut self.outcome {
            reason.redact(r);
        }
        self.steps.redact(r);
    }
}

impl Redact for Diagnostic {
    fn redact(&mut self, r: &Redactor) {
        let file = self.file.display().to_string();
        let masked = r.text(&file);
        if masked != file {
            self.file = masked.into();
        }
        self.message.redact(r);
        self.hint.redact(r);
        self.source_line.redact(r);
    }
}

impl Redact for ResponseShape {
    fn redact(&mut self, r: &Redactor) {
        crate::run::step::redact_shape(self, r);
        self.content_types = std::mem::take(&mut self.content_types).into_iter().map(|c| r.text(&c)).collect();
    }
}

impl Redact for Contract {
    fn redact(&mut self, r: &Redactor) {
        self.route.redact(r);
        self.shape.redact(r);
        self.cases = std::mem::take(&mut self.cases).into_iter().map(|c| r.text(&c)).collect();
    }
}
