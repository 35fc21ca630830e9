//! Device sync: batches out, acknowledgements, imports on a supervisor's store.

use crate::*;

/// What `sync_ack` left behind.
#[uniffi::remote(Record)]
pub struct AckReport {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    pub pending: i64,
}

/// How far this store has followed another device's chain.
#[uniffi::remote(Record)]
pub struct DeviceState {
    pub device_id: String,
    pub base_seq: i64,
    pub last_seq: i64,
    pub last_hash: String,
    pub events: i64,
}

/// This store's outbox and the devices it has imported from.
#[uniffi::remote(Record)]
pub struct SyncStatus {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    pub pending: i64,
    pub imported_devices: Vec<DeviceState>,
}

/// What one `sync_import` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncImportSummary {
    pub imported: u64,
    pub skipped_replayed: u64,
    pub attendance_folded: u64,
    pub attendance_duplicates: u64,
    pub purged_on_device: u64,
    /// Newly folded attendance events whose recorded time disagrees with
    /// the device's clock as this store bounds it.
    pub attendance_clock_skew: u64,
    pub devices: Vec<DeviceState>,
}

pub(crate) fn import_summary_from_core(r: SyncImportReport) -> SyncImportSummary {
    SyncImportSummary {
        imported: r.imported,
        skipped_replayed: r.skipped_replayed,
        attendance_folded: r.attendance_folded,
        attendance_duplicates: r.attendance_duplicates,
        purged_on_device: r.purged_on_device,
        attendance_clock_skew: r.attendance_clock_skew,
        devices: r.devices,
    }
}

#[uniffi::export]
impl FieldCheck {
    /// This store's device id.
    pub fn device_id(&self) -> Result<String> {
        guard(|| self.store.device_id())
    }

    /// The next `limit` events of the outbox as one sync batch (JSON, the
    /// format `fieldcheck sync pending` prints). Supervisors and admins.
    pub fn sync_pending(&self, actor: Actor, limit: u32) -> Result<String> {
        guard(|| {
            let batch = self.store.sync_pending(&actor, limit as usize)?;
            Ok(serde_json::to_string(&batch)?)
        })
    }

    /// Like `sync_pending`, starting at `from_seq` whether acknowledged or
    /// not (resends what an importer lost).
    pub fn sync_pending_from(&self, actor: Actor, from_seq: i64, limit: u32) -> Result<String> {
        guard(|| {
            let batch = self
                .store
                .sync_pending_from(&actor, Some(from_seq), limit as usize)?;
            Ok(serde_json::to_string(&batch)?)
        })
    }

    /// Releases the outbox up to `up_to` (a batch's `to_seq`) once the
    /// importer has taken it. Admins only.
    pub fn sync_ack(&self, actor: Actor, up_to: i64) -> Result<AckReport> {
        guard(|| self.store.sync_ack(&actor, up_to))
    }

    /// The outbox and the devices imported from (supervisors, admins).
    pub fn sync_status(&self, actor: Actor) -> Result<SyncStatus> {
        guard(|| self.store.sync_status(&actor))
    }

    /// Imports another device's batch, all of it or nothing (admins). A gap,
    /// fork or altered event is `SyncRefused`; a malformed document is
    /// `InvalidInput`.
    pub fn sync_import(
        &self,
        actor: Actor,
        batch_json: String,
        now: UtcDateTime,
    ) -> Result<SyncImportSummary> {
        guard(|| self.store.sync_import(&actor, &batch_json, now)).map(import_summary_from_core)
    }

    /// Retention of imported copies (admins); returns how many imported
    /// events lost their content.
    pub fn purge_imported(&self, actor: Actor, now: UtcDateTime) -> Result<u64> {
        guard(|| self.store.purge_imported(&actor, now)).map(|n| n as u64)
    }
}
