//! A new database on a PostgreSQL server, for the tests and the ingest
//! bench (which includes this file).

use std::sync::atomic::{AtomicU32, Ordering};

/// Creates a new, empty database on the server `template` names (a URL
/// whose database is `{db}`) and returns its URL.
pub fn new_database(template: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "fc_server_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin =
        postgres::Client::connect(&template.replace("{db}", "postgres"), postgres::NoTls)
            .expect("the template names a reachable PostgreSQL server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a database");
    template.replace("{db}", &name)
}
