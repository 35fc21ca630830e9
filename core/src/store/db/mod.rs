//! The engine layer: one transaction, statement and row type over the
//! engines the store runs on, so every store module is written once.
//!
//! The shape follows rusqlite's (the store was written against it), and
//! values cross it as rusqlite's `ToSql`/`FromSql`: on SQLite they pass
//! straight through, so the phone's check-in path pays one `match` per call.
//! A backend for another engine converts them at its edge.

use rusqlite::types::{FromSql, FromSqlError, ToSql, ValueRef};

pub use rusqlite::params;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a statement failed with, per engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Sqlite(e) => e.into(),
        }
    }
}

impl Error {
    /// The query that was to return one row returned none.
    pub fn is_no_rows(&self) -> bool {
        matches!(self, Error::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    fn no_rows() -> Error {
        Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// `Result<T>` → `Result<Option<T>>` for queries of at most one row.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_no_rows() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A store transaction: every read and write of a store module goes
/// through one.
pub enum Transaction<'a> {
    Sqlite(&'a rusqlite::Transaction<'a>),
}

impl<'a> Transaction<'a> {
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(match self {
            Transaction::Sqlite(tx) => Statement::SqliteCached(tx.prepare_cached(sql)?),
        })
    }

    /// A statement not kept in the cache (SQL built per call).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(match self {
            Transaction::Sqlite(tx) => Statement::Sqlite(tx.prepare(sql)?),
        })
    }

    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Several statements without parameters (tests that alter a store).
    #[cfg(test)]
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
        }
    }
}

/// A prepared statement.
pub enum Statement<'t> {
    SqliteCached(rusqlite::CachedStatement<'t>),
    Sqlite(rusqlite::Statement<'t>),
}

impl<'t> Statement<'t> {
    fn sqlite(&mut self) -> &mut rusqlite::Statement<'t> {
        match self {
            Statement::SqliteCached(s) => s,
            Statement::Sqlite(s) => s,
        }
    }

    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        let stmt = self.sqlite();
        Ok(params.with_refs(|p| stmt.execute(p))?)
    }

    pub fn query(&mut self, params: impl Params) -> Result<Rows<'_>> {
        let stmt = self.sqlite();
        Ok(Rows::Sqlite(params.with_refs(|p| stmt.query(p))?))
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        match self.query(params)?.next()? {
            Some(row) => f(&row),
            None => Err(Error::no_rows()),
        }
    }

    /// Each row through `f`, in order.
    pub fn query_map<T, F>(&mut self, params: impl Params, f: F) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }
}

/// The rows of [`Statement::query_map`], each mapped as it is read.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<'_, F> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The rows of a query, read one at a time.
pub enum Rows<'s> {
    Sqlite(rusqlite::Rows<'s>),
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)] // fallible, and rows borrow the cursor
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Sqlite(rows) => Ok(rows.next()?.map(Row::Sqlite)),
        }
    }
}

/// One row of a result.
#[derive(Clone, Copy)]
pub enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
}

impl<'r> Row<'r> {
    /// Column `idx` as `T`; a stored value of another type is an error.
    pub fn get<I: ColumnIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        match self {
            Row::Sqlite(r) => Ok(r.get(idx.index())?),
        }
    }

    /// Column `idx` borrowed from the row, without a copy.
    pub fn get_ref(&self, idx: usize) -> Result<ValueRef<'_>> {
        match self {
            Row::Sqlite(r) => Ok(r.get_ref(idx)?),
        }
    }
}

/// A column's position. Only positions: a name would be looked up per row.
pub trait ColumnIndex: Copy {
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// A stored value that is not what the column should hold.
impl From<FromSqlError> for Error {
    fn from(e: FromSqlError) -> Self {
        Error::Sqlite(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Null,
            Box::new(e),
        ))
    }
}

/// Statement parameters: arrays, tuples, `params![…]` and
/// [`params_from_iter`], as with rusqlite.
pub trait Params {
    fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R;
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&[])
    }
}

impl Params for &[&dyn ToSql] {
    fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(self)
    }
}

impl<const N: usize> Params for &[&dyn ToSql; N] {
    fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&self[..])
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                let refs: [&dyn ToSql; $n] = std::array::from_fn(|i| &self[i] as &dyn ToSql);
                f(&refs)
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

macro_rules! tuple_params {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: ToSql),+> Params for ($($t,)+) {
            fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                f(&[$(&self.$i as &dyn ToSql),+])
            }
        }
    )*};
}
tuple_params! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15)
}

/// Parameters from a list built at run time.
pub struct ParamsFromIter<T>(Vec<T>);

pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I::Item>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter.into_iter().collect())
}

impl<T: ToSql> Params for ParamsFromIter<T> {
    fn with_refs<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let refs: Vec<&dyn ToSql> = self.0.iter().map(|v| v as &dyn ToSql).collect();
        f(&refs)
    }
}
