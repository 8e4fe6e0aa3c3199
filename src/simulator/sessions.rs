//! Sessions as behaviour: starting one on the caller's own approved request (or an admin
//! session), the session list with its comma-separated `status` filter, locking and
//! terminating sessions (one, or every live one of an account or a system), the replay of a
//! recorded session (`PBSM/Replay`: open, seek, status or a frame, close), and the keystroke
//! search. Sessions and keystrokes are records of the one store; a replay lives in the hidden
//! part of its session. Listing and finding sessions and keystrokes by id is the table routes'.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::fill::{self, Fit, SOME_DATE};
use super::reply;
use super::resources::{body_object, documented_body, get_ci, list_answer, missing_required};
use super::tables::{KEYSTROKE, MANAGED_ACCOUNT, MANAGED_SYSTEM, REQUEST, SESSION, Tables, same, text};

/// Session statuses (`Session.Status`): in progress, locked, terminated.
const IN_PROGRESS: i64 = 1;
const LOCKED: i64 = 5;
const TERMINATED: i64 = 7;

/// What opens a session: the ticket and where to use it, in the shape of an ISA SSH session
/// (`ssh`) or an RDP one. The ticket is a credential: every output masks it.
pub(crate) fn ticket(app: &App, id: u64, ssh: bool) -> Value {
    let mut rng = rand::rng();
    let ticket = random_alphanumeric(&mut rng, 32);
    let host = "127.0.0.1";
    if ssh {
        let _ = app;
        json!({
            "ID": id.to_string(),
            "Ticket": ticket,
            "Host": host,
            "Port": "4422",
            "TicketAtHost": format!("{ticket}@{host}"),
            "Link": format!("ssh://{ticket}@{host}:4422"),
            "Command": format!("ssh -p 4422 {ticket}@{host}"),
        })
    } else {
        json!({ "ID": id.to_string(), "Ticket": ticket, "Host": host, "Port": "4489" })
    }
}

/// `POST Requests/{requestId}/Sessions` (the caller's own approved request) and
/// `POST Sessions/Admin`: a session record in progress, and its ticket.
pub(crate) fn start(app: &App, call: &Call) -> Response {
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let kind = get_ci(&body, "SessionType").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    let ssh = !kind.starts_with("rdp");
    if !matches!(kind.as_str(), "ssh" | "sshticket" | "rdp" | "rdpticket" | "rdpfile" | "app" | "appfile") {
        return reply::bad_value(&kind, "SessionType");
    }
    let mut tables = app.store();
    let (account, system, request_id) = if call.params.is_empty() {
        (Value::Null, Value::Null, Value::Null)
    } else {
        // Only the owner's live, approved request opens a session.
        let live = super::requests::own_live(app, call);
        let Some(request) = live else { return reply::not_found("Request") };
        let record = tables.find(app.catalog, REQUEST, &request.to_string()).cloned().unwrap_or(Value::Null);
        if record["Status"] != "Active" {
            return reply::code(StatusCode::FORBIDDEN, 4034);
        }
        let account =
            tables.find(app.catalog, MANAGED_ACCOUNT, &text(&record["AccountID"])).cloned().unwrap_or(Value::Null);
        let system =
            tables.find(app.catalog, MANAGED_SYSTEM, &text(&record["SystemID"])).cloned().unwrap_or(Value::Null);
        (account, system, Value::from(request))
    };
    let host = get_ci(&body, "HostName").cloned().unwrap_or_else(|| system["SystemName"].clone());
    // The id first: fitting the record to its model would otherwise give it the default 0.
    let session_id = tables.next_id(app.catalog, &SESSION.model());
    let given = json!({
        "SessionID": session_id,
        "UserID": super::requests::user_id(call.principal),
        "NodeID": super::seed::NODE,
        "Status": IN_PROGRESS,
        "ArchiveStatus": 0,
        "Protocol": if ssh { 1 } else { 0 },
        "StartTime": SOME_DATE,
        "EndTime": SOME_DATE,
        "Duration": 0,
        "AssetName": host,
        "ManagedSystemID": system["ManagedSystemID"],
        "ManagedAccountID": account.get("ManagedAccountID").cloned().unwrap_or(Value::from(0)),
        "ManagedAccountName": account.get("AccountName").cloned().unwrap_or_else(|| get_ci(&body, "UserName").cloned().unwrap_or(Value::from(""))),
        "RequestID": request_id,
        "SessionType": kind,
    });
    let row = fill::fit(&app.catalog.models, &SESSION.model(), given, Fit::answer(app.data.sparse()), &[], None, 1);
    let Some(row) = tables.insert(app.catalog, &SESSION.key(), row) else {
        return reply::message(StatusCode::BAD_REQUEST, "The simulator holds no more sessions.");
    };
    let id = row["SessionID"].as_u64().unwrap_or_default();
    reply::json(StatusCode::CREATED, &ticket(app, id, ssh))
}

