//! The schema on PostgreSQL: created or upgraded on open under a session
//! advisory lock (instances starting together wait for one another), each
//! step one transaction, the version in `fieldcheck_schema`. The version
//! numbers are SQLite's (`schema::VERSION`); PostgreSQL stores begin at 13.

use postgres::Client;

use super::db::pg::SCHEMA_LOCK;
use super::schema::VERSION;
use crate::error::{Error, Result};

/// The first version a PostgreSQL store was created at.
const CREATE_VERSION: u32 = 13;
const CREATE: &str = include_str!("sql/pg/schema_v13.sql");

/// (version reached, script) above `CREATE_VERSION`.
const UPGRADES: &[(u32, &str)] = &[(14, include_str!("sql/pg/upgrade_v14.sql"))];

/// PostgreSQL 15 or later: `UNIQUE NULLS`, and the oldest release still
/// supported when this was written.
const OLDEST_SERVER: i64 = 150_000;

fn db(e: postgres::Error) -> Error {
    Error::Database(e.to_string())
}

/// The store's latest key epoch, read before anything is created or
/// upgraded: none in a new database, nor in one written before sealing.
pub(super) fn key_epoch(client: &mut Client) -> Result<Option<i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('key_epochs') IS NOT NULL", &[])
        .map_err(db)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_one(super::sealing::NEWEST_EPOCH, &[])
        .map_err(db)?
        .get(0))
}

/// Checks the server and creates or upgrades the schema. A database that
/// holds other tables, or a newer schema, is refused and left untouched.
pub(super) fn init(client: &mut Client) -> Result<()> {
    let server: i64 = client
        .query_one("SELECT current_setting('server_version_num')::bigint", &[])
        .map_err(db)?
        .get(0);
    if server < OLDEST_SERVER {
        return Err(Error::invalid(
            "db",
            format!(
                "PostgreSQL {} is too old: 15 or later is needed",
                server / 10_000
            ),
        ));
    }
    let encoding: String = client
        .query_one("SELECT current_setting('server_encoding')", &[])
        .map_err(db)?
        .get(0);
    if encoding != "UTF8" {
        return Err(Error::invalid(
            "db",
            format!("the database's encoding is {encoding}; create it with ENCODING 'UTF8'"),
        ));
    }
    client
        .execute("SELECT pg_advisory_lock($1)", &[&SCHEMA_LOCK])
        .map_err(db)?;
    let outcome = init_locked(client);
    // Released on every path; a lost connection releases it too.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&SCHEMA_LOCK]);
    outcome?;
    unlocked.map_err(db)?;
    Ok(())
}

