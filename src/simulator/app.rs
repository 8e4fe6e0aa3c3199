//! The shared state of one running simulator ([`App`]): what it was configured with, its
//! sessions, tokens and release requests, and the one store of records (`tables`), built once
//! at start from the data variant and the settings. Owns no routing and no HTTP.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::config::{Approver, SimConfig, SimState};
use super::data::DataVariant;
use super::fault::{Fault, FaultSet};
use super::profile::Profile;
use super::store::{DEFAULT_CAP, Store};
use super::tables::Tables;
use super::{requests, seed};
use crate::catalog::Catalog;
use crate::settings::Settings;

/// Shared state of one running simulator.
#[derive(Debug)]
pub(crate) struct App {
    pub settings: Settings,
    /// The second identity, who may approve and deny other users' requests.
    pub approver: Approver,
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
    /// The documented API: what every route answers comes from it.
    pub catalog: &'static Catalog,
    /// Release requests (who made them, when they expire), bounded like the session store.
    pub requests: requests::Book,
    /// Every record, the one store every route reads and writes.
    tables: Mutex<Tables>,
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Principal {
    /// Signed in with `PS-Auth` as the run-as user.
    RunAs,
    /// Signed in with `Bearer` (an application user).
    App,
    /// Signed in with `PS-Auth` as the approver.
    Approver,
}

impl App {
    pub(crate) fn new(config: SimConfig, approver: Approver, tls: bool) -> Self {
        // The catalog is compiled in and loaded by the tests; failing here is a bug in the
        // shipped model files, not something a user or a client can cause.
        let catalog = Catalog::shared().unwrap_or_else(|e| panic!("the built-in catalog does not load:\n{e}"));
        let data = config.data;
        App {
            tables: Mutex::new(seed::tables(catalog, data, &config.settings, &approver)),
            requests: requests::Book::new(requests::CAP),
            settings: config.settings,
            approver,
            state: config.state,
            faults: FaultSet::new(&config.faults),
            tls,
            sessions: Store::new(DEFAULT_CAP),
            tokens: Store::new(DEFAULT_CAP),
            profile: config.profile,
            data,
            catalog,
        }
    }

    pub(crate) fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }

    /// The store, locked. A panic under the lock leaves records that are still records, so a
    /// poisoned lock is taken over rather than failing every later call.
    pub(crate) fn store(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
