//! The release flow (reference §2.2 to §2.5, §7.7 to §7.9): `POST Requests` with its lenient
//! body binding and conflict options, `GET Requests`, `GET Credentials/{requestId}` (a bare JSON
//! string), and the check-in `PUT Requests/{id}/Checkin` with its deprecated alias
//! `PUT Requests/Release/{id}`. Owns the bounded book of live requests; the accounts and their
//! credentials come from `managed`.
//!
//! Requests belong to the user whose session made them. One that was checked in, renewed away
//! or has expired is gone: its credentials answer 404 (reference §2.3).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::app::{App, Principal};
use super::call::Call;
use super::config::APPROVAL_POLLS;
use super::fault::Fault;
use super::managed::Account;
use super::reply::{self, Refusal};

/// Most live requests kept; beyond that the oldest are dropped, so a load test cannot grow
/// memory without bound.
pub(crate) const CAP: usize = 10_000;
/// The longest `Reason` the API takes (reference §2.2, §2.4).
const MAX_REASON: usize = 1000;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Waiting for approval; `polls_left` more `GET Credentials` calls answer 403 `4034`.
    Pending { polls_left: u32 },
    /// Approved: the credential can be retrieved until the request expires.
    Active,
}

/// One release request.
#[derive(Debug, Clone)]
struct Request {
    id: u64,
    owner: Principal,
    system_id: i64,
    account_id: i64,
    access_type: String,
    reason: String,
    status: Status,
    created: SystemTime,
    /// `None` never expires (the `requests-never-expire` fault).
    expires: Option<Instant>,
    lifetime: Duration,
    /// Checked in, but kept readable by the `credentials-after-checkin` fault.
    checked_in: bool,
}

impl Request {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|t| now < t)
    }
}

/// The live requests of one simulator.
#[derive(Debug)]
pub(crate) struct Book {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: HashMap<u64, Request>,
    order: VecDeque<u64>,
    next_id: u64,
}

