-- v7: shift history. `shifts` keeps each agent's zone and the shift last
-- set; `shift_versions` holds every version, as one row per pattern (a
-- start, an end and its weekdays; a version's patterns have disjoint
-- weekdays), with the first local day (days since 1970-01-01) it applies
-- from. The shifts before this upgrade apply from the beginning (NULL).
CREATE TABLE shift_versions (
    agent TEXT NOT NULL,
    -- Sorts first as NULL: the version in force before any dated one.
    from_day INTEGER,
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    days INTEGER NOT NULL,
    set_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL
);
CREATE INDEX shift_versions_by_agent ON shift_versions (agent, IFNULL(from_day, -1000000000));

INSERT INTO shift_versions (agent, from_day, start_min, end_min, days, set_at, actor_id, actor_role)
SELECT agent, NULL, start_min, end_min, days, set_at, actor_id, actor_role FROM shifts;
