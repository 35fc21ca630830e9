//! Shifts, supervisor reviews and the attendance and sales reports.

use crate::*;

#[uniffi::remote(Enum)]
pub enum Decision {
    Approved,
    Rejected,
}

/// How an agent's local day went (`pending`: a shift day whose start plus
/// grace has not come yet).
#[uniffi::remote(Enum)]
pub enum DayStatus {
    OnTime,
    Late,
    Absent,
    Unscheduled,
    Pending,
}

/// An agent's recurring shift, as text the core parses: `start` and `end`
/// "HH:MM" local times (`end` before `start`: overnight), `days` such as
/// "mon-fri", "mon,wed,fri" or "daily", `tz` an IANA zone ("Asia/Jakarta").
/// Returned shifts are in the core's canonical form.
impl From<ReportFormat> for render::DocumentFormat {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Json => render::DocumentFormat::Json,
            ReportFormat::Csv => render::DocumentFormat::Csv,
            ReportFormat::Html => render::DocumentFormat::Html,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Shift {
    pub start: String,
    pub end: String,
    pub days: String,
    pub tz: String,
}

/// One version of an agent's shift: in force from `from` (a local date,
/// YYYY-MM-DD; null: from the beginning) until the next version.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ShiftVersion {
    pub from: Option<String>,
    pub shift: Shift,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgentShift {
    pub agent: String,
    pub shift: Shift,
}

/// A supervisor's decision on one attendance event or a whole day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Review {
    pub id: String,
    pub seq: i64,
    /// `None` for a decision on the whole day.
    pub event_id: Option<String>,
    pub agent: String,
    /// The reviewed event's local date, "YYYY-MM-DD".
    pub date: String,
    pub decision: Decision,
    /// `None` once erased.
    pub note: Option<String>,
    pub at: UtcDateTime,
    pub reviewer: Actor,
}

/// A report's period: local dates "YYYY-MM-DD", both inclusive; `agent`
/// `None` means everyone (supervisors, admins; agents get their own).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportQuery {
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
}

/// How a report is rendered: the core's JSON document (pretty-printed),
/// CSV (RFC 4180) or one self-contained HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReportFormat {
    Json,
    Csv,
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectionCount {
    pub reason: Reason,
    pub count: u32,
}

/// A supervisor's decision on a report day or on one of its events.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReviewSummary {
    pub review_id: String,
    /// `None` for a decision on the whole day.
    pub event_id: Option<String>,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    pub at: UtcDateTime,
}

/// One agent's local day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttendanceDay {
    pub agent: String,
    /// The agent's display name; empty when none was given or it was erased.
    pub name: String,
    /// The agent's local date, "YYYY-MM-DD".
    pub date: String,
    /// The IANA zone the day was computed in; format the times below in it.
    pub time_zone: String,
    pub status: DayStatus,
    /// Local shift start "HH:MM", on a shift day.
    pub shift_start: Option<String>,
    /// First accepted check-in.
    pub first_check_in: Option<UtcDateTime>,
    pub site_id: Option<String>,
    /// Last accepted check-out.
    pub last_check_out: Option<UtcDateTime>,
    pub check_out_site_id: Option<String>,
    /// Whole minutes past shift start plus grace; 0 when on time, `None`
    /// without a shift or a check-in.
    pub minutes_late: Option<u32>,
    pub missing_check_out: bool,
    /// Rejected attempts per reason (non-zero counts only).
    pub rejected: Vec<RejectionCount>,
    pub rejected_total: u32,
    /// Imported events of the day whose recorded time disagrees with the
    /// device's clock as the server bounds it.
    pub clock_skew: u32,
    /// The decision on the day itself.
    pub review: Option<ReviewSummary>,
    /// The latest decision on each event of the day, oldest first.
    pub event_reviews: Vec<ReviewSummary>,
}

