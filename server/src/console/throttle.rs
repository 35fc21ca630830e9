//! Failed sign-ins (PRODUCT.md §12.4): after 10 failures for one user
//! within 15 minutes, that user's attempts are refused for 15 minutes, the
//! right password included; an address that fails 30 times in that window
//! is refused the same way, whatever users it tries.
//!
//! Kept in memory: a restart forgets the counts (and Argon2id keeps each
//! guess slow anyway). Written by hand because the rate-limiting crates
//! (governor) limit every request, not only the failed ones, and cannot
//! express "locked after N failures".

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const PER_USER: usize = 10;
pub const PER_ADDRESS: usize = 30;
/// Keys remembered at most; the oldest are forgotten first past this.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Default)]
struct Record {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

#[derive(Default)]
pub struct SignInThrottle {
    records: HashMap<Key, Record>,
}

impl SignInThrottle {
    /// How long `user` from `address` must wait, if locked out now.
    pub fn locked(
        &mut self,
        user: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let mut wait: Option<Duration> = None;
        for key in keys(user, address) {
            if let Some(record) = self.records.get_mut(&key) {
                match record.locked_until {
                    Some(until) if until > now => {
                        let left = until - now;
                        wait = Some(wait.map_or(left, |w| w.max(left)));
                    }
                    Some(_) => {
                        record.locked_until = None;
                        record.failures.clear();
                    }
                    None => {}
                }
            }
        }
        wait
    }

    /// Counts a failed attempt; locks the user or address at its limit.
    pub fn failed(&mut self, user: &str, address: Option<IpAddr>, now: Instant) {
        if self.records.len() >= MAX_KEYS {
            self.forget_quiet(now);
        }
        for key in keys(user, address) {
            let limit = match key {
                Key::User(_) => PER_USER,
                Key::Address(_) => PER_ADDRESS,
            };
            let record = self.records.entry(key).or_default();
            while record
                .failures
                .front()
                .is_some_and(|t| now.duration_since(*t) >= WINDOW)
            {
                record.failures.pop_front();
            }
            record.failures.push_back(now);
            if record.failures.len() >= limit {
                record.locked_until = Some(now + WINDOW);
            }
        }
    }

    /// A success clears the user's failures (not the address's).
    pub fn succeeded(&mut self, user: &str) {
        self.records.remove(&Key::User(user.to_string()));
    }

    fn forget_quiet(&mut self, now: Instant) {
        self.records.retain(|_, r| {
            r.locked_until.is_some_and(|u| u > now)
                || r.failures
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
        });
    }
}

fn keys(user: &str, address: Option<IpAddr>) -> impl Iterator<Item = Key> {
    std::iter::once(Key::User(user.to_string())).chain(address.map(Key::Address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_the_user_for_fifteen_minutes_and_then_free_it() {
        let mut t = SignInThrottle::default();
        let start = Instant::now();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..9 {
            assert_eq!(t.locked("sup", Some(ip), start), None, "attempt {i}");
            t.failed("sup", Some(ip), start + Duration::from_secs(i));
        }
        assert_eq!(
            t.locked("sup", Some(ip), start + Duration::from_secs(9)),
            None
        );
        t.failed("sup", Some(ip), start + Duration::from_secs(9));
        let at = start + Duration::from_secs(10);
        assert_eq!(
            t.locked("sup", Some(ip), at),
            Some(WINDOW - Duration::from_secs(1))
        );
        // Another user from elsewhere is not locked by it.
        assert_eq!(t.locked("admin", None, at), None);
        // Over after the window.
        assert_eq!(
            t.locked("sup", Some(ip), start + Duration::from_secs(9) + WINDOW),
            None
        );
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut t = SignInThrottle::default();
        let start = Instant::now();
        for i in 0..9 {
            t.failed("sup", None, start + Duration::from_secs(i));
        }
        let later = start + WINDOW + Duration::from_secs(60);
        t.failed("sup", None, later);
        assert_eq!(t.locked("sup", None, later), None);
    }

    #[test]
    fn an_address_failing_across_many_users_is_locked() {
        let mut t = SignInThrottle::default();
        let now = Instant::now();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..PER_ADDRESS {
            t.failed(&format!("user-{i}"), Some(ip), now);
        }
        assert!(t.locked("someone-else", Some(ip), now).is_some());
        assert_eq!(t.locked("someone-else", None, now), None);
    }
}
