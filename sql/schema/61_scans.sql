-- 61_scans.sql: scans at venues (seed 004 一.4-6 and 四), the admission
-- rules, alerts for red codes and the checks staff record.
--
-- The scan history is partitioned by day (native range partitioning on
-- scanned_at). Partitions are not created here but by scan_maintenance()
-- (and by the first scan of a day that has none), so they are ordinary
-- tables of the database: pg_dump carries their rows, and dropping a day
-- past the retention is one DROP TABLE. Compact codes keep a scan narrow:
--   method     s self-scan of the venue poster, t staff scanned a code,
--              m staff manual check
--   code_kind  h health, p personal or family, e e-pass, n entry (NULL for
--              a self-scan or a manual check)
--   decision   a admit, c check first, r refuse, d declare first
--   test       the latest nucleic-acid result shown: n negative,
--              p positive, w pending (waiting), NULL none within 14 days
-- Scans are keyed by venue and time: the hot queries (who was at a venue
-- around an instant, a venue's day) read one venue's range; a person's own
-- scans have their own index. For Citus the table is distributed by
-- venue_id (see doc/venues.md).
-- (created once: later changes go to sql/updates/)

CREATE TABLE scan (
    scanned_at      timestamptz NOT NULL,   -- whole seconds
    venue_id        bigint NOT NULL,
    person_id       bigint NOT NULL,
    staff_id        bigint,
    method          "char" NOT NULL CHECK (method IN ('s', 't', 'm')),
    code_kind       "char" CHECK (code_kind IN ('h', 'p', 'e', 'n')),
    colour          health_colour NOT NULL,
    decision        "char" NOT NULL CHECK (decision IN ('a', 'c', 'r', 'd')),
    test            "char" CHECK (test IN ('n', 'p', 'w')),
    test_sampled_at timestamptz,
    token_id        bytea                    -- the code shown (a replay is recorded, not refused)
) PARTITION BY RANGE (scanned_at);
COMMENT ON TABLE healthpass.scan IS
    'every scan at a venue: who, where, when, how, the colour and test shown and the decision; partitioned by day';
-- The indexes are each day partition's own (hp_scan_partition makes them):
-- a partitioned index on this table would be re-created automatically when
-- a restore attaches a dumped partition, and collide with the partition's
-- dumped index.

-- What staff recorded after a "check first" decision (seed 004: yellow,
-- pass after a check such as the temperature).
CREATE TABLE scan_check (
    venue_id    bigint NOT NULL,
    scanned_at  timestamptz NOT NULL,
    person_id   bigint NOT NULL,
    staff_id    bigint NOT NULL,
    temperature numeric(3,1),
    admitted    boolean NOT NULL,
    note        text,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, scanned_at, person_id)
);
COMMENT ON TABLE healthpass.scan_check IS 'the check staff made after a "check first" decision, and whether they admitted';
SELECT pg_catalog.pg_extension_config_dump('scan_check', '');

-- A red code at a venue raises an alert for the health authority.
CREATE TABLE venue_alert (
    alert_id        bigint GENERATED ALWAYS AS IDENTITY,
    venue_id        bigint NOT NULL,
    person_id       bigint NOT NULL,
    scanned_at      timestamptz NOT NULL,
    colour          health_colour NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by name,
    PRIMARY KEY (venue_id, alert_id)
);
COMMENT ON TABLE healthpass.venue_alert IS 'red codes met at venues, for the health authority';
SELECT pg_catalog.pg_extension_config_dump('venue_alert', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.venue_alert', 'alert_id'), '');

-- The admission rules an administrator changed (seed 004 defaults are in
-- hp_admission_rules(); a row here replaces the default of its colour).
CREATE TABLE admission_rule (
    colour     health_colour PRIMARY KEY,
    decision   "char" NOT NULL CHECK (decision IN ('a', 'c', 'r', 'd')),
    prompt     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.admission_rule IS 'admission decisions an administrator changed (defaults in admission_rules())';
SELECT pg_catalog.pg_extension_config_dump('admission_rule', '');
