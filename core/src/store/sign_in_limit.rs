//! Failed console sign-ins kept in the store (the rule is
//! `crate::sign_in_limit`): every server instance on one database reads
//! and writes the same failures and locks.

use super::db::{OptionalExtension, Transaction};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::sign_in_limit::{Attempter, WINDOW_S};

/// The store's salt for the attempters' keys.
fn salt(tx: &Transaction<'_>) -> Result<Vec<u8>> {
    let salt: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = 'sign_in_salt'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let salt = salt.ok_or_else(|| Error::Corrupt("the sign-in salt is missing".into()))?;
    hex::decode(salt).map_err(|_| Error::Corrupt("the sign-in salt is not hex".into()))
}

/// The keys of `attempters` under this store's salt.
pub(super) fn keys(tx: &Transaction<'_>, attempters: &[Attempter]) -> Result<Vec<String>> {
    let salt = salt(tx)?;
    Ok(attempters.iter().map(|a| a.key(&salt)).collect())
}

/// Seconds until every lock on `attempters` is over; `None` if none holds.
pub(super) fn wait(
    tx: &Transaction<'_>,
    attempters: &[Attempter],
    now: DateTime<Utc>,
) -> Result<Option<u64>> {
    let mut longest: Option<i64> = None;
    let mut stmt = tx.prepare_cached("SELECT until FROM sign_in_locks WHERE key = ?1")?;
    for key in keys(tx, attempters)? {
        let until: Option<i64> = stmt.query_row([&key], |r| r.get(0)).optional()?;
        if let Some(until) = until.filter(|u| *u > now.timestamp()) {
            longest = Some(longest.map_or(until, |l| l.max(until)));
        }
    }
    Ok(longest.map(|until| (until - now.timestamp()) as u64))
}

/// Counts a failed attempt against each of `attempters`; one that reaches
/// its limit within the window is locked for the window, and its count
/// starts again when the lock ends.
pub(super) fn record_failure(
    tx: &Transaction<'_>,
    attempters: &[Attempter],
    now: DateTime<Utc>,
) -> Result<()> {
    let now_s = now.timestamp();
    // What fell out of the window, anyone's.
    tx.execute(
        "DELETE FROM sign_in_failures WHERE at <= ?1",
        [now_s - WINDOW_S],
    )?;
    tx.execute("DELETE FROM sign_in_locks WHERE until <= ?1", [now_s])?;
    for (attempter, key) in attempters.iter().zip(keys(tx, attempters)?) {
        tx.execute(
            "INSERT INTO sign_in_failures (key, at) VALUES (?1, ?2)",
            (&key, now_s),
        )?;
        let failures: i64 = tx.query_row(
            "SELECT COUNT(*) FROM sign_in_failures WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )?;
        if failures >= attempter.limit() {
            tx.execute(
                "INSERT INTO sign_in_locks (key, until) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET until = excluded.until",
                (&key, now_s + WINDOW_S),
            )?;
            tx.execute("DELETE FROM sign_in_failures WHERE key = ?1", [&key])?;
        }
    }
    Ok(())
}

/// A success clears the user's failures (not its address's).
pub(super) fn clear_user(tx: &Transaction<'_>, user: &str) -> Result<()> {
    let key = keys(tx, &[Attempter::User(user.to_string())])?.remove(0);
    tx.execute("DELETE FROM sign_in_failures WHERE key = ?1", [&key])?;
    Ok(())
}
