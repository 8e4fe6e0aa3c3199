//! The release flow and its approvals: `POST Requests` with its lenient body binding and
//! conflict options (and its kin: `POST Aliases/{id}/Requests`, `POST RequestSets`,
//! `POST ISARequests` and `POST ISASessions`), `GET Requests` in the requestor's and the
//! approver's queue, `GET RequestSets`, `GET Credentials/{requestId}` (a bare JSON string) and
//! its alias form, the check-in `PUT Requests/{id}/Checkin` with its deprecated alias
//! `PUT Requests/Release/{id}`, `PUT Requests/{id}/Approve`, `Deny` and `RotateOnCheckin`, the
//! terminations of an account's, a system's or a user's requests, and the alias list.
//!
//! Requests belong to the user whose session made them ([`Book`], bounded); each is also a
//! record of the one store, so `GET Requests/{id}` reads what this module writes. In the
//! `approval-required` state a new request is pending: `GET Credentials` answers 403 `4034`
//! until the approver (a second identity, never the requestor) approves it, a denial ends it,
//! and an unapproved request expires after its duration like any other. One that was checked
//! in, denied, terminated, renewed away or has expired is gone: its credentials answer 404.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::app::{App, Principal};
use super::call::Call;
use super::fault::Fault;
use super::fill::{self, Fit, NO_DATE};
use super::managed;
use super::reply::{self, Refusal};
use super::resources::{list_answer, record_answer};
use super::tables::{self, ALIAS, MANAGED_ACCOUNT, MANAGED_SYSTEM, REQUEST, Tables, USER, same};

/// Most live requests kept; beyond that the oldest are dropped, so a load test cannot grow
/// memory without bound.
pub(crate) const CAP: usize = 10_000;
/// The longest `Reason` the API takes.
const MAX_REASON: usize = 1000;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Waiting for an approver.
    Pending,
    /// Approved (or needing no approval): the credential can be retrieved until it expires.
    Active,
}

/// One release request.
#[derive(Debug, Clone)]
struct Request {
    id: u64,
    owner: Principal,
    system_id: i64,
    account_id: i64,
    alias_id: Option<i64>,
    application_id: Option<i64>,
    /// The request set it belongs to.
    set: Option<String>,
    access_type: String,
    reason: String,
    status: Status,
    created: SystemTime,
    approved: Option<SystemTime>,
    /// `None` never expires (the `requests-never-expire` fault).
    expires: Option<Instant>,
    lifetime: Duration,
    /// Checked in, but kept readable by the `credentials-after-checkin` fault.
    checked_in: bool,
    /// The check-in rotates the account's password (`PUT Requests/{id}/RotateOnCheckin`).
    rotate: bool,
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

    /// The live request with this id, whoever owns it; an expired one is dropped on the way.
    fn any(&self, id: u64, now: Instant) -> Option<Request> {
        let mut inner = self.lock();
        let request = inner.requests.get(&id)?.clone();
        if !request.live(now) {
            inner.requests.remove(&id);
            return None;
        }
        Some(request)
    }

    /// The caller's live request with this id.
    fn get(&self, owner: Principal, id: u64, now: Instant) -> Option<Request> {
        self.any(id, now).filter(|r| r.owner == owner)
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Request)) {
        if let Some(r) = self.lock().requests.get_mut(&id) {
            f(r);
        }
    }

    fn remove(&self, id: u64) -> Option<Request> {
        self.lock().requests.remove(&id)
    }

    /// Live, not checked-in requests that `keep` selects, oldest first.
    fn select(&self, now: Instant, keep: impl Fn(&Request) -> bool) -> Vec<Request> {
        let inner = self.lock();
        let mut out: Vec<Request> =
            inner.requests.values().filter(|r| r.live(now) && !r.checked_in && keep(r)).cloned().collect();
        out.sort_by_key(|r| r.id);
        out
    }

    /// The caller's live, not checked-in requests, oldest first.
    fn of(&self, owner: Principal, now: Instant) -> Vec<Request> {
        self.select(now, |r| r.owner == owner)
    }

    /// The accounts the caller has live requests for (`GET ManagedAccounts?type=recent`).
    pub(crate) fn accounts_of(&self, owner: Principal) -> Vec<i64> {
        self.of(owner, Instant::now()).iter().map(|r| r.account_id).collect()
    }
}

