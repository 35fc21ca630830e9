-- v13: what every process on one store must agree on lives in the store,
-- not in one process's memory (PRODUCT.md §12.5: several server
-- instances, or the CLI beside a running server).

-- Moves with every change of the sites or the rules, in the change's
-- transaction; a process whose cached site index or rules were read at
-- another version reads them again.
CREATE TABLE config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

-- Failed console sign-ins within the window (`sign_in_limit`), keyed by a
-- salted digest of the user id or the address (neither kept in clear),
-- and the locks they led to.
CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (at);
CREATE TABLE sign_in_locks (
    key TEXT PRIMARY KEY,
    until INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) SELECT 'sign_in_salt', hex(randomblob(16))
WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'sign_in_salt');
