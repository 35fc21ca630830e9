-- v10: synced sales facts and reviews count on the importing store (issue
-- 12). What a device's chain carries about leads, transactions and reviews
-- is folded here, beside (never into) this store's own chained tables, so
-- `verify` still checks exactly its own ledger. Personal fields stay as the
-- chain carries them: digests in `sync_events`, no values here.

-- Each imported lead as its activity leaves it.
CREATE TABLE sync_leads (
    lead_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_leads_by_agent ON sync_leads (agent, created_at);

CREATE TABLE sync_transactions (
    txn_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    lead_id TEXT,
    kind TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    occurred_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_transactions_by_agent ON sync_transactions (agent, occurred_at);

-- Review decisions made on a device (the note is personal: digest only).
CREATE TABLE sync_reviews (
    review_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_id TEXT,
    agent TEXT NOT NULL,
    day INTEGER NOT NULL,
    decision TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_reviews_by_day ON sync_reviews (day, agent);

-- A supervisor can decide on a whole agent-day (the console's review
-- queue, §12.4): such a review names no event. SQLite cannot drop a NOT
-- NULL in place, so the table is rebuilt (inside the upgrade's
-- transaction, like every step).
CREATE TABLE reviews_v10 (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    event_id TEXT,
    agent TEXT NOT NULL,
    day INTEGER NOT NULL,
    decision TEXT NOT NULL,
    digests TEXT NOT NULL,
    sealed TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO reviews_v10 SELECT id, seq, event_id, agent, day, decision, digests, sealed, at,
    actor_id, actor_role FROM reviews;
DROP TABLE reviews;
ALTER TABLE reviews_v10 RENAME TO reviews;
CREATE INDEX reviews_by_day ON reviews (day, agent);
CREATE INDEX reviews_by_event ON reviews (event_id);

-- Console sign-in sessions (§12.4): SHA-256 of the session token, never
-- the token. A disabled user's sessions are deleted with the disabling.
CREATE TABLE console_sessions (
    token_digest BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES console_users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);

-- Who looked at a retained location, when and why (§12.4: a view of
-- coordinates kept under an audit flag is itself logged). Append-only.
CREATE TABLE location_views (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    viewer_id TEXT NOT NULL,
    viewer_role TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX location_views_by_event ON location_views (event_id, at);

-- A flag ended before its expiry (chained, event type "flag_end"); at most
-- one end per flag.
CREATE TABLE audit_flag_ends (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    flag_id TEXT NOT NULL UNIQUE REFERENCES audit_flags (id),
    ended_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
