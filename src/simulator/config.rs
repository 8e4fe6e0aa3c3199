//! What a simulator instance is told before it starts: the credentials it accepts
//! ([`Settings`]), the server conditions it models ([`SimState`]) and the deliberate deviations
//! it commits ([`Fault`]). Also generates demo credentials in the formats real servers issue.
//! Nothing here touches the network.

use std::time::Duration;

use rand::Rng as _;
use secrecy::SecretString;

use super::data::DataVariant;
use super::fault::Fault;
use crate::settings::Settings;

/// Everything a simulator needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The credentials the simulator accepts. An unset credential makes that way of signing in
    /// always fail (use [`generate_missing`] to fill them).
    pub settings: Settings,
    /// Server-side conditions (licence, disabled version, idle timeout, …).
    pub state: SimState,
    /// Deliberate deviations from real-server behaviour.
    pub faults: Vec<Fault>,
    /// The release modelled where releases differ.
    pub profile: super::profile::Profile,
    /// Which documented shapes the data takes (see [`DataVariant`]).
    pub data: DataVariant,
}

impl SimConfig {
    /// A correct simulator with the default state and no faults.
    pub fn new(settings: Settings) -> Self {
        SimConfig {
            settings,
            state: SimState::default(),
            faults: Vec::new(),
            profile: super::profile::Profile::default(),
            data: DataVariant::default(),
        }
    }
}

/// Idle timeout of a real server's session (GOLIB's SignOut doc comment says 20 minutes).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Idle timeout of the `short-idle-timeout` state.
pub const SHORT_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Lifetime of an OAuth token: a registration's "token duration" defaults to 60 minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Token lifetime of the `short-token-lifetime` state.
pub const SHORT_TOKEN_LIFETIME: Duration = Duration::from_secs(1);

/// Server-side conditions a case can ask for. These are legitimate server behaviours, not
/// faults: a conforming client must cope with each of them.
#[derive(Debug, Clone)]
pub struct SimState {
    /// `POST Auth/SignAppin` answers 403 (JSON string body): the licence is not valid.
    pub licence_invalid: bool,
    /// Every call under the API base answers 410: the API version has been disabled.
    pub api_version_disabled: bool,
    /// SignAppin requires `pwd=[<runas_password>]` in the PS-Auth header, else 401.
    pub password_required: bool,
    /// A session idle for longer than this is dead (401). Each authenticated call refreshes it.
    pub idle_timeout: Duration,
    /// SignAppin answers 401 as if the caller's IP were outside the registration's rules.
    pub source_address_rejected: bool,
    /// How long a token from Connect/Token signs in (`expires_in`, whole seconds).
    pub token_lifetime: Duration,
    /// New release requests wait for approval: `GET Credentials` answers 403 `4034` until an
    /// approver (the second identity, [`Approver`]) approves with `PUT Requests/{id}/Approve`,
    /// a denial ends the request, and an unapproved request expires after its duration.
    pub approval_required: bool,
    /// The caller may not request the account: `POST Requests` answers 403 `4031`.
    pub request_forbidden: bool,
    /// The caller is a requestor only: the approver queue (`GET Requests?queue=app`) answers
    /// 403 `4032`.
    pub requestor_only: bool,
    /// The caller is an approver only: `POST Requests` and the requestor queue answer 403 `4033`.
    pub approver_only: bool,
    /// The access policy has too few approvers: `POST Requests` answers 403 `4035`.
    pub approvers_missing: bool,
    /// `DurationMinutes` counts seconds, so a case can watch a release expire.
    pub short_release: bool,
}

impl Default for SimState {
    fn default() -> Self {
        SimState {
            licence_invalid: false,
            api_version_disabled: false,
            password_required: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            source_address_rejected: false,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            approval_required: false,
            request_forbidden: false,
            requestor_only: false,
            approver_only: false,
            approvers_missing: false,
            short_release: false,
        }
    }
}

