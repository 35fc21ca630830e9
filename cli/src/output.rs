//! Human and machine output. With `--json` every result is JSON on stdout
//! and errors are a JSON object on stderr; progress is drawn only on a
//! terminal and never with `--json`.

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Utc};
use fieldcheck_core::{AttendanceEvent, AuditFlag, Error, ErrorKind, Fence, Site, time};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};

pub struct Output {
    json: bool,
    stdout: io::StdoutLock<'static>,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            stdout: io::stdout().lock(),
        }
    }

    /// One result: pretty JSON with `--json`, else the human rendering.
    pub fn value<T: Serialize>(
        &mut self,
        value: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        if self.json {
            serde_json::to_writer(&mut self.stdout, value)?;
            writeln!(self.stdout)?;
        } else {
            human(&mut self.stdout)?;
        }
        Ok(self.stdout.flush()?)
    }

    /// One JSON object on its own line (lists with `--json`).
    pub fn json_line<T: Serialize>(&mut self, value: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut self.stdout, value)?;
        writeln!(self.stdout)?;
        Ok(())
    }

    /// Plain lines (human listings).
    pub fn lines(&mut self, lines: impl Iterator<Item = String>) -> Result<(), Error> {
        for line in lines {
            writeln!(self.stdout, "{line}")?;
        }
        Ok(self.stdout.flush()?)
    }

    /// A rendered document, as is.
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stdout.write_all(bytes)?;
        Ok(self.stdout.flush()?)
    }

    pub fn raw(&mut self, text: &str) -> Result<(), Error> {
        writeln!(self.stdout, "{text}")?;
        Ok(())
    }

    pub fn error(&mut self, e: &Error) {
        let _ = self.stdout.flush();
        let kind = match e.kind() {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Storage => "storage",
        };
        let mut stderr = io::stderr().lock();
        if self.json {
            let _ = writeln!(
                stderr,
                "{}",
                json!({"error": {"kind": kind, "message": e.to_string()}})
            );
        } else {
            let _ = writeln!(stderr, "fieldcheck: {kind}: {e}");
        }
    }

    /// A spinner on a terminal; nothing with `--json` or when piped.
    pub fn spinner(&self, message: &'static str) -> ProgressBar {
        if self.json || !io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner().with_message(message);
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    }

    /// A progress bar of `len` steps on a terminal; hidden otherwise.
    pub fn progress(&self, len: u64, message: &'static str) -> ProgressBar {
        if self.json || !io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message);
        bar
    }

    pub fn events_table(&mut self, events: &[AttendanceEvent]) -> Result<(), Error> {
        let w = &mut self.stdout;
        writeln!(
            w,
            "{:<20} {:<10} {:<9} {:<8} {:<9} {:<16} reasons",
            "captured", "agent", "kind", "verdict", "position", "site"
        )?;
        for e in events {
            writeln!(
                w,
                "{:<20} {:<10} {:<9} {:<8} {:<9} {:<16} {}{}",
                time::format_rfc3339(e.captured_at),
                e.agent,
                e.kind,
                if e.accepted { "accepted" } else { "rejected" },
                e.position,
                e.site_id.as_deref().unwrap_or("-"),
                e.reasons_text(),
                if e.location_retained {
                    " (retained)"
                } else {
                    ""
                }
            )?;
        }
        writeln!(w, "{} event(s)", events.len())?;
        Ok(())
    }

    pub fn sites_table(&mut self, sites: &[Site]) -> Result<(), Error> {
        let w = &mut self.stdout;
        for s in sites {
            let shape = match &s.fence {
                Fence::Circle { radius_m, .. } => format!("circle r={radius_m} m"),
                Fence::Polygons(mp) => format!("{} polygon(s)", mp.0.len()),
            };
            writeln!(
                w,
                "{:<16} {:<28} {:<16} {}",
                s.id,
                s.name,
                shape,
                if s.agents.is_empty() {
                    "any agent".to_string()
                } else {
                    s.agents.join(",")
                }
            )?;
        }
        writeln!(w, "{} site(s)", sites.len())?;
        Ok(())
    }

    pub fn flags_table(&mut self, flags: &[AuditFlag], now: DateTime<Utc>) -> Result<(), Error> {
        let w = &mut self.stdout;
        for f in flags {
            writeln!(
                w,
                "{} {:<8} {:<8} {:<12} until {} by {} ({}): {}",
                f.id,
                f.purpose,
                f.scope.kind(),
                f.scope.id().unwrap_or("-"),
                time::format_rfc3339(f.expires_at),
                f.set_by.id,
                if f.is_active(now) {
                    "active"
                } else {
                    "expired"
                },
                f.reason.as_deref().unwrap_or("(erased)")
            )?;
        }
        writeln!(w, "{} flag(s)", flags.len())?;
        Ok(())
    }
}

/// The JSON shape of a site in `site list`.
pub fn site_json(site: &Site) -> Value {
    let fence = match &site.fence {
        Fence::Circle { radius_m, .. } => json!({"type": "circle", "radius_m": radius_m}),
        Fence::Polygons(mp) => json!({"type": "polygon", "polygons": mp.0.len()}),
    };
    json!({
        "id": site.id,
        "name": site.name,
        "fence": fence,
        "max_accuracy_m": site.max_accuracy_m,
        "tolerance_m": site.tolerance_m,
        "agents": site.agents,
        "reference_point": {"lat": site.reference_point.lat, "lon": site.reference_point.lon},
    })
}
