//! Console users (PRODUCT.md §12.1) on the server's store.

use super::db::OptionalExtension;
use chrono::{DateTime, Utc};

use super::connection::Store;
use crate::console_user::{ConsoleUser, UserRole, validate_team};
use crate::error::{Error, Result};
use crate::types::{Actor, validate_id};

impl Store {
    /// Adds a console user with an Argon2id `password_hash`
    /// ([`crate::console_user::hash_password`]). Admins only; an existing
    /// id is refused.
    pub fn add_user(
        &self,
        actor: &Actor,
        id: &str,
        role: UserRole,
        team: &[String],
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ConsoleUser> {
        actor.must_be_admin()?;
        validate_id("id", id)?;
        validate_team(team)?;
        if !password_hash.starts_with("$argon2id$") {
            return Err(Error::invalid("password_hash", "not an Argon2id hash"));
        }
        let team_json = serde_json::to_string(team)?;
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO console_users (id, role, team, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                (
                    id,
                    role.as_str(),
                    &team_json,
                    password_hash,
                    now.timestamp(),
                ),
            )?;
            if inserted == 0 {
                return Err(Error::invalid("id", format!("user {id:?} already exists")));
            }
            Ok(())
        })?;
        Ok(ConsoleUser {
            id: id.into(),
            role,
            team: team.to_vec(),
            disabled: false,
        })
    }

    /// Every console user, by id. Admins only.
    pub fn users(&self, actor: &Actor) -> Result<Vec<ConsoleUser>> {
        actor.must_be_admin()?;
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT id, role, team, disabled_at IS NOT NULL FROM console_users ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(user_from_parts(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.map(|r| r?).collect()
        })
    }

    /// Disables a user: they cannot sign in, and the console ends their
    /// sessions. Admins only; the last enabled admin stays (a server with
    /// no admin could not be managed from the console again).
    pub fn disable_user(&self, actor: &Actor, id: &str, now: DateTime<Utc>) -> Result<()> {
        actor.must_be_admin()?;
        self.write(|tx| {
            let other_admins: i64 = tx.query_row(
                "SELECT COUNT(*) FROM console_users
                 WHERE role = 'admin' AND disabled_at IS NULL AND id != ?1",
                [id],
                |r| r.get(0),
            )?;
            let is_enabled_admin =
                load_user(tx, id)?.is_some_and(|u| u.role == UserRole::Admin && !u.disabled);
            if is_enabled_admin && other_admins == 0 {
                return Err(Error::invalid(
                    "id",
                    "the last enabled admin cannot be disabled",
                ));
            }
            let changed = tx.execute(
                "UPDATE console_users SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
                (id, now.timestamp()),
            )?;
            // Their sessions end with the disabling, in the same transaction.
            tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [id])?;
            if changed == 0 {
                return Err(Error::NotFound(format!("user {id}")));
            }
            Ok(())
        })
    }

    /// Enables a disabled user again (admins); they sign in anew.
    pub fn enable_user(&self, actor: &Actor, id: &str) -> Result<()> {
        actor.must_be_admin()?;
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE console_users SET disabled_at = NULL WHERE id = ?1",
                [id],
            )?;
            if changed == 0 {
                return Err(Error::NotFound(format!("user {id}")));
            }
            Ok(())
        })
    }

    /// Sets a user's password to a new Argon2id hash (admins); the user's
    /// sessions end, so whoever held the old password is signed out.
    pub fn set_user_password(&self, actor: &Actor, id: &str, password_hash: &str) -> Result<()> {
        actor.must_be_admin()?;
        if !password_hash.starts_with("$argon2id$") {
            return Err(Error::invalid("password_hash", "not an Argon2id hash"));
        }
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE console_users SET password_hash = ?2 WHERE id = ?1",
                (id, password_hash),
            )?;
            if changed == 0 {
                return Err(Error::NotFound(format!("user {id}")));
            }
            tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [id])?;
            Ok(())
        })
    }

    /// A user and their password hash, for signing in.
    pub fn user_credentials(&self, id: &str) -> Result<Option<(ConsoleUser, String)>> {
        self.read(|tx| {
            tx.query_row(
                "SELECT id, role, team, disabled_at IS NOT NULL, password_hash
                 FROM console_users WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        user_from_parts(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?
            .map(|(user, hash)| Ok((user?, hash)))
            .transpose()
        })
    }
}

/// One user as stored now, `None` when there is none.
pub(super) fn load_user(tx: &super::db::Transaction<'_>, id: &str) -> Result<Option<ConsoleUser>> {
    tx.prepare_cached(
        "SELECT id, role, team, disabled_at IS NOT NULL FROM console_users WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(user_from_parts(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .optional()?
    .transpose()
}

pub(super) fn user_from_parts(
    id: String,
    role: String,
    team: String,
    disabled: bool,
) -> Result<ConsoleUser> {
    let corrupt = |e: String| Error::Corrupt(format!("stored user {id}: {e}"));
    Ok(ConsoleUser {
        role: UserRole::parse("role", &role).map_err(|e| corrupt(e.to_string()))?,
        team: serde_json::from_str(&team).map_err(|e| corrupt(e.to_string()))?,
        disabled,
        id,
    })
}
