-- 55_status.sql: each person's colour now and at any past instant.
--
-- The colour of a person at an instant t is a pure function:
--     colour(p, t) = rules in force at t applied to the facts known at t
-- (declarations, results and marks recorded by t; risk areas in force at t).
-- Nothing that is recorded is ever changed in a way that alters what was
-- known at an earlier instant, so this function gives the same answer
-- whenever it is asked. healthpass MATERIALISES it:
--
--   colour_current  one row per person: the colour now, since when, the
--                   matching rules, the rule set version it was computed
--                   with, and recheck_at, the next instant at which it may
--                   change by time alone (a declaration lapses, a mark
--                   starts or ends, a test leaves the 14-day window)
--   colour_history  every earlier period [since, until) with its colour and
--                   rules; an exclusion constraint forbids two periods of one
--                   person to overlap
--
-- Changes are materialised at the exact instant they happen:
--   * input changes: row triggers on declarations, results and marks
--     re-colour that person in the same transaction;
--   * time: colour_tick() (schedule it every minute, e.g. with pg_cron)
--     materialises every change whose instant has passed; every read that
--     writes (health_status, health_code, the e-pass page) does the same
--     for its person first;
--   * rule changes: a re-colouring job (recolour_run / recolour_step) brings
--     everyone to the new rule set, set-wise, in batches, with progress;
--   * risk areas: declare_risk_area / lift_risk_area re-colour the people
--     whose declaration lists a matching place at once.
-- Reads that do not write (colour_at, colour_status, verify_health_code)
-- use the materialised period when it is known to cover the instant and
-- otherwise compute the colour on the spot: the answer is exact either way.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The rule set version in force at an instant.
-- (PL/pgSQL, like the other small look-ups on hot paths: its plan is kept
-- for the session, where a SQL function with a SET clause is planned again
-- at every call)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_ruleset_at(at timestamptz) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN (SELECT s.version FROM colour_ruleset s WHERE s.activated_at <= at
             ORDER BY s.activated_at DESC, s.version DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_ruleset_at(timestamptz) IS 'rule set version in force at an instant (internal)';

-- The reason texts of a list of rule ids, in order.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reasons(rule_ids integer[]) RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF cardinality(rule_ids) = 0 THEN
        RETURN ARRAY['no colour rule applies: check the person'];
    END IF;
    RETURN ARRAY(SELECT r.reason FROM unnest(rule_ids) WITH ORDINALITY AS u(id, n)
                   JOIN colour_rule r ON r.rule_id = u.id ORDER BY u.n);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reasons(integer[]) IS 'reason texts of rule ids, in order (internal)';

-- The colour functions keep generic plans of their prepared statements for
-- a few people (force_generic_plan in their SET clause). On Citus they are
-- planned for their values instead: Citus cannot make a generic plan of a
-- distributed query with parameters. Called first thing in those functions,
-- whose own SET clause ends this setting with them. (A database on a server
-- that loads citus but where healthpass is not distributed is planned as on
-- plain PostgreSQL: hp_distributed.)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_plans_on_cluster() RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
    IF healthpass_internal.hp_distributed() THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_plans_on_cluster() IS
    'on a Citus node, plans for values in the calling colour function (internal)';

-- The statement that evaluates people with a compiled rule set and writes
-- their colours: $1 lo, $2 hi, $3 ids, $4 ats, $5 the rule set version.
-- It returns the number of colours changed or made. For one shard of a
-- Citus cluster (for_shard) it writes only the current colours, and returns
-- with that number the periods to close and the colours to make, as JSON,
-- which hp_colour_apply_by_shard inserts: Citus routes a WITH holding an
-- UPDATE to the shard whole, but runs one holding an INSERT ... SELECT as
-- steps with intermediate results (about five times slower).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_apply_sql(compiled text, for_shard boolean DEFAULT false)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $f$
    SELECT format($q$
        WITH ev AS MATERIALIZED (
            SELECT e.person_id, e.at, e.colour, e.rule_ids, e.recheck_at,
                   c.person_id IS NULL AS fresh,
                   c.since AS cur_since, c.colour AS cur_colour,
                   c.rule_ids AS cur_rule_ids, c.ruleset AS cur_ruleset,
                   (c.colour, c.rule_ids) IS DISTINCT FROM (e.colour, e.rule_ids) AS changed,
                   c.ruleset IS DISTINCT FROM $5 OR c.recheck_at IS DISTINCT FROM e.recheck_at AS touched
              FROM (%s) e
              LEFT JOIN healthpass.colour_current c ON c.person_id = e.person_id
                        AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
             WHERE c.person_id IS NULL OR e.at >= c.since
        ), kept AS (
            UPDATE healthpass.colour_current c
               SET colour = ev.colour, rule_ids = ev.rule_ids,
                   since = CASE WHEN ev.changed THEN ev.at ELSE c.since END,
                   ruleset = $5, recheck_at = ev.recheck_at
              FROM ev
             WHERE c.person_id = ev.person_id AND NOT ev.fresh AND (ev.changed OR ev.touched)
               AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
               AND c.since = ev.cur_since AND c.ruleset = ev.cur_ruleset
               AND c.colour = ev.cur_colour AND c.rule_ids = ev.cur_rule_ids
            RETURNING ev.person_id, ev.cur_since, ev.at, ev.cur_colour, ev.cur_rule_ids,
                      ev.cur_ruleset, ev.changed
        )%s
    $q$, compiled, CASE WHEN for_shard THEN $t$
        SELECT (SELECT count(*) FROM kept WHERE kept.changed),
               (SELECT jsonb_agg(jsonb_build_object('person_id', k.person_id, 'since', k.cur_since, 'until', k.at,
                                                    'colour', k.cur_colour, 'rule_ids', k.cur_rule_ids,
                                                    'ruleset', k.cur_ruleset))
                  FROM kept k WHERE k.changed AND k.cur_since < k.at),
               (SELECT jsonb_agg(jsonb_build_object('person_id', e.person_id, 'colour', e.colour, 'rule_ids', e.rule_ids,
                                                    'since', e.at, 'ruleset', $5, 'recheck_at', e.recheck_at))
                  FROM ev e WHERE e.fresh)$t$
    ELSE $t$, closed AS (
            INSERT INTO healthpass.colour_history (person_id, since, until, colour, rule_ids, ruleset)
            SELECT k.person_id, k.cur_since, k.at, k.cur_colour, k.cur_rule_ids, k.cur_ruleset
              FROM kept k
             WHERE k.changed AND k.cur_since < k.at
            RETURNING 1
        ), born AS (
            INSERT INTO healthpass.colour_current (person_id, colour, rule_ids, since, ruleset, recheck_at)
            SELECT ev.person_id, ev.colour, ev.rule_ids, ev.at, $5, ev.recheck_at
              FROM ev WHERE ev.fresh
            ON CONFLICT (person_id) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM kept WHERE kept.changed) + (SELECT count(*) FROM born)$t$ END)
$f$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_apply_sql(text, boolean) IS
    'the statement that evaluates people with a compiled rule set and writes their colours (internal)';

-- Computes the colour of people at instants with rule set version v and
-- writes the result: a changed colour closes the current period into the
-- history and starts a new one at the instant; an unchanged colour only
-- records the version and the next re-check. Short lists of people are
-- locked first; they are also named with person_id = ANY next to every
-- range, which is what Citus prunes a hash-distributed table by: one
-- person's re-colouring reads and writes that person's shard only, and can
-- run in a row trigger on it (doc/citus.md). Without the lock (bulk batches), a person whose current row
-- another session changed meanwhile is left alone (the update re-checks
-- that the row is still the one read), and so is a request older than the
-- person's current period: the job's final sweep or the next read catches
-- them up. Returns the number of people whose colour changed or who got
-- their first colour.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_apply(v integer, lo bigint, hi bigint, ids bigint[], ats timestamptz[],
                                lock_first boolean)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
    SET work_mem = '64MB'
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    q text;
    n bigint;
    stmt text;
    one text := format('hp_colour_apply_v%s', v);
BEGIN
    PERFORM hp_colour_plans_on_cluster();
    IF cardinality(ids) > 1 AND hp_distributed() THEN
        RETURN hp_colour_apply_by_shard(v, ids, ats, lock_first);
    END IF;
    IF lock_first THEN
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM healthpass.colour_current c
                   WHERE c.person_id BETWEEN $1 AND $2 AND c.person_id IN (SELECT unnest($3))
                     AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
                   ORDER BY c.person_id FOR UPDATE OF c) l'
           INTO n USING lo, hi, ids;
    END IF;
    -- A few people (a declaration, a result, a code): the statement is
    -- prepared once per session and rule set version, so it is not planned
    -- again each time (planning the compiled rule set costs milliseconds).
    -- A bulk batch plans its own statement for its range.
    IF cardinality(ids) <= 8 AND EXISTS (SELECT 1 FROM pg_prepared_statements p WHERE p.name = one) THEN
        EXECUTE format('EXECUTE %I(%L, %L, %L, %L, %L)', one, lo, hi, ids, ats, v) INTO n;
        RETURN n;
    END IF;
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = v;
    stmt := hp_colour_apply_sql(q);
    IF cardinality(ids) <= 8 THEN
        EXECUTE format('PREPARE %I(bigint, bigint, bigint[], timestamptz[], integer) AS %s', one, stmt);
        EXECUTE format('EXECUTE %I(%L, %L, %L, %L, %L)', one, lo, hi, ids, ats, v) INTO n;
        RETURN n;
    END IF;
    EXECUTE stmt INTO n USING lo, hi, ids, ats, v;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_apply(integer, bigint, bigint, bigint[], timestamptz[], boolean) IS
    'evaluate people at instants with a rule set version and write current and history (internal)';

