-- v5: privacy-policy versions and data-subject requests.

-- Published privacy-policy versions (chained, event type "policy"). Newer
-- means published later (higher seq); version names are opaque.
CREATE TABLE policy_versions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    version TEXT NOT NULL UNIQUE,
    requires_renewal INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;

-- Data-subject requests as received (chained, "privacy_request").
CREATE TABLE privacy_requests (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX privacy_requests_by_subject ON privacy_requests (subject_kind, subject, seq);

-- Their completions (chained, "privacy_request_done"); at most one each.
CREATE TABLE privacy_request_completions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    completed_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
) WITHOUT ROWID;
