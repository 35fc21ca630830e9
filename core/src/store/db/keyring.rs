//! What a transaction may unseal with (`store::sealing`): the master key and
//! its epoch, and the data keys unwrapped so far, dropped with the
//! transaction. Held here, beside the transaction that carries it, so the
//! engine layer needs nothing of the sealing logic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::seal::{DataKey, MasterKey};

/// The data keys one transaction has unwrapped or made.
pub struct Keyring {
    pub(in crate::store) master: MasterKey,
    pub(in crate::store) epoch: i64,
    /// By key id; `None` once shredded.
    pub(in crate::store) by_id: RefCell<HashMap<String, Option<Rc<DataKey>>>>,
    /// (subject kind, subject, bucket) → key id.
    pub(in crate::store) by_subject: RefCell<HashMap<(&'static str, String, String), String>>,
}

impl Keyring {
    pub(in crate::store) fn new(master: MasterKey, epoch: i64) -> Keyring {
        Keyring {
            master,
            epoch,
            by_id: RefCell::default(),
            by_subject: RefCell::default(),
        }
    }
}