/// Counts per local date, for a chart.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DateTotals {
    pub date: String,
    pub on_time: u32,
    pub late: u32,
    pub absent: u32,
    pub unscheduled: u32,
    /// Shift days whose start plus grace has not come yet.
    pub pending: u32,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttendanceReport {
    pub schema_version: u32,
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
    pub generated_at: UtcDateTime,
    /// Sorted by agent, then date.
    pub days: Vec<AttendanceDay>,
    /// One entry per date of the period.
    pub totals: Vec<DateTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StatusCount {
    pub status: LeadStatus,
    pub count: u32,
}

/// An amount per ISO 4217 currency, as a decimal string ("1500000.00").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount: String,
}

/// One agent's sales over the period.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SalesRow {
    pub agent: String,
    /// Leads created in the period by current status, every status in
    /// pipeline order (zeros included).
    pub leads_by_status: Vec<StatusCount>,
    pub leads_total: u32,
    /// won / leads_total; `None` without leads.
    pub conversion_rate: Option<f64>,
    pub closings: u32,
    /// Premium (closings, payments, renewals), sorted by currency code.
    pub premium: Vec<CurrencyAmount>,
    pub cancellations: Vec<CurrencyAmount>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SalesReport {
    pub schema_version: u32,
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
    pub generated_at: UtcDateTime,
    /// Sorted by agent.
    pub agents: Vec<SalesRow>,
}

/// The text form is parsed by the core's own parsers (`shift::parse_hhmm`,
/// `WeekdaySet::parse`, `shift::parse_time_zone`, `Shift::new`).
pub(crate) fn shift_from_ffi(s: &Shift) -> core::Result<core::Shift> {
    core::Shift::new(
        core::shift::parse_hhmm("start", &s.start)?,
        core::shift::parse_hhmm("end", &s.end)?,
        core::WeekdaySet::parse(&s.days)?,
        core::shift::parse_time_zone(&s.tz)?,
    )
}

pub(crate) fn shift_to_ffi(s: &core::Shift) -> Shift {
    Shift {
        start: s.start.format("%H:%M").to_string(),
        end: s.end.format("%H:%M").to_string(),
        days: s.days.to_string(),
        tz: s.tz.name().to_string(),
    }
}

pub(crate) fn review_from_core(r: core::Review) -> Review {
    Review {
        id: r.id,
        seq: r.seq,
        event_id: r.event_id,
        agent: r.agent,
        date: r.date.to_string(),
        decision: r.decision,
        note: r.note,
        at: r.at,
        reviewer: r.reviewer,
    }
}

pub(crate) fn query_from_ffi(q: &ReportQuery) -> core::Result<core::ReportQuery> {
    Ok(core::ReportQuery {
        from: core::time::parse_date("from", &q.from)?,
        to: core::time::parse_date("to", &q.to)?,
        agent: q.agent.clone(),
    })
}

/// A rendered document as text (every renderer writes UTF-8).
pub(crate) fn utf8(bytes: Vec<u8>) -> core::Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| core::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

pub(crate) fn attendance_report_from_core(
    r: core::AttendanceReport,
) -> core::Result<AttendanceReport> {
    let days = r
        .days
        .into_iter()
        .map(|d| {
            Ok(AttendanceDay {
                agent: d.agent.to_string(),
                name: d.name.to_string(),
                date: d.date.to_string(),
                time_zone: d.time_zone.to_string(),
                status: d.status,
                shift_start: d.shift_start.map(|t| t.format("%H:%M").to_string()),
                first_check_in: d.first_check_in.map(|t| t.with_timezone(&Utc)),
                site_id: d.site_id.map(|s| s.to_string()),
                last_check_out: d.last_check_out.map(|t| t.with_timezone(&Utc)),
                check_out_site_id: d.check_out_site_id.map(|s| s.to_string()),
                minutes_late: d.minutes_late,
                missing_check_out: d.missing_check_out,
                rejected: Reason::ALL
                    .iter()
                    .filter_map(|reason| {
                        d.rejected.get(reason.as_str()).map(|count| RejectionCount {
                            reason: *reason,
                            count,
                        })
                    })
                    .collect(),
                rejected_total: d.rejected_total,
                clock_skew: d.clock_skew,
                review: d.review.map(|s| review_summary_from_core(*s)).transpose()?,
                event_reviews: d
                    .event_reviews
                    .into_iter()
                    .map(review_summary_from_core)
                    .collect::<core::Result<_>>()?,
            })
        })
        .collect::<core::Result<Vec<_>>>()?;
    Ok(AttendanceReport {
        schema_version: r.schema_version,
        from: r.from.to_string(),
        to: r.to.to_string(),
        agent: r.agent,
        generated_at: r.generated_at,
        days,
        totals: r
            .totals
            .into_iter()
            .map(|t| DateTotals {
                date: t.date.to_string(),
                on_time: t.on_time,
                late: t.late,
                absent: t.absent,
                unscheduled: t.unscheduled,
                pending: t.pending,
            })
            .collect(),
    })
}

