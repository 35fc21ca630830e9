//! Times across the FFI: chrono UTC as `SystemTime` (Kotlin `Instant`, Swift `Date`).

use crate::*;

/// chrono's UTC time crosses the FFI as `SystemTime`: `java.time.Instant`
/// in Kotlin, `Date` in Swift.
pub type UtcDateTime = DateTime<Utc>;

uniffi::custom_type!(UtcDateTime, SystemTime, {
    remote,
    lower: |t| SystemTime::from(t),
    try_lift: |s| system_time_to_utc(s),
});

pub(crate) fn system_time_to_utc(s: SystemTime) -> uniffi::Result<UtcDateTime> {
    let (secs, nanos) = match s.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let nanos = d.subsec_nanos();
            if nanos == 0 {
                (-(d.as_secs() as i64), 0)
            } else {
                (-(d.as_secs() as i64) - 1, 1_000_000_000 - nanos)
            }
        }
    };
    DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("time out of range"))
}
