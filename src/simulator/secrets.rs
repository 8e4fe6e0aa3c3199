//! `GET Secrets-Safe/Secrets`: the secret list, in the model versions 3.0 to 3.2
//! (reference §3.1). Two demo credentials in one folder; values only with `decrypt`.

use serde_json::{Value, json};

use super::profile::Profile;

/// The demo secrets' fixed parts.
const SECRETS: &[(&str, &str, &str)] = &[
    ("6f1d0c3a-2b4e-4c8d-9a1f-3e5b7c9d1a20", "demo-database", "svc-database"),
    ("0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", "demo-webserver", "svc-web"),
];
const FOLDER_ID: &str = "2c4e6a8b-1d3f-4a5c-9e7b-0f2d4c6e8a1b";
const FOLDER: &str = "demo";
const FOLDER_PATH: &str = "psconform/demo";
const OWNER: &str = "psconform-demo";

/// Query parameters, names compared ignoring case.
#[derive(Debug, Default)]
pub(crate) struct ListQuery {
    version: Option<String>,
    title: Option<String>,
    decrypt: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

impl ListQuery {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut q = ListQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match k.to_ascii_lowercase().as_str() {
                "version" => &mut q.version,
                "title" => &mut q.title,
                "decrypt" => &mut q.decrypt,
                "limit" => &mut q.limit,
                "offset" => &mut q.offset,
                _ => continue,
            };
            slot.get_or_insert_with(|| v.into_owned());
        }
        q
    }
}

/// Why a list request is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

/// The list body for a query. `password` is the demo credential value.
pub(crate) fn list(profile: Profile, q: &ListQuery, password: &str) -> Result<Value, BadRequest> {
    // A version the release does not know is answered as 3.0 (reference §8.11 leaves this
    // open; falling back is what the official clients would survive).
    let minor = match q.version.as_deref().map(str::trim) {
        None | Some("") | Some("3.0") => 0,
        Some("3.1") => 1,
        Some("3.2") => 2,
        Some(_) => 0,
    };
    let minor = if minor > profile.newest_secrets_version() { 0 } else { minor };
    let decrypt = match q.decrypt.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => profile.decrypt_by_default(),
        Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(BadRequest(format!("The value '{other}' is not valid for decrypt."))),
    };
    let number = |v: &Option<String>, default: usize, what: &str| match v.as_deref() {
        None | Some("") => Ok(default),
        Some(s) => {
            s.trim().parse::<usize>().map_err(|_| BadRequest(format!("The value '{s}' is not valid for {what}.")))
        }
    };
    let limit = number(&q.limit, 1000, "limit")?;
    let offset = number(&q.offset, 0, "offset")?;
    let matching: Vec<Value> = SECRETS
        .iter()
        .filter(|(_, title, _)| q.title.as_deref().is_none_or(|t| t == *title))
        .map(|(id, title, user)| secret(minor, id, title, user, decrypt.then_some(password)))
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    Ok(if minor == 2 { json!({ "TotalCount": total, "Data": page }) } else { Value::Array(page) })
}

fn secret(minor: u8, id: &str, title: &str, user: &str, password: Option<&str>) -> Value {
    let mut s = json!({
        "Id": id,
        "Title": title,
        "Description": format!("Demo credential {title}"),
        "Username": user,
        "FileName": null,
        "FileHash": null,
        "Text": null,
        "SecretType": "Credential",
        "FolderId": FOLDER_ID,
        "Folder": FOLDER,
        "FolderPath": FOLDER_PATH,
        "CreatedOn": "2024-12-10T08:57:45.9",
        "CreatedBy": OWNER,
        "ModifiedOn": "2024-12-12T10:24:26.323Z",
        "ModifiedBy": OWNER,
        "Notes": "",
        "Urls": [],
    });
    let Some(obj) = s.as_object_mut() else { return s };
    if let Some(p) = password {
        obj.insert("Password".into(), Value::from(p));
    }
    if minor == 0 {
        obj.insert("OwnerId".into(), json!(7));
        obj.insert("Owner".into(), json!(OWNER));
        obj.insert("OwnerType".into(), json!("User"));
        obj.insert("Owners".into(), json!([{ "OwnerId": 7, "Owner": OWNER, "Email": "psconform-demo@example.com" }]));
    } else {
        obj.insert(
            "Owners".into(),
            json!([{ "GroupId": null, "UserId": 7, "Name": OWNER, "Email": "psconform-demo@example.com" }]),
        );
        obj.insert("IsFavorite".into(), json!(false));
    }
    if minor == 2 {
        obj.insert("SecretValueModifiedOn".into(), json!("2024-12-12T10:24:26.323Z"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str) -> ListQuery {
        ListQuery::parse(Some(query))
    }

    #[test]
    fn versions_and_wrapper() {
        let v30 = list(Profile::V24_3, &q(""), "pw").expect("list");
        assert!(
            v30.as_array()
                .is_some_and(|a| a.len() == 2 && a[0].get("OwnerId").is_some() && a[0].get("Password").is_none())
        );
        let v31 = list(Profile::V24_3, &q("Version=3.1"), "pw").expect("list");
        assert_eq!(v31[0]["IsFavorite"], json!(false));
        let v32 = list(Profile::V24_3, &q("version=3.2&limit=1"), "pw").expect("list");
        assert_eq!((v32["TotalCount"].as_u64(), v32["Data"].as_array().map(Vec::len)), (Some(2), Some(1)));
        assert!(v32["Data"][0].get("SecretValueModifiedOn").is_some());
    }

    #[test]
    fn the_earlier_release_knows_no_3_2_and_decrypts_by_default() {
        let v = list(Profile::V23_1, &q("version=3.2"), "pw").expect("list");
        assert!(v.is_array());
        assert_eq!(v[0]["Password"], json!("pw"));
        let v = list(Profile::V23_1, &q("decrypt=False"), "pw").expect("list");
        assert!(v[0].get("Password").is_none());
    }

    #[test]
    fn title_filter_and_bad_values() {
        assert_eq!(list(Profile::V24_3, &q("title=nope"), "pw"), Ok(json!([])));
        assert_eq!(
            list(Profile::V24_3, &q("TITLE=demo-webserver"), "pw").map(|v| v.as_array().map(Vec::len)),
            Ok(Some(1))
        );
        assert!(list(Profile::V24_3, &q("limit=x"), "pw").is_err());
        assert!(list(Profile::V24_3, &q("decrypt=maybe"), "pw").is_err());
    }
}