impl Book {
    pub(crate) fn new(cap: usize) -> Book {
        // Ids start somewhere random, so nothing comes to depend on a particular number.
        let first = rand::rng().random_range(100..10_000);
        Book {
            cap: cap.max(1),
            inner: Mutex::new(Inner { requests: HashMap::new(), order: VecDeque::new(), next_id: first }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock cannot leave the book inconsistent in a way that matters.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new request under a fresh id, dropping dead and then the oldest requests when
    /// the book is full.
    fn add(&self, mut request: Request, now: Instant) -> u64 {
        let mut inner = self.lock();
        if inner.requests.len() >= self.cap {
            inner.requests.retain(|_, r| r.live(now) && !r.checked_in);
            let Inner { requests, order, .. } = &mut *inner;
            order.retain(|id| requests.contains_key(id));
            while inner.requests.len() >= self.cap {
                let Some(oldest) = inner.order.pop_front() else { break };
                inner.requests.remove(&oldest);
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        request.id = id;
        inner.requests.insert(id, request);
        inner.order.push_back(id);
        id
    }

    /// The caller's live request with this id; an expired one is dropped on the way.
    fn get(&self, owner: Principal, id: u64, now: Instant) -> Option<Request> {
        let mut inner = self.lock();
        let request = inner.requests.get(&id).filter(|r| r.owner == owner)?.clone();
        if !request.live(now) {
            inner.requests.remove(&id);
            return None;
        }
        Some(request)
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Request)) {
        if let Some(r) = self.lock().requests.get_mut(&id) {
            f(r);
        }
    }

    fn remove(&self, id: u64) {
        self.lock().requests.remove(&id);
    }

    /// The caller's live, not checked-in requests, oldest first.
    fn of(&self, owner: Principal, now: Instant) -> Vec<Request> {
        let inner = self.lock();
        let mut out: Vec<Request> =
            inner.requests.values().filter(|r| r.owner == owner && r.live(now) && !r.checked_in).cloned().collect();
        out.sort_by_key(|r| r.id);
        out
    }

    /// The accounts the caller has live requests for (`GET ManagedAccounts?type=recent`).
    pub(crate) fn accounts_of(&self, owner: Principal) -> Vec<i64> {
        self.of(owner, Instant::now()).iter().map(|r| r.account_id).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// POST Requests

pub(crate) fn create(app: &App, call: &Call) -> Response {
    // Role conditions come before the body is even looked at (reference §1.4 sub-codes).
    if app.state.approver_only {
        return reply::code(StatusCode::FORBIDDEN, 4033);
    }
    if app.state.request_forbidden {
        return reply::code(StatusCode::FORBIDDEN, 4031);
    }
    if app.state.approvers_missing {
        return reply::code(StatusCode::FORBIDDEN, 4035);
    }
    let body = match lenient_object(call.body.as_deref()) {
        Ok(body) => body,
        Err(refusal) => return refusal.into(),
    };
    let form = match RequestForm::read(&body) {
        Ok(form) => form,
        Err(refusal) => return refusal.into(),
    };
    // An account the caller cannot request is a permission failure (reference §2.2 lists 403
    // for "no permission"; what a real server answers for an id that does not exist at all is
    // not documented, and the requestable set is exactly what the caller may request).
    let Some(account) = app.managed.account(form.account_id).filter(|a| a.system_id == form.system_id && a.api_enabled)
    else {
        return reply::code(StatusCode::FORBIDDEN, 4031);
    };
    let minutes = form.duration.unwrap_or(account.default_release);
    if !(1..=account.max_release).contains(&minutes) {
        // Reference §8.8 leaves open what a duration above MaximumReleaseDuration answers.
        return reply::message(
            StatusCode::BAD_REQUEST,
            &format!("DurationMinutes must be between 1 and {}.", account.max_release),
        );
    }
    if form.access_type == "App" && form.application_id.is_none() {
        return reply::message(StatusCode::BAD_REQUEST, "ApplicationID is required when AccessType is App.");
    }

    let now = Instant::now();
    let existing = app
        .requests
        .of(call.principal, now)
        .into_iter()
        .find(|r| r.account_id == account.id && r.access_type == form.access_type);
    if let Some(existing) = existing {
        match form.conflict {
            // Reuse answers the existing request's id with 200 (reference §2.2).
            Some(Conflict::Reuse) => return request_id(app, StatusCode::OK, existing.id),
            // Renew cancels the existing request and creates a new one.
            Some(Conflict::Renew) => app.requests.remove(existing.id),
            // Omitted: no conflict resolution, 409 with the bare sub-code (reference §6.4).
            None if !app.has(Fault::RequestConflictIgnored) => return reply::code(StatusCode::CONFLICT, 4091),
            None => {}
        }
    }
    let unit = if app.state.short_release { Duration::from_secs(1) } else { Duration::from_secs(60) };
    let lifetime = unit * u32::try_from(minutes).unwrap_or(u32::MAX);
    let pending = app.state.approval_required && !app.has(Fault::ApprovalIgnored);
    let request = Request {
        id: 0,
        owner: call.principal,
        system_id: account.system_id,
        account_id: account.id,
        access_type: form.access_type,
        reason: form.reason,
        status: if pending { Status::Pending { polls_left: APPROVAL_POLLS } } else { Status::Active },
        created: SystemTime::now(),
        expires: if app.has(Fault::RequestsNeverExpire) { None } else { now.checked_add(lifetime) },
        lifetime,
        checked_in: false,
    };
    let id = app.requests.add(request, now);
    request_id(app, StatusCode::CREATED, id)
}

/// The answer to a successful `POST Requests`: the bare JSON integer id (reference §6.3).
fn request_id(app: &App, status: StatusCode, id: u64) -> Response {
    if app.has(Fault::RequestIdObject) {
        return reply::json(status, &json!({ "RequestID": id }));
    }
    reply::json(status, &Value::from(id))
}

/// `ConflictOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    Reuse,
    Renew,
}

/// What a `POST Requests` body says, read the way the .NET binder reads it (reference §0):
/// property names in any case, numbers as JSON numbers or as strings.
#[derive(Debug, PartialEq, Eq)]
struct RequestForm {
    system_id: i64,
    account_id: i64,
    application_id: Option<i64>,
    duration: Option<i64>,
    access_type: String,
    reason: String,
    conflict: Option<Conflict>,
}

impl RequestForm {
    fn read(body: &Map<String, Value>) -> Result<RequestForm, Refusal> {
        let field = |name: &str| body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let int = |name: &str| -> Result<Option<i64>, Refusal> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| Refusal::bad_value(&n.to_string(), name)),
                Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| Refusal::bad_value(s, name)),
                Some(other) => Err(Refusal::bad_value(&other.to_string(), name)),
            }
        };
        let text = |name: &str| -> Result<Option<String>, Refusal> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Ok(Some(other.to_string())),
            }
        };
        let required = |name: &str| -> Result<i64, Refusal> {
            int(name)?.ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, &format!("{name} is required.")))
        };
        let access_type = match text("AccessType")?.as_deref().map(str::trim) {
            None | Some("") => "View".to_owned(),
            Some(t) => ["View", "RDP", "SSH", "App"]
                .into_iter()
                .find(|known| known.eq_ignore_ascii_case(t))
                .map(str::to_owned)
                .ok_or_else(|| Refusal::bad_value(t, "AccessType"))?,
        };
        let reason = text("Reason")?.unwrap_or_default();
        if reason.chars().count() > MAX_REASON {
            return Err(Refusal::new(StatusCode::BAD_REQUEST, "Reason is longer than 1000 characters."));
        }
        let conflict = match text("ConflictOption")?.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.eq_ignore_ascii_case("reuse") => Some(Conflict::Reuse),
            Some(c) if c.eq_ignore_ascii_case("renew") => Some(Conflict::Renew),
            Some(c) => return Err(Refusal::bad_value(c, "ConflictOption")),
        };
        Ok(RequestForm {
            system_id: required("SystemID")?,
            account_id: required("AccountID")?,
            application_id: int("ApplicationID")?,
            duration: int("DurationMinutes")?,
            access_type,
            reason,
            conflict,
        })
    }
}