/// The request record `GET Requests` and `GET Requests/{id}` answer.
fn record(app: &App, tables: &Tables, r: &Request, status: &str, canceled: Option<SystemTime>) -> Value {
    let account = tables.rows(MANAGED_ACCOUNT).iter().find(|a| a["ManagedAccountID"] == r.account_id);
    let system = tables.rows(MANAGED_SYSTEM).iter().find(|s| s["ManagedSystemID"] == r.system_id);
    let requestor = match r.owner {
        Principal::RunAs => app.settings.runas.clone().unwrap_or_default(),
        Principal::App => app.settings.client_id.clone().unwrap_or_default(),
        Principal::Approver => app.approver.runas.clone(),
    };
    let given = json!({
        "RequestID": r.id,
        "SystemID": r.system_id,
        "SystemName": system.map_or(Value::from(""), |s| s["SystemName"].clone()),
        "AccountID": r.account_id,
        "AccountName": account.map_or(Value::from(""), |a| a["AccountName"].clone()),
        "DomainName": account.map_or(Value::from(""), |a| a["DomainName"].clone()),
        "AliasID": r.alias_id,
        "ApplicationID": r.application_id,
        "RequestReleaseDate": utc(r.created),
        // A date .NET never set: what a server sends for a request not approved yet.
        "ApprovedDate": r.approved.map_or_else(|| NO_DATE.to_owned(), utc),
        "ExpiresDate": utc(r.created + r.lifetime),
        "Status": status,
        "AccessType": r.access_type,
        "Reason": r.reason,
        "CanceledDate": canceled.map(utc),
        "RequestorName": requestor,
        "RequestorUserID": user_id(r.owner),
        "ManagedSystemName": system.map_or(Value::from(""), |s| s["SystemName"].clone()),
    });
    let m = REQUEST.model();
    let keep = ["RequestID", "SystemID", "AccountID", "Status", "ApprovedDate", "ExpiresDate"];
    fill::fit(&app.catalog.models, &m, given, Fit::view(app.data.sparse(), r.id.is_multiple_of(2)), &keep, None, r.id)
}

/// The user id of a principal, as the users' records have it.
pub(crate) fn user_id(p: Principal) -> i64 {
    match p {
        Principal::RunAs => super::auth::RUNAS_USER_ID,
        Principal::App => super::auth::APP_USER_ID,
        Principal::Approver => super::auth::APPROVER_USER_ID,
    }
}

/// Writes a request's record into the store (replacing the one it had).
fn save(app: &App, r: &Request, status: &str, canceled: Option<SystemTime>) {
    let mut tables = app.store();
    let row = record(app, &tables, r, status, canceled);
    let k = REQUEST.key();
    tables.rows_mut(&k).retain(|x| x["RequestID"] != r.id);
    // A store that holds as many requests as it may forgets the oldest, as the book does.
    if tables.rows_of(&k).len() >= tables::MAX_RECORDS {
        tables.rows_mut(&k).remove(0);
    }
    tables.insert(app.catalog, &k, row);
}

// ---------------------------------------------------------------------------------------------
// POST Requests, Aliases/{id}/Requests, RequestSets, ISARequests, ISASessions

/// The role conditions that refuse a request before its body is even read.
fn refused(app: &App) -> Option<Response> {
    if app.state.approver_only {
        return Some(reply::code(StatusCode::FORBIDDEN, 4033));
    }
    if app.state.request_forbidden {
        return Some(reply::code(StatusCode::FORBIDDEN, 4031));
    }
    if app.state.approvers_missing {
        return Some(reply::code(StatusCode::FORBIDDEN, 4035));
    }
    None
}

/// A new request from a read body, with its conflict options: the id and whether it is new
/// (201) or an existing one reused (200).
fn open(
    app: &App,
    call: &Call,
    form: RequestForm,
    alias: Option<i64>,
    set: Option<String>,
) -> Result<(u64, bool), Refusal> {
    let account = {
        let tables = app.store();
        // An account the caller cannot request is a permission failure; what a real server
        // answers for an id that does not exist at all is not documented.
        tables
            .rows(MANAGED_ACCOUNT)
            .iter()
            .find(|a| {
                a["ManagedAccountID"] == form.account_id
                    && a["ManagedSystemID"] == form.system_id
                    && a["ApiEnabled"] == true
            })
            .cloned()
    };
    let Some(account) = account else { return Err(Refusal::code(StatusCode::FORBIDDEN, 4031)) };
    let max = account["MaxReleaseDuration"].as_i64().unwrap_or(525_600).max(1);
    let minutes = form.duration.unwrap_or_else(|| account["ReleaseDuration"].as_i64().unwrap_or(120));
    if !(1..=max).contains(&minutes) {
        // What a duration above MaximumReleaseDuration answers is not documented.
        return Err(Refusal::new(StatusCode::BAD_REQUEST, &format!("DurationMinutes must be between 1 and {max}.")));
    }
    if form.access_type == "App" && form.application_id.is_none() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "ApplicationID is required when AccessType is App."));
    }
    let now = Instant::now();
    let existing = app.requests.of(call.principal, now).into_iter().find(|r| {
        r.account_id == form.account_id && r.access_type == form.access_type && r.set.is_none() == set.is_none()
    });
    if let Some(existing) = existing {
        match form.conflict {
            // Reuse answers the existing request's id with 200.
            Some(Conflict::Reuse) => return Ok((existing.id, false)),
            // Renew cancels the existing request and creates a new one.
            Some(Conflict::Renew) => {
                app.requests.remove(existing.id);
                save(app, &existing, "Canceled", Some(SystemTime::now()));
            }
            // Omitted: no conflict resolution, 409 with the bare sub-code.
            None if !app.has(Fault::RequestConflictIgnored) => return Err(Refusal::code(StatusCode::CONFLICT, 4091)),
            None => {}
        }
    }
    let unit = if app.state.short_release { Duration::from_secs(1) } else { Duration::from_secs(60) };
    let lifetime = unit * u32::try_from(minutes).unwrap_or(u32::MAX);
    let pending = app.state.approval_required && !app.has(Fault::ApprovalIgnored);
    let request = Request {
        id: 0,
        owner: call.principal,
        system_id: form.system_id,
        account_id: form.account_id,
        alias_id: alias,
        application_id: form.application_id,
        set,
        access_type: form.access_type,
        reason: form.reason,
        status: if pending { Status::Pending } else { Status::Active },
        created: SystemTime::now(),
        approved: (!pending).then(SystemTime::now),
        expires: if app.has(Fault::RequestsNeverExpire) { None } else { now.checked_add(lifetime) },
        lifetime,
        checked_in: false,
        rotate: form.rotate,
    };
    let id = app.requests.add(request.clone(), now);
    save(app, &Request { id, ..request }, if pending { "Pending" } else { "Active" }, None);
    Ok((id, true))
}

