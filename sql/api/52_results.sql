-- 52_results.sql: nucleic-acid test results (seeds 002 and 004).
--
-- The health authority records results as the testing institutions report
-- them. A sample is named by its institution and the institution's sample
-- reference; it may first be recorded as pending and later as negative or
-- positive. Records are never changed: each report is a new row, and the
-- newest record of a sample is its result. "The latest result within 14
-- days" (seed 004) is the result of the most recently sampled test taken
-- in the 14 days before the instant asked about.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The window seed 004 speaks of.
CREATE OR REPLACE FUNCTION result_window() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN interval '14 days';
COMMENT ON FUNCTION healthpass.result_window() IS 'results count for 14 days after sampling (seed 004)';

CREATE OR REPLACE FUNCTION record_test_result(
    person_id bigint, institution text, sample_ref text, sampled_at timestamptz,
    result text, reported_at timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
    inst text := hp_text('institution', record_test_result.institution, 100, true);
    ref text := hp_text('sample reference', record_test_result.sample_ref, 64, true);
    sampled timestamptz := hp_instant('sampled_at', record_test_result.sampled_at, true);
    reported timestamptz := hp_instant('reported_at', record_test_result.reported_at, false);
    res text := lower(btrim(record_test_result.result));
    prev test_result;
    id bigint;
BEGIN
    IF res IS NULL OR res NOT IN ('negative', 'positive', 'pending') THEN
        RAISE EXCEPTION 'test result "%" is not valid', hp_quote(record_test_result.result)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A nucleic-acid result is negative, positive or pending.';
    END IF;
    IF sampled > now() THEN
        RAISE EXCEPTION 'sampling time "%" is in the future', sampled
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A sample is recorded after it was taken.';
    END IF;
    IF res = 'pending' THEN
        IF reported IS NOT NULL THEN
            RAISE EXCEPTION 'a pending result cannot have a report time "%"', reported
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A result is reported when it is negative or positive.';
        END IF;
    ELSE
        reported := coalesce(reported, now());
        IF reported < sampled OR reported > now() THEN
            RAISE EXCEPTION 'report time "%" is out of range', reported
                USING ERRCODE = 'datetime_field_overflow',
                      DETAIL = format('A result is reported between sampling (%s) and now.', sampled);
        END IF;
    END IF;

    -- the person is locked: two reports of one sample wait for each other,
    -- and the second sees the first (test/isolation/specs/52_sample_race.spec)
    p := hp_lock_person(record_test_result.person_id);

    -- the records of one sample: same sampling time; a final result is final
    SELECT * INTO prev FROM test_result t
     WHERE t.person_id = p.person_id AND t.institution = inst AND t.sample_ref = ref
     ORDER BY t.recorded_at DESC, t.result_id DESC LIMIT 1;
    IF FOUND THEN
        IF prev.sampled_at <> sampled THEN
            RAISE EXCEPTION 'sample "%" of "%" was taken at %, not %', hp_quote(ref), hp_quote(inst), prev.sampled_at, sampled
                USING ERRCODE = 'check_violation', DETAIL = 'All records of one sample have the same sampling time.';
        END IF;
        IF prev.result = res THEN
            RAISE EXCEPTION 'sample "%" of "%" is already recorded as %', hp_quote(ref), hp_quote(inst), res
                USING ERRCODE = 'unique_violation', DETAIL = 'A record is added only when the result changes.';
        END IF;
        IF prev.result <> 'pending' AND res = 'pending' THEN
            RAISE EXCEPTION 'sample "%" of "%" already has the final result %', hp_quote(ref), hp_quote(inst), prev.result
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A reported result does not go back to pending; record the corrected result instead.';
        END IF;
    END IF;

    BEGIN
        INSERT INTO test_result AS t (person_id, institution, sample_ref, sampled_at, result, reported_at)
        VALUES (p.person_id, inst, ref, sampled, res, reported)
        RETURNING t.result_id INTO id;
    EXCEPTION WHEN unique_violation THEN
        -- test_result_pending_once: only a row written around this function
        -- can collide (the person lock serialises the function's own calls)
        RAISE EXCEPTION 'sample "%" of "%" is already recorded as %', hp_quote(ref), hp_quote(inst), res
            USING ERRCODE = 'unique_violation', DETAIL = 'A sample is pending once: one pending record per sample.';
    END;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.record_test_result(bigint, text, text, timestamptz, text, timestamptz) IS
    'record a nucleic-acid result (negative/positive/pending) for a sample; returns result_id; the colour is recomputed';

-- The latest result of each sample of a person known at an instant, sampled
-- in the 14 days before it (internal; shared by the look-ups below).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recent_samples(pid bigint, at timestamptz)
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz, institution text, sample_ref text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: the plan is kept for the session (a scan reads this)
    RETURN QUERY
        SELECT DISTINCT ON (t.institution, t.sample_ref)
               t.sampled_at, t.result, t.reported_at, t.institution, t.sample_ref
          FROM test_result t
         WHERE t.person_id = pid AND t.recorded_at <= hp_recent_samples.at
           AND t.sampled_at <= hp_recent_samples.at AND t.sampled_at > hp_recent_samples.at - result_window()
         ORDER BY t.institution, t.sample_ref, t.recorded_at DESC, t.result_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recent_samples(bigint, timestamptz) IS 'samples of the last 14 days with their latest record (internal)';

CREATE OR REPLACE FUNCTION latest_test_result(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz,
                   institution text, sample_ref text, last_negative_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(latest_test_result.person_id);
BEGIN
    PERFORM hp_past_instant('instant', at);
    RETURN QUERY
        SELECT s.sampled_at, s.result, s.reported_at, s.institution, s.sample_ref,
               (SELECT max(n.sampled_at) FROM hp_recent_samples(p.person_id, at) n WHERE n.result = 'negative')
          FROM hp_recent_samples(p.person_id, at) s
         ORDER BY s.sampled_at DESC, s.institution, s.sample_ref
         LIMIT 1;
END
$$;
COMMENT ON FUNCTION healthpass.latest_test_result(bigint, timestamptz) IS
    'the latest nucleic-acid result sampled in the 14 days before at (no row when there is none), with the last negative sampling time';

-- Seed 004: a guardian looks up the latest result of every family member
-- they registered. Members without a result in 14 days are listed with NULLs.
CREATE OR REPLACE FUNCTION family_test_results(guardian_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (member_id bigint, name_masked text, relation text,
                   sampled_at timestamptz, result text, reported_at timestamptz, institution text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_get_person(family_test_results.guardian_id);
    f record;
    who text;
BEGIN
    PERFORM hp_past_instant('instant', at);
    -- the guardian's rows first, then each member's row and results by
    -- person_id: on Citus a member is on a shard of their own (family_member
    -- is the guardian's), and a join would need repartitioning
    FOR f IN
        SELECT x.member_id, x.relation FROM family_member x
         WHERE x.person_id = g.person_id
         ORDER BY x.added_at, x.member_id
    LOOP
        SELECT x.name INTO who FROM person x WHERE x.person_id = f.member_id;
        CONTINUE WHEN NOT FOUND;  -- as the join did
        member_id := f.member_id;
        name_masked := mask_name(who);
        relation := f.relation;
        sampled_at := NULL;
        result := NULL;
        reported_at := NULL;
        institution := NULL;
        SELECT r.sampled_at, r.result, r.reported_at, r.institution
          INTO sampled_at, result, reported_at, institution
          FROM hp_recent_samples(f.member_id, at) r
         ORDER BY r.sampled_at DESC, r.institution, r.sample_ref
         LIMIT 1;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.family_test_results(bigint, timestamptz) IS
    'the latest result in 14 days of each family member a guardian registered (seed 004)';

-- Every record of a person, newest first: for the health authority.
CREATE OR REPLACE FUNCTION test_results(person_id bigint)
    RETURNS TABLE (result_id bigint, institution text, sample_ref text, sampled_at timestamptz,
                   result text, reported_at timestamptz, recorded_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(test_results.person_id);
BEGIN
    RETURN QUERY
        SELECT t.result_id, t.institution, t.sample_ref, t.sampled_at, t.result, t.reported_at, t.recorded_at
          FROM test_result t WHERE t.person_id = p.person_id
         ORDER BY t.recorded_at DESC, t.result_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass.test_results(bigint) IS 'every test record of a person, newest first';

GRANT EXECUTE ON FUNCTION healthpass.result_window()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION
    healthpass.record_test_result(bigint, text, text, timestamptz, text, timestamptz),
    healthpass.test_results(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.latest_test_result(bigint, timestamptz),
    healthpass.family_test_results(bigint, timestamptz)
    TO healthpass_app, healthpass_health, healthpass_admin;