/// A JSON object body, read leniently: standard JSON, or the Python `repr` of a dict that one
/// production integration sends with `Content-Type: application/json` (single quotes, `True`,
/// `None`; reference §0), which the .NET binder accepts.
fn lenient_object(body: Option<&[u8]>) -> Result<Map<String, Value>, Refusal> {
    let Some(body) = body else {
        return Err(Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."));
    };
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is empty."));
    }
    let parsed =
        serde_json::from_str::<Value>(&text).or_else(|_| serde_json::from_str::<Value>(&from_python_repr(&text)));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is not a JSON object.")),
    }
}

/// Rewrites a Python literal (`{'a': 'b', 'c': True, 'd': None}`) as JSON. Strings in double
/// quotes pass through; single-quoted ones are re-quoted.
fn from_python_repr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let quote = c;
                out.push('"');
                while let Some(ch) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                if escaped == '\'' {
                                    out.push('\'');
                                } else {
                                    out.push('\\');
                                    out.push(escaped);
                                }
                            }
                        }
                        q if q == quote => break,
                        '"' => out.push_str("\\\""),
                        other => out.push(other),
                    }
                }
                out.push('"');
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !n.is_ascii_alphanumeric() {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push_str(match word.as_str() {
                    "True" => "true",
                    "False" => "false",
                    "None" => "null",
                    other => other,
                });
            }
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// GET Requests

pub(crate) fn list(app: &App, call: &Call) -> Response {
    let q = &call.query;
    let status = q.text("status").map(str::to_ascii_lowercase).unwrap_or_else(|| "all".into());
    if !matches!(status.as_str(), "all" | "active" | "pending") {
        return reply::bad_value(&status, "status");
    }
    let queue = q.text("queue").map(str::to_ascii_lowercase).unwrap_or_else(|| "req".into());
    match queue.as_str() {
        "req" if app.state.approver_only => return reply::code(StatusCode::FORBIDDEN, 4033),
        "app" if app.state.requestor_only => return reply::code(StatusCode::FORBIDDEN, 4032),
        // Nobody else requests anything here, so the approver queue is empty.
        "app" => return reply::ok(&json!([])),
        "req" => {}
        other => return reply::bad_value(other, "queue"),
    }
    let items: Vec<Value> = app
        .requests
        .of(call.principal, Instant::now())
        .iter()
        .filter(|r| match status.as_str() {
            "active" => r.status == Status::Active,
            "pending" => matches!(r.status, Status::Pending { .. }),
            _ => true,
        })
        .map(|r| request_model(app, r))
        .collect();
    reply::ok(&Value::Array(items))
}