/// A request body, read as the .NET binder reads it.
fn read_form(call: &Call, extra: &[(&str, Value)]) -> Result<RequestForm, Refusal> {
    let mut body = lenient_object(call.body.as_deref())?;
    for (k, v) in extra {
        body.insert((*k).to_owned(), v.clone());
    }
    RequestForm::read(&body)
}

pub(crate) fn create(app: &App, call: &Call) -> Response {
    if let Some(refusal) = refused(app) {
        return refusal;
    }
    let form = match read_form(call, &[]) {
        Ok(f) => f,
        Err(r) => return r.into(),
    };
    match open(app, call, form, None, None) {
        Ok((id, new)) => request_id(app, if new { StatusCode::CREATED } else { StatusCode::OK }, id),
        Err(r) => r.into(),
    }
}

/// The answer to a successful `POST Requests`: the bare JSON integer id.
fn request_id(app: &App, status: StatusCode, id: u64) -> Response {
    if app.has(Fault::RequestIdObject) {
        return reply::json(status, &json!({ "RequestID": id }));
    }
    reply::json(status, &Value::from(id))
}

/// `POST Aliases/{aliasId}/Requests`: a request for the account the alias maps, when the alias
/// is mapped (state 1 or 2) to an account the caller may request.
pub(crate) fn create_for_alias(app: &App, call: &Call) -> Response {
    if let Some(refusal) = refused(app) {
        return refusal;
    }
    let alias = app.store().find(app.catalog, ALIAS, call.param(0)).cloned();
    let Some(alias) = alias else { return reply::not_found("Alias") };
    if !matches!(alias["AliasState"].as_i64(), Some(1 | 2)) {
        return reply::code(StatusCode::FORBIDDEN, 4031);
    }
    let ids = [("SystemID", alias["SystemId"].clone()), ("AccountID", alias["AccountId"].clone())];
    let form = match read_form(call, &ids) {
        Ok(f) => f,
        Err(r) => return r.into(),
    };
    match open(app, call, form, alias["AliasID"].as_i64(), None) {
        Ok((id, new)) => request_id(app, if new { StatusCode::CREATED } else { StatusCode::OK }, id),
        Err(r) => r.into(),
    }
}