impl SimState {
    /// Names a case file uses in `simulator_state: [...]`, with a one-line description.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        ("licence-invalid", "the Password Safe licence is not valid: SignAppin answers 403"),
        ("api-version-disabled", "API version 3 is disabled: every call answers 410"),
        ("password-required", "the API registration requires the run-as user's password (pwd=[...])"),
        ("short-idle-timeout", "sessions die after 1 second without a call"),
        ("short-token-lifetime", "OAuth tokens expire 1 second after Connect/Token issues them"),
        ("source-address-rejected", "the caller's address is outside the registration's rules: SignAppin answers 401"),
        (
            "approval-required",
            "new requests wait for an approver: GET Credentials answers 403 4034 until PUT Requests/{id}/Approve",
        ),
        ("request-forbidden", "the caller may not request the account: POST Requests answers 403 4031"),
        ("requestor-only", "the caller is a requestor only: GET Requests?queue=app answers 403 4032"),
        ("approver-only", "the caller is an approver only: POST Requests and GET Requests?queue=req answer 403 4033"),
        ("approvers-missing", "the access policy has too few approvers: POST Requests answers 403 4035"),
        ("short-release-duration", "a request's DurationMinutes counts seconds, so releases expire within a case"),
    ];

    /// The state with every named condition switched on. An unknown name is an error naming
    /// it and listing the valid names.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<SimState, String> {
        let mut state = SimState::default();
        for name in names {
            match name.as_ref() {
                "licence-invalid" => state.licence_invalid = true,
                "api-version-disabled" => state.api_version_disabled = true,
                "password-required" => state.password_required = true,
                "short-idle-timeout" => state.idle_timeout = SHORT_IDLE_TIMEOUT,
                "source-address-rejected" => state.source_address_rejected = true,
                "short-token-lifetime" => state.token_lifetime = SHORT_TOKEN_LIFETIME,
                "approval-required" => state.approval_required = true,
                "request-forbidden" => state.request_forbidden = true,
                "requestor-only" => state.requestor_only = true,
                "approver-only" => state.approver_only = true,
                "approvers-missing" => state.approvers_missing = true,
                "short-release-duration" => state.short_release = true,
                other => {
                    let valid: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(format!("unknown simulator state `{other}`; valid states: {}", valid.join(", ")));
                }
            }
        }
        Ok(state)
    }
}

/// The run-as user [`generate_missing`] picks.
pub const DEMO_RUNAS: &str = "psconform-demo";
/// The managed account (`system/account`) [`generate_missing`] picks for release cases.
pub const DEMO_ACCOUNT: &str = "demo-linux-01/svc-release";
/// The Secrets Safe secret (`folder/path/title`) [`generate_missing`] picks for retrieval cases.
pub const DEMO_SECRET: &str = "psconform/demo/demo-database";

/// The approver the simulator accepts besides the run-as user: a second identity, signed in
/// with the same API key (`PS-Auth key=…; runas=<approver>; pwd=[<password>];`), who may approve
/// and deny other users' requests. Its password is checked whenever it is given, and required in
/// the `password-required` state, as the run-as user's is.
#[derive(Debug, Clone)]
pub struct Approver {
    /// The approver's user name (`PS_APPROVER_RUNAS`).
    pub runas: String,
    /// The approver's password (`PS_APPROVER_PASSWORD`).
    pub password: SecretString,
}

/// The approver [`Approver::demo`] picks.
pub const DEMO_APPROVER: &str = "psconform-approver";

impl Approver {
    /// The demo approver with a fresh 24-character password.
    pub fn demo() -> Approver {
        Approver {
            runas: DEMO_APPROVER.to_owned(),
            password: SecretString::from(random_alphanumeric(&mut rand::rng(), 24)),
        }
    }

