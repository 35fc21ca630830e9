//! The server's clock. The system clock in production; for demos and
//! tests that replay days in minutes, `--clock-file PATH` makes every
//! request read the time from a file (one RFC 3339 instant), so the
//! server's time moves with the replay's (`fieldcheck demo --via-server`,
//! the retention tests). The log's own timestamps stay real.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default)]
pub enum ServerClock {
    #[default]
    System,
    File(PathBuf),
}

impl ServerClock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            ServerClock::System => Utc::now(),
            ServerClock::File(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| fieldcheck_core::time::parse_rfc3339("clock", &text).ok())
                .unwrap_or_else(|| {
                    log::warn!("the clock file is unreadable; using the system clock");
                    Utc::now()
                }),
        }
    }
}
