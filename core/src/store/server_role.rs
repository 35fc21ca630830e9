//! Whether this store is a server's (PRODUCT.md §12): `fieldcheck-server`
//! has served it, or it has minted enrolment codes or enrolled devices. A
//! server's store keeps the coordinates devices send under its own flags
//! and keeps the review queue's index.

use super::db::Transaction;
use chrono::{DateTime, Utc};

use crate::error::Result;

pub(super) fn is_server(tx: &Transaction<'_>) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'server_since')
                 OR EXISTS (SELECT 1 FROM enrolled_devices)
                 OR EXISTS (SELECT 1 FROM enrolment_codes)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Records that this store is a server's.
pub(super) fn mark_server(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('server_since', ?1) ON CONFLICT DO NOTHING",
        [now.timestamp().to_string()],
    )?;
    Ok(())
}
