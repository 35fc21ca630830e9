//! Console sign-in sessions (PRODUCT.md §12.4) on the server's store: a
//! random token in the browser's cookie, its SHA-256 here, an expiry, and
//! the user it belongs to. A disabled user has no session.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rusqlite::OptionalExtension;

use super::connection::Store;
use super::users::user_from_parts;
use crate::console_user::{ConsoleUser, hash_password, password_matches};
use crate::device::secret_digest;
use crate::error::Result;

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignIn {
    /// A new session: its token (for the cookie, shown once) and the user.
    Started { token: String, user: ConsoleUser },
    /// Unknown user, wrong password or disabled user: told apart nowhere.
    Refused,
}

impl Store {
    /// Checks `password` against the user's Argon2id hash (deliberately slow:
    /// call it off async workers) and opens a session of `ttl` on success.
    pub fn sign_in(
        &self,
        user_id: &str,
        password: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<SignIn> {
        let Some((user, hash)) = self.user_credentials(user_id)? else {
            // Spend about the time a check takes, so an unknown user is not
            // told apart by the answer's speed.
            password_matches(&DUMMY_HASH, password);
            return Ok(SignIn::Refused);
        };
        if !password_matches(&hash, password) || user.disabled {
            return Ok(SignIn::Refused);
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        self.write(|tx| {
            // Expired sessions of anyone go as new ones start.
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_at <= ?1",
                [now.timestamp()],
            )?;
            tx.execute(
                "INSERT INTO console_sessions (token_digest, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                (
                    &secret_digest(&token)[..],
                    &user.id,
                    now.timestamp(),
                    (now + ttl).timestamp(),
                ),
            )?;
            Ok(())
        })?;
        Ok(SignIn::Started { token, user })
    }

    /// The signed-in user of a session token, if the session is live and the
    /// user not disabled.
    pub fn session_user(&self, token: &str, now: DateTime<Utc>) -> Result<Option<ConsoleUser>> {
        Ok(self.session(token, now)?.map(|(user, _)| user))
    }

    /// [`Store::session_user`] and the confirmation waiting for the
    /// session's next page, if any ([`Store::set_session_notice`]).
    pub fn session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ConsoleUser, Option<String>)>> {
        self.read(|tx| {
            tx.prepare_cached(
                "SELECT u.id, u.role, u.team, u.disabled_at IS NOT NULL, s.notice
                 FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                 WHERE s.token_digest = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
            )?
            .query_row((&secret_digest(token)[..], now.timestamp()), |r| {
                Ok((
                    user_from_parts(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .optional()?
            .map(|(user, notice)| Ok((user?, notice)))
            .transpose()
        })
    }

    /// Keeps a confirmation with the session for its next page (the
    /// console never takes one from the URL); `None` clears it once shown.
    pub fn set_session_notice(&self, token: &str, notice: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE console_sessions SET notice = ?2 WHERE token_digest = ?1")?
                .execute((&secret_digest(token)[..], notice))?;
            Ok(())
        })
    }

    /// Ends a session (sign-out). Unknown tokens are no error.
    pub fn end_session(&self, token: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM console_sessions WHERE token_digest = ?1",
                [&secret_digest(token)[..]],
            )?;
            Ok(())
        })
    }

    /// Live sessions of a user (tests and the admin's view).
    pub fn session_count(&self, user_id: &str, now: DateTime<Utc>) -> Result<u32> {
        self.read(|tx| {
            Ok(tx.query_row(
                "SELECT COUNT(*) FROM console_sessions WHERE user_id = ?1 AND expires_at > ?2",
                (user_id, now.timestamp()),
                |r| r.get(0),
            )?)
        })
    }
}