/// `POST RequestSets`: one request per access type, answered as the set.
pub(crate) fn create_set(app: &App, call: &Call) -> Response {
    if let Some(refusal) = refused(app) {
        return refusal;
    }
    let body = match lenient_object(call.body.as_deref()) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let types: Vec<String> = super::resources::get_ci(&body, "AccessTypes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    // A set is at least two of View, RDP, SSH and App (Create release request set); one type is
    // a plain request, not a set.
    let mut distinct: Vec<String> = types.iter().map(|t| t.to_ascii_lowercase()).collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() < 2 {
        return reply::message(StatusCode::BAD_REQUEST, "AccessTypes needs at least two access types.");
    }
    let set = uuid::Uuid::new_v4().to_string();
    let mut ids = Vec::new();
    for t in types {
        let form = match read_form(call, &[("AccessType", Value::from(t)), ("ConflictOption", Value::Null)]) {
            Ok(f) => f,
            Err(r) => return r.into(),
        };
        match open(app, call, form, None, Some(set.clone())) {
            Ok((id, _)) => ids.push(id),
            Err(r) => return r.into(),
        }
    }
    reply::json(StatusCode::CREATED, &json!({ "RequestSetID": set, "RequestIDs": ids }))
}

/// `POST ISARequests`: a request and its credential in one call.
pub(crate) fn isa_release(app: &App, call: &Call) -> Response {
    if let Some(refusal) = refused(app) {
        return refusal;
    }
    let kind = call.query.text("type").map(str::to_ascii_lowercase);
    if kind.as_deref().is_some_and(|k| !matches!(k, "password" | "dsskey" | "passphrase")) {
        return reply::bad_value(kind.as_deref().unwrap_or_default(), "type");
    }
    let form = match read_form(call, &[("ConflictOption", Value::from("reuse"))]) {
        Ok(f) => f,
        Err(r) => return r.into(),
    };
    let account = form.account_id.to_string();
    if let Err(r) = open(app, call, form, None, None) {
        return r.into();
    }
    let value = managed::credential(&mut app.store(), &account, kind.as_deref()).unwrap_or_default();
    reply::json(StatusCode::CREATED, &json!({ "Credentials": value }))
}

/// `POST ISASessions`: a request and a session ticket in one call.
pub(crate) fn isa_session(app: &App, call: &Call) -> Response {
    if let Some(refusal) = refused(app) {
        return refusal;
    }
    let body = match lenient_object(call.body.as_deref()) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let session_type =
        super::resources::get_ci(&body, "SessionType").and_then(Value::as_str).unwrap_or_default().to_owned();
    let access = if session_type.to_ascii_lowercase().starts_with("rdp") { "RDP" } else { "SSH" };
    let form = match read_form(call, &[("AccessType", Value::from(access)), ("ConflictOption", Value::from("reuse"))]) {
        Ok(f) => f,
        Err(r) => return r.into(),
    };
    match open(app, call, form, None, None) {
        Ok((id, _)) => reply::json(StatusCode::CREATED, &super::sessions::ticket(app, id, access == "SSH")),
        Err(r) => r.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// GET Requests and GET RequestSets

/// The requests a queue shows the caller: its own (`req`), or the pending requests of others
/// that it may approve (`app`, the approver's only).
fn queue(app: &App, call: &Call) -> Result<Vec<Request>, Refusal> {
    let q = &call.query;
    let status = q.text("status").map(str::to_ascii_lowercase).unwrap_or_else(|| "all".into());
    if !matches!(status.as_str(), "all" | "active" | "pending") {
        return Err(Refusal::bad_value(&status, "status"));
    }
    let queue = q.text("queue").map(str::to_ascii_lowercase).unwrap_or_else(|| "req".into());
    let now = Instant::now();
    let items = match queue.as_str() {
        "req" if app.state.approver_only => return Err(Refusal::code(StatusCode::FORBIDDEN, 4033)),
        "app" if app.state.requestor_only => return Err(Refusal::code(StatusCode::FORBIDDEN, 4032)),
        "app" if call.principal == Principal::Approver => {
            app.requests.select(now, |r| r.owner != Principal::Approver && r.status == Status::Pending)
        }
        // Only the approver approves here, so every other queue of approvals is empty.
        "app" => Vec::new(),
        "req" => app.requests.of(call.principal, now),
        other => return Err(Refusal::bad_value(other, "queue")),
    };
    Ok(items
        .into_iter()
        .filter(|r| match status.as_str() {
            "active" => r.status == Status::Active,
            "pending" => r.status == Status::Pending,
            _ => true,
        })
        .collect())
}

fn status_word(r: &Request) -> &'static str {
    if r.status == Status::Active { "Active" } else { "Pending" }
}

pub(crate) fn list(app: &App, call: &Call) -> Response {
    let items = match queue(app, call) {
        Ok(i) => i,
        Err(r) => return r.into(),
    };
    let tables = app.store();
    let rows: Vec<Value> = items.iter().map(|r| record(app, &tables, r, status_word(r), None)).collect();
    let Some(doc) = call.doc else { return reply::ok(&Value::Array(rows)) };
    drop(tables);
    list_answer(app, call, doc, &REQUEST.model(), rows)
}

pub(crate) fn list_sets(app: &App, call: &Call) -> Response {
    let items = match queue(app, call) {
        Ok(i) => i,
        Err(r) => return r.into(),
    };
    let tables = app.store();
    let mut sets: Vec<(String, Vec<Value>)> = Vec::new();
    for r in items.iter().filter(|r| r.set.is_some()) {
        let set = r.set.clone().unwrap_or_default();
        let row = record(app, &tables, r, status_word(r), None);
        match sets.iter_mut().find(|(s, _)| *s == set) {
            Some((_, rows)) => rows.push(row),
            None => sets.push((set, vec![row])),
        }
    }
    let m = tables::REQUEST_SET.model();
    let out: Vec<Value> = sets
        .into_iter()
        .map(|(id, requests)| {
            let v = json!({ "RequestSetID": id, "Requests": requests });
            fill::fit(&app.catalog.models, &m, v, Fit::answer(app.data.sparse()), &[], None, 1)
        })
        .collect();
    reply::ok(&Value::Array(out))
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

/// The optional reason of a check-in, approval or denial: none, `{}`, `{"Reason": null}` or
/// `{"Reason": "…"}` of at most 1000 characters.
fn reason(call: &Call) -> Result<Option<String>, Refusal> {
    let body = call.body.as_deref().unwrap_or_default();
    if String::from_utf8_lossy(body).trim().is_empty() {
        return Ok(None);
    }
    let map = lenient_object(Some(body))?;
    match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("Reason")).map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_REASON => {
            Ok(Some(s.clone()).filter(|s| !s.trim().is_empty()))
        }
        Some(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, "Reason must be a string of at most 1000 characters.")),
    }
}

