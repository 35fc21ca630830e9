//! A new database on a PostgreSQL server, for the tests and the ingest
//! bench (which includes this file).

use std::sync::atomic::{AtomicU32, Ordering};

/// Creates a new, empty database on the server `template` names (a URL
/// whose database is `{db}`) and returns its URL.
pub fn new_database(template: &str) -> String {
    let name = next_name();
    admin(template)
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a database");
    template.replace("{db}", &name)
}

/// A copy of the database `url` names (made by `new_database` from
/// `FIELDCHECK_TEST_PG`; nothing may be connected to it), as a new URL.
#[allow(dead_code)] // the bench copies nothing
pub fn copy_database(url: &str) -> String {
    let template = std::env::var("FIELDCHECK_TEST_PG").expect("the PostgreSQL pass");
    let (prefix, suffix) = template
        .split_once("{db}")
        .expect("a {db} in FIELDCHECK_TEST_PG");
    let source = url
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .expect("a database new_database made");
    let name = next_name();
    admin(&template)
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {source}"))
        .expect("copy a database");
    template.replace("{db}", &name)
}

fn next_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "fc_server_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn admin(template: &str) -> postgres::Client {
    postgres::Client::connect(&template.replace("{db}", "postgres"), postgres::NoTls)
        .expect("the template names a reachable PostgreSQL server")
}
