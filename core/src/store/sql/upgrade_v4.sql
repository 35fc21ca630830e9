-- v4: shifts, the per-day attendance summary, leads, transactions, reviews.

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