pub(crate) fn check_in(app: &App, call: &Call) -> Response {
    if let Err(r) = reason(call) {
        return r.into();
    }
    let Some(request) = own_request(app, call) else {
        // A second check-in, or one of an expired request, is not documented; the request no
        // longer exists, so 404.
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
    if request.rotate {
        managed::rotate(&mut app.store(), &request.account_id.to_string());
    }
    save(app, &request, "Expired", Some(SystemTime::now()));
    if app.has(Fault::Checkin200Body) {
        return reply::ok(&Value::from("Request checked in"));
    }
    // Exactly 204 and no body: the Python client accepts nothing else.
    reply::empty(StatusCode::NO_CONTENT)
}

/// The id of the caller's live request that the route's first `{id}` names.
pub(crate) fn own_live(app: &App, call: &Call) -> Option<u64> {
    own_request(app, call).filter(|r| !r.checked_in).map(|r| r.id)
}

/// The caller's live request named by the route's `{id}`.
fn own_request(app: &App, call: &Call) -> Option<Request> {
    let id = call.param(0).trim().parse::<u64>().ok()?;
    app.requests.get(call.principal, id, Instant::now())
}

// ---------------------------------------------------------------------------------------------
// PUT Requests/{id}/Approve, Deny and RotateOnCheckin

pub(crate) fn approve(app: &App, call: &Call) -> Response {
    if let Err(r) = reason(call) {
        return r.into();
    }
    let Some(id) = call.param(0).trim().parse::<u64>().ok() else { return reply::not_found("Request") };
    let Some(request) = app.requests.any(id, Instant::now()) else { return reply::not_found("Request") };
    // Approving needs the approver role, and nobody approves their own request.
    let approver = call.principal == Principal::Approver && request.owner != Principal::Approver;
    if !approver && !app.has(Fault::ApproveWithoutApprover) {
        return reply::message(StatusCode::FORBIDDEN, "The user is not an approver of this request.");
    }
    if request.status != Status::Pending {
        return reply::message(StatusCode::BAD_REQUEST, "The request is not waiting for approval.");
    }
    let now = SystemTime::now();
    app.requests.update(id, |r| {
        r.status = Status::Active;
        r.approved = Some(now);
    });
    save(app, &Request { status: Status::Active, approved: Some(now), ..request }, "Active", None);
    reply::empty(StatusCode::NO_CONTENT)
}

/// Denies a pending request (the approver) or cancels one's own; either way the request ends.
/// The reason is optional: the pages document it as such.
pub(crate) fn deny(app: &App, call: &Call) -> Response {
    if let Err(r) = reason(call) {
        return r.into();
    }
    let Some(id) = call.param(0).trim().parse::<u64>().ok() else {
        return reply::message(StatusCode::BAD_REQUEST, "The request id is not valid.");
    };
    let Some(request) = app.requests.any(id, Instant::now()) else {
        return reply::message(StatusCode::BAD_REQUEST, "The request id is not valid.");
    };
    let own = request.owner == call.principal;
    if !own && call.principal != Principal::Approver {
        return reply::message(StatusCode::FORBIDDEN, "The user is not an approver of this request.");
    }
    if request.status != Status::Pending {
        return reply::message(StatusCode::BAD_REQUEST, "The request is not waiting for approval.");
    }
    app.requests.remove(id);
    save(app, &request, if own { "Canceled" } else { "Denied" }, Some(SystemTime::now()));
    reply::empty(StatusCode::NO_CONTENT)
}

pub(crate) fn rotate_on_checkin(app: &App, call: &Call) -> Response {
    let Some(request) = own_request(app, call).filter(|r| !r.checked_in) else {
        return reply::message(StatusCode::BAD_REQUEST, "The request id is not valid.");
    };
    app.requests.update(request.id, |r| r.rotate = true);
    reply::empty(StatusCode::NO_CONTENT)
}

/// Ends the live requests of an account, of a system's accounts or of a user: 404 when the
/// route names none of them.
pub(crate) fn terminate(app: &App, call: &Call) -> Response {
    if let Err(r) = reason(call) {
        return r.into();
    }
    let Some(doc) = call.doc else { return reply::no_route() };
    let given = call.param(0);
    let route = doc.route.to_ascii_lowercase();
    let selector: Box<dyn Fn(&Request) -> bool> = {
        let tables = app.store();
        if route.starts_with("managedaccounts/") {
            let Some(a) = tables.find(app.catalog, MANAGED_ACCOUNT, given) else {
                return reply::not_found("Managed Account");
            };
            let id = a["ManagedAccountID"].as_i64();
            Box::new(move |r| Some(r.account_id) == id)
        } else if route.starts_with("managedsystems/") {
            let Some(s) = tables.find(app.catalog, MANAGED_SYSTEM, given) else {
                return reply::not_found("Managed System");
            };
            let id = s["ManagedSystemID"].as_i64();
            Box::new(move |r| Some(r.system_id) == id)
        } else {
            let Some(u) = tables.find(app.catalog, USER, given) else { return reply::not_found("User") };
            let id = u["UserID"].as_i64();
            Box::new(move |r| Some(user_id(r.owner)) == id)
        }
    };
    for r in app.requests.select(Instant::now(), selector) {
        app.requests.remove(r.id);
        save(app, &r, "Canceled", Some(SystemTime::now()));
    }
    reply::empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// GET Credentials/{requestId}, its alias form, and GET ManagedAccounts/{id}/Credentials

/// The `type=` of a credential read: `password` (the default), `dsskey` or `passphrase`.
fn credential_type(call: &Call) -> Result<Option<String>, Refusal> {
    let kind = call.query.text("type").map(str::to_ascii_lowercase);
    match kind.as_deref() {
        None | Some("password" | "dsskey" | "passphrase") => Ok(kind),
        Some(other) => Err(Refusal::bad_value(other, "type")),
    }
}

/// The caller's request that may hand out its credential: 404 when unknown, checked in or
/// expired, 403 `4034` while it waits for approval.
fn releasable(app: &App, call: &Call, id: &str) -> Result<Request, Refusal> {
    let request = id.trim().parse::<u64>().ok().and_then(|id| app.requests.get(call.principal, id, Instant::now()));
    let Some(request) = request.filter(|r| !r.checked_in || app.has(Fault::CredentialsAfterCheckin)) else {
        return Err(Refusal::not_found("Request"));
    };
    if request.status == Status::Pending {
        return Err(Refusal::code(StatusCode::FORBIDDEN, 4034));
    }
    Ok(request)
}

pub(crate) fn credentials(app: &App, call: &Call) -> Response {
    let kind = match credential_type(call) {
        Ok(k) => k,
        Err(r) => return r.into(),
    };
    let request = match releasable(app, call, call.param(0)) {
        Ok(r) => r,
        Err(r) => return r.into(),
    };
    let Some(value) = managed::credential(&mut app.store(), &request.account_id.to_string(), kind.as_deref()) else {
        return reply::not_found("Managed Account");
    };
    if app.has(Fault::CredentialsObject) {
        return reply::ok(&json!({ "Password": value }));
    }
    // The body *is* the credential, as a JSON string literal.
    reply::ok(&Value::from(value))
}

pub(crate) fn alias_credentials(app: &App, call: &Call) -> Response {
    let kind = match credential_type(call) {
        Ok(k) => k,
        Err(r) => return r.into(),
    };
    let alias = app.store().find(app.catalog, ALIAS, call.param(0)).cloned();
    let Some(alias) = alias else { return reply::not_found("Alias") };
    let request = match releasable(app, call, call.param(1)) {
        Ok(r) => r,
        Err(r) => return r.into(),
    };
    if request.alias_id != alias["AliasID"].as_i64() {
        return reply::not_found("Request");
    }
    let mut tables = app.store();
    let value = managed::credential(&mut tables, &request.account_id.to_string(), kind.as_deref()).unwrap_or_default();
    let account = tables.rows(MANAGED_ACCOUNT).iter().find(|a| a["ManagedAccountID"] == request.account_id).cloned();
    let field = match kind.as_deref() {
        Some("dsskey") => "PrivateKey",
        Some("passphrase") => "Passphrase",
        _ => "Password",
    };
    let mut given = json!({
        "AliasID": alias["AliasID"], "AliasName": alias["AliasName"],
        "SystemID": request.system_id, "SystemName": alias["SystemName"],
        "AccountID": request.account_id,
        "AccountName": account.as_ref().map_or(Value::from(""), |a| a["AccountName"].clone()),
        "DomainName": account.as_ref().map_or(Value::from(""), |a| a["DomainName"].clone()),
    });
    given[field] = Value::from(value);
    let Some(doc) = call.doc else { return reply::ok(&given) };
    let m = crate::catalog::ModelRef { area: Some("credentials".into()), name: "AliasCredentials".into() };
    drop(tables);
    record_answer(app, call, doc, &m, &given)
}

/// `GET ManagedAccounts/{id}/Credentials`: the credential of an account the caller has a live,
/// approved request for.
pub(crate) fn account_credentials(app: &App, call: &Call) -> Response {
    let kind = match credential_type(call) {
        Ok(k) => k,
        Err(r) => return r.into(),
    };
    let account = app.store().find(app.catalog, MANAGED_ACCOUNT, call.param(0)).cloned();
    let Some(account) = account else { return reply::not_found("Managed Account") };
    let id = account["ManagedAccountID"].as_i64();
    let live = app.requests.of(call.principal, Instant::now()).into_iter().find(|r| Some(r.account_id) == id);
    match live {
        None => reply::code(StatusCode::FORBIDDEN, 4031),
        Some(r) if r.status == Status::Pending => reply::code(StatusCode::FORBIDDEN, 4034),
        Some(r) => {
            let value =
                managed::credential(&mut app.store(), &r.account_id.to_string(), kind.as_deref()).unwrap_or_default();
            reply::ok(&Value::from(value))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GET Aliases

/// The aliases in the states `state` names (`0` unmapped, `1` mapped, `2` highly available;
/// `1,2` by default), or the one `name` names.
pub(crate) fn list_aliases(app: &App, call: &Call) -> Response {
    let states: Result<Vec<i64>, _> =
        call.query.text("state").unwrap_or("1,2").split(',').map(|s| s.trim().parse::<i64>()).collect();
    let Ok(states) = states.map(|s| s.into_iter().filter(|x| (0..=2).contains(x)).collect::<Vec<_>>()) else {
        return reply::bad_value(call.query.text("state").unwrap_or_default(), "state");
    };
    let tables = app.store();
    let rows: Vec<Value> = tables
        .rows(ALIAS)
        .iter()
        .filter(|a| a["AliasState"].as_i64().is_some_and(|s| states.contains(&s)))
        .filter(|a| call.query.text("name").is_none_or(|n| same(&a["AliasName"], n)))
        .cloned()
        .collect();
    drop(tables);
    let Some(doc) = call.doc else { return reply::ok(&Value::Array(rows)) };
    list_answer(app, call, doc, &ALIAS.model(), rows)
}

// ---------------------------------------------------------------------------------------------
// Reading a request body

/// `ConflictOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    Reuse,
    Renew,
}

/// What a `POST Requests` body says, read the way the .NET binder reads it:
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
    /// `RotateOnCheckin`: the check-in rotates the password.
    rotate: bool,
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
        let rotate = match field("RotateOnCheckin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                s.eq_ignore_ascii_case("true")
            }
            Some(other) => return Err(Refusal::bad_value(&other.to_string(), "RotateOnCheckin")),
        };
        Ok(RequestForm {
            system_id: required("SystemID")?,
            account_id: required("AccountID")?,
            application_id: int("ApplicationID")?,
            duration: int("DurationMinutes")?,
            access_type,
            reason,
            conflict,
            rotate,
        })
    }
}

/// A JSON object body, read leniently: standard JSON, or the Python `repr` of a dict that one
/// production integration sends with `Content-Type: application/json` (single quotes, `True`,
/// `None`), which the .NET binder accepts.
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
            rotate: false,
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
            alias_id: None,
            application_id: None,
            set: None,
            access_type: "View".into(),
            reason: String::new(),
            status: Status::Active,
            created: SystemTime::now(),
            approved: None,
            expires: Some(now + Duration::from_secs(60)),
            lifetime: Duration::from_secs(60),
            checked_in: false,
            rotate: false,
        };
        let ids: Vec<u64> = (0..5).map(|_| book.add(request(Principal::RunAs), now)).collect();
        assert_eq!(book.lock().requests.len(), 3);
        assert!(book.get(Principal::RunAs, ids[0], now).is_none(), "the oldest was dropped");
        assert!(book.get(Principal::RunAs, ids[4], now).is_some());
        assert!(book.get(Principal::App, ids[4], now).is_none(), "another user's request is not found");
        assert!(book.get(Principal::RunAs, ids[4], now + Duration::from_secs(61)).is_none(), "expired");
    }

    use crate::simulator::config::SimState;
    use crate::simulator::data::DataVariant;
    use crate::simulator::testing::Client;

    fn release() -> serde_json::Value {
        json!({"SystemID": 1, "AccountID": 10, "DurationMinutes": 5, "ConflictOption": "renew"})
    }

    #[tokio::test]
    async fn a_pending_request_waits_for_the_approver_and_a_denial_ends_it() {
        let state = SimState::from_names(&["approval-required"]).expect("state");
        let me = Client::with(DataVariant::Standard, state).await;
        let approver = me.approver().await;
        let (status, id) = me.json("POST", "Requests", Some(release())).await;
        assert_eq!(status, 201);
        for _ in 0..5 {
            assert_eq!(
                me.json("GET", &format!("Credentials/{id}"), None).await,
                (403, json!(4034)),
                "polling never approves"
            );
        }
        assert_eq!(
            me.json("PUT", &format!("Requests/{id}/Approve"), None).await.0,
            403,
            "nobody approves their own request"
        );
        let (_, queue) = approver.json("GET", "Requests?queue=app", None).await;
        assert!(queue.as_array().is_some_and(|q| q.iter().any(|r| r["RequestID"] == id)), "{queue}");
        assert_eq!(me.json("GET", "Requests?queue=app", None).await.1, json!([]), "the requestor approves nothing");
        assert_eq!(approver.json("PUT", &format!("Requests/{id}/Approve"), Some(json!({"Reason": "ok"}))).await.0, 204);
        assert_eq!(approver.json("PUT", &format!("Requests/{id}/Approve"), None).await.0, 400, "approved already");
        let (status, credential) = me.json("GET", &format!("Credentials/{id}"), None).await;
        assert!(status == 200 && credential.is_string(), "{status} {credential}");
        let (_, record) = me.json("GET", &format!("Requests/{id}"), None).await;
        assert_eq!(record["Status"], "Active");
        assert_ne!(record["ApprovedDate"], fill::NO_DATE);

        // Denied by the approver (the reason is optional), or cancelled by the requestor.
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        let long = json!({"Reason": "x".repeat(1001)});
        assert_eq!(approver.json("PUT", &format!("Requests/{id}/Deny"), Some(long)).await.0, 400);
        assert_eq!(approver.json("PUT", &format!("Requests/{id}/Deny"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Credentials/{id}"), None).await.0, 404, "a denial ends the request");
        assert_eq!(me.json("GET", &format!("Requests/{id}"), None).await.1["Status"], "Denied");
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        assert_eq!(me.json("PUT", &format!("Requests/{id}/Deny"), Some(json!({}))).await.0, 204);
        assert_eq!(me.json("GET", &format!("Requests/{id}"), None).await.1["Status"], "Canceled");
    }

    #[tokio::test]
    async fn an_unapproved_request_expires() {
        let state = SimState::from_names(&["approval-required", "short-release-duration"]).expect("state");
        let me = Client::with(DataVariant::Standard, state).await;
        let approver = me.approver().await;
        let body = json!({"SystemID": 1, "AccountID": 10, "DurationMinutes": 1});
        let (_, id) = me.json("POST", "Requests", Some(body)).await;
        assert_eq!(me.json("GET", &format!("Credentials/{id}"), None).await.1, json!(4034));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(me.json("GET", &format!("Credentials/{id}"), None).await.0, 404);
        assert_eq!(
            approver.json("PUT", &format!("Requests/{id}/Approve"), None).await.0,
            404,
            "nothing left to approve"
        );
    }

    #[tokio::test]
    async fn a_request_marked_to_rotate_changes_the_password_at_check_in() {
        let me = Client::new(DataVariant::Standard).await;
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        let (_, first) = me.json("GET", &format!("Credentials/{id}"), None).await;
        assert_eq!(me.json("PUT", &format!("Requests/{id}/RotateOnCheckin"), None).await.0, 204);
        assert_eq!(me.json("PUT", &format!("Requests/{id}/Checkin"), None).await.0, 204);
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        let (_, second) = me.json("GET", &format!("Credentials/{id}"), None).await;
        assert!(first.is_string() && second.is_string() && first != second, "{first} {second}");
        assert_eq!(me.json("PUT", &format!("Requests/{id}/Checkin"), None).await.0, 204);
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        assert_eq!(me.json("GET", &format!("Credentials/{id}"), None).await.1, second, "no mark, no rotation");
        assert_eq!(me.json("PUT", "Requests/999999/RotateOnCheckin", None).await.0, 400);
    }

    #[tokio::test]
    async fn requests_of_an_account_are_terminated() {
        let me = Client::new(DataVariant::Standard).await;
        let (_, id) = me.json("POST", "Requests", Some(release())).await;
        assert_eq!(me.json("POST", "ManagedAccounts/10/Requests/Terminate", Some(json!({}))).await.0, 204);
        assert_eq!(me.json("GET", &format!("Credentials/{id}"), None).await.0, 404);
        assert_eq!(me.json("POST", "ManagedAccounts/999/Requests/Terminate", Some(json!({}))).await.0, 404);
    }
}
