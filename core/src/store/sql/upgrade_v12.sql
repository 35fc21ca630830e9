-- v12: the supervisor's day on the console (PRODUCT.md §12.4).

-- Agents' display names: every version, each chained with its value as a
-- salted digest (the `digests` and `sealed` columns of `personal`);
-- erasure empties `sealed` and keeps the digests.
CREATE TABLE agent_names (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    digests TEXT NOT NULL,
    sealed TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX agent_names_by_agent ON agent_names (agent, seq);

-- The review queue's index (a server's store): one row per agent-day that
-- needs a decision, kept by `store::queue` in the transaction of every
-- change that can alter it, and by `advance` as local days and shifts end.
-- `day` is the agent's local date as a day number; `reasons` a bit set
-- (`queue::QueueReason::bit`); the rest is what the queue page shows.
CREATE TABLE queue_days (
    agent TEXT NOT NULL,
    day INTEGER NOT NULL,
    reasons INTEGER NOT NULL,
    status TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    first_in INTEGER,
    last_out INTEGER,
    site TEXT,
    out_site TEXT,
    minutes_late INTEGER,
    PRIMARY KEY (agent, day)
) WITHOUT ROWID;
-- Newest first, then by agent: the queue's order, read forward for older
-- pages and backward for newer ones.
CREATE INDEX queue_days_newest ON queue_days (day DESC, agent ASC);

-- The queue's counts, kept with its rows: items per reason bit (-1: every
-- item) and day, for everyone (agent and site ''), one agent (site ''),
-- one site (agent '') and one agent at one site. A page sums the rows of
-- its filter; it never counts items.
CREATE TABLE queue_tally (
    agent TEXT NOT NULL,
    site TEXT NOT NULL,
    day INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (agent, site, day, reason)
) WITHOUT ROWID;

-- Agents and dates whose queue rows a change may have altered, written in
-- the change's transaction (`store::queue_marks`) and settled by the
-- queue before it is read (agent '' = everyone).
CREATE TABLE queue_dirty (
    agent TEXT NOT NULL,
    from_day INTEGER NOT NULL,
    to_day INTEGER NOT NULL
);

-- An agent's imported events by time: the console's day of an agent and
-- its latest event.
CREATE INDEX sync_attendance_by_agent_time ON sync_attendance (agent, captured_at);

-- A confirmation the console shows once after an action, kept with the
-- session (never read from the URL).
ALTER TABLE console_sessions ADD COLUMN notice TEXT;
