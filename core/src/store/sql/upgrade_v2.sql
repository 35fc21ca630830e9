-- v1 -> v2: retention purges keep the chain verifiable (purged_at, anchor)
-- and processing can be restricted per subject.
ALTER TABLE ledger ADD COLUMN purged_at INTEGER;

CREATE TABLE chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    event_count INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    anchored_at INTEGER NOT NULL
);

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
