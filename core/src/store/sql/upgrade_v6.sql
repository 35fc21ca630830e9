-- v6: device-to-supervisor sync (PRODUCT.md §9).

-- Every store is a device; its ledger seq is the device sequence number.
-- The id is made with the store (a random UUID), so a copy of the file is
-- the same device and its diverging events show up as a fork on import.
INSERT OR IGNORE INTO meta (key, value)
SELECT 'device_id', lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3)
    || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12))
FROM (SELECT hex(randomblob(16)) AS h);

-- How far this store (as importer) has followed each device's chain.
-- base_seq/base_hash: where the chain was first picked up (0 and the zero
-- hash, or the device's retention anchor).
CREATE TABLE sync_devices (
    device_id TEXT PRIMARY KEY,
    base_seq INTEGER NOT NULL,
    base_hash BLOB NOT NULL,
    last_seq INTEGER NOT NULL,
    last_hash BLOB NOT NULL,
    first_imported_at INTEGER NOT NULL,
    last_imported_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Imported events, verbatim with their links. Not part of this store's own
-- chain. canonical is NULL for an event purged on the device before it was
-- synced (its links still chain).
CREATE TABLE sync_events (
    device_id TEXT NOT NULL REFERENCES sync_devices (device_id),
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    canonical TEXT,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX sync_events_by_id ON sync_events (event_id);

-- The imported attendance events folded into attendance_months, each event id
-- once, so the summary can be rebuilt (a shift's zone changes) like the
-- local events' part of it.
CREATE TABLE sync_attendance (
    event_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    site_id TEXT,
    captured_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_attendance_by_agent ON sync_attendance (agent, device_id, seq);