-- On Citus, more than one person (a re-colouring job's chunk, a risk
-- area's people, two people of a family) are cut by shard, and each shard's
-- people are named (person_id = ANY) in every part of the statement, so
-- that each shard's part is one statement routed to that shard, reading and
-- writing only there: Citus cannot lock, nor write in one statement, rows of
-- many shards.
-- On one node the statement for a batch keeps to the range (the naming
-- folds away), as hp_colour_apply does.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_apply_by_shard(v integer, ids bigint[], ats timestamptz[],
                                                                        lock_first boolean)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
AS $$
DECLARE
    q text;
    stmt text;
    g record;
    n bigint := 0;
    m bigint;
    closing jsonb;
    making jsonb;
BEGIN
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = v;
    -- every "(cardinality($3) > 8 OR x.person_id = ANY ($3))" of the
    -- statement and of the compiled facts query names the people
    stmt := replace(hp_colour_apply_sql(q, true), 'cardinality($3) > 8', 'false');
    FOR g IN EXECUTE
        'SELECT min(u.id) AS lo, max(u.id) AS hi, array_agg(u.id ORDER BY u.id) AS ids,
                array_agg(u.at ORDER BY u.id) AS ats
           FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at)
          GROUP BY pg_catalog.get_shard_id_for_distribution_column(''healthpass.person''::regclass, u.id)
          ORDER BY 1'
        USING ids, ats
    LOOP
        IF lock_first THEN
            EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM healthpass.colour_current c
                       WHERE c.person_id = ANY ($1) ORDER BY c.person_id FOR UPDATE OF c) l'
               INTO m USING g.ids;
        END IF;
        EXECUTE stmt INTO m, closing, making USING g.lo, g.hi, g.ids, g.ats, v;
        n := n + m;
        -- each an INSERT ... SELECT from the list, which Citus sends to the
        -- shard in one piece
        IF closing IS NOT NULL THEN
            INSERT INTO colour_history (person_id, since, until, colour, rule_ids, ruleset)
            SELECT r.person_id, r.since, r.until, r.colour, r.rule_ids, r.ruleset
              FROM jsonb_to_recordset(closing) AS r(person_id bigint, since timestamptz, until timestamptz,
                                                    colour health_colour, rule_ids integer[], ruleset integer);
        END IF;
        IF making IS NOT NULL THEN
            INSERT INTO colour_current (person_id, colour, rule_ids, since, ruleset, recheck_at)
            SELECT r.person_id, r.colour, r.rule_ids, r.since, r.ruleset, r.recheck_at
              FROM jsonb_to_recordset(making) AS r(person_id bigint, colour health_colour, rule_ids integer[],
                                                   since timestamptz, ruleset integer, recheck_at timestamptz)
            ON CONFLICT (person_id) DO NOTHING;
            GET DIAGNOSTICS m = ROW_COUNT;
            n := n + m;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_apply_by_shard(integer, bigint[], timestamptz[], boolean) IS
    'on Citus: evaluate and write a batch of people one shard at a time (internal)';