/// `GET Sessions`: filtered by `userID` and by `status`, one status or a comma-separated list.
pub(crate) fn list(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let statuses: Option<Result<Vec<i64>, _>> =
        call.query.text("status").map(|s| s.split(',').map(|x| x.trim().parse::<i64>()).collect());
    let statuses = match statuses {
        Some(Err(_)) => return reply::bad_value(call.query.text("status").unwrap_or_default(), "status"),
        Some(Ok(s)) => Some(s),
        None => None,
    };
    let rows: Vec<Value> = app
        .store()
        .rows(SESSION)
        .iter()
        .filter(|s| call.query.text("userID").is_none_or(|u| same(&s["UserID"], u)))
        .filter(|s| statuses.as_ref().is_none_or(|st| s["Status"].as_i64().is_some_and(|x| st.contains(&x))))
        .cloned()
        .collect();
    list_answer(app, call, doc, &SESSION.model(), rows)
}

/// The sessions a lock or termination route names: one by id, or the live ones of an account
/// or a system. `Err` names what does not exist.
fn targets(app: &App, tables: &Tables, call: &Call) -> Result<Vec<String>, &'static str> {
    let route = call.doc.map(|d| d.route.to_ascii_lowercase()).unwrap_or_default();
    let given = call.param(0);
    let live = |s: &&Value| matches!(s["Status"].as_i64(), Some(0 | IN_PROGRESS | LOCKED));
    let ids = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        tables.rows(SESSION).iter().filter(live).filter(|s| f(s)).map(|s| text(&s["SessionID"])).collect()
    };
    if route.starts_with("managedaccounts/") {
        let a = tables.find(app.catalog, MANAGED_ACCOUNT, given).ok_or("Managed Account")?;
        Ok(ids(&|s| s["ManagedAccountID"] == a["ManagedAccountID"]))
    } else if route.starts_with("managedsystems/") {
        let m = tables.find(app.catalog, MANAGED_SYSTEM, given).ok_or("Managed System")?;
        Ok(ids(&|s| s["ManagedSystemID"] == m["ManagedSystemID"]))
    } else {
        let s = tables.find(app.catalog, SESSION, given).ok_or("Session")?;
        Ok(vec![text(&s["SessionID"])])
    }
}

fn set_status(app: &App, call: &Call, status: i64) -> Response {
    let mut tables = app.store();
    let ids = match targets(app, &tables, call) {
        Ok(ids) => ids,
        Err(what) => return reply::not_found(what),
    };
    for id in &ids {
        if let Some(Value::Object(s)) = tables.find_mut(app.catalog, SESSION, id) {
            s.insert("Status".into(), Value::from(status));
        }
    }
    if call.query.bool("feedback").ok().flatten() == Some(true) {
        return reply::ok(&json!({ "Sessions": ids.len() }));
    }
    reply::empty(StatusCode::NO_CONTENT)
}

pub(crate) fn lock(app: &App, call: &Call) -> Response {
    set_status(app, call, LOCKED)
}

pub(crate) fn terminate(app: &App, call: &Call) -> Response {
    set_status(app, call, TERMINATED)
}

// ---------------------------------------------------------------------------------------------
// PBSM/Replay

