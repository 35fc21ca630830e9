//! Tunable rules with the defaults of PRODUCT.md §3, §4 and §8.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    /// A fix captured longer ago than this is `stale_fix`.
    pub max_fix_age_s: i64,
    /// A fix captured further than this in the device's future is `future_fix`.
    pub max_clock_skew_s: i64,
    /// Fixes less accurate than this (68 % radius, metres) are `low_accuracy`.
    pub max_accuracy_m: f64,
    /// Faster apparent travel between two sites is `impossible_travel`.
    pub max_travel_speed_kmh: f64,
    /// An audit flag may run for at most this many days.
    pub max_flag_days: i64,
    /// Retained coordinates outlive their flag by this many days.
    pub audit_retention_days: i64,
    /// Minutes after shift start before an agent counts as late.
    pub late_grace_min: i64,
    /// Attendance events are purged after this many days.
    pub attendance_retention_days: i64,
    /// Consent ledger entries are purged this many days after a withdrawal.
    pub consent_retention_days_after_withdrawal: i64,
    /// Leads not won are purged this many days after their last change.
    pub lead_retention_days: i64,
    /// Transactions are held this long (7 years, leap days included).
    pub transaction_retention_days: i64,
    /// IANA zone in which days are counted for agents without a shift.
    pub time_zone: String,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_fix_age_s: 120,
            max_clock_skew_s: 30,
            max_accuracy_m: 100.0,
            max_travel_speed_kmh: 250.0,
            max_flag_days: 90,
            audit_retention_days: 30,
            late_grace_min: 10,
            attendance_retention_days: 2 * 365,
            consent_retention_days_after_withdrawal: 5 * 365,
            lead_retention_days: 2 * 365,
            transaction_retention_days: 7 * 365 + 2,
            time_zone: "UTC".into(),
        }
    }
}

impl Rules {
    /// Rejects rules that would make judging meaningless (negative ages, NaN).
    pub fn validate(&self) -> Result<()> {
        let non_negative = [
            ("max_fix_age_s", self.max_fix_age_s),
            ("max_clock_skew_s", self.max_clock_skew_s),
            ("max_flag_days", self.max_flag_days),
            ("audit_retention_days", self.audit_retention_days),
            ("late_grace_min", self.late_grace_min),
            ("attendance_retention_days", self.attendance_retention_days),
            ("lead_retention_days", self.lead_retention_days),
            (
                "transaction_retention_days",
                self.transaction_retention_days,
            ),
            (
                "consent_retention_days_after_withdrawal",
                self.consent_retention_days_after_withdrawal,
            ),
        ];
        for (name, value) in non_negative {
            if value < 0 {
                return Err(Error::invalid(name, "must not be negative"));
            }
        }
        for (name, value) in [
            ("max_accuracy_m", self.max_accuracy_m),
            ("max_travel_speed_kmh", self.max_travel_speed_kmh),
        ] {
            if !value.is_finite() || value <= 0.0 {
                return Err(Error::invalid(name, "must be a positive number"));
            }
        }
        crate::shift::parse_time_zone(&self.time_zone)?;
        Ok(())
    }
}
