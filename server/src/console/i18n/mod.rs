//! The console's languages (issue 13): English and Bahasa Indonesia, the
//! source policies' first market. A typed catalog rather than runtime
//! message files: a missing translation is a compile error (every field of
//! [`Text`] in every language, and [`Words`] as exhaustive matches over the
//! core's codes, so a new reason code without a word does not compile),
//! and the templates stay checked by the compiler end to end. The language comes
//! from the `fieldcheck_lang` cookie the switch sets, else from
//! `Accept-Language` (q-values honoured), else English.

use axum::http::{HeaderMap, header};
use chrono::Weekday;
use fieldcheck_core::queue::QueueReason;
use fieldcheck_core::today::TodayStatus;
use fieldcheck_core::{
    AccuracyBand, EventKind, FlagPurpose, Platform, PositionClass, Reason, RequestKind, UserRole,
};

pub const LANG_COOKIE: &str = "fieldcheck_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Id,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Id];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            // "in" is the pre-1989 code some Android versions still send.
            "id" | "in" => Some(Lang::Id),
            _ => None,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Id => &ID,
        }
    }

    /// The cookie's choice, else the best of `Accept-Language` we speak.
    /// Parsed by hand: a comma list of tags with optional `;q=`, no more.
    pub fn negotiate(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::cookie_value(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for value in headers
            .get_all(header::ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            for item in value.split(',') {
                let mut parts = item.split(';');
                let tag = parts.next().unwrap_or("").trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if let Some(lang) = Lang::parse(tag)
                    && q > 0.0
                    && best.is_none_or(|(b, _)| q > b)
                {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

/// The words for the core's codes (reasons, positions, accuracy bands,
/// kinds…): the codes stay in CSV and JSON, pages show these.
pub struct Words {
    pub reason: fn(Reason) -> &'static str,
    pub position: fn(PositionClass) -> &'static str,
    pub band: fn(AccuracyBand) -> &'static str,
    pub kind: fn(EventKind) -> &'static str,
    pub today: fn(TodayStatus) -> &'static str,
    pub purpose: fn(FlagPurpose) -> &'static str,
    pub role: fn(UserRole) -> &'static str,
    pub platform: fn(Platform) -> &'static str,
    pub request: fn(RequestKind) -> &'static str,
    /// Short weekday names.
    pub weekday: fn(Weekday) -> &'static str,
    /// Month names, 1 to 12.
    pub month: fn(u32) -> &'static str,
}

/// Every word the console shows, per language.
pub struct Text {
    pub words: Words,
    pub lang: Lang,
    /// Name of the language in itself, for the switch.
    pub language_name: &'static str,
    pub date_format: &'static str,
    pub decimal_comma: bool,
    pub console: &'static str,
    pub nav_label: &'static str,
    pub review_queue: &'static str,
    pub reports: &'static str,
    pub devices: &'static str,
    pub flags: &'static str,
    pub sites: &'static str,
    pub requests: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    pub language: &'static str,
    pub wrong_password: &'static str,
    pub enter_user: &'static str,
    pub locked_out: fn(u64) -> String,
    pub agent: &'static str,
    pub site: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: &'static str,
    pub any: &'static str,
    pub filter: &'static str,
    pub needing_decision: &'static str,
    pub counts_label: &'static str,
    pub nothing_needed: &'static str,
    pub queue_caption: &'static str,
    pub select: &'static str,
    pub select_day: fn(&str, &str) -> String,
    pub date: &'static str,
    pub in_out: &'static str,
    pub why: &'static str,
    pub showing_newest: fn(usize, usize) -> String,
    pub note: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub approve_selected: &'static str,
    pub recorded: fn(usize) -> String,
    pub late: fn(u32) -> String,
    pub absent: &'static str,
    pub on_time: &'static str,
    pub unscheduled: &'static str,
    pub pending: &'static str,
    pub missing_check_out: &'static str,
    pub rejected_reason: &'static str,
    pub clock_skew: &'static str,
    pub agent_day: fn(&str, &str) -> String,
    pub times_in: fn(&str) -> String,
    pub timeline: &'static str,
    pub no_events: &'static str,
    pub time: &'static str,
    pub kind: &'static str,
    pub verdict: &'static str,
    pub position: &'static str,
    pub accuracy: &'static str,
    pub reasons: &'static str,
    pub source: &'static str,
    pub accepted: &'static str,
    pub rejected: &'static str,
    pub this_server: &'static str,
    pub device_n: fn(&str) -> String,
    pub decisions: &'static str,
    pub no_decision: &'static str,
    pub whole_day: &'static str,
    pub event_n: fn(&str) -> String,
    pub by_at: fn(&str, &str) -> String,
    pub approved: &'static str,
    pub rejected_decision: &'static str,
    pub decide_day: &'static str,
    pub decide_whole_day: &'static str,
    pub decide_event: &'static str,
    pub decide_the: fn(&str, &str) -> String,
    pub retained_locations: &'static str,
    pub retained_help: &'static str,
    pub reason_for: fn(&str, &str) -> String,
    pub show_location: &'static str,
    pub show_location_of: fn(&str, &str) -> String,
    pub views_logged: &'static str,
    pub location_shown: fn(&str, &str, f64) -> String,
    pub write_note: &'static str,
    pub choose_decision: &'static str,
    pub say_why: &'static str,
    pub select_one: &'static str,
    pub nothing_decided: &'static str,
    pub not_found: &'static str,
    pub nothing_here: &'static str,
    pub refused: &'static str,
    pub stale_form: &'static str,
    pub back_to_queue: &'static str,
    pub bad_dates: &'static str,
    pub dates_help: &'static str,
    pub bad_period: &'static str,
    pub period_help: &'static str,
    pub show: &'static str,
    pub attendance: &'static str,
    pub sales: &'static str,
    pub download_csv: &'static str,
    pub download_json: &'static str,
    pub status: &'static str,
    pub review: &'static str,
    pub leads: &'static str,
    pub conversion: &'static str,
    pub closings: &'static str,
    pub premium: &'static str,
    pub synced_at: fn(&str) -> String,
    pub end_now: &'static str,
    pub geojson_file: &'static str,
    pub under_flag: &'static str,
    pub ended: &'static str,
    pub end_flag_of: fn(&str) -> String,
    pub device: &'static str,
    pub platform: &'static str,
    pub enrolled: &'static str,
    pub last_sync: &'static str,
    pub acked_seq: &'static str,
    pub devices_help: &'static str,
    pub no_devices: &'static str,
    pub chain: &'static str,
    pub verify_now: &'static str,
    pub never_verified: &'static str,
    pub last_check_intact: fn(&str, i64) -> String,
    pub last_check_broken: fn(&str) -> String,
    pub verified_through: fn(i64, &str) -> String,
    pub not_verified_yet: &'static str,
    pub admin_verifies: &'static str,
    pub revoked: &'static str,
    pub active: &'static str,
    pub revoke: &'static str,
    pub never: &'static str,
    pub admin_revokes: &'static str,
    pub audit_flags: &'static str,
    pub flags_help: &'static str,
    pub no_flags: &'static str,
    pub purpose: &'static str,
    pub scope: &'static str,
    pub set_by: &'static str,
    pub until: &'static str,
    pub until_utc: &'static str,
    pub set_a_flag: &'static str,
    pub set_flag: &'static str,
    pub until_help: &'static str,
    pub erased: &'static str,
    pub export_geojson: &'static str,
    pub no_sites: &'static str,
    pub name: &'static str,
    pub fence: &'static str,
    pub agents: &'static str,
    pub any_agent: &'static str,
    pub import_sites: &'static str,
    pub geojson_label: &'static str,
    pub import: &'static str,
    pub admin_imports: &'static str,
    pub nothing_imported: &'static str,
    pub subject_requests: &'static str,
    pub subject: &'static str,
    pub received: &'static str,
    pub due: &'static str,
    pub answered_col: &'static str,
    pub overdue: &'static str,
    pub open: &'static str,
    pub answered: &'static str,
    pub no_requests: &'static str,
    pub imported: fn(usize, usize) -> String,
    pub revoke_device: fn(&str) -> String,
    pub circle: fn(f64) -> String,
    pub polygons: fn(usize) -> String,
    pub request_counts: fn(usize, usize, usize) -> String,
    pub absent_count: &'static str,
    pub actions: &'static str,
    pub add_user: &'static str,
    pub admin_names: &'static str,
    pub admin_people: &'static str,
    pub agent_or_name: &'static str,
    pub all_agents: &'static str,
    pub all_days_needing_decision: &'static str,
    pub always: &'static str,
    pub back_to_people: &'static str,
    pub back_to_today: &'static str,
    pub calendar_caption: &'static str,
    pub clear_selection: &'static str,
    pub code_for: &'static str,
    pub codes_help: &'static str,
    pub console_users: &'static str,
    pub days_nav: &'static str,
    pub days_off: &'static str,
    pub decision: &'static str,
    pub decision_on_day: &'static str,
    pub decision_recorded: &'static str,
    pub disable: &'static str,
    pub disabled: &'static str,
    pub display_name: &'static str,
    pub download_xlsx: &'static str,
    pub enable: &'static str,
    pub enabled: &'static str,
    pub end: &'static str,
    pub enrolment_code: &'static str,
    pub enrolment_codes: &'static str,
    pub everyone: &'static str,
    pub find: &'static str,
    pub first_check_in: &'static str,
    pub last_admin: &'static str,
    pub last_event: &'static str,
    pub late_count: &'static str,
    pub link_label: &'static str,
    pub mint_code: &'static str,
    pub month_of_agent: &'static str,
    pub months_nav: &'static str,
    pub name_help: &'static str,
    pub name_saved: &'static str,
    pub needing_decision_today: &'static str,
    pub needs_decision: &'static str,
    pub new_shift_from: &'static str,
    pub newer_items: &'static str,
    pub next_day: &'static str,
    pub next_month: &'static str,
    pub next_page: &'static str,
    pub no_agents_here: &'static str,
    pub no_day_decision: &'static str,
    pub no_day_decision_short: &'static str,
    pub no_device: &'static str,
    pub no_events_yet: &'static str,
    pub no_shift: &'static str,
    pub not_scheduled: &'static str,
    pub not_yet_due: &'static str,
    pub older_items: &'static str,
    pub pages: &'static str,
    pub pages_below: &'static str,
    pub people: &'static str,
    pub present: &'static str,
    pub previous_day: &'static str,
    pub previous_month: &'static str,
    pub previous_page: &'static str,
    pub qr_label: &'static str,
    pub queue_help: &'static str,
    pub reject_selected: &'static str,
    pub report_times_help: &'static str,
    pub reset_password: &'static str,
    pub role: &'static str,
    pub save_name: &'static str,
    pub save_shift: &'static str,
    pub select_all: &'static str,
    pub set_password: &'static str,
    pub shift: &'static str,
    pub shift_help: &'static str,
    pub shown_once: &'static str,
    pub start: &'static str,
    pub still_checked_in: &'static str,
    pub team: &'static str,
    pub team_ids: &'static str,
    pub their_queue: &'static str,
    pub their_today: &'static str,
    pub time_zone: &'static str,
    pub today: &'static str,
    pub today_counts: &'static str,
    pub today_help: &'static str,
    pub undecided: &'static str,
    pub valid_minutes: &'static str,
    pub working_days: &'static str,
    pub code_expires: fn(&str) -> String,
    pub day_of: fn(&str) -> String,
    pub disable_user: fn(&str) -> String,
    pub enable_user: fn(&str) -> String,
    pub event_at: fn(&str, &str) -> String,
    pub event_decisions: fn(u32, u32) -> String,
    pub events_decided: fn(u32) -> String,
    pub items_of: fn(usize, usize, usize) -> String,
    pub metres_from_fence: fn(u32) -> String,
    pub month_title: fn(&str, i32) -> String,
    pub new_password_of: fn(&str) -> String,
    pub page_of: fn(usize, usize) -> String,
    pub password_set: fn(&str) -> String,
    pub rejected_as: fn(&str, u32) -> String,
    pub shift_saved: fn(&str) -> String,
    pub user_added: fn(&str) -> String,
    pub user_disabled: fn(&str) -> String,
    pub user_enabled: fn(&str) -> String,
    pub lead: &'static str,
    pub queue_absent: &'static str,
    pub queue_missing_check_out: &'static str,
    pub queue_clock_skew: &'static str,
    pub queue_flagged: &'static str,
    pub queue_late: &'static str,
    pub queue_rejected: fn(&str) -> String,
}

mod en;
mod id;

pub use en::EN;
pub use id::ID;

impl Text {
    /// Why a queue item needs a decision, in words.
    pub fn queue_reason(&self, reason: QueueReason) -> String {
        match reason {
            QueueReason::Late => self.queue_late.to_string(),
            QueueReason::Absent => self.queue_absent.to_string(),
            QueueReason::MissingCheckOut => self.queue_missing_check_out.to_string(),
            QueueReason::ClockSkew => self.queue_clock_skew.to_string(),
            QueueReason::Flagged => self.queue_flagged.to_string(),
            QueueReason::Rejected(r) => (self.queue_rejected)((self.words.reason)(r)),
        }
    }

    /// A date as people of this language write it.
    pub fn date(&self, date: chrono::NaiveDate) -> String {
        date.format(self.date_format).to_string()
    }

    /// A decimal string from the core ("1500000.50") grouped and pointed as
    /// this language writes numbers ("1,500,000.50" / "1.500.000,50").
    pub fn decimal(&self, text: &str) -> String {
        let (sign, digits) = text
            .strip_prefix('-')
            .map_or(("", text), |rest| ("-", rest));
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let (group, point) = if self.decimal_comma {
            ('.', ',')
        } else {
            (',', '.')
        };
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{point}{fraction}")
        }
    }

    /// A share as a whole percentage.
    pub fn percent(&self, share: f64) -> String {
        match self.lang {
            Lang::En => format!("{:.0} %", share * 100.0),
            Lang::Id => format!("{:.0}%", share * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn the_cookie_wins_then_the_best_accept_language_then_english() {
        assert_eq!(Lang::negotiate(&headers(&[])), Lang::En);
        assert_eq!(
            Lang::negotiate(&headers(&[("accept-language", "id-ID,id;q=0.9,en;q=0.8")])),
            Lang::Id
        );
        assert_eq!(
            Lang::negotiate(&headers(&[(
                "accept-language",
                "fr-FR, en;q=0.5, id;q=0.7"
            )])),
            Lang::Id
        );
        assert_eq!(
            Lang::negotiate(&headers(&[("accept-language", "de, id;q=0")])),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(&headers(&[
                ("accept-language", "id"),
                ("cookie", "fieldcheck_session=x; fieldcheck_lang=en")
            ])),
            Lang::En
        );
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(EN.date(d), "2026-03-09");
        assert_eq!(ID.date(d), "09/03/2026");
        assert_eq!(EN.decimal("1500000.50"), "1,500,000.50");
        assert_eq!(ID.decimal("1500000.50"), "1.500.000,50");
        assert_eq!(ID.decimal("-200"), "-200");
        assert_eq!(EN.decimal("123456"), "123,456");
        assert_eq!(EN.percent(0.5), "50 %");
        assert_eq!(ID.percent(0.5), "50%");
    }
}
