//! `store copy` (PRODUCT.md §12.5): every row of a server's store, SQLite
//! or PostgreSQL, into a new PostgreSQL store, in one transaction of the
//! target. Rows are copied as stored (chains, digests and derived tables
//! alike), so both stores then give the same reports and `verify` passes on
//! both; sealed columns (`sealing::SEALED`) are opened with the source's
//! keys, if it seals, and sealed as they are written under the target's.

use rusqlite::types::Value;

use super::Store;
use super::db::{Transaction, insert_rows, owned_value};
use super::sealing;
use crate::error::{Error, Result};
use crate::types::Actor;

/// What a copy moved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    pub tables: usize,
    pub rows: u64,
}

/// Rows read ahead of writing them.
const ROWS_HELD: usize = 4096;

/// Tables a new store already fills (its device id, sign-in salt and
/// configuration version), replaced by the source's.
const SEEDED: &[&str] = &["meta", "config_version"];

/// The store's tables in creation order (referenced tables first), as the
/// PostgreSQL schema creates them.
fn tables() -> Vec<&'static str> {
    [
        include_str!("sql/pg/schema_v13.sql"),
        include_str!("sql/pg/upgrade_v14.sql"),
    ]
    .iter()
    .flat_map(|script| script.lines())
    .filter_map(|line| line.strip_prefix("CREATE TABLE "))
    .filter_map(|rest| rest.split_whitespace().next())
    // The target's own keys: what is sealed is sealed again under them.
    .filter(|table| !NOT_COPIED.contains(table))
    .collect()
}

/// The master key's epochs and the data keys: the target makes its own.
const NOT_COPIED: &[&str] = &["key_epochs", "data_keys"];

impl Store {
    /// Copies every row of this store into `target`, a PostgreSQL store
    /// that holds nothing yet. Admins only. Nothing is written if anything
    /// fails.
    pub fn copy_into(&self, actor: &Actor, target: &Store) -> Result<CopyReport> {
        actor.must_be_admin()?;
        if !target.is_postgres() {
            return Err(Error::invalid(
                "to",
                "a store is copied into a PostgreSQL database (postgres://…)",
            ));
        }
        self.read(|source| {
            target.write(|dest| {
                refuse_unless_empty(dest)?;
                for table in SEEDED {
                    dest.execute(&format!("DELETE FROM {table}"), [])?;
                }
                let mut report = CopyReport { tables: 0, rows: 0 };
                for table in tables() {
                    report.rows += copy_table(source, dest, table)?;
                    report.tables += 1;
                }
                // Ids the identity column will hand out next start past the
                // copied ones.
                dest.query_row(
                    "SELECT setval(pg_get_serial_sequence('summary_sites', 'id'),
                                   COALESCE(MAX(id), 0) + 1, false)
                     FROM summary_sites",
                    [],
                    |_| Ok(()),
                )?;
                // Statistics now, not when autovacuum comes round: a store
                // of millions of rows is otherwise planned blind at first.
                dest.execute("ANALYZE", [])?;
                Ok(report)
            })
        })
    }
}

fn refuse_unless_empty(dest: &Transaction<'_>) -> Result<()> {
    for table in tables() {
        if SEEDED.contains(&table) {
            continue;
        }
        let held: bool =
            dest.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                r.get(0)
            })?;
        if held {
            return Err(Error::invalid(
                "to",
                format!(
                    "the target store is not empty ({table} holds rows): copy into a new database"
                ),
            ));
        }
    }
    Ok(())
}

fn copy_table(source: &Transaction<'_>, dest: &Transaction<'_>, table: &str) -> Result<u64> {
    let mut select = source.prepare(&format!("SELECT * FROM {table}"))?;
    let columns = select.column_names();
    let columns_text = columns.join(", ");
    let mut rows = select.query([])?;
    let mut copied = 0;
    // Rows go in many at a time (`insert_rows`: several a statement, or by
    // COPY on PostgreSQL): one a statement made a store of a million events
    // take minutes to copy.
    let mut held: Vec<Value> = Vec::new();
    let position = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::Corrupt(format!("{table} has no column {name}")))
    };
    // The sealed columns of this table (`sealing::SEALED`).
    let sealed: Vec<_> = sealing::SEALED
        .iter()
        .filter(|f| f.table == table.trim_matches('"'))
        .collect();
    while let Some(row) = rows.next()? {
        let first = held.len();
        for i in 0..columns.len() {
            held.push(owned_value(row.get_ref(i)?)?);
        }
        for field in &sealed {
            let values = &held[first..];
            let column =
                |name: &str| -> Result<Option<Value>> { Ok(Some(values[position(name)?].clone())) };
            for (name, value) in field.reseal(source, dest, &column)? {
                let at = position(name)?;
                held[first + at] = value;
            }
        }
        copied += 1;
        if held.len() >= ROWS_HELD * columns.len() {
            insert_rows(dest, table, &columns_text, &held)?;
            held.clear();
        }
    }
    insert_rows(dest, table, &columns_text, &held)?;
    Ok(copied)
}