pub(crate) fn review_summary_from_core(
    s: core::report::ReviewSummary,
) -> core::Result<ReviewSummary> {
    Ok(ReviewSummary {
        review_id: s.review_id,
        event_id: s.event_id,
        decision: s.decision,
        reviewer: s.reviewer,
        note: s.note,
        at: s.at,
    })
}

pub(crate) fn sales_report_from_core(r: core::SalesReport) -> SalesReport {
    let amounts = |map: std::collections::BTreeMap<String, String>| {
        map.into_iter()
            .map(|(currency, amount)| CurrencyAmount { currency, amount })
            .collect()
    };
    SalesReport {
        schema_version: r.schema_version,
        from: r.from.to_string(),
        to: r.to.to_string(),
        agent: r.agent,
        generated_at: r.generated_at,
        agents: r
            .agents
            .into_iter()
            .map(|row| SalesRow {
                leads_by_status: LeadStatus::ALL
                    .iter()
                    .map(|status| StatusCount {
                        status: *status,
                        count: row.leads_by_status.get(status).copied().unwrap_or(0),
                    })
                    .collect(),
                agent: row.agent,
                leads_total: row.leads_total,
                conversion_rate: row.conversion_rate,
                closings: row.closings,
                premium: amounts(row.premium),
                cancellations: amounts(row.cancellations),
            })
            .collect(),
    }
}

#[uniffi::export]
impl FieldCheck {
    /// Sets an agent's shift (admins); returns it in canonical form. A
    /// malformed time, day list or zone is `InvalidInput` naming the field.
    pub fn set_shift(
        &self,
        actor: Actor,
        agent: String,
        shift: Shift,
        now: UtcDateTime,
    ) -> Result<Shift> {
        guard(|| {
            let shift = shift_from_ffi(&shift)?;
            self.store.set_shift(&actor, &agent, &shift, now)?;
            Ok(shift_to_ffi(&shift))
        })
    }

    /// Sets the shift from the local date `from` (YYYY-MM-DD) on (admins);
    /// earlier days keep the shift they had. From that date `shift` applies
    /// on its days, `off` (e.g. "sat,sun") are days off, and the other
    /// weekdays keep their pattern. With no date it applies to every day, as
    /// `set_shift` does.
    pub fn set_shift_from(
        &self,
        actor: Actor,
        agent: String,
        from: Option<String>,
        shift: Shift,
        off: Option<String>,
        now: UtcDateTime,
    ) -> Result<Shift> {
        guard(|| {
            let from = from
                .as_deref()
                .map(|d| core::time::parse_date("from", d))
                .transpose()?;
            let off = off
                .as_deref()
                .map(|days| {
                    core::WeekdaySet::parse(days)
                        .map_err(|e| core::Error::invalid("off", e.to_string()))
                })
                .transpose()?;
            let shift = shift_from_ffi(&shift)?;
            self.store
                .set_shift_from(&actor, &agent, from, &shift, off, now)?;
            Ok(shift_to_ffi(&shift))
        })
    }