/// One item of `GET Requests` (reference §2.5).
fn request_model(app: &App, r: &Request) -> Value {
    let account = app.managed.account(r.account_id);
    let system = app.managed.system(r.system_id);
    let approved = r.status == Status::Active;
    json!({
        "RequestID": r.id,
        "SystemID": r.system_id,
        "SystemName": system.map(|s| s.name.clone()),
        "AccountID": r.account_id,
        "AccountName": account.map(|a| a.name.clone()),
        "DomainName": account.and_then(|a| a.domain.clone()),
        "AliasID": Value::Null,
        "ApplicationID": account.and_then(|a| a.application.as_ref().map(|(id, _)| *id)),
        "RequestReleaseDate": utc(r.created),
        "ApprovedDate": approved.then(|| utc(r.created)),
        "CanceledDate": Value::Null,
        "ExpiresDate": utc(r.created + r.lifetime),
        "Status": if approved { "Active" } else { "Pending" },
        "AccessType": r.access_type,
        "Reason": r.reason,
        "RequestorName": match r.owner {
            Principal::RunAs => app.settings.runas.clone().unwrap_or_default(),
            Principal::App => app.settings.client_id.clone().unwrap_or_default(),
        },
    })
}

/// A UTC time as .NET writes it without a zone: `2024-12-10T08:57:45`.
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut shown = crate::report::rfc3339(secs);
    shown.pop(); // the `Z`
    shown
}

// ---------------------------------------------------------------------------------------------
// PUT Requests/{id}/Checkin and PUT Requests/Release/{id}

pub(crate) fn check_in(app: &App, call: &Call) -> Response {
    // The body is optional: none, `{}`, `{"Reason": null}` or `{"Reason": "…"}` (§2.4).
    let body = call.body.as_deref().unwrap_or_default();
    if !String::from_utf8_lossy(body).trim().is_empty() {
        let map = match lenient_object(Some(body)) {
            Ok(map) => map,
            Err(refusal) => return refusal.into(),
        };
        let reason = map.iter().find(|(k, _)| k.eq_ignore_ascii_case("Reason")).map(|(_, v)| v);
        match reason {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.chars().count() <= MAX_REASON => {}
            Some(_) => {
                return reply::message(StatusCode::BAD_REQUEST, "Reason must be a string of at most 1000 characters.");
            }
        }
    }
    let Some(request) = own_request(app, call) else {
        // Reference §8.8: a second check-in, or one of an expired request, is not documented;
        // the request no longer exists, so 404.
        return reply::not_found("Request");
    };
    if request.checked_in {
        return reply::not_found("Request");
    }
    if app.has(Fault::CredentialsAfterCheckin) {
        app.requests.update(request.id, |r| r.checked_in = true);
    } else {
        app.requests.remove(request.id);
    }
    if app.has(Fault::Checkin200Body) {
        return reply::ok(&Value::from("Request checked in"));
    }
    // Exactly 204 and no body: the Python client accepts nothing else (§2.4).
    reply::empty(StatusCode::NO_CONTENT)
}

/// The caller's live request named by the route's `{id}`.
fn own_request(app: &App, call: &Call) -> Option<Request> {
    let id = call.param(0).trim().parse::<u64>().ok()?;
    app.requests.get(call.principal, id, Instant::now())
}

// ---------------------------------------------------------------------------------------------
// GET Credentials/{requestId}

pub(crate) fn credentials(app: &App, call: &Call) -> Response {
    let kind = call.query.text("type").map(str::to_ascii_lowercase);
    if let Some(kind) = &kind
        && !matches!(kind.as_str(), "password" | "dsskey" | "passphrase")
    {
        return reply::bad_value(kind, "type");
    }
    // Unknown, checked-in and expired requests are all "not found" (reference §2.3).
    let Some(request) = own_request(app, call).filter(|r| !r.checked_in || app.has(Fault::CredentialsAfterCheckin))
    else {
        return reply::not_found("Request");
    };
    if let Status::Pending { polls_left } = request.status {
        // Waiting for approval: 4034 until the approver acts, which here is after a number of
        // polls (see `APPROVAL_POLLS`).
        let status = if polls_left == 0 { Status::Active } else { Status::Pending { polls_left: polls_left - 1 } };
        app.requests.update(request.id, |r| r.status = status);
        if polls_left > 0 {
            return reply::code(StatusCode::FORBIDDEN, 4034);
        }
    }
    let Some(account) = app.managed.account(request.account_id) else {
        return reply::not_found("Managed Account");
    };
    let value = credential(account, kind.as_deref());
    if app.has(Fault::CredentialsObject) {
        return reply::ok(&json!({ "Password": value }));
    }
    // The body *is* the credential, as a JSON string literal (reference §6.3).
    reply::ok(&Value::from(value))
}

