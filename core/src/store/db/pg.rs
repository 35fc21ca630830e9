//! The PostgreSQL backend of the engine layer (cargo feature `postgres`;
//! the phone's library never links it): a pool of connections, each with
//! its prepared statements, and the conversions between the store's values
//! (rusqlite's `Value`) and PostgreSQL's strict types.
//!
//! The store writes SQL once, with `?N` placeholders; they become `$N` here.
//! Parameters adapt to the type PostgreSQL inferred for them (an `i64` into
//! an `int4`, an integer into `text`), and columns are read back as
//! SQLite's five storage classes, so business code sees one engine.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;

use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls};
use rusqlite::types::{Value, ValueRef};

use super::{Error, Result};

/// One pooled connection and the statements prepared on it (prepared
/// statements live as long as the session, across transactions).
pub struct PgConnection {
    pub(crate) client: Client,
    statements: HashMap<String, postgres::Statement>,
}

/// Opens the pool's connections from one configuration.
pub struct Manager {
    config: postgres::Config,
    tls: Tls,
}

/// How connections are encrypted (`sslmode`). When TLS is used the server's
/// certificate is always verified, chain and host name, against
/// `sslrootcert` or else the platform's trust store: `require` is as strict
/// as `verify-full`, stricter than libpq's.
#[derive(Clone)]
pub enum Tls {
    Off,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        let client = match &self.tls {
            Tls::Off => self.config.connect(NoTls)?,
            Tls::Rustls(tls) => self.config.connect(tls.clone())?,
        };
        Ok(PgConnection {
            client,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.is_closed()
    }
}

/// The pool. Dropped on a thread of its own: closing a synchronous
/// client runs a small runtime, which panics on an async worker (where the
/// server drops its store at shutdown).
pub struct Pool(Option<r2d2::Pool<Manager>>);

impl Pool {
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, r2d2::Error> {
        self.0.as_ref().expect("present until dropped").get()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// The connection settings of a `postgres://` URL, with the password from
/// the URL, else `PGPASSWORD`, else the `passfile=` parameter's file
/// (libpq's format: `host:port:database:user:password`, `*` matching any).
pub fn config(url: &str) -> Result<(postgres::Config, Tls), String> {
    let (url, passfile) = take_parameter(url, "passfile");
    let (url, sslmode) = take_parameter(&url, "sslmode");
    let (url, root) = take_parameter(&url, "sslrootcert");
    let mut config: postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    let tls = match sslmode.as_deref() {
        None | Some("disable") => {
            config.ssl_mode(postgres::config::SslMode::Disable);
            Tls::Off
        }
        Some(mode @ ("prefer" | "require" | "verify-ca" | "verify-full")) => {
            config.ssl_mode(if mode == "prefer" {
                postgres::config::SslMode::Prefer
            } else {
                postgres::config::SslMode::Require
            });
            Tls::Rustls(rustls_connector(root.as_deref())?)
        }
        Some(other) => {
            return Err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    if config.get_password().is_none() {
        if let Ok(password) = std::env::var("PGPASSWORD") {
            config.password(password);
        } else if let Some(file) = passfile {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("passfile {file}: {e}"))?;
            if let Some(password) = passfile_entry(&text, &config) {
                config.password(password);
            }
        }
    }
    Ok((config, tls))
}

/// A TLS connector that verifies the server against the certificates in
/// `root` (PEM), or the platform's trust store.
fn rustls_connector(
    root: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match root {
        Some(file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(file)
                .map_err(|e| format!("sslrootcert {file}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("sslrootcert {file}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {file}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("sslrootcert {file} holds no certificate"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| format!("TLS: the platform's trust store: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `url` without the query parameter `name`, and its value.
fn take_parameter(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, v)) if key == name => {
                value = Some(
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

fn passfile_entry(text: &str, config: &postgres::Config) -> Option<String> {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let database = config.get_dbname().unwrap_or_default().to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields: Vec<&str> = line.splitn(5, ':').collect();
            let [h, p, d, u, password] = fields[..] else {
                return None;
            };
            let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
            (matches(h, &host) && matches(p, &port) && matches(d, &database) && matches(u, &user))
                .then(|| password.to_string())
        })
}

/// The advisory lock every write holds to its commit ("FCWR").
pub const WRITER_LOCK: i64 = 0x4643_5752;

/// The classes of the two-key advisory locks a device's batch takes, one
/// key per device or agent (`hashtext` of its id; a collision only makes
/// two batches wait for each other).
pub const DEVICE_LOCKS: i64 = 0x4644;
pub const AGENT_LOCKS: i64 = 0x4641;

/// The statements that take a device's batch's locks in the global order
/// (every writer's shared, then the device's, then the agent's), sent as
/// one message: statements of one simple query run one after another, so
/// the order holds, in one round trip instead of three. The ids go in as
/// literals quoted as libpq quotes them (`E'…'` when they hold a
/// backslash, so `standard_conforming_strings` does not matter).
pub fn import_locks(device: &str, agent: &str) -> String {
    use postgres_protocol::escape::escape_literal;
    format!(
        "SELECT pg_advisory_xact_lock_shared({WRITER_LOCK});
         SELECT pg_advisory_xact_lock({DEVICE_LOCKS}, hashtext({}));
         SELECT pg_advisory_xact_lock({AGENT_LOCKS}, hashtext({}))",
        escape_literal(device),
        escape_literal(agent)
    )
}

/// The advisory lock the schema's creation and upgrades hold ("FCSC").
pub const SCHEMA_LOCK: i64 = 0x4643_5343;

pub fn pool(config: postgres::Config, tls: Tls, size: u32) -> Result<Pool, r2d2::Error> {
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(Manager { config, tls })?;
    Ok(Pool(Some(pool)))
}

/// Prepared statements a connection keeps (every distinct statement of
/// the store's code fits, with room for SQL built per call).
const STATEMENTS_KEPT: usize = 512;

/// An open transaction on one pooled connection.
pub struct PgTransaction<'c> {
    session: RefCell<Session<'c>>,
    statements: RefCell<&'c mut HashMap<String, postgres::Statement>>,
    /// Statements run on a `SingleStatement` session
    /// ([`PgTransaction::ran_statement`]).
    statements_run: std::cell::Cell<u32>,
}

/// Where a [`PgTransaction`]'s statements run: in an explicit transaction,
/// or, for a read of one statement ([`PgTransaction::single_statement`]),
/// on the connection itself, where that statement is its own transaction.
enum Session<'c> {
    Explicit(postgres::Transaction<'c>),
    SingleStatement(&'c mut Client),
}

/// `$call` on the session's client, whichever it is (the `postgres`
/// crate's `GenericClient` is sealed, so no trait object can stand for
/// both).
macro_rules! on_session {
    ($session:expr, $client:ident => $call:expr) => {
        match $session {
            Session::Explicit($client) => $call,
            Session::SingleStatement($client) => $call,
        }
    };
}

impl<'c> PgTransaction<'c> {
    pub fn begin(
        conn: &'c mut PgConnection,
        isolation: postgres::IsolationLevel,
        read_only: bool,
    ) -> Result<PgTransaction<'c>> {
        let PgConnection { client, statements } = conn;
        let tx = client
            .build_transaction()
            .isolation_level(isolation)
            .read_only(read_only)
            .start()?;
        Ok(PgTransaction {
            session: RefCell::new(Session::Explicit(tx)),
            statements: RefCell::new(statements),
            statements_run: Default::default(),
        })
    }

    /// No transaction: for a read that runs exactly one statement, which
    /// PostgreSQL then runs as its own (one round trip instead of a
    /// `START TRANSACTION`, the statement and a `COMMIT`). A second
    /// statement would see another snapshot.
    pub fn single_statement(conn: &'c mut PgConnection) -> PgTransaction<'c> {
        let PgConnection { client, statements } = conn;
        PgTransaction {
            session: RefCell::new(Session::SingleStatement(client)),
            statements: RefCell::new(statements),
            statements_run: Default::default(),
        }
    }

    pub fn commit(self) -> Result<()> {
        match self.session.into_inner() {
            Session::Explicit(tx) => Ok(tx.commit()?),
            Session::SingleStatement(_) => Ok(()),
        }
    }

    /// Runs `sql`, one or more statements in one message (the simple
    /// query protocol: they run in order, one round trip), and answers the
    /// first column of the last statement's first row, as text (`None`:
    /// it returned no row, or NULL).
    pub fn simple_query_last(&self, sql: &str) -> Result<Option<String>> {
        self.ran_statement();
        let messages = on_session!(&mut *self.session.borrow_mut(), c => c.simple_query(sql))?;
        let (mut statement_first, mut last) = (None, None);
        for message in &messages {
            match message {
                postgres::SimpleQueryMessage::Row(row) if statement_first.is_none() => {
                    statement_first = Some(row.get(0).map(str::to_string));
                }
                postgres::SimpleQueryMessage::CommandComplete(_) => last = statement_first.take(),
                _ => {}
            }
        }
        Ok(last.flatten())
    }

    /// Counts a statement run on a [`Session::SingleStatement`]: a second
    /// would read another snapshot than the first (or commit a write on
    /// its own), so debug builds refuse it.
    fn ran_statement(&self) {
        if matches!(*self.session.borrow(), Session::SingleStatement(_)) {
            let run = self.statements_run.get() + 1;
            self.statements_run.set(run);
            debug_assert!(run <= 1, "a single-statement read ran {run} statements");
        }
    }
}

/// What the engine layer asks of an open PostgreSQL transaction; a trait
/// object, so the layer's types need not carry the connection's lifetime.
pub trait PgTx {
    fn prepare(&self, sql: &str) -> Result<postgres::Statement>;
    fn execute(&self, stmt: &postgres::Statement, params: &[&dyn rusqlite::ToSql])
    -> Result<usize>;
    fn query(
        &self,
        stmt: &postgres::Statement,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<postgres::Row>>;
    #[cfg(test)]
    fn batch_execute(&self, sql: &str) -> Result<()>;
    /// `sql` as the unnamed statement, planned for these values (see
    /// `Transaction::query_planned_per_call`).
    fn query_planned_per_call(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<postgres::Row>>;
    /// Rows of `columns` (`values` one row after another) into `table` by
    /// one binary `COPY`.
    fn copy_rows(&self, table: &str, columns: &str, values: &[Value]) -> Result<()>;
}

impl PgTx for PgTransaction<'_> {
    fn prepare(&self, sql: &str) -> Result<postgres::Statement> {
        if let Some(stmt) = self.statements.borrow().get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = on_session!(&mut *self.session.borrow_mut(), c => c.prepare(&placeholders(sql)))
            .inspect_err(|e| {
                log::debug!("PostgreSQL refused to prepare {sql}: {}", message(e));
            })?;
        let mut statements = self.statements.borrow_mut();
        // Bounded, as SQLite's statement cache is: SQL built per call (the
        // queue's pages name a varying number of agents) would otherwise
        // keep a prepared statement per variant for the connection's life.
        if statements.len() >= STATEMENTS_KEPT {
            statements.clear();
        }
        statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn execute(
        &self,
        stmt: &postgres::Statement,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<usize> {
        let values = values(params)?;
        self.ran_statement();
        let n = on_session!(&mut *self.session.borrow_mut(), c => c.execute(stmt, &refs(&values)))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn query(
        &self,
        stmt: &postgres::Statement,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<postgres::Row>> {
        let values = values(params)?;
        self.ran_statement();
        Ok(on_session!(&mut *self.session.borrow_mut(), c => c.query(stmt, &refs(&values)))?)
    }

    #[cfg(test)]
    fn batch_execute(&self, sql: &str) -> Result<()> {
        self.ran_statement();
        Ok(on_session!(&mut *self.session.borrow_mut(), c => c.batch_execute(sql))?)
    }

    fn query_planned_per_call(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<postgres::Row>> {
        let values = values(params)?;
        // Declared by what each value is (one round trip: nothing to
        // describe first). A NULL is declared text.
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = values
            .iter()
            .map(|v| {
                let ty = match &v.0 {
                    Value::Integer(_) => Type::INT8,
                    Value::Real(_) => Type::FLOAT8,
                    Value::Blob(_) => Type::BYTEA,
                    Value::Text(_) | Value::Null => Type::TEXT,
                };
                (v as &(dyn ToSql + Sync), ty)
            })
            .collect();
        self.ran_statement();
        let sql = placeholders(sql);
        Ok(on_session!(&mut *self.session.borrow_mut(), c => c.query_typed(&sql, &typed))?)
    }

    fn copy_rows(&self, table: &str, columns: &str, values: &[Value]) -> Result<()> {
        // The columns' types, from a statement kept like any other: each
        // value is then encoded exactly as it would be as a parameter.
        let types: Vec<Type> = self
            .prepare(&format!("SELECT {columns} FROM {table} LIMIT 0"))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        // Not whole rows: the writer would panic on a short one.
        if types.is_empty() || !values.len().is_multiple_of(types.len()) {
            return Err(Error::Sqlite(rusqlite::Error::InvalidParameterCount(
                values.len(),
                types.len(),
            )));
        }
        self.ran_statement();
        let copy = format!("COPY {table} ({columns}) FROM STDIN BINARY");
        let mut session = self.session.borrow_mut();
        let copy = on_session!(&mut *session, c => c.copy_in(&copy))?;
        let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(copy, &types);
        for row in values.chunks(types.len()) {
            let row: Vec<ParamRef<'_>> = row.iter().map(ParamRef).collect();
            let row: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            writer.write(&row)?;
        }
        writer.finish()?;
        Ok(())
    }
}

/// What the server said, not just "db error".
pub fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// `?N` → `$N` (and a bare `?` → the next number), outside quoted text.
/// Written by hand: a placeholder rewrite is a dozen lines no crate offers
/// without a whole SQL parser.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    let mut next = 1;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' => {
                out.push('$');
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    digits = next.to_string();
                }
                next = next.max(digits.parse::<usize>().unwrap_or(0) + 1);
                out.push_str(&digits);
            }
            None => out.push(c),
        }
    }
    out
}

/// A parameter as the store gave it, encoded as the type PostgreSQL
/// inferred for its place.
#[derive(Debug)]
struct Param(Value);

fn values(params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Param>> {
    params
        .iter()
        .map(|p| {
            let value = match p.to_sql()? {
                rusqlite::types::ToSqlOutput::Borrowed(v) => super::owned_value(v)?,
                rusqlite::types::ToSqlOutput::Owned(v) => v,
                _ => {
                    return Err(Error::Sqlite(rusqlite::Error::ToSqlConversionFailure(
                        "unsupported parameter".into(),
                    )));
                }
            };
            Ok(Param(value))
        })
        .collect()
}

fn refs(values: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

type BoxError = Box<dyn StdError + Sync + Send>;

/// A row's value in a `COPY`, encoded as [`Param`] is.
#[derive(Debug)]
struct ParamRef<'v>(&'v Value);

impl ToSql for ParamRef<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        encode(self.0, ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        encode(&self.0, ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `value` as PostgreSQL's type `ty` takes it.
fn encode(value: &Value, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
    let wrong = || -> BoxError { format!("{value:?} cannot be sent as {ty}").into() };
    match value {
        Value::Null => Ok(IsNull::Yes),
        Value::Integer(i) => match *ty {
            Type::INT8 => i.to_sql(ty, out),
            Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Type::BOOL => (*i != 0).to_sql(ty, out),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                i.to_string().to_sql(&Type::TEXT, out)
            }
            _ => Err(wrong()),
        },
        Value::Real(f) => match *ty {
            Type::FLOAT8 => f.to_sql(ty, out),
            Type::FLOAT4 => (*f as f32).to_sql(ty, out),
            Type::TEXT | Type::VARCHAR | Type::UNKNOWN => f.to_string().to_sql(&Type::TEXT, out),
            _ => Err(wrong()),
        },
        Value::Text(s) => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                s.as_str().to_sql(&Type::TEXT, out)
            }
            Type::BYTEA => s.as_bytes().to_sql(ty, out),
            _ => Err(wrong()),
        },
        Value::Blob(b) => match *ty {
            Type::BYTEA => b.as_slice().to_sql(ty, out),
            _ => Err(wrong()),
        },
    }
}

/// Column `idx` of a PostgreSQL row as one of SQLite's storage classes.
pub(super) fn value_ref(row: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    let column = row
        .columns()
        .get(idx)
        .ok_or(Error::Sqlite(rusqlite::Error::InvalidColumnIndex(idx)))?;
    let int = |v: Option<i64>| v.map_or(ValueRef::Null, ValueRef::Integer);
    Ok(match *column.type_() {
        Type::INT8 => int(row.try_get(idx)?),
        Type::INT4 => int(row.try_get::<_, Option<i32>>(idx)?.map(i64::from)),
        Type::INT2 => int(row.try_get::<_, Option<i16>>(idx)?.map(i64::from)),
        Type::BOOL => int(row.try_get::<_, Option<bool>>(idx)?.map(i64::from)),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(idx)?
            .map_or(ValueRef::Null, |f| ValueRef::Real(f64::from(f))),
        Type::NUMERIC => match row.try_get::<_, Option<Numeric>>(idx)? {
            None => ValueRef::Null,
            Some(Numeric::Integer(i)) => ValueRef::Integer(i),
            Some(Numeric::Real(f)) => ValueRef::Real(f),
        },
        Type::BYTEA => row
            .try_get::<_, Option<&[u8]>>(idx)?
            .map_or(ValueRef::Null, ValueRef::Blob),
        _ => row
            .try_get::<_, Option<&str>>(idx)?
            .map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes())),
    })
}

/// A `numeric` (what `SUM` of integers gives) as an integer when it has
/// no fraction. The binary format is four 16-bit header words (digit
/// count, weight, sign, scale) and base-10000 digits.
enum Numeric {
    Integer(i64),
    Real(f64),
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Numeric, BoxError> {
        let word = |i: usize| -> Result<u16, BoxError> {
            raw.get(2 * i..2 * i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "short numeric".into())
        };
        let (count, weight, sign, scale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
        if sign == 0xC000 {
            return Ok(Numeric::Real(f64::NAN));
        }
        let negative = sign == 0x4000;
        let (mut int, mut real) = (0i128, 0f64);
        for i in 0..usize::from(count) {
            let digit = word(4 + i)?;
            let power = i32::from(weight) - i as i32;
            real += f64::from(digit) * 10000f64.powi(power);
            if power >= 0 {
                int += i128::from(digit) * 10000i128.pow(power as u32);
            }
        }
        if scale == 0 {
            let int = if negative { -int } else { int };
            return Ok(Numeric::Integer(i64::try_from(int)?));
        }
        Ok(Numeric::Real(if negative { -real } else { real }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            placeholders("UPDATE t SET x = ?2, y = '?1' WHERE id = ?1 AND z = ?"),
            "UPDATE t SET x = $2, y = '?1' WHERE id = $1 AND z = $3"
        );
        assert_eq!(placeholders("SELECT ? , ?"), "SELECT $1 , $2");
        assert_eq!(
            placeholders(r#"SELECT "a?" FROM t"#),
            r#"SELECT "a?" FROM t"#
        );
    }
}
