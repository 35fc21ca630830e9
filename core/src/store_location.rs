//! Where a store lives, as `--db` names it (PRODUCT.md §12.5): a file path
//! (SQLite) or a PostgreSQL URL (`postgres://` or `postgresql://`). A URL
//! is shown and logged only with its password hidden.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a `--db` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    File(PathBuf),
    Postgres(String),
}

impl StoreLocation {
    pub fn of(db: &Path) -> StoreLocation {
        match db.to_str() {
            Some(text) if is_postgres_url(text) => StoreLocation::Postgres(text.to_string()),
            _ => StoreLocation::File(db.to_path_buf()),
        }
    }

    /// The file a store lives in; a PostgreSQL URL is refused with a typed
    /// error that names it without its password (this build keeps stores
    /// in SQLite files only).
    pub fn file(db: &Path) -> Result<PathBuf> {
        match StoreLocation::of(db) {
            StoreLocation::File(path) => Ok(path),
            StoreLocation::Postgres(url) => Err(Error::invalid(
                "db",
                format!(
                    "{} is a PostgreSQL database; this build keeps stores in SQLite files \
                     only: give a file path",
                    redact_url(&url)
                ),
            )),
        }
    }
}

/// `db` as messages and logs may show it: a URL without its password.
pub fn shown(db: &Path) -> String {
    match StoreLocation::of(db) {
        StoreLocation::File(path) => path.display().to_string(),
        StoreLocation::Postgres(url) => redact_url(&url),
    }
}

fn is_postgres_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password hidden, in the user part and in a `password=`
/// parameter alike.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            // The user part ends at the last '@' before the path.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => match user.split_once(':') {
                    Some((name, _)) => format!("{name}:***@{host}"),
                    None => format!("{user}@{host}"),
                },
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_files_and_shown_without_their_password() {
        assert_eq!(
            StoreLocation::of(Path::new("/tmp/server.db")),
            StoreLocation::File("/tmp/server.db".into())
        );
        assert!(matches!(
            StoreLocation::of(Path::new("postgresql://fc@db/fc")),
            StoreLocation::Postgres(_)
        ));
        for (url, shown) in [
            (
                "postgres://fc:s3cr%40t@db.example:5432/fc?sslmode=verify-full",
                "postgres://fc:***@db.example:5432/fc?sslmode=verify-full",
            ),
            ("postgresql://fc@db/fc", "postgresql://fc@db/fc"),
            (
                "postgres:///fc?host=/run/pg&password=hunter2&port=5433",
                "postgres:///fc?host=/run/pg&password=***&port=5433",
            ),
            ("postgres://a:b@c@host/db", "postgres://a:***@host/db"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
        let refused = StoreLocation::file(Path::new("postgres://fc:hunter2@db/fc")).unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains("postgres://fc:***@db/fc") && !text.contains("hunter2"),
            "{text}"
        );
        assert_eq!(refused.kind(), crate::ErrorKind::InvalidInput);
    }
}
