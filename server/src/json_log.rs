//! Logs as JSON lines on stderr (PRODUCT.md §12.1).
//!
//! Written by hand: the contract fixes the field names (`ts`, `level`,
//! `route`, `status`, `latency_ms`), which tracing-subscriber's JSON layer
//! would need a custom formatter of about this size to produce. Nothing
//! personal is ever passed here: request lines carry the route template,
//! never the path or query, and the core logs counts and ids only.

use std::io::Write;

use serde_json::{Map, Value, json};

struct JsonLogger;

impl log::Log for JsonLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut line = Map::new();
            line.insert("msg".into(), json!(record.args().to_string()));
            line.insert("target".into(), json!(record.target()));
            emit(record.level(), line);
        }
    }

    fn flush(&self) {}
}

static LOGGER: JsonLogger = JsonLogger;

pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Writes one line with `ts` and `level` in front of `fields`.
pub fn emit(level: log::Level, fields: Map<String, Value>) {
    let mut line = Map::new();
    line.insert(
        "ts".into(),
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    line.insert("level".into(), json!(level.as_str().to_ascii_lowercase()));
    line.extend(fields);
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
