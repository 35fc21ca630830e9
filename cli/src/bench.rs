//! `fieldcheck bench` — STUB, being written.
use clap::Args;
use fieldcheck_core::Error;

use crate::output::Output;

#[derive(Args, Debug)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs, _out: &mut Output) -> Result<(), Error> {
    Err(Error::invalid("bench", "not yet available"))
}