    /// The approver `PS_APPROVER_RUNAS` and `PS_APPROVER_PASSWORD` name, with the demo values
    /// for what they leave unset (empty counts as unset); also says which came from the
    /// environment, so that those are never printed.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Approver, [bool; 2]) {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let (runas, password) = (get("PS_APPROVER_RUNAS"), get("PS_APPROVER_PASSWORD"));
        let given = [runas.is_some(), password.is_some()];
        let demo = Approver::demo();
        let approver = Approver {
            runas: runas.unwrap_or(demo.runas),
            password: password.map(SecretString::from).unwrap_or(demo.password),
        };
        (approver, given)
    }
}

/// Fills every unset credential with a valid generated one, in the formats real servers issue:
/// a 128-character lower-case hex API key, the run-as user [`DEMO_RUNAS`], a 24-character
/// run-as password, a GUID client id and a 48-character client secret (the official Python
/// client refuses secrets outside 36 to 64 characters).
pub fn generate_missing(settings: Settings) -> Settings {
    let mut rng = rand::rng();
    Settings {
        api_key: settings.api_key.or_else(|| {
            let bytes: [u8; 64] = rng.random();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Some(SecretString::from(hex))
        }),
        runas: settings.runas.or_else(|| Some(DEMO_RUNAS.to_owned())),
        runas_password: settings.runas_password.or_else(|| Some(SecretString::from(random_alphanumeric(&mut rng, 24)))),
        client_id: settings.client_id.or_else(|| Some(uuid::Uuid::new_v4().to_string())),
        client_secret: settings.client_secret.or_else(|| Some(SecretString::from(random_alphanumeric(&mut rng, 48)))),
        account: settings.account.or_else(|| Some(DEMO_ACCOUNT.to_owned())),
        secret_path: settings.secret_path.or_else(|| Some(DEMO_SECRET.to_owned())),
    }
}

/// `len` characters from `[A-Za-z0-9]`.
pub(crate) fn random_alphanumeric(rng: &mut impl rand::Rng, len: usize) -> String {
    (0..len).map(|_| char::from(rng.sample(rand::distr::Alphanumeric))).collect()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn generated_credentials_have_the_real_formats() {
        let s = generate_missing(Settings::default());
        let key = s.api_key.as_ref().expect("generated").expose_secret();
        assert_eq!(key.len(), 128);
        assert!(key.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{key}");
        assert_eq!(s.runas.as_deref(), Some(DEMO_RUNAS));
        assert!(!s.runas_password.as_ref().expect("generated").expose_secret().is_empty());
        let id = s.client_id.as_deref().expect("generated");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(id.len(), 36);
        let secret = s.client_secret.as_ref().expect("generated").expose_secret();
        assert!((36..=64).contains(&secret.len()), "{}", secret.len());
    }

    #[test]
    fn values_already_set_are_kept() {
        let s = generate_missing(Settings {
            runas: Some("doe-main\\johndoe".into()),
            api_key: Some(SecretString::from("k")),
            ..Settings::default()
        });
        assert_eq!(s.runas.as_deref(), Some("doe-main\\johndoe"));
        assert_eq!(s.api_key.as_ref().map(|k| k.expose_secret()), Some("k"));
        assert!(s.client_secret.is_some());
    }

    #[test]
    fn state_names_switch_conditions_on() {
        let st = SimState::from_names(&["password-required", "short-idle-timeout"]).expect("valid");
        assert!(st.password_required);
        assert_eq!(st.idle_timeout, SHORT_IDLE_TIMEOUT);
        assert!(!st.licence_invalid);
        let none: &[&str] = &[];
        assert_eq!(SimState::from_names(none).expect("valid").idle_timeout, DEFAULT_IDLE_TIMEOUT);
    }

    #[test]
    fn every_listed_state_name_is_accepted() {
        for (name, description) in SimState::NAMES {
            assert!(SimState::from_names(&[name]).is_ok(), "{name}");
            assert!(!description.is_empty());
        }
    }

    #[test]
    fn unknown_state_is_named_with_the_valid_ones() {
        let err = SimState::from_names(&["licence-invalid", "licence-expired"]).expect_err("not a state");
        assert!(err.contains("`licence-expired`"), "{err}");
        assert!(err.contains("source-address-rejected"), "{err}");
    }
}