/// `PBSM/Replay`: `POST` opens a replay of a session (by its token), `GET` answers its status
/// (or, with `jpeg`, `png` or `screen`, a frame), `PUT` seeks, `DELETE` closes it.
pub(crate) fn replay(app: &App, call: &Call) -> Response {
    let method = call.doc.map(|d| d.method.as_str()).unwrap_or_default();
    let mut tables = app.store();
    if method == "POST" {
        let body = match body_object(call) {
            Ok(b) => b,
            Err(r) => return r.into(),
        };
        let Some(doc) = call.doc else { return reply::no_route() };
        if let Some(missing) = missing_required(app.catalog, doc, &body) {
            return reply::message(StatusCode::BAD_REQUEST, &format!("The {missing} field is required."));
        }
        let token = get_ci(&body, "id").map(text).unwrap_or_default();
        let Some(session) =
            tables.rows(SESSION).iter().find(|s| same(&s["Token"], &token) || same(&s["SessionID"], &token)).cloned()
        else {
            return reply::not_found("Session");
        };
        let replay_id = uuid::Uuid::new_v4().simple().to_string();
        let hidden = tables.hidden_mut(SESSION, &text(&session["SessionID"]));
        hidden.insert("Replay".into(), json!({ "id": replay_id, "offset": 0 }));
        let ticket = random_alphanumeric(&mut rand::rng(), 32);
        return reply::ok(&json!({ "id": replay_id, "token": text(&session["Token"]), "ticket": ticket }));
    }
    let given = call.param(0).to_owned();
    let found = tables.rows(SESSION).iter().find_map(|s| {
        let id = text(&s["SessionID"]);
        let r = tables.hidden(SESSION, &id)?.get("Replay")?;
        (r["id"] == given.as_str()).then(|| (id, s["Duration"].as_i64().unwrap_or(0).max(60) * 1000))
    });
    let Some((session, duration)) = found else { return reply::not_found("Replay session") };
    let offset = |t: &Tables| t.hidden(SESSION, &session).and_then(|h| h["Replay"]["offset"].as_i64()).unwrap_or(0);
    let speed = |t: &Tables| t.hidden(SESSION, &session).and_then(|h| h["Replay"]["speed"].as_i64()).unwrap_or(100);
    let status = |offset: i64, speed: i64| {
        json!({ "tstamp": 0, "end": duration, "offset": offset, "next": (offset + 1000).min(duration),
                "speed": speed, "eof": offset >= duration, "duration": duration })
    };
    match method {
        "DELETE" => {
            tables.hidden_mut(SESSION, &session).remove("Replay");
            reply::empty(StatusCode::NO_CONTENT)
        }
        "PUT" => {
            let body = match body_object(call) {
                Ok(b) => b,
                Err(r) => return r.into(),
            };
            let to = get_ci(&body, "offset").and_then(Value::as_i64).unwrap_or(0).clamp(0, duration);
            let new_speed = get_ci(&body, "speed").and_then(Value::as_i64).unwrap_or_else(|| speed(&tables));
            if let Some(Value::Object(r)) = tables.hidden_mut(SESSION, &session).get_mut("Replay") {
                r.insert("offset".into(), Value::from(to));
                r.insert("speed".into(), Value::from(new_speed));
            }
            reply::ok(&status(to, new_speed))
        }
        // A frame, in the form its parameter asks for (the 26.1 page): the simulator records no
        // screen, so every picture is the same blank pixel and every text screen is empty.
        _ if call.query.get("jpeg").is_some() => reply::bytes(StatusCode::OK, JPEG.to_vec(), "image/jpeg"),
        _ if call.query.get("png").is_some() => reply::bytes(StatusCode::OK, PNG.to_vec(), "image/png"),
        _ if call.query.get("screen").is_some() => reply::bytes(StatusCode::OK, Vec::new(), "text/plain"),
        _ => reply::ok(&status(offset(&tables), speed(&tables))),
    }
}

