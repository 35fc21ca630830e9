//! `fieldcheck demo` — STUB, being written.
use std::path::Path;

use chrono::{DateTime, Utc};
use fieldcheck_core::Error;

use crate::output::Output;

pub fn run(_path: &Path, _out: &mut Output, _now: DateTime<Utc>) -> Result<(), Error> {
    Err(Error::invalid("demo", "not yet available"))
}
