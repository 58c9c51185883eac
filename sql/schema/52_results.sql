-- 52_results.sql: nucleic-acid test results (seeds 002 and 004).
--
-- The health authority records results as the testing institutions report
-- them. A sample is named by its institution and the institution's sample
-- reference; it may first be recorded as pending and later as negative or
-- positive. Records are never changed: each report is a new row, and the
-- newest record of a sample is its result. "The latest result within 14
-- days" (seed 004) is the result of the most recently sampled test taken
-- in the 14 days before the instant asked about.
-- (created once: later changes go to sql/updates/)

CREATE TABLE test_result (
    person_id   bigint NOT NULL,
    result_id   bigint GENERATED ALWAYS AS IDENTITY,
    institution text NOT NULL,
    sample_ref  text NOT NULL,
    sampled_at  timestamptz NOT NULL,
    result      text NOT NULL CHECK (result IN ('negative', 'positive', 'pending')),
    reported_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, result_id),
    CHECK ((result = 'pending') = (reported_at IS NULL)),
    CHECK (reported_at IS NULL OR reported_at >= sampled_at)
);
COMMENT ON TABLE healthpass.test_result IS
    'nucleic-acid test records: sample (institution + reference), sampled at, result, reported at; never updated';
CREATE INDEX test_result_sampled ON test_result (person_id, sampled_at);
-- A sample is recorded as pending once (a record is added only when the
-- result changes, and a final result never goes back to pending): a second
-- pending record of it is a duplicate, refused with 23505. person_id first,
-- as in every unique key of a personal table.
CREATE UNIQUE INDEX test_result_pending_once ON test_result (person_id, institution, sample_ref, sampled_at)
    WHERE result = 'pending';
SELECT pg_catalog.pg_extension_config_dump('test_result', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.test_result', 'result_id'), '');
