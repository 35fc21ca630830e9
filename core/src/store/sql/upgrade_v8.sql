-- v8: the server side of the wire (PRODUCT.md §12) and a device's link to
-- its server. Secrets the server checks (enrolment codes, device tokens,
-- console passwords) are stored only as digests or Argon2id hashes.

-- Console users (supervisors and admins), made by `fieldcheck user add`.
-- team: JSON array of agent ids (a supervisor sees only these).
CREATE TABLE console_users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('supervisor', 'admin')),
    team TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
) WITHOUT ROWID;

-- One-time enrolment codes: SHA-256 of the code, never the code.
CREATE TABLE enrolment_codes (
    code_digest BLOB PRIMARY KEY,
    agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by_device TEXT
) WITHOUT ROWID;

-- Devices enrolled with this server: the public key (DER SPKI) every batch
-- signature is checked against, and SHA-256 of the bearer token.
CREATE TABLE enrolled_devices (
    device_id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    platform TEXT NOT NULL,
    public_key BLOB NOT NULL,
    token_digest BLOB NOT NULL UNIQUE,
    enrolled_at INTEGER NOT NULL,
    last_sync_at INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;

-- This store as a device of a server (at most one link). The token is kept
-- in clear (it is sent with every request); the signing key only when it
-- is a software key (the CLI); a phone keeps it in its platform keystore.
CREATE TABLE server_link (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url TEXT NOT NULL,
    agent TEXT NOT NULL,
    device_token TEXT NOT NULL,
    signing_key BLOB,
    enrolled_at INTEGER NOT NULL,
    -- server time minus device time at the last exchange, milliseconds.
    clock_offset_ms INTEGER NOT NULL DEFAULT 0,
    last_exchange_at INTEGER,
    decisions_cursor TEXT
);

-- Review decisions about this device's agent, pulled from the server.
CREATE TABLE received_decisions (
    review_id TEXT PRIMARY KEY,
    event_id TEXT,
    agent TEXT NOT NULL,
    date TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    note TEXT,
    reviewer TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX received_decisions_by_agent ON received_decisions (agent, date);
