//! Console users (PRODUCT.md §12.1): supervisors and admins who sign in to
//! the server's console. Passwords are kept only as Argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::types::{Role, string_enum, validate_id};

string_enum!(
    /// A console user's role (`--user-role`); agents use the app, not the console.
    UserRole { Supervisor => "supervisor", Admin => "admin" }
);

impl UserRole {
    pub fn role(self) -> Role {
        match self {
            UserRole::Supervisor => Role::Supervisor,
            UserRole::Admin => Role::Admin,
        }
    }
}

/// A console user as listed (`user list`): never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleUser {
    pub id: String,
    pub role: UserRole,
    /// The agents a supervisor sees (an admin sees all).
    pub team: Vec<String>,
    pub disabled: bool,
}

/// NIST SP 800-63B: at least 8 characters; no composition rules.
pub const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;

pub fn validate_team(team: &[String]) -> Result<()> {
    for agent in team {
        validate_id("team", agent)?;
    }
    Ok(())
}

/// An Argon2id PHC string for `password` (random salt, the crate's
/// recommended cost).
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(
            "password",
            format!("longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::invalid("salt", e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::invalid("password", e.to_string()))?
        .to_string())
}

/// Whether `password` matches a stored hash (constant-time inside argon2).
pub fn password_matches(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_and_matches_only_its_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(password_matches(&hash, "correct horse"));
        assert!(!password_matches(&hash, "correct horsf"));
        assert!(!password_matches("not a hash", "correct horse"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
        assert!(matches!(
            hash_password("short"),
            Err(Error::InvalidInput { .. })
        ));
    }
}
