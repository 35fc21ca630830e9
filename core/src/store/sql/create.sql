-- The current schema, created in one step on a new store. Upgrades from
-- older versions must arrive at exactly this (tested in store::schema).
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

-- The shift in force for each agent; days are computed in its zone.
CREATE TABLE shifts (
    agent TEXT PRIMARY KEY,
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    days INTEGER NOT NULL,
    tz TEXT NOT NULL,
    set_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;

-- Derived from attendance_events as they are recorded (rebuildable): per
-- agent and local month, one BLOB of 31 fixed-width day slots (first
-- accepted check-in, last accepted check-out, their sites, open/unclosed
-- visits, rejections by reason; layout in store/month.rs). A month's report
-- reads one row per agent, in agent order (one seek per agent listed in
-- attendance_agents). `month` = year * 12 + month - 1 of the local date.
CREATE TABLE attendance_agents (
    agent TEXT PRIMARY KEY,
    -- The zone every one of the agent's months is counted in.
    tz TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE attendance_months (
    agent TEXT NOT NULL,
    month INTEGER NOT NULL,
    days BLOB NOT NULL,
    PRIMARY KEY (agent, month)
) WITHOUT ROWID;

-- Site ids as they appear in summary slots.
CREATE TABLE summary_sites (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL UNIQUE
);

-- A lead as it stands (the fold of lead_activity); personal columns are
-- NULL once erased.
CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    customer_name TEXT,
    phone TEXT,
    email TEXT,
    product TEXT,
    source TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    erased INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX leads_by_agent ON leads (agent, created_at);

-- Every create or change of a lead, chained. Personal values live in
-- `sealed` (erasable) and enter the chain only through `digests`.
CREATE TABLE lead_activity (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    lead_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT,
    product TEXT,
    source TEXT,
    txn_id TEXT,
    digests TEXT NOT NULL,
    sealed TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX lead_activity_by_lead ON lead_activity (lead_id, seq);

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    agent TEXT NOT NULL,
    lead_id TEXT,
    kind TEXT NOT NULL,
    policy_number TEXT NOT NULL,
    product TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX transactions_by_agent ON transactions (agent, occurred_at);
CREATE INDEX transactions_by_lead ON transactions (lead_id);

CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    day INTEGER NOT NULL,
    decision TEXT NOT NULL,
    digests TEXT NOT NULL,
    sealed TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX reviews_by_day ON reviews (day, agent);
CREATE INDEX reviews_by_event ON reviews (event_id);
