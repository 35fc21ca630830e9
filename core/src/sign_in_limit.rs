//! Failed console sign-ins (PRODUCT.md §12.4): after 10 failures for one
//! user within 15 minutes, that user's attempts are refused for 15 minutes,
//! the right password included; an address that fails 30 times in that
//! window is refused the same way, whatever users it tries. A success
//! clears the user's failures (not the address's).
//!
//! The failures and locks live in the store (`store::sign_in_limit`), so
//! every server instance on one database counts the same ones and a
//! restart forgets nothing. Written by hand because the rate-limiting
//! crates (governor) limit every request, not only the failed ones, and
//! keep their counts in one process.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// How far back failures count, and how long a lock lasts, in seconds.
pub const WINDOW_S: i64 = 15 * 60;
/// Failures of one user within the window that lock it.
pub const PER_USER: i64 = 10;
/// Failures from one address within the window that lock it.
pub const PER_ADDRESS: i64 = 30;

/// Who a failed attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempter {
    User(String),
    Address(IpAddr),
}

impl Attempter {
    /// The user tried, and the address it came from when known.
    pub fn of(user: &str, address: Option<IpAddr>) -> Vec<Attempter> {
        std::iter::once(Attempter::User(user.to_string()))
            .chain(address.map(Attempter::Address))
            .collect()
    }

    /// Failures within [`WINDOW_S`] that lock this attempter.
    pub fn limit(&self) -> i64 {
        match self {
            Attempter::User(_) => PER_USER,
            Attempter::Address(_) => PER_ADDRESS,
        }
    }

    /// What the store keys it by: a digest under the store's salt, so
    /// neither user ids nor addresses are kept in clear, and a user named
    /// like an address is another key.
    pub fn key(&self, salt: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(salt);
        match self {
            Attempter::User(id) => {
                hasher.update(b"user\0");
                hasher.update(id.as_bytes());
            }
            Attempter::Address(address) => {
                hasher.update(b"address\0");
                hasher.update(address.to_string().as_bytes());
            }
        }
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_users_from_addresses_and_depend_on_the_salt() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let user = Attempter::User("10.0.0.1".into());
        let address = Attempter::Address(ip);
        assert_ne!(user.key(b"s"), address.key(b"s"));
        assert_ne!(user.key(b"s"), user.key(b"t"));
        assert_eq!(user.key(b"s"), Attempter::User("10.0.0.1".into()).key(b"s"));
        assert!(!user.key(b"s").contains("10.0.0.1"));
        assert_eq!((user.limit(), address.limit()), (10, 30));
        assert_eq!(
            Attempter::of("sup", Some(ip)),
            vec![Attempter::User("sup".into()), address]
        );
        assert_eq!(Attempter::of("sup", None).len(), 1);
    }
}