fn init_locked(client: &mut Client) -> Result<()> {
    let ours: bool = client
        .query_one("SELECT to_regclass('fieldcheck_schema') IS NOT NULL", &[])
        .map_err(db)?
        .get(0);
    if !ours {
        let tables: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables
                 WHERE table_schema = current_schema()",
                &[],
            )
            .map_err(db)?
            .get(0);
        if tables > 0 {
            return Err(Error::Corrupt(
                "a PostgreSQL database that is not a fieldcheck store (it holds other tables)"
                    .into(),
            ));
        }
        let mut tx = client.transaction().map_err(db)?;
        tx.batch_execute(CREATE).map_err(db)?;
        for (_, script) in UPGRADES {
            tx.batch_execute(script).map_err(db)?;
        }
        tx.batch_execute(&format!(
            "CREATE TABLE fieldcheck_schema (version BIGINT NOT NULL);
             INSERT INTO fieldcheck_schema (version) VALUES ({VERSION});"
        ))
        .map_err(db)?;
        tx.commit().map_err(db)?;
        return Ok(());
    }
    let found: i64 = client
        .query_one("SELECT version FROM fieldcheck_schema", &[])
        .map_err(db)?
        .get(0);
    let found = u32::try_from(found)
        .map_err(|_| Error::Corrupt(format!("schema version {found} out of range")))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found < CREATE_VERSION {
        return Err(Error::Corrupt(format!(
            "schema version {found} on PostgreSQL"
        )));
    }
    if found < VERSION {
        let mut tx = client.transaction().map_err(db)?;
        for (reached, script) in UPGRADES {
            if *reached > found {
                log::info!("upgrading store schema to v{reached}");
                tx.batch_execute(script).map_err(db)?;
            }
        }
        tx.execute(
            "UPDATE fieldcheck_schema SET version = $1",
            &[&i64::from(VERSION)],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::store::{Store, test_engine};

    /// (table or view, column, nullable) of a store.
    type Shape = BTreeSet<(String, String, bool)>;

    fn sqlite_shape() -> Shape {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')
                 AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut shape = Shape::new();
        for name in names {
            let mut stmt = conn
                .prepare("SELECT name, \"notnull\", pk FROM pragma_table_info(?1)")
                .unwrap();
            let columns = stmt
                .query_map([&name], |r| {
                    let (column, not_null, pk): (String, bool, i64) =
                        (r.get(0)?, r.get(1)?, r.get(2)?);
                    Ok((column, !not_null && pk == 0))
                })
                .unwrap();
            for column in columns {
                let (column, nullable) = column.unwrap();
                shape.insert((name.clone(), column, nullable));
            }
        }
        shape
    }

    fn postgres_shape() -> Shape {
        let dir = tempfile::TempDir::new().unwrap();
        let url = test_engine::location(dir.path(), "s.db");
        drop(Store::open_with(&url, &test_engine::options_for(&url)).unwrap());
        let mut client = postgres::Client::connect(url.to_str().unwrap(), postgres::NoTls).unwrap();
        client
            .query(
                "SELECT table_name::text, column_name::text, is_nullable = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> 'fieldcheck_schema'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// A schema change written for one engine only fails here: both must
    /// have the same tables, views, columns and nullability.
    #[test]
    fn both_engines_have_the_same_tables_and_columns() {
        crate::store::postgres_only!("compares with PostgreSQL (FIELDCHECK_TEST_PG)");
        let sqlite = sqlite_shape();
        let postgres = postgres_shape();
        assert!(sqlite.len() > 300, "{} columns", sqlite.len());
        let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
        let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
        assert!(
            only_sqlite.is_empty() && only_postgres.is_empty(),
            "only on SQLite: {only_sqlite:?}\nonly on PostgreSQL: {only_postgres:?}"
        );
    }

    /// Over TLS the server's certificate is verified: the store opens with
    /// the CA that signed it (and the connection is encrypted), is refused
    /// with another CA, and an unknown `sslmode` is bad input.
    #[test]
    fn tls_connections_verify_the_server_certificate() {
        let (Ok(tls), Ok(other_ca)) = (
            std::env::var("FIELDCHECK_TEST_PG_TLS"),
            std::env::var("FIELDCHECK_TEST_OTHER_CA"),
        ) else {
            eprintln!("skipped on SQLite alone: needs FIELDCHECK_TEST_PG_TLS");
            return;
        };
        let dir = tempfile::TempDir::new().unwrap();
        let plain = test_engine::location(dir.path(), "s.db");
        let plain = plain.to_str().unwrap();
        let (_, path) = plain.split_once("://").unwrap();
        let (_, path) = path.split_once('/').unwrap();
        let db = path.split('?').next().unwrap();
        let url = tls.replace("{db}", db);
        let store =
            Store::open_with(&url, &test_engine::options_for(std::path::Path::new(&url))).unwrap();
        let encrypted: bool = store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert!(encrypted);
        drop(store);

        let (base, _) = url.split_once("sslrootcert=").unwrap();
        let wrong = format!("{base}sslrootcert={other_ca}");
        let refused = Store::open(&wrong).unwrap_err();
        assert!(
            matches!(refused, crate::error::Error::Database(_)),
            "{refused}"
        );
        let bad = Store::open(format!("{plain}&sslmode=sometimes")).unwrap_err();
        assert!(
            matches!(bad, crate::error::Error::InvalidInput { .. }),
            "{bad}"
        );
    }
}
