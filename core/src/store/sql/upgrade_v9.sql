-- v9: the device clock (issue 12). A device enrolled with a server records
-- with each attendance event the clock offset it last measured and the
-- server's time at that exchange (both part of the chained encoding, so
-- NULL on events recorded before enrolment, whose encoding is unchanged).
ALTER TABLE attendance_events ADD COLUMN clock_offset_ms INTEGER;
ALTER TABLE attendance_events ADD COLUMN last_exchange_server_at INTEGER;

-- The importing store's verdict on an imported event's recorded time.
ALTER TABLE sync_attendance ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
-- Reports look up the few flagged events of a period.
CREATE INDEX sync_attendance_clock_skew ON sync_attendance (captured_at) WHERE clock_skew = 1;