-- Brings people's materialised colours up to an instant: first colours at
-- registration, then every change that was due by then (re-check times and
-- rule set activations), in rounds, set-wise, each with the rule set in
-- force at its instant. ids NULL means everyone in [lo, hi].
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_advance(lo bigint, hi bigint, ids bigint[], upto timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
    SET work_mem = '64MB'
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    g record;
    total bigint := 0;
    any_due boolean;
    rounds integer := 0;
    q text;
    small boolean := ids IS NOT NULL AND cardinality(ids) <= 8;
    -- who is due: everyone in [lo, hi] (bulk batches: range scans), or the
    -- listed people (joined, so that long lists stay cheap; a short list by
    -- person_id = ANY, which Citus prunes to the people's shards, and on
    -- every table the query reads: hp_colour_apply)
    scope text := CASE WHEN ids IS NULL THEN 'true'
                       WHEN cardinality(ids) > 8 THEN 'x.person_id IN (SELECT unnest($3::bigint[]))'
                       ELSE 'x.person_id = ANY ($3::bigint[])' END;
    within text := CASE WHEN ids IS NOT NULL AND cardinality(ids) <= 8
                        THEN 'c.person_id = ANY ($3::bigint[])' ELSE 'true' END;
BEGIN
    PERFORM hp_colour_plans_on_cluster();
    LOOP
        any_due := false;
        rounds := rounds + 1;
        -- a bulk batch is planned for its actual range every time; the
        -- statement for a few people is prepared once per session and its
        -- generic plan kept (one person's index look-ups, whoever it is)
        IF small AND EXISTS (SELECT 1 FROM pg_prepared_statements p WHERE p.name = 'hp_colour_advance_few') THEN
            q := format('EXECUTE hp_colour_advance_few(%L, %L, %L, %L)', lo, hi, ids, upto);
        ELSE
            q := format($sql$
            WITH rs AS (
                SELECT s.version, s.activated_at,
                       lead(s.activated_at) OVER (ORDER BY s.version) AS next_at
                  FROM healthpass.colour_ruleset s
            ), due AS (
                SELECT x.person_id, greatest(x.since, least(x.recheck_at, nx.activated_at)) AS at
                  FROM healthpass.colour_current x
                  LEFT JOIN healthpass.colour_ruleset nx ON nx.version = x.ruleset + 1
                 WHERE x.person_id BETWEEN $1 AND $2 AND %1$s
                   AND (x.recheck_at <= $4 OR nx.activated_at <= $4)
                UNION ALL
                SELECT x.person_id, x.created_at
                  FROM healthpass.person x
                 WHERE x.person_id BETWEEN $1 AND $2 AND %1$s
                   AND NOT EXISTS (SELECT 1 FROM healthpass.colour_current c
                                    WHERE c.person_id = x.person_id AND c.person_id BETWEEN $1 AND $2
                                      AND %2$s)
            )
            SELECT rs.version,
                   min(due.person_id) AS lo, max(due.person_id) AS hi,
                   array_agg(due.person_id ORDER BY due.person_id) AS ids,
                   array_agg(due.at ORDER BY due.person_id) AS ats
              FROM due
              JOIN rs ON due.at >= rs.activated_at AND (rs.next_at IS NULL OR due.at < rs.next_at)
             GROUP BY rs.version
             ORDER BY rs.version
            $sql$, scope, within);
            IF small THEN
                EXECUTE format('PREPARE hp_colour_advance_few(bigint, bigint, bigint[], timestamptz) AS %s', q);
                q := format('EXECUTE hp_colour_advance_few(%L, %L, %L, %L)', lo, hi, ids, upto);
            END IF;
        END IF;
        FOR g IN EXECUTE q USING lo, hi, ids, upto
        LOOP
            any_due := true;
            total := total + hp_colour_apply(g.version, g.lo, g.hi, g.ids, g.ats, ids IS NOT NULL);
        END LOOP;
        -- a person whose colour changes by time alone very often is finished
        -- by the next call; nobody is ever left behind for good
        EXIT WHEN NOT any_due OR rounds >= 500;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_advance(bigint, bigint, bigint[], timestamptz) IS
    'materialise first colours and every due change up to an instant (internal)';

-- Re-colours people at an instant (now, or the instant a row trigger's
-- fact became known). Without force, only what is due (first colours,
-- re-checks, rule sets); with force (their inputs just changed), also a
-- fresh evaluation at that instant.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_refresh_at(ids bigint[], force boolean, at timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    lo bigint;
    hi bigint;
    g record;
    n bigint;
    pids bigint[];
    pats timestamptz[];
BEGIN
    SELECT min(x), max(x) INTO lo, hi FROM unnest(ids) x;
    IF lo IS NULL THEN
        RETURN 0;
    END IF;
    n := hp_colour_advance(lo, hi, ids, at);
    IF force THEN
        -- the people and their instants first, then the rule set of each
        -- instant: on Citus the first statement runs on the people's shard,
        -- where hp_ruleset_at (over a reference table) could not run a
        -- query of its own
        SELECT array_agg(c.person_id ORDER BY c.person_id), array_agg(greatest(hp_colour_refresh_at.at, c.since) ORDER BY c.person_id)
          INTO pids, pats
          FROM colour_current c
         WHERE c.person_id BETWEEN lo AND hi
           AND c.person_id IN (SELECT unnest(ids))
           AND (cardinality(ids) > 8 OR c.person_id = ANY (ids));
        FOR g IN
            SELECT hp_ruleset_at(t.at) AS version, min(t.person_id) AS lo, max(t.person_id) AS hi,
                   array_agg(t.person_id ORDER BY t.person_id) AS ids,
                   array_agg(t.at ORDER BY t.person_id) AS ats
              FROM unnest(pids, pats) t(person_id, at)
             GROUP BY 1
        LOOP
            n := n + hp_colour_apply(g.version, g.lo, g.hi, g.ids, g.ats, true);
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_refresh_at(bigint[], boolean, timestamptz) IS 're-colour people at an instant (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_refresh(ids bigint[], force boolean) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_colour_refresh_at(ids, force, now());
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_refresh(bigint[], boolean) IS 're-colour people now (internal)';

-- Row trigger: a declaration, result or mark of a person changed; re-colour
-- that person (and only that person) in the same transaction, at the instant
-- the row says the fact became known: the column named by the trigger's
-- first argument (an UPDATE: its second, when given), never later than now.
-- Through the API that column is now() of the statement, so this is now().
-- It matters on Citus: the trigger runs on the person's worker, whose now()
-- is the start of the worker's part of the distributed transaction, a little
-- later than the coordinator's, which the row's default was taken from; the
-- new period must begin at the instant the fact is dated (declared_at,
-- recorded_at, lifted_at), as it does on one node.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    col text := CASE WHEN TG_OP = 'UPDATE' AND TG_NARGS > 1 THEN TG_ARGV[1] ELSE TG_ARGV[0] END;
    known timestamptz;
BEGIN
    -- one branch a column, so no statement is planned on each row (PL/pgSQL
    -- plans a branch only when it runs, and these run on their tables only)
    IF col = 'declared_at' THEN
        known := NEW.declared_at;
    ELSIF col = 'recorded_at' THEN
        known := NEW.recorded_at;
    ELSIF col = 'lifted_at' THEN
        known := NEW.lifted_at;
    END IF;
    PERFORM hp_colour_refresh_at(ARRAY[NEW.person_id], true, least(coalesce(known, now()), now()));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recolour_trigger() IS 'row trigger: re-colour the person whose input changed';

CREATE OR REPLACE TRIGGER health_declaration_recolour AFTER INSERT ON health_declaration
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger('declared_at');
CREATE OR REPLACE TRIGGER test_result_recolour AFTER INSERT ON test_result
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger('recorded_at');
CREATE OR REPLACE TRIGGER risk_mark_recolour AFTER INSERT OR UPDATE ON risk_mark
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger('recorded_at', 'lifted_at');

-- Computes (without writing) the colour of one person at an instant.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_compute(pid bigint, at timestamptz,
                                  OUT colour health_colour, OUT rule_ids integer[], OUT recheck_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
AS $$
DECLARE
    q text;
BEGIN
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = hp_ruleset_at(at);
    EXECUTE format('SELECT e.colour, e.rule_ids, e.recheck_at FROM (%s) e', q)
       INTO colour, rule_ids, recheck_at
      USING pid, pid, ARRAY[pid], ARRAY[at];
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_compute(bigint, timestamptz) IS 'colour of a person at an instant, computed without writing (internal)';

CREATE OR REPLACE FUNCTION colour_status(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (colour health_colour, reasons text[], rule_ids integer[],
                   since timestamptz, until timestamptz, source text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_status.person_id);
    t timestamptz := hp_past_instant('instant', at);
    c colour_current;
    h colour_history;
    e record;
BEGIN
    SELECT * INTO c FROM colour_current x WHERE x.person_id = p.person_id;
    IF FOUND AND t >= c.since THEN
        IF (c.recheck_at IS NULL OR t < c.recheck_at) AND hp_ruleset_at(t) = c.ruleset THEN
            RETURN QUERY SELECT c.colour, hp_reasons(c.rule_ids), c.rule_ids, c.since, NULL::timestamptz, 'current';
            RETURN;
        END IF;
    ELSIF FOUND THEN
        SELECT * INTO h FROM colour_history x
         WHERE x.person_id = p.person_id AND x.since <= t
         ORDER BY x.since DESC LIMIT 1;
        IF FOUND AND t < h.until THEN
            RETURN QUERY SELECT h.colour, hp_reasons(h.rule_ids), h.rule_ids, h.since, h.until, 'history';
            RETURN;
        END IF;
    END IF;
    IF t < p.created_at THEN
        RETURN;     -- not registered yet: no colour
    END IF;
    e := hp_colour_compute(p.person_id, t);
    RETURN QUERY SELECT e.colour, hp_reasons(e.rule_ids), e.rule_ids, NULL::timestamptz, NULL::timestamptz, 'computed';
END
$$;
COMMENT ON FUNCTION healthpass.colour_status(bigint, timestamptz) IS
    'colour of a person at an instant (default now) with reasons and, when known, the period; no row before registration';

CREATE OR REPLACE FUNCTION colour_at(person_id bigint, at timestamptz) RETURNS health_colour
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.colour FROM colour_status(person_id, at) s
$$;
COMMENT ON FUNCTION healthpass.colour_at(bigint, timestamptz) IS
    'the colour a person had at an instant (NULL before registration)';

-- A person's periods overlapping [from_at, to_at], oldest first, after
-- materialising everything due up to now.
CREATE OR REPLACE FUNCTION colour_history(person_id bigint,
                               from_at timestamptz DEFAULT '-infinity', to_at timestamptz DEFAULT 'infinity')
    RETURNS TABLE (since timestamptz, until timestamptz, colour health_colour, reasons text[],
                   rule_ids integer[], ruleset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_history.person_id);
    r record;
BEGIN
    IF from_at IS NULL OR to_at IS NULL OR from_at > to_at THEN
        RAISE EXCEPTION 'period "%" to "%" is not valid', from_at, to_at
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'The period starts before it ends.';
    END IF;
    PERFORM hp_colour_refresh(ARRAY[p.person_id], false);
    -- the periods first, then each one's reasons: on Citus the periods are
    -- read on the person's shard, where hp_reasons (over colour_rule, a
    -- reference table) could not run a query of its own
    FOR r IN
        SELECT h.since, h.until, h.colour, h.rule_ids, h.ruleset
          FROM colour_history h
         WHERE h.person_id = p.person_id AND h.until > from_at AND h.since <= to_at
        UNION ALL
        SELECT c.since, NULL, c.colour, c.rule_ids, c.ruleset
          FROM colour_current c
         WHERE c.person_id = p.person_id AND c.since <= to_at
        ORDER BY 1
    LOOP
        since := r.since;
        until := r.until;
        colour := r.colour;
        reasons := hp_reasons(r.rule_ids);
        rule_ids := r.rule_ids;
        ruleset := r.ruleset;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.colour_history(bigint, timestamptz, timestamptz) IS
    'a person''s colour periods overlapping a time span, oldest first; the current one has until NULL';

-- The colour now with everything an app page shows next to it.
CREATE OR REPLACE FUNCTION health_status(person_id bigint)
    RETURNS TABLE (colour health_colour, meaning text, reasons text[], since timestamptz,
                   declaration_valid_until timestamptz, latest_result text,
                   latest_sampled_at timestamptz, last_negative_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(health_status.person_id);
    c colour_current;
    declared_until timestamptz;
    result_now text;
    result_sampled_at timestamptz;
    negative_at timestamptz;
BEGIN
    PERFORM hp_colour_refresh(ARRAY[p.person_id], false);
    SELECT * INTO STRICT c FROM colour_current x WHERE x.person_id = p.person_id;
    -- one statement per table: on Citus a statement over one person's rows
    -- runs whole on the person's shard, where a function reading another
    -- table (hp_recent_samples) could not run a query of its own
    SELECT d.valid_until INTO declared_until FROM health_declaration d
     WHERE d.person_id = p.person_id AND d.declared_at <= now()
     ORDER BY d.declared_at DESC, d.declaration_id DESC LIMIT 1;
    -- the latest sample and the last negative one, from one reading
    SELECT (array_agg(s.result ORDER BY s.sampled_at DESC, s.institution, s.sample_ref))[1],
           max(s.sampled_at), max(s.sampled_at) FILTER (WHERE s.result = 'negative')
      INTO result_now, result_sampled_at, negative_at
      FROM hp_recent_samples(p.person_id, now()) s;
    RETURN QUERY
        SELECT c.colour, colour_meaning(c.colour), hp_reasons(c.rule_ids), c.since,
               declared_until, result_now, result_sampled_at, negative_at;
END
$$;
COMMENT ON FUNCTION healthpass.health_status(bigint) IS
    'the colour now, its meaning, reasons and since, the declaration''s end, the latest result and last negative test';

-- Materialises every change whose instant has passed (declarations lapsing,
-- marks starting and ending, tests leaving the window), for at most
-- max_people people at a time; returns the number of colours that changed.
-- Schedule it every minute (pg_cron: SELECT cron.schedule('healthpass-tick',
-- '* * * * *', 'SELECT healthpass.colour_tick()')).
CREATE OR REPLACE FUNCTION colour_tick(max_people integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    ids bigint[];
    n bigint := 0;
BEGIN
    IF max_people IS NULL OR max_people NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'max_people % is out of range', max_people
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A tick handles 1 to 1000000 people.';
    END IF;
    IF NOT hp_distributed() THEN
        SELECT array_agg(x.person_id) INTO ids FROM (
            SELECT c.person_id FROM colour_current c
             WHERE c.recheck_at <= now()
             ORDER BY c.recheck_at
             LIMIT max_people
               FOR UPDATE SKIP LOCKED) x;
    ELSE
        -- on Citus the people due are on every shard, and Citus locks rows
        -- of one shard a statement only: they are read without a lock, and
        -- the re-colouring locks each shard's people (hp_colour_apply_by_shard).
        -- Two ticks at once then wait for each other instead of skipping;
        -- the second finds the work done (each write re-checks the row).
        SELECT array_agg(x.person_id) INTO ids FROM (
            SELECT c.person_id FROM colour_current c
             WHERE c.recheck_at <= now()
             ORDER BY c.recheck_at
             LIMIT max_people) x;
    END IF;
    IF ids IS NOT NULL THEN
        n := hp_colour_refresh(ids, false);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.colour_tick(integer) IS
    'materialise colour changes whose time has come (schedule every minute); returns how many colours changed';

-- The chunk size of jobs queued by rule changes.
CREATE OR REPLACE FUNCTION recolour_chunk_size() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 50000;
COMMENT ON FUNCTION healthpass.recolour_chunk_size() IS 'people per chunk of a re-colouring job (50000)';

-- Queues a job for rule set version v, cut into chunks; unfinished older
-- jobs are superseded (the new job brings everyone to the newest rules).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_job_for(v integer, chunk integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id bigint;
    job_note text;
BEGIN
    LOCK TABLE recolour_job IN SHARE ROW EXCLUSIVE MODE;
    UPDATE recolour_job j SET state = 'superseded', finished_at = now()
     WHERE j.state = 'queued' AND j.version < v;
    SELECT j.job_id INTO id FROM recolour_job j WHERE j.state = 'queued' AND j.version = v;
    IF FOUND THEN
        RETURN id;
    END IF;
    -- the note is read first: Citus takes no subquery in an INSERT's VALUES
    SELECT s.note INTO job_note FROM colour_ruleset s WHERE s.version = v;
    INSERT INTO recolour_job AS j (version, note)
    VALUES (v, job_note)
    RETURNING j.job_id INTO id;
    -- the last chunk is open-ended: people registered meanwhile are in it
    INSERT INTO recolour_chunk (job_id, chunk_no, lo, hi, people)
    SELECT id, b.n + 1, min(b.person_id),
           CASE WHEN b.n = max(b.n) OVER () THEN 9223372036854775807 ELSE max(b.person_id) END,
           count(*)
      FROM (SELECT p.person_id, (row_number() OVER (ORDER BY p.person_id) - 1) / chunk AS n
              FROM person p) b
     GROUP BY b.n;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recolour_job_for(integer, integer) IS 'queue a re-colouring job for a rule set version (internal)';

CREATE OR REPLACE FUNCTION recolour_start(chunk_size integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF chunk_size IS NULL OR chunk_size NOT BETWEEN 100 AND 1000000 THEN
        RAISE EXCEPTION 'chunk size % is out of range', chunk_size
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A chunk has 100 to 1000000 people.';
    END IF;
    RETURN hp_recolour_job_for((hp_current_ruleset(false)).version, chunk_size);
END
$$;
COMMENT ON FUNCTION healthpass.recolour_start(integer) IS
    'queue (or find) the job that brings everyone to the rules in force; returns its id';

-- Progress of one job, from its chunks.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_job_progress(id bigint,
    OUT done bigint, OUT total bigint, OUT changed bigint, OUT started_at timestamptz, OUT last_done_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT coalesce(sum(c.people) FILTER (WHERE c.state = 'done'), 0)::bigint,
           coalesce(sum(c.people), 0)::bigint,
           coalesce(sum(c.changed), 0)::bigint,
           min(c.started_at), max(c.done_at)
      FROM recolour_chunk c WHERE c.job_id = id
$$;
COMMENT ON FUNCTION healthpass_internal.hp_job_progress(bigint) IS 'people done, total and colours changed of a job (internal)';

-- One unit of work on a job: the next queued chunk, or when none is left
-- the final sweep. finished is true when this caller found nothing more to
-- do (the job is done, superseded, or its last chunks are being worked on
-- by other sessions).
CREATE OR REPLACE FUNCTION recolour_step(job bigint)
    RETURNS TABLE (job_id bigint, state text, done bigint, total bigint, changed bigint, finished boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    j recolour_job;
    c recolour_chunk;
    ids bigint[];
    n bigint;
    pr record;
    more boolean := true;
BEGIN
    SELECT * INTO j FROM recolour_job x WHERE x.job_id = recolour_step.job;
    IF NOT FOUND THEN
        RAISE EXCEPTION 're-colouring job % does not exist', recolour_step.job
            USING ERRCODE = 'no_data_found', DETAIL = 'Jobs are named by the id recolour_start returned.';
    END IF;
    IF j.state = 'queued' THEN
        SELECT * INTO c FROM recolour_chunk x
         WHERE x.job_id = j.job_id AND x.state = 'queued'
         ORDER BY x.chunk_no LIMIT 1
           FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            UPDATE recolour_chunk x SET started_at = clock_timestamp()
             WHERE x.job_id = c.job_id AND x.chunk_no = c.chunk_no;
            n := hp_colour_advance(c.lo, c.hi, NULL, now());
            UPDATE recolour_chunk x SET state = 'done', changed = n, done_at = clock_timestamp()
             WHERE x.job_id = c.job_id AND x.chunk_no = c.chunk_no;
        ELSIF EXISTS (SELECT 1 FROM recolour_chunk x WHERE x.job_id = j.job_id AND x.state = 'queued') THEN
            more := false;      -- the remaining chunks are in other sessions' hands
        ELSE
            SELECT array_agg(x.person_id) INTO ids FROM (
                SELECT cc.person_id FROM colour_current cc
                 WHERE cc.ruleset < j.version ORDER BY cc.person_id LIMIT 10000) x;
            IF ids IS NOT NULL THEN
                n := hp_colour_refresh(ids, false);
                UPDATE recolour_chunk x SET changed = x.changed + n
                 WHERE x.job_id = j.job_id
                   AND x.chunk_no = (SELECT max(y.chunk_no) FROM recolour_chunk y WHERE y.job_id = j.job_id);
            ELSE
                UPDATE recolour_job x SET state = 'done', finished_at = clock_timestamp()
                 WHERE x.job_id = j.job_id AND x.state = 'queued'
                RETURNING * INTO j;
                more := false;
            END IF;
        END IF;
    ELSE
        more := false;
    END IF;
    SELECT * INTO j FROM recolour_job x WHERE x.job_id = recolour_step.job;
    pr := hp_job_progress(j.job_id);
    RETURN QUERY SELECT j.job_id, j.state, pr.done, pr.total, pr.changed, NOT more;
END
$$;
COMMENT ON FUNCTION healthpass.recolour_step(bigint) IS
    'run one chunk of a re-colouring job (several sessions may run steps at once); returns progress and whether this caller is finished';

-- Progress of jobs (default: the queued ones and the latest finished one).
CREATE OR REPLACE FUNCTION recolour_progress(job bigint DEFAULT NULL)
    RETURNS TABLE (job_id bigint, version integer, note text, state text, done bigint, total bigint,
                   percent numeric, changed bigint, created_at timestamptz, started_at timestamptz,
                   finished_at timestamptz, people_per_second numeric)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT j.job_id, j.version, j.note, j.state, p.done, p.total,
           round(100.0 * p.done / greatest(p.total, 1), 1),
           p.changed, j.created_at, p.started_at, j.finished_at,
           round(p.done / nullif(extract(epoch FROM coalesce(j.finished_at, p.last_done_at) - p.started_at), 0))
      FROM recolour_job j
     CROSS JOIN LATERAL hp_job_progress(j.job_id) p
     WHERE CASE WHEN recolour_progress.job IS NOT NULL THEN j.job_id = recolour_progress.job
                ELSE j.state = 'queued'
                     OR j.job_id = (SELECT max(d.job_id) FROM recolour_job d WHERE d.state = 'done') END
     ORDER BY j.job_id
$$;
COMMENT ON FUNCTION healthpass.recolour_progress(bigint) IS
    'progress of re-colouring jobs: people done of total, percent, colours changed, rate';

-- Runs the job to the rules in force in this transaction, reporting each
-- chunk as a NOTICE. For small installations and tests; large ones use
-- recolour_run, which commits after every chunk.
CREATE OR REPLACE FUNCTION recolour_all() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id bigint := recolour_start();
    r record;
BEGIN
    LOOP
        SELECT * INTO r FROM recolour_step(id);
        RAISE NOTICE 're-colouring job %: % of % people (% %%), % colour changes',
            r.job_id, r.done, r.total, round(100.0 * r.done / greatest(r.total, 1), 1), r.changed;
        EXIT WHEN r.finished;
    END LOOP;
    RETURN r.changed;
END
$$;
COMMENT ON FUNCTION healthpass.recolour_all() IS
    'run the re-colouring job to the rules in force in this transaction (NOTICE per chunk); returns colours changed';

-- Works on a job chunk by chunk, committing after each, so other sessions
-- see the progress (recolour_progress) and finished chunks survive an
-- interruption; run it in several sessions at once to use several cores.
-- CALL it outside a transaction block. SECURITY INVOKER: it only calls the
-- granted functions.
CREATE OR REPLACE PROCEDURE recolour_run(job bigint DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    id bigint := job;
    r record;
BEGIN
    IF id IS NULL THEN
        id := healthpass.recolour_start();
        COMMIT;
    END IF;
    LOOP
        SELECT * INTO r FROM healthpass.recolour_step(id);
        RAISE NOTICE 're-colouring job %: % of % people (% %%), % colour changes',
            r.job_id, r.done, r.total, round(100.0 * r.done / greatest(r.total, 1), 1), r.changed;
        COMMIT;
        EXIT WHEN r.finished;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE healthpass.recolour_run(bigint) IS
    'CALL outside a transaction: work on a re-colouring job (default: to the rules in force), committing after each chunk';

-- Re-colours at once the people whose declaration in force lists a place
-- in (or containing) the given area; NOTICE per batch. Internal: called by
-- declare_risk_area and lift_risk_area, which hold off new declarations.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_place(area text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    ids bigint[];
    batch bigint[];
    i integer := 1;
    total integer;
    n bigint := 0;
BEGIN
    SELECT array_agg(DISTINCT d.person_id ORDER BY d.person_id) INTO ids
      FROM health_declaration d
     WHERE d.valid_until > now() AND cardinality(d.travel_places) > 0
       AND EXISTS (SELECT 1 FROM unnest(d.travel_places) pl WHERE starts_with(pl, area));
    total := coalesce(cardinality(ids), 0);
    WHILE i <= total LOOP
        batch := ids[i : i + 9999];
        n := n + hp_colour_refresh(batch, true);
        i := i + 10000;
        RAISE NOTICE 'risk area "%": % of % people re-coloured, % colour changes',
            area, least(i - 1, total), total, n;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recolour_place(text) IS 're-colour the people a risk area affects (internal)';

-- Scanners learn a colour only from what a person shows them (a code, or
-- name + ID number + phone at a manual check), never by person id: like
-- health_status, the colour functions are not theirs.
GRANT EXECUTE ON FUNCTION
    healthpass.colour_status(bigint, timestamptz),
    healthpass.colour_at(bigint, timestamptz)
    TO healthpass_app, healthpass_health, healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_history(bigint, timestamptz, timestamptz),
    healthpass.health_status(bigint)
    TO healthpass_app, healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_tick(integer),
    healthpass.recolour_start(integer),
    healthpass.recolour_step(bigint),
    healthpass.recolour_all()
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.recolour_progress(bigint) TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON PROCEDURE healthpass.recolour_run(bigint) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.recolour_chunk_size() TO healthpass_admin, healthpass_report;