/// An Argon2id hash of a random password nobody has, verified against when
/// the user is unknown (made once, at the first such attempt).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hash_password(&hex::encode(bytes)).unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::console_user::UserRole;
    use crate::types::Actor;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(dir.path().join("server.db")).unwrap();
        let admin = Actor::admin("root");
        let hash = hash_password("correct horse").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        store
            .add_user(
                &admin,
                "sup-1",
                UserRole::Supervisor,
                &["a1".into()],
                &hash,
                now,
            )
            .unwrap();
        (dir, store)
    }

    #[test]
    fn a_session_opens_on_the_right_password_and_ends_on_sign_out_expiry_or_disabling() {
        let (_dir, store) = store();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let ttl = Duration::hours(8);
        for (user, password) in [("sup-1", "wrong horse"), ("nobody", "correct horse")] {
            assert!(matches!(
                store.sign_in(user, password, ttl, now).unwrap(),
                SignIn::Refused
            ));
        }
        let SignIn::Started { token, user } =
            store.sign_in("sup-1", "correct horse", ttl, now).unwrap()
        else {
            panic!("refused the right password");
        };
        assert_eq!(user.team, ["a1"]);
        assert_eq!(token.len(), 64);
        assert_eq!(
            store.session_user(&token, now).unwrap().unwrap().id,
            "sup-1"
        );
        assert!(store.session_user("forged", now).unwrap().is_none());
        // Expired at its end.
        assert!(store.session_user(&token, now + ttl).unwrap().is_none());
        // Only the digest is stored.
        let stored: Vec<u8> = store
            .read(|tx| {
                Ok(
                    tx.query_row("SELECT token_digest FROM console_sessions", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap();
        assert_ne!(stored, token.as_bytes());
        store.end_session(&token).unwrap();
        assert!(store.session_user(&token, now).unwrap().is_none());

        let SignIn::Started { token, .. } =
            store.sign_in("sup-1", "correct horse", ttl, now).unwrap()
        else {
            panic!("refused");
        };
        assert_eq!(store.session_count("sup-1", now).unwrap(), 1);
        store
            .disable_user(&Actor::admin("root"), "sup-1", now)
            .unwrap();
        assert!(store.session_user(&token, now).unwrap().is_none());
        assert_eq!(store.session_count("sup-1", now).unwrap(), 0);
        assert!(matches!(
            store.sign_in("sup-1", "correct horse", ttl, now).unwrap(),
            SignIn::Refused
        ));
    }

    #[test]
    fn users_are_enabled_again_passwords_reset_and_the_last_admin_kept() {
        let (_dir, store) = store();
        let root = Actor::admin("root");
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let ttl = Duration::hours(8);
        let hash = hash_password("admin pass").unwrap();
        store
            .add_user(&root, "boss", UserRole::Admin, &[], &hash, now)
            .unwrap();
        // The only enabled admin stays enabled; nothing changes.
        let refused = store.disable_user(&root, "boss", now);
        assert!(matches!(refused, Err(crate::Error::InvalidInput { .. })));
        assert!(!store.users(&root).unwrap().iter().any(|u| u.disabled));
        store
            .add_user(&root, "boss-2", UserRole::Admin, &[], &hash, now)
            .unwrap();
        store.disable_user(&root, "boss", now).unwrap();
        assert!(store.disable_user(&root, "boss-2", now).is_err());
        store.enable_user(&root, "boss").unwrap();
        store.disable_user(&root, "boss-2", now).unwrap();
        assert!(matches!(
            store.sign_in("boss", "admin pass", ttl, now).unwrap(),
            SignIn::Started { .. }
        ));
        assert!(matches!(
            store.enable_user(&root, "nobody"),
            Err(crate::Error::NotFound(_))
        ));
        assert!(matches!(
            store.enable_user(&Actor::supervisor("sup-1"), "boss-2"),
            Err(crate::Error::PermissionDenied(_))
        ));

        // A new password: the old one fails, sessions end.
        let SignIn::Started { token, .. } =
            store.sign_in("sup-1", "correct horse", ttl, now).unwrap()
        else {
            panic!("refused");
        };
        store
            .set_user_password(&root, "sup-1", &hash_password("new horse").unwrap())
            .unwrap();
        assert!(store.session_user(&token, now).unwrap().is_none());
        assert!(matches!(
            store.sign_in("sup-1", "correct horse", ttl, now).unwrap(),
            SignIn::Refused
        ));
        let SignIn::Started { token, .. } = store.sign_in("sup-1", "new horse", ttl, now).unwrap()
        else {
            panic!("refused the new password");
        };
        assert!(store.set_user_password(&root, "sup-1", "plain").is_err());

        // A confirmation waits with the session until cleared.
        store
            .set_session_notice(&token, Some("Recorded 2 decisions"))
            .unwrap();
        let (_, notice) = store.session(&token, now).unwrap().unwrap();
        assert_eq!(notice.as_deref(), Some("Recorded 2 decisions"));
        store.set_session_notice(&token, None).unwrap();
        assert_eq!(store.session(&token, now).unwrap().unwrap().1, None);
    }
}
