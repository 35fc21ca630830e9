-- v14: sealed personal values (PRODUCT.md §12.5, store/sealing.rs).

-- The master key's epochs: each with a value only that key opens, so a
-- wrong key is refused before anything is written. No row: the store does
-- not seal.
CREATE TABLE key_epochs (
    epoch INTEGER PRIMARY KEY,
    check_value BLOB NOT NULL,
    started_at INTEGER NOT NULL
);

-- One data key per data subject and bucket, wrapped under the master key
-- of its epoch. Deleting a row shreds what the key sealed.
CREATE TABLE data_keys (
    key_id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    bucket TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    wrapped BLOB NOT NULL,
    UNIQUE (subject_kind, subject, bucket)
);

-- Retained coordinates and their salt, sealed as one value where the store
-- seals (lat, lon and salt then hold zeros and nothing).
ALTER TABLE retained_locations ADD COLUMN sealed BLOB;
ALTER TABLE sync_retained_locations ADD COLUMN sealed BLOB;

-- Each `keys rotate`, chained (store/sealing.rs).
CREATE TABLE key_rotations (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    rewrapped INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
);
