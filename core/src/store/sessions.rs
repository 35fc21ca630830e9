//! Console sign-in sessions (PRODUCT.md §12.4) on the server's store: a
//! random token in the browser's cookie, its SHA-256 here, an expiry, and
//! the user it belongs to. A disabled user has no session.

use std::net::IpAddr;
use std::sync::LazyLock;

use super::db::OptionalExtension;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use super::connection::Store;
use super::sign_in_limit;
use super::users::user_from_parts;
use crate::console_user::{ConsoleUser, hash_password, password_matches};
use crate::device::secret_digest;
use crate::error::Result;
use crate::sign_in_limit::Attempter;

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignIn {
    /// A new session: its token (for the cookie, shown once) and the user.
    Started { token: String, user: ConsoleUser },
    /// Unknown user, wrong password or disabled user: told apart nowhere.
    Refused,
    /// Too many failures for this user or from this address
    /// (`crate::sign_in_limit`): refused unchecked for this many seconds.
    LockedOut { retry_after_s: u64 },
}

impl Store {
    /// Checks `password` against the user's Argon2id hash (deliberately slow:
    /// call it off async workers) and opens a session of `ttl` on success.
    /// A user or an address (`from`) locked by failed attempts is refused
    /// before any check; a failure counts against both.
    pub fn sign_in(
        &self,
        user_id: &str,
        password: &str,
        from: Option<IpAddr>,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<SignIn> {
        let attempters = Attempter::of(user_id, from);
        if let Some(retry_after_s) = self.read(|tx| sign_in_limit::wait(tx, &attempters, now))? {
            return Ok(SignIn::LockedOut { retry_after_s });
        }
        let refused = || -> Result<SignIn> {
            self.write(|tx| sign_in_limit::record_failure(tx, &attempters, now))?;
            Ok(SignIn::Refused)
        };
        let Some((user, hash)) = self.user_credentials(user_id)? else {
            // Spend about the time a check takes, so an unknown user is not
            // told apart by the answer's speed.
            password_matches(&DUMMY_HASH, password);
            return refused();
        };
        if !password_matches(&hash, password) || user.disabled {
            return refused();
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        self.write(|tx| {
            sign_in_limit::clear_user(tx, &user.id)?;
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
                store.sign_in(user, password, None, ttl, now).unwrap(),
                SignIn::Refused
            ));
        }
        let SignIn::Started { token, user } = store
            .sign_in("sup-1", "correct horse", None, ttl, now)
            .unwrap()
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

        let SignIn::Started { token, .. } = store
            .sign_in("sup-1", "correct horse", None, ttl, now)
            .unwrap()
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
            store
                .sign_in("sup-1", "correct horse", None, ttl, now)
                .unwrap(),
            SignIn::Refused
        ));
    }

    /// The failed-sign-in limit is the store's, so a second process (a
    /// second server instance) on the same file counts the same failures.
    #[test]
    fn failed_sign_ins_lock_a_user_and_an_address_for_every_process_on_the_store() {
        use crate::sign_in_limit::{PER_ADDRESS, PER_USER, WINDOW_S};
        let (dir, one) = store();
        let two = Store::open(dir.path().join("server.db")).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let ttl = Duration::hours(8);
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let at = |s: i64| start + Duration::seconds(s);
        for i in 0..PER_USER - 1 {
            let instance = if i % 2 == 0 { &one } else { &two };
            let answer = instance
                .sign_in("sup-1", "wrong", Some(ip), ttl, at(i))
                .unwrap();
            assert!(matches!(answer, SignIn::Refused), "attempt {i}");
        }
        let last = one.sign_in("sup-1", "wrong", Some(ip), ttl, at(PER_USER - 1));
        assert!(matches!(last.unwrap(), SignIn::Refused));
        // Locked on both instances for the window, the right password too.
        let locked = two
            .sign_in("sup-1", "correct horse", None, ttl, at(PER_USER))
            .unwrap();
        assert!(
            matches!(locked, SignIn::LockedOut { retry_after_s } if retry_after_s == WINDOW_S as u64 - 1)
        );
        // Another user is not locked by it, from another address.
        let other = two
            .sign_in("boss", "wrong", None, ttl, at(PER_USER))
            .unwrap();
        assert!(matches!(other, SignIn::Refused));
        // Over once the window has passed since the lock, and a success
        // clears the count.
        let free = at(PER_USER - 1 + WINDOW_S);
        for i in 0..PER_USER - 1 {
            one.sign_in("sup-1", "wrong", None, ttl, free + Duration::seconds(i))
                .unwrap();
        }
        let back = one
            .sign_in(
                "sup-1",
                "correct horse",
                None,
                ttl,
                free + Duration::seconds(20),
            )
            .unwrap();
        assert!(matches!(back, SignIn::Started { .. }));
        let after = free + Duration::seconds(21);
        assert!(matches!(
            one.sign_in("sup-1", "wrong", None, ttl, after).unwrap(),
            SignIn::Refused
        ));
        assert!(matches!(
            two.sign_in("sup-1", "correct horse", None, ttl, after)
                .unwrap(),
            SignIn::Started { .. }
        ));

        // Failures older than the window do not count.
        let quiet = after + Duration::seconds(60);
        for i in 0..PER_USER - 1 {
            one.sign_in("sup-1", "wrong", None, ttl, quiet + Duration::seconds(i))
                .unwrap();
        }
        let later = quiet + Duration::seconds(WINDOW_S + 60);
        one.sign_in("sup-1", "wrong", None, ttl, later).unwrap();
        assert!(matches!(
            two.sign_in("sup-1", "correct horse", None, ttl, later)
                .unwrap(),
            SignIn::Started { .. }
        ));

        // An address failing across many users is locked, for every user
        // it tries; the same users from elsewhere are not.
        let spray = later + Duration::seconds(1);
        let far: IpAddr = "10.9.9.9".parse().unwrap();
        for i in 0..PER_ADDRESS {
            one.sign_in(&format!("user-{i}"), "guess", Some(far), ttl, spray)
                .unwrap();
        }
        let blocked = two
            .sign_in("sup-1", "correct horse", Some(far), ttl, spray)
            .unwrap();
        assert!(matches!(blocked, SignIn::LockedOut { .. }));
        let elsewhere = two
            .sign_in("sup-1", "correct horse", Some(ip), ttl, spray)
            .unwrap();
        assert!(matches!(elsewhere, SignIn::Started { .. }));

        // Neither user ids nor addresses are kept in clear.
        let keys: Vec<String> = one
            .read(|tx| {
                let mut stmt = tx.prepare(
                    "SELECT key FROM sign_in_failures UNION ALL SELECT key FROM sign_in_locks",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<crate::store::db::Result<_>>()?)
            })
            .unwrap();
        assert!(!keys.is_empty());
        assert!(
            keys.iter()
                .all(|k| k.len() == 64 && !k.contains("user-") && !k.contains("10.9"))
        );
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
            store.sign_in("boss", "admin pass", None, ttl, now).unwrap(),
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
        let SignIn::Started { token, .. } = store
            .sign_in("sup-1", "correct horse", None, ttl, now)
            .unwrap()
        else {
            panic!("refused");
        };
        store
            .set_user_password(&root, "sup-1", &hash_password("new horse").unwrap())
            .unwrap();
        assert!(store.session_user(&token, now).unwrap().is_none());
        assert!(matches!(
            store
                .sign_in("sup-1", "correct horse", None, ttl, now)
                .unwrap(),
            SignIn::Refused
        ));
        let SignIn::Started { token, .. } =
            store.sign_in("sup-1", "new horse", None, ttl, now).unwrap()
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
