//! The shared state of one running simulator ([`App`]): what it was configured with, its
//! sessions, tokens and release requests, and the data it serves, built once at start from the
//! data variant and the settings. Owns no routing and no HTTP.

use super::config::{SimConfig, SimState};
use super::data::DataVariant;
use super::fault::{Fault, FaultSet};
use super::profile::Profile;
use super::store::{DEFAULT_CAP, Store};
use super::{lookups, managed, requests, resources, secrets_safe};
use crate::settings::Settings;

/// Shared state of one running simulator.
#[derive(Debug)]
pub(crate) struct App {
    pub settings: Settings,
    pub state: SimState,
    faults: FaultSet,
    /// Whether the listener is TLS, which decides the cookies' `secure` attribute.
    pub tls: bool,
    pub sessions: Store<Principal>,
    pub tokens: Store<()>,
    /// The release whose behaviour is modelled where releases differ.
    pub profile: Profile,
    /// Which documented shapes the data takes.
    pub data: DataVariant,
    /// Managed systems and accounts, with their (random) credentials.
    pub managed: managed::Data,
    /// Release requests, bounded like the session store.
    pub requests: requests::Book,
    /// Safes, folders and secrets, with their (random) values.
    pub secrets: secrets_safe::Data,
    /// Workgroups, assets, users and user groups.
    pub lookups: lookups::Data,
    /// Every other resource the catalog's models declare, served from its documented routes.
    pub tables: std::sync::Mutex<resources::Tables>,
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Principal {
    /// Signed in with `PS-Auth`.
    RunAs,
    /// Signed in with `Bearer` (an application user).
    App,
}

impl App {
    pub(crate) fn new(config: SimConfig, tls: bool) -> Self {
        let data = config.data;
        App {
            managed: managed::Data::build(data, &config.settings),
            secrets: secrets_safe::Data::build(data, &config.settings),
            lookups: lookups::Data::build(data, &config.settings),
            tables: std::sync::Mutex::new(
                crate::catalog::Catalog::shared().map(|c| resources::Tables::build(c, data)).unwrap_or_default(),
            ),
            requests: requests::Book::new(requests::CAP),
            settings: config.settings,
            state: config.state,
            faults: FaultSet::new(&config.faults),
            tls,
            sessions: Store::new(DEFAULT_CAP),
            tokens: Store::new(DEFAULT_CAP),
            profile: config.profile,
            data,
        }
    }

    pub(crate) fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }
}
