//! The device clock as the server can bound it (issue 12: a phone's wrong
//! clock must not make a late check-in look on time).
//!
//! A device enrolled with a server measures, at every exchange, the offset
//! between the server's clock and its own, and records with each event the
//! offset it last measured and the server's time at that exchange. When the
//! event arrives, the server knows three things about when it really
//! happened: after that exchange, before the batch was received, and that
//! the device clock was off by the offset. An event whose recorded time
//! disagrees with any of them by more than `max_clock_skew_s` is flagged
//! `clock_skew`; the event itself is kept as the device chained it.

use chrono::{DateTime, Duration, Utc};

/// What the device knew about its clock when it recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceClock {
    /// Server time minus device time at the last exchange, milliseconds.
    pub offset_ms: i64,
    /// The server's time at that exchange (the device's time plus the
    /// offset), whole seconds.
    pub last_exchange_server_at: DateTime<Utc>,
}

/// Whether an event recorded at `recorded_at` by the device's clock
/// disagrees with what the server can bound, by more than `max_skew_s`.
/// `received_at` is the server's time when the batch arrived. Without a
/// device clock (an event recorded before enrolment) only the receive time
/// bounds it.
pub fn skew_suspected(
    recorded_at: DateTime<Utc>,
    clock: Option<&DeviceClock>,
    received_at: DateTime<Utc>,
    max_skew_s: i64,
) -> bool {
    let tolerance = Duration::seconds(max_skew_s);
    let Some(clock) = clock else {
        return recorded_at > received_at + tolerance;
    };
    let offset = Duration::milliseconds(clock.offset_ms);
    // The device's clock was off at its last exchange.
    if offset.abs() > tolerance {
        return true;
    }
    // On the server's clock, the event happened after the exchange that
    // measured the offset and before the batch arrived; a device clock set
    // back or forward since then lands outside.
    let on_server_clock = recorded_at + offset;
    on_server_clock < clock.last_exchange_server_at - tolerance
        || on_server_clock > received_at + tolerance
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + s, 0).unwrap()
    }

    fn clock(offset_ms: i64, exchange: i64) -> DeviceClock {
        DeviceClock {
            offset_ms,
            last_exchange_server_at: at(exchange),
        }
    }

    #[test]
    fn a_good_clock_between_exchange_and_receipt_passes() {
        assert!(!skew_suspected(at(100), Some(&clock(0, 0)), at(200), 30));
        // Small offsets are within tolerance, both ways.
        assert!(!skew_suspected(
            at(100),
            Some(&clock(30_000, 0)),
            at(200),
            30
        ));
        assert!(!skew_suspected(
            at(100),
            Some(&clock(-30_000, 0)),
            at(200),
            30
        ));
    }

    #[test]
    fn an_offset_beyond_tolerance_is_flagged_inclusively() {
        assert!(skew_suspected(
            at(100),
            Some(&clock(30_001, 0)),
            at(200),
            30
        ));
        assert!(skew_suspected(
            at(100),
            Some(&clock(-30_001, 0)),
            at(200),
            30
        ));
        assert!(skew_suspected(
            at(100),
            Some(&clock(-7_200_000, 0)),
            at(200),
            30
        ));
    }

    #[test]
    fn a_clock_set_back_after_the_exchange_is_flagged() {
        // The exchange was at server time 1000; the event claims 969.
        assert!(skew_suspected(at(969), Some(&clock(0, 1000)), at(2000), 30));
        assert!(!skew_suspected(
            at(970),
            Some(&clock(0, 1000)),
            at(2000),
            30
        ));
    }

    #[test]
    fn a_clock_set_forward_past_receipt_is_flagged() {
        assert!(skew_suspected(at(231), Some(&clock(0, 0)), at(200), 30));
        assert!(!skew_suspected(at(230), Some(&clock(0, 0)), at(200), 30));
    }

    #[test]
    fn the_offset_corrects_before_bounding() {
        // Device 20 s behind (offset +20 s): recorded 190 is server 210,
        // within 30 s of receipt at 200.
        assert!(!skew_suspected(
            at(190),
            Some(&clock(20_000, 0)),
            at(200),
            30
        ));
        // Recorded 215 is server 235: past receipt + 30.
        assert!(skew_suspected(
            at(215),
            Some(&clock(20_000, 0)),
            at(200),
            30
        ));
    }

    #[test]
    fn without_a_device_clock_only_the_receipt_bounds() {
        assert!(!skew_suspected(at(-10_000), None, at(200), 30));
        assert!(!skew_suspected(at(230), None, at(200), 30));
        assert!(skew_suspected(at(231), None, at(200), 30));
    }
}
