-- Frozen copy of the v3 schema (store/sql/create.sql as of schema v6), for
-- the upgrade tests: a v3 store made from it must upgrade in one
-- transaction, derived data included (store::tests).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    feature TEXT NOT NULL,
    ref_lat REAL NOT NULL,
    ref_lon REAL NOT NULL,
    imported_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per event of any kind, in order: the hash chain.
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    event_type TEXT NOT NULL,
    event_id TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    purged_at INTEGER
);

-- The hash and count of a purged prefix of the ledger.
CREATE TABLE chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    event_count INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    anchored_at INTEGER NOT NULL
);

CREATE TABLE consent_ledger (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    subject TEXT NOT NULL,
    permission TEXT NOT NULL,
    granted INTEGER NOT NULL,
    policy_version TEXT NOT NULL,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX consent_by_subject ON consent_ledger (subject, permission, seq);

-- No coordinates here, ever (PRODUCT.md §4).
CREATE TABLE attendance_events (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    site_id TEXT,
    position TEXT NOT NULL,
    distance_m INTEGER,
    accuracy_band TEXT NOT NULL,
    captured_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    consent_entry TEXT,
    coords_digest TEXT,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX attendance_by_agent ON attendance_events (agent, accepted, seq);

CREATE TABLE audit_flags (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    scope TEXT NOT NULL,
    scope_id TEXT,
    purpose TEXT NOT NULL,
    reason TEXT,
    reason_salt BLOB,
    reason_digest TEXT NOT NULL,
    set_by_id TEXT NOT NULL,
    set_by_role TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The only place coordinates may live, and only until retain_until.
CREATE TABLE retained_locations (
    event_id TEXT PRIMARY KEY REFERENCES attendance_events (id) ON DELETE CASCADE,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    captured_at INTEGER NOT NULL,
    flag_ids TEXT NOT NULL,
    salt BLOB NOT NULL,
    retain_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX retained_by_expiry ON retained_locations (retain_until);

-- Processing restrictions (PRODUCT.md §8), append-only; latest row wins.
CREATE TABLE restriction_log (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    subject TEXT NOT NULL,
    restricted INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX restriction_by_subject ON restriction_log (subject, seq);

-- Push tokens exist only while push consent is granted (PRODUCT.md §5).
CREATE TABLE push_tokens (
    agent TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    registered_at INTEGER NOT NULL
) WITHOUT ROWID;
