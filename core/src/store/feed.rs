//! The configuration feeds' table (`config_feed`, PRODUCT.md §12.2): the
//! one way a change enters a feed ([`append`], in the transaction of the
//! change itself, so feeds follow commit order), and the rule that an
//! enrolled device's configuration is its server's ([`refuse_if_enrolled`]).
//! What crosses the wire and what a device applies is `store::config`.

use super::db::{OptionalExtension, Transaction};

use super::chain::to_hash;
use crate::chain::link;
use crate::config_feed::{ConfigBody, FeedHead, GLOBAL_FEED};
use crate::error::{Error, Result};

/// Where `feed` stands (empty: seq 0 and the zero hash).
pub(super) fn head(tx: &Transaction<'_>, feed: &str) -> Result<FeedHead> {
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT seq, hash FROM config_feed WHERE feed = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([feed], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match last {
        None => Ok(FeedHead::EMPTY),
        Some((seq, hash)) => Ok(FeedHead {
            seq,
            hash: to_hash(&hash)?,
        }),
    }
}

/// Appends a change to `feed` (the global feed, or an agent's) in the
/// caller's transaction.
pub(super) fn append(tx: &Transaction<'_>, feed: &str, body: &ConfigBody) -> Result<()> {
    let at = head(tx, feed)?;
    let text = body.encode();
    let hash = link(&at.hash, &text);
    let text = String::from_utf8(text)
        .map_err(|_| Error::Corrupt("a configuration body is not UTF-8".into()))?;
    tx.prepare_cached(
        "INSERT INTO config_feed (feed, seq, kind, body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(super::db::params![
        feed,
        at.seq + 1,
        body.kind().as_str(),
        text,
        &at.hash[..],
        &hash[..],
    ])?;
    Ok(())
}

/// [`append`] to the global feed.
pub(super) fn append_global(tx: &Transaction<'_>, body: &ConfigBody) -> Result<()> {
    append(tx, GLOBAL_FEED, body)
}

/// The server this store is enrolled with, if it is a device.
pub(super) fn enrolled_with(tx: &Transaction<'_>) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT server_url FROM server_link")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// On an enrolled device, what the feeds carry is its server's to decide:
/// a local change of it is refused (invalid input, exit 2), naming the
/// server. `what` says what was attempted ("sites", "the rules", ...).
pub(super) fn refuse_if_enrolled(tx: &Transaction<'_>, what: &str) -> Result<()> {
    match enrolled_with(tx)? {
        None => Ok(()),
        Some(server) => Err(Error::invalid(
            "server",
            format!(
                "this store is enrolled with {server}, which owns {what}: change them there; \
                 the next `sync pull` brings them to this device"
            ),
        )),
    }
}