    /// An agent's shift versions, oldest first (agents: their own).
    pub fn shift_history(&self, actor: Actor, agent: String) -> Result<Vec<ShiftVersion>> {
        guard(|| self.store.shift_schedule(&actor, &agent)).map(|schedule| {
            schedule
                .map(|s| s.versions)
                .unwrap_or_default()
                .iter()
                .map(|v| ShiftVersion {
                    from: v.from.map(|d| d.to_string()),
                    shift: shift_to_ffi(&v.shift),
                })
                .collect()
        })
    }

    /// An agent's shift (agents: their own; supervisors and admins: anyone's).
    pub fn shift(&self, actor: Actor, agent: String) -> Result<Option<Shift>> {
        guard(|| self.store.shift(&actor, &agent)).map(|s| s.as_ref().map(shift_to_ffi))
    }

    /// Every agent's shift (agents: only their own).
    pub fn shifts(&self, actor: Actor) -> Result<Vec<AgentShift>> {
        guard(|| self.store.shifts(&actor)).map(|shifts| {
            shifts
                .into_iter()
                .map(|(agent, s)| AgentShift {
                    agent,
                    shift: shift_to_ffi(&s),
                })
                .collect()
        })
    }

    /// A supervisor approves or rejects an attendance event, with a note.
    pub fn review(
        &self,
        actor: Actor,
        event_id: String,
        decision: Decision,
        note: String,
        now: UtcDateTime,
    ) -> Result<Review> {
        guard(|| self.store.review(&actor, &event_id, decision, &note, now)).map(review_from_core)
    }

    /// A supervisor approves or rejects an agent's whole day (`date` the
    /// agent's local date, "YYYY-MM-DD"), with a note.
    pub fn review_day(
        &self,
        actor: Actor,
        agent: String,
        date: String,
        decision: Decision,
        note: String,
        now: UtcDateTime,
    ) -> Result<Review> {
        guard(|| {
            let date = core::time::parse_date("date", &date)?;
            self.store
                .review_day(&actor, &agent, date, decision, &note, now)
        })
        .map(review_from_core)
    }

    /// The reviews of one event, oldest first (supervisors, admins).
    pub fn reviews_of(&self, actor: Actor, event_id: String) -> Result<Vec<Review>> {
        guard(|| self.store.reviews_of(&actor, &event_id))
            .map(|reviews| reviews.into_iter().map(review_from_core).collect())
    }

    // --- Reports ------------------------------------------------------------

    /// Attendance per agent and local day. Supervisors and admins see
    /// everyone; agents only themselves.
    pub fn attendance_report(
        &self,
        actor: Actor,
        query: ReportQuery,
        now: UtcDateTime,
    ) -> Result<AttendanceReport> {
        guard(|| {
            let report = self
                .store
                .attendance_report(&actor, &query_from_ffi(&query)?, now)?;
            attendance_report_from_core(report)
        })
    }

    /// The attendance report as one document, exactly as the command line
    /// writes it.
    pub fn attendance_report_document(
        &self,
        actor: Actor,
        query: ReportQuery,
        format: ReportFormat,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self
                .store
                .attendance_report(&actor, &query_from_ffi(&query)?, now)?;
            utf8(render::attendance_document(&report, format.into())?)
        })
    }

    /// Leads by status, conversion, closings and premium per agent.
    pub fn sales_report(
        &self,
        actor: Actor,
        query: ReportQuery,
        now: UtcDateTime,
    ) -> Result<SalesReport> {
        guard(|| {
            self.store
                .sales_report(&actor, &query_from_ffi(&query)?, now)
                .map(sales_report_from_core)
        })
    }

    /// The sales report as one document, exactly as the command line
    /// writes it.
    pub fn sales_report_document(
        &self,
        actor: Actor,
        query: ReportQuery,
        format: ReportFormat,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self
                .store
                .sales_report(&actor, &query_from_ffi(&query)?, now)?;
            utf8(render::sales_document(&report, format.into())?)
        })
    }

    // --- Privacy policy and consent receipts --------------------------------
}