/// The credential of `type`. An account without a DSS key answers an empty string for
/// `dsskey` and `passphrase` (reference §2.3 does not say what real servers answer).
fn credential(account: &Account, kind: Option<&str>) -> String {
    match kind {
        Some("dsskey") => account.dss_key.clone().unwrap_or_default(),
        Some("passphrase") => account.passphrase.clone().unwrap_or_default(),
        _ => account.password.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: &str) -> Result<RequestForm, u16> {
        let map = lenient_object(Some(text.as_bytes())).map_err(|r| r.status.as_u16())?;
        RequestForm::read(&map).map_err(|r| r.status.as_u16())
    }

    #[test]
    fn bodies_bind_leniently() {
        let expected = RequestForm {
            system_id: 5,
            account_id: 7,
            application_id: None,
            duration: Some(1),
            access_type: "View".into(),
            reason: String::new(),
            conflict: Some(Conflict::Reuse),
        };
        assert_eq!(form(r#"{"SystemID":5,"AccountID":7,"DurationMinutes":1,"ConflictOption":"reuse"}"#), Ok(expected));
        // DEMISTO's Python repr: single quotes, numbers as strings, other casing.
        let demisto = form("{'SystemId': '5', 'AccountId': '7', 'DurationMinutes': 1, 'ConflictOption': 'Reuse'}");
        assert_eq!(demisto.map(|f| (f.system_id, f.account_id, f.conflict)), Ok((5, 7, Some(Conflict::Reuse))));
        let f = form(r#"{"systemid":"5","accountid":7,"accesstype":"rdp","Reason":"it's \"quoted\""}"#).expect("valid");
        assert_eq!((f.access_type.as_str(), f.reason.as_str(), f.conflict), ("RDP", "it's \"quoted\"", None));
    }

    #[test]
    fn bad_bodies_are_400() {
        assert_eq!(form(""), Err(400));
        assert_eq!(form("[1]"), Err(400));
        assert_eq!(form(r#"{"AccountID":7}"#), Err(400));
        assert_eq!(form(r#"{"SystemID":"x","AccountID":7}"#), Err(400));
        assert_eq!(form(r#"{"SystemID":1,"AccountID":7,"ConflictOption":"keep"}"#), Err(400));
        assert_eq!(form(r#"{"SystemID":1,"AccountID":7,"AccessType":"Telnet"}"#), Err(400));
        let long = format!(r#"{{"SystemID":1,"AccountID":7,"Reason":"{}"}}"#, "x".repeat(1001));
        assert_eq!(form(&long), Err(400));
    }

    #[test]
    fn python_repr_becomes_json() {
        assert_eq!(from_python_repr("{'a': True, 'b': None, 'c': 'it\\'s'}"), r#"{"a": true, "b": null, "c": "it's"}"#);
        assert_eq!(from_python_repr(r#"{'q': 'say "hi"'}"#), r#"{"q": "say \"hi\""}"#);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_733_820_000);
        assert_eq!(utc(t), "2024-12-10T08:40:00");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00");
    }

    #[test]
    fn the_book_stays_within_its_cap() {
        let book = Book::new(3);
        let now = Instant::now();
        let request = |owner| Request {
            id: 0,
            owner,
            system_id: 1,
            account_id: 10,
            access_type: "View".into(),
            reason: String::new(),
            status: Status::Active,
            created: SystemTime::now(),
            expires: Some(now + Duration::from_secs(60)),
            lifetime: Duration::from_secs(60),
            checked_in: false,
        };
        let ids: Vec<u64> = (0..5).map(|_| book.add(request(Principal::RunAs), now)).collect();
        assert_eq!(book.lock().requests.len(), 3);
        assert!(book.get(Principal::RunAs, ids[0], now).is_none(), "the oldest was dropped");
        assert!(book.get(Principal::RunAs, ids[4], now).is_some());
        assert!(book.get(Principal::App, ids[4], now).is_none(), "another user's request is not found");
        assert!(book.get(Principal::RunAs, ids[4], now + Duration::from_secs(61)).is_none(), "expired");
    }
}
