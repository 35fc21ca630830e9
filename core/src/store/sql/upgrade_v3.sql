-- v2 -> v3: push tokens, held only while push consent is granted.
CREATE TABLE push_tokens (
    agent TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    registered_at INTEGER NOT NULL
) WITHOUT ROWID;
