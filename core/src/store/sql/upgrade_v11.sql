-- v11: one system across the wire (PRODUCT.md §12.2, issue 22).

-- The configuration feeds: the global feed (feed = '') and one per agent
-- (feed = the agent id), each a hash chain of changes in commit order
-- (hash = SHA-256(prev_hash || body)). A store that is not enrolled with a
-- server (a server's store above all) writes its own changes here in the
-- same transaction as each change; an enrolled device holds what its
-- server sent, as applied. body is the exact canonical text hashed, NULL
-- for a superseded change received as a link only. No personal text: a
-- body holds salted digests (config_feed.rs).
CREATE TABLE config_feed (
    feed TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (feed, seq)
) WITHOUT ROWID;

-- (The salt of the receipts' controller setting's digest is in meta, as
-- 'receipt_controller_salt', beside the setting.)

-- On an enrolled device: its server's configuration is in force once a
-- first pull has applied it (this row), and the cursor to pull from next.
CREATE TABLE config_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    applied_at INTEGER NOT NULL
);
ALTER TABLE server_link ADD COLUMN config_cursor TEXT;

-- The server's chained configuration as a device applied it: never part
-- of the device's own chain (a device does not set flags, publish
-- policies or restrict), so kept apart from audit_flags, policy_versions
-- and restriction_log, with the same columns.
CREATE TABLE applied_flags (
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

CREATE TABLE applied_flag_ends (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    flag_id TEXT NOT NULL UNIQUE,
    ended_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE applied_policy_versions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    version TEXT NOT NULL,
    requires_renewal INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE applied_restrictions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    subject TEXT NOT NULL,
    restricted INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;

-- What is in force: this store's own flags, policy versions and
-- restrictions, or, once a device's server configuration is in force,
-- the server's. Every processing path reads these.
CREATE VIEW flags_in_force AS
    SELECT f.id, f.seq, f.scope, f.scope_id, f.purpose, f.reason, f.reason_salt,
           f.reason_digest, f.set_by_id, f.set_by_role, f.starts_at, f.expires_at,
           (SELECT e.ended_at FROM audit_flag_ends e WHERE e.flag_id = f.id) AS ended_at
    FROM audit_flags f WHERE NOT EXISTS (SELECT 1 FROM config_state)
    UNION ALL
    SELECT f.id, f.seq, f.scope, f.scope_id, f.purpose, f.reason, f.reason_salt,
           f.reason_digest, f.set_by_id, f.set_by_role, f.starts_at, f.expires_at,
           (SELECT e.ended_at FROM applied_flag_ends e WHERE e.flag_id = f.id) AS ended_at
    FROM applied_flags f WHERE EXISTS (SELECT 1 FROM config_state);

CREATE VIEW flag_ends_in_force AS
    SELECT id, seq, flag_id, ended_at, actor_id, actor_role
    FROM audit_flag_ends WHERE NOT EXISTS (SELECT 1 FROM config_state)
    UNION ALL
    SELECT id, seq, flag_id, ended_at, actor_id, actor_role
    FROM applied_flag_ends WHERE EXISTS (SELECT 1 FROM config_state);

CREATE VIEW policies_in_force AS
    SELECT id, seq, version, requires_renewal, published_at, actor_id, actor_role
    FROM policy_versions WHERE NOT EXISTS (SELECT 1 FROM config_state)
    UNION ALL
    SELECT id, seq, version, requires_renewal, published_at, actor_id, actor_role
    FROM applied_policy_versions WHERE EXISTS (SELECT 1 FROM config_state);

CREATE VIEW restrictions_in_force AS
    SELECT id, seq, subject, restricted, at, actor_id, actor_role
    FROM restriction_log WHERE NOT EXISTS (SELECT 1 FROM config_state)
    UNION ALL
    SELECT id, seq, subject, restricted, at, actor_id, actor_role
    FROM applied_restrictions WHERE EXISTS (SELECT 1 FROM config_state);

-- The device's chained record of each configuration it applied: the
-- cursor, a digest of the changes applied, and whether it was a snapshot
-- (reset), so every later verdict can be traced to the configuration in
-- force.
CREATE TABLE config_applied (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    agent TEXT NOT NULL,
    cursor TEXT NOT NULL,
    digest TEXT NOT NULL,
    changes INTEGER NOT NULL,
    reset INTEGER NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;

-- Coordinates a device kept under a flag and sent beside the event
-- (batch version 2), kept on the server only where one of its own flags
-- covered the event, until retain_until (computed by the server).
CREATE TABLE sync_retained_locations (
    event_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    agent TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    captured_at INTEGER NOT NULL,
    flag_ids TEXT NOT NULL,
    salt BLOB NOT NULL,
    retain_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_retained_by_expiry ON sync_retained_locations (retain_until);

-- Imported events by the subjects they concern (an agent, a lead), for a
-- subject's export and for verify; derived at import like the other
-- sync_ tables.
CREATE TABLE sync_subjects (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    PRIMARY KEY (device_id, seq, subject_kind, subject)
) WITHOUT ROWID;
CREATE INDEX sync_subjects_by_subject ON sync_subjects (subject_kind, subject);

-- When an imported event lost its content to retention on this store
-- (its derived rows go with it).
ALTER TABLE sync_events ADD COLUMN purged_at INTEGER;

-- The latest verification (`verify`): when, and what it found; and how
-- far each device's chain has been checked (imports extend it).
CREATE TABLE verify_status (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    checked_at INTEGER NOT NULL,
    intact INTEGER NOT NULL,
    events_checked INTEGER NOT NULL,
    problem TEXT
);
ALTER TABLE sync_devices ADD COLUMN verified_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_devices ADD COLUMN verified_at INTEGER;