/// A 1×1 grey baseline JPEG: one 8×8 block whose every coefficient is zero, coded with
/// one-symbol Huffman tables.
const JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xff, 0xc0, 0x00, 0x0b, 0x08,
    0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01,
    0x01, 0x00, 0x00, 0x3f, 0x00, 0x3f, 0xff, 0xd9,
];

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// `POST Keystrokes/Search`: the keystrokes whose data holds the searched text (of the given
/// type, when one is given).
pub(crate) fn keystroke_search(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let data = get_ci(&body, "Data").map(text).unwrap_or_default().to_lowercase();
    let kind = get_ci(&body, "Type").and_then(Value::as_i64);
    let rows: Vec<Value> = app
        .store()
        .rows(KEYSTROKE)
        .iter()
        .filter(|k| k["Data"].as_str().is_some_and(|d| d.to_lowercase().contains(&data)))
        .filter(|k| kind.is_none_or(|t| k["Type"] == t))
        .cloned()
        .collect();
    list_answer(app, call, doc, &KEYSTROKE.model(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::data::DataVariant;
    use crate::simulator::testing::Client;

    #[tokio::test]
    async fn a_session_on_a_request_is_listed_locked_terminated_and_replayed() {
        let me = Client::new(DataVariant::Standard).await;
        let body = json!({"SystemID": 1, "AccountID": 10, "DurationMinutes": 5, "AccessType": "SSH"});
        let (_, request) = me.json("POST", "Requests", Some(body)).await;
        assert_eq!(me.json("POST", "Requests/999999/Sessions", Some(json!({"SessionType": "ssh"}))).await.0, 404);
        let (status, ticket) =
            me.json("POST", &format!("Requests/{request}/Sessions"), Some(json!({"SessionType": "sshticket"}))).await;
        assert_eq!(status, 201, "{ticket}");
        assert!(ticket["Ticket"].is_string() && ticket["Host"].is_string(), "{ticket}");
        let id = ticket["ID"].as_str().unwrap_or_default().to_owned();
        let (_, one) = me.json("GET", &format!("Sessions/{id}"), None).await;
        assert_eq!((one["Status"].clone(), one["ManagedAccountID"].clone()), (json!(IN_PROGRESS), json!(10)));
        assert_eq!(me.json("POST", &format!("Sessions/{id}/Lock"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Sessions/{id}"), None).await.1["Status"], LOCKED);
        let (_, locked) = me.json("GET", "Sessions?status=5", None).await;
        assert!(
            locked.as_array().is_some_and(|l| l.iter().all(|s| s["Status"] == LOCKED) && !l.is_empty()),
            "{locked}"
        );
        assert_eq!(me.json("GET", "Sessions?status=five", None).await.0, 400);
        assert_eq!(me.json("POST", "ManagedAccounts/10/Sessions/Terminate", None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Sessions/{id}"), None).await.1["Status"], TERMINATED);
        assert_eq!(me.json("POST", "ManagedSystems/999/Sessions/Lock", None).await.0, 404);

        let token = one["Token"].clone();
        let start = json!({"id": token, "record_key": "k", "protocol": "ssh", "headless": true});
        let (status, replay) = me.json("POST", "PBSM/Replay", Some(start)).await;
        assert_eq!(status, 200, "{replay}");
        let replay_id = replay["id"].as_str().unwrap_or_default().to_owned();
        let control = json!({"speed": 1, "offset": 2000, "next": 0});
        let (_, state) = me.json("PUT", &format!("PBSM/Replay/{replay_id}"), Some(control)).await;
        assert_eq!(state["offset"], 2000);
        assert_eq!(me.json("GET", &format!("PBSM/Replay/{replay_id}"), None).await.1["offset"], 2000);
        let (status, _, _, media) = me.send("GET", &format!("PBSM/Replay/{replay_id}?png=1"), None, None).await;
        assert_eq!((status, media.as_deref()), (200, Some("image/png")));
        assert_eq!(me.json("DELETE", &format!("PBSM/Replay/{replay_id}"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("PBSM/Replay/{replay_id}"), None).await.0, 404);
    }

    #[tokio::test]
    async fn keystrokes_are_searched_by_their_text() {
        let me = Client::new(DataVariant::Standard).await;
        let data = me.app.store().rows(KEYSTROKE).first().map(|k| text(&k["Data"])).unwrap_or_default();
        let part: String = data.chars().take(4).collect();
        let (status, found) = me.json("POST", "Keystrokes/Search", Some(json!({"Data": part.to_uppercase()}))).await;
        assert_eq!(status, 200);
        assert!(found.as_array().is_some_and(|f| f.iter().any(|k| k["Data"] == data.as_str())), "{found}");
        assert_eq!(me.json("POST", "Keystrokes/Search", Some(json!({"Type": 1}))).await.0, 400, "Data is required");
    }
}
