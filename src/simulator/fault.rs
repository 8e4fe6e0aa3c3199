//! Deliberate deviations: each [`Fault`] makes the simulator wrong in exactly one way a client
//! (and so a conformance case) would notice. This module owns only the names and descriptions;
//! the area modules' handlers (`auth`, `managed`, `requests`, `secrets_safe`) and the
//! route table's matching (`routes`, for `routes-case-sensitive`) decide what each fault
//! changes.

use std::fmt;
use std::str::FromStr;

/// Declares the enum together with its kebab-case name and description, so the three can never
/// drift apart.
macro_rules! faults {
    ($( $(#[$meta:meta])* $variant:ident => $name:literal, $description:literal; )+) => {
        /// A deliberate deviation from how a real Password Safe server behaves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault {
            $( $(#[$meta])* #[doc = $description] $variant, )+
        }

        impl Fault {
            /// Every fault, in declaration order.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),+];

            /// The kebab-case name used by `--fault` and by case files.
            pub fn name(self) -> &'static str {
                match self { $(Fault::$variant => $name),+ }
            }

            /// One line saying what is wrong while this fault is active.
            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $description),+ }
            }
        }
    };
}

faults! {
    SigninMissingUserid => "signin-missing-userid",
        "SignAppin's user model lacks the UserId field";
    SigninUseridAsString => "signin-userid-as-string",
        "SignAppin's user model has UserId as a JSON string (\"7\") instead of a number";
    SigninWrongUsername => "signin-wrong-username",
        "SignAppin's user model names a different user than the run-as user";
    SigninNoCookie => "signin-no-cookie",
        "SignAppin answers 200 without any Set-Cookie, so no session can follow";
    SigninHtmlContentType => "signin-html-content-type",
        "SignAppin sends the JSON user model as Content-Type text/html";
    SigninAcceptsBadKey => "signin-accepts-bad-key",
        "SignAppin accepts any API key";
    SigninIgnoresPassword => "signin-ignores-password",
        "SignAppin does not check pwd=[...] even when the password is required";
    SignoutKeepsSession => "signout-keeps-session",
        "Signout answers 200 but the session stays usable";
    Signout500 => "signout-500",
        "Signout answers 500";
    Unauthenticated200 => "unauthenticated-200",
        "a session-only call without a live session answers 200 instead of 401";
    UnauthenticatedHtmlBody => "unauthenticated-html-body",
        "the 401 for a missing session carries an HTML page instead of a JSON string";
    TokenMissingExpiresIn => "token-missing-expires-in",
        "Connect/Token's response lacks expires_in";
    TokenTypeLowercase => "token-type-lowercase",
        "Connect/Token's token_type is \"bearer\" instead of \"Bearer\"";
    TokenExpiresInString => "token-expires-in-string",
        "Connect/Token's expires_in is a JSON string instead of a number";
    TokenAcceptsBadSecret => "token-accepts-bad-secret",
        "Connect/Token issues a token for the right client id with any secret";
    TokenWrongScope => "token-wrong-scope",
        "Connect/Token's scope is not \"publicapi\"";
    BearerInvalidAccepted => "bearer-invalid-accepted",
        "SignAppin accepts an unknown or expired Bearer token";
    LicenceIgnored => "licence-ignored",
        "with the licence-invalid state, SignAppin still answers 200 instead of 403";
    VersionDisabledIgnored => "version-disabled-ignored",
        "with the api-version-disabled state, calls still succeed instead of answering 410";
    SessionNeverExpires => "session-never-expires",
        "idle sessions never time out";
    CookieNotHttponly => "cookie-not-httponly",
        "the session cookies lack the HttpOnly attribute";
    RoutesCaseSensitive => "routes-case-sensitive",
        "routes outside Auth match only the documented spelling: managedaccounts answers 404, ManagedAccounts works";
    AccountLookupList => "account-lookup-list",
        "GET ManagedAccounts?systemName&accountName answers a one-element array instead of the object";
    AccountSystemIdSpelling => "account-systemid-spelling",
        "the requestable-account model spells SystemId as SystemID, which clients indexing SystemId miss";
    RequestIdObject => "request-id-object",
        "POST Requests answers {\"RequestID\": n} instead of the bare integer id";
    RequestConflictIgnored => "request-conflict-ignored",
        "POST Requests without ConflictOption creates a second request (201) instead of answering 409 4091";
    ApproveWithoutApprover => "approve-without-approver",
        "PUT Requests/{id}/Approve approves for any caller, the request's own requestor included";
    ApprovalIgnored => "approval-ignored",
        "with the approval-required state, GET Credentials releases the credential at once instead of 403 4034";
    CredentialsObject => "credentials-object",
        "GET Credentials answers {\"Password\": …} instead of a bare JSON string";
    CredentialsAfterCheckin => "credentials-after-checkin",
        "GET Credentials still answers 200 after the request was checked in";
    Checkin200Body => "checkin-200-body",
        "PUT Requests/{id}/checkin answers 200 with a body instead of 204";
    RequestsNeverExpire => "requests-never-expire",
        "release requests never expire after DurationMinutes";
    SecretsUnwrapped => "secrets-unwrapped",
        "GET Secrets-Safe/Secrets with version=3.2 answers a bare array instead of {TotalCount, Data}";
    SecretsTitleIgnored => "secrets-title-ignored",
        "GET Secrets-Safe/Secrets ignores the title filter and answers every secret under the path";
    FileDownloadJson => "file-download-json",
        "Secrets-Safe file download answers a JSON string (application/json) instead of the raw bytes";
    FoldersBoolCaseSensitive => "folders-bool-case-sensitive",
        "GET Secrets-Safe/Folders refuses the booleans True and False (400), as the Python client sends them";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL.iter().copied().find(|f| f.name() == s).ok_or_else(|| {
            let valid: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
            format!("unknown fault `{s}`; valid faults: {}", valid.join(", "))
        })
    }
}

/// A set of active faults, cheap to test on the hot path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FaultSet(u64);

impl FaultSet {
    pub(crate) fn new(faults: &[Fault]) -> Self {
        FaultSet(faults.iter().fold(0, |bits, f| bits | Self::bit(*f)))
    }

    pub(crate) fn has(self, fault: Fault) -> bool {
        self.0 & Self::bit(fault) != 0
    }

    fn bit(fault: Fault) -> u64 {
        // The enum has far fewer than 64 variants; a unit test guards that.
        1u64 << (fault as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(*f));
            assert!(!f.description().is_empty());
            assert_eq!(f.to_string(), f.name());
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
        assert!(names.iter().all(|n| { n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let err = "signin-missing-user".parse::<Fault>().expect_err("a near-miss is not a fault name");
        assert!(err.contains("signin-missing-user`"), "{err}");
        assert!(err.contains("signin-missing-userid"), "{err}");
    }

    #[test]
    fn fault_set_fits_in_its_bits() {
        assert!(Fault::ALL.len() < 64);
        let set = FaultSet::new(&[Fault::Signout500, Fault::CookieNotHttponly]);
        assert!(set.has(Fault::Signout500));
        assert!(set.has(Fault::CookieNotHttponly));
        assert!(!set.has(Fault::SigninNoCookie));
    }
}
