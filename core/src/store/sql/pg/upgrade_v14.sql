-- v14: sealed personal values (PRODUCT.md §12.5, store/sealing.rs); as
-- ../upgrade_v14.sql.
CREATE TABLE key_epochs (
    epoch BIGINT PRIMARY KEY,
    check_value BYTEA NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE TABLE data_keys (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    subject_kind TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    bucket TEXT COLLATE "C" NOT NULL,
    epoch BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    UNIQUE (subject_kind, subject, bucket)
);
ALTER TABLE retained_locations ADD COLUMN sealed BYTEA;
ALTER TABLE sync_retained_locations ADD COLUMN sealed BYTEA;
CREATE TABLE key_rotations (
    id TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    rewrapped BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_id TEXT COLLATE "C" NOT NULL,
    actor_role TEXT COLLATE "C" NOT NULL
);
