-- 54_rules.sql: colour rules as data.
--
-- The colour of a person at an instant is computed from FACTS, a fixed set
-- of named, typed values derived from what was known at that instant
-- (declarations, results and marks recorded by then, risk areas in force).
-- A RULE says: when this condition on the facts holds, the colour is at
-- least this, for this reason. The worst colour of all matching rules wins;
-- the reasons are those of the matching rules of that colour, in priority
-- order. When no rule matches the colour is yellow ("no colour rule applies:
-- check the person"), so a gap in the rules never lets anyone through.
--
-- Conditions are JSON, not SQL. An administrator writes e.g.
--   {"fact": "temperature", "op": ">=", "value": 37.3}
--   {"all": [{"fact": "travel_history"}, {"not": {"fact": "last_negative_at", "op": "within", "value": "3 days"}}]}
-- The extension checks every fact name against the catalogue, every
-- operator against the fact's type, every value against that type, and
-- compiles the whole rule set into ONE SQL expression per rule, with values
-- only ever as quoted, typed literals. No text an administrator writes is
-- ever run as SQL, so a rule cannot read other tables, call functions or
-- change data; it can only be wrong about health, which the reasons make
-- visible. The compiled rule set is evaluated set-wise over any number of
-- people in one statement.
--
-- Rules are never changed in place. Every change (add, replace, retire)
-- makes a new RULE SET VERSION: the list of rule ids in force, its compiled
-- SQL and the instant it was activated. Colours at any past instant are
-- computed with the version then in force, and a colour's rule ids always
-- name the rules (and reason texts) that produced it.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The compiled query of a list of rules, over the facts query pasted in
-- (hp_colour_facts_sql). Parameters: $1 lo, $2 hi, $3 ids, $4 ats (as
-- colour_facts). Columns: person_id, at, colour, rule_ids (the
-- matching rules of the winning colour, by priority), recheck_at (the next
-- instant the answer may change by time alone).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_compile_ruleset(rule_ids integer[]) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r record;
    c record;
    bounds text[] := '{}';
    colour_terms text[] := '{}';
    lists text := '';
    cases text := '';
    members text[];
BEGIN
    FOR r IN SELECT cr.* FROM colour_rule cr
              WHERE cr.rule_id = ANY (rule_ids)
              ORDER BY cr.priority, cr.rule_id LOOP
        c := hp_compile_condition(r.condition, format('rule %s', r.rule_id), 1, 0, '{}');
        bounds := bounds || c.boundaries;
        colour_terms := colour_terms
            || format('CASE WHEN %s THEN %L::healthpass.health_colour END', c.sql, r.colour);
    END LOOP;
    FOR c IN SELECT e.colour FROM unnest(enum_range(NULL::health_colour)) AS e(colour) LOOP
        SELECT array_agg(format('CASE WHEN %s THEN %s END',
                                (hp_compile_condition(cr.condition, '$', 1, 0, '{}')).sql, cr.rule_id)
                         ORDER BY cr.priority, cr.rule_id)
          INTO members
          FROM colour_rule cr
         WHERE cr.rule_id = ANY (rule_ids) AND cr.colour = c.colour;
        lists := lists || format(E',\n           %s AS %I',
            CASE WHEN members IS NULL THEN '''{}''::integer[]'
                 ELSE format('array_remove(ARRAY[%s]::integer[], NULL)', array_to_string(members, ', ')) END,
            'r_' || c.colour);
        cases := cases || format(' WHEN %L THEN x.%I', c.colour, 'r_' || c.colour);
    END LOOP;
    RETURN format(
        E'SELECT f.person_id, f.at, x.colour,\n'
        '       CASE x.colour%s END AS rule_ids,\n'
        '       LEAST(%s) AS recheck_at\n'
        '  FROM (%s) f\n'
        '  CROSS JOIN LATERAL (\n'
        '    SELECT %s AS colour%s\n'
        '  ) x',
        cases,
        array_to_string(ARRAY['f.next_change']
            || ARRAY(SELECT format('CASE WHEN %s > f.at THEN %s END', b, b) FROM unnest(bounds) b), ', '),
        hp_colour_facts_sql(),
        CASE WHEN cardinality(colour_terms) = 0 THEN '''yellow''::healthpass.health_colour'
             ELSE format('coalesce(GREATEST(%s), ''yellow'')', array_to_string(colour_terms, E',\n             ')) END,
        lists);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_compile_ruleset(integer[]) IS 'compiles a list of rules into one set-wise query (internal)';


-- The facts of people at instants, from what had been recorded by each
-- instant. ids and ats are parallel arrays (person, instant); lo and hi
-- bound the person ids so that each table is read by an index range (bulk
-- batches pass contiguous ids). next_change is the earliest later instant
-- at which a fact changes by time alone (a declaration lapses, a mark
-- starts or ends, a test leaves the 14-day window).
-- The foreign_* facts come from HC1 certificates verified and recorded by
-- record_hc1 (hc1_record, sql/schema/80_hc1.sql), recognised_green_at from
-- transfers imported from a trusted partner (received_transfer,
-- sql/schema/78_transfer.sql): later domains; the function is not parsed
-- when the extension script creates it.
-- A short list (a declaration, a result, a code: at most 8 people) also
-- names its people with person_id = ANY (ids): once the planner has folded
-- the arguments into constants, that is the condition Citus prunes hash
-- shards by, so one person's facts are read on that person's shard only
-- (and from a row trigger on that shard, locally: doc/citus.md). A bulk
-- batch keeps to the range; the extra condition folds away.
-- The text of the facts query: $1 lo, $2 hi, $3 ids, $4 ats. The compiler
-- pastes it into every compiled rule set as a subquery (hp_compile_ruleset)
-- and colour_facts() runs it. It is pasted rather than called as an inlined
-- SQL function because Citus cannot plan a query into which the planner
-- inlined a SQL function over distributed tables ("parameterized queries
-- for SQL functions referencing distributed tables are not supported"); as
-- a subquery it plans the same on PostgreSQL and Citus routes it like any
-- other query (doc/citus.md).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_facts_sql() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $f$
    SELECT $q$    WITH req AS MATERIALIZED (
        SELECT r.person_id, r.at FROM unnest($3, $4) AS r(person_id, at)
    ), decl AS (
        SELECT DISTINCT ON (d.person_id)
               d.person_id, d.valid_until > r.at AS valid, d.valid_until,
               d.fever_today, d.contact_14d, d.travel_places, d.destination_city, d.temperature
          FROM healthpass.health_declaration d
          JOIN req r ON r.person_id = d.person_id
         WHERE d.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR d.person_id = ANY ($3))
           AND d.declared_at <= r.at
         ORDER BY d.person_id, d.declared_at DESC, d.declaration_id DESC
    ), sample AS (
        SELECT DISTINCT ON (t.person_id, t.institution, t.sample_ref)
               t.person_id, t.sampled_at, t.result
          FROM healthpass.test_result t
          JOIN req r ON r.person_id = t.person_id
         WHERE t.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR t.person_id = ANY ($3))
           AND t.recorded_at <= r.at
           AND t.sampled_at <= r.at AND t.sampled_at > r.at - healthpass.result_window()
         ORDER BY t.person_id, t.institution, t.sample_ref, t.recorded_at DESC, t.result_id DESC
    ), res AS (
        SELECT s.person_id,
               (array_agg(s.result ORDER BY s.sampled_at DESC, s.result))[1] AS latest_result,
               max(s.sampled_at) FILTER (WHERE s.result = 'negative') AS last_negative_at,
               min(s.sampled_at) + healthpass.result_window() AS leaves_window
          FROM sample s
         GROUP BY s.person_id
    ), mark AS (
        SELECT m.person_id,
               bool_or(m.kind = 'confirmed' AND m.valid_from <= r.at) AS confirmed,
               bool_or(m.kind = 'suspected' AND m.valid_from <= r.at) AS suspected,
               bool_or(m.kind = 'close_contact' AND m.valid_from <= r.at) AS close_contact,
               bool_or(m.kind = 'secondary_contact' AND m.valid_from <= r.at) AS secondary_contact,
               bool_or(m.kind = 'risk_area_arrival' AND m.valid_from <= r.at) AS risk_area_arrival,
               least(min(m.valid_from) FILTER (WHERE m.valid_from > r.at),
                     min(m.valid_until)) AS next_change
          FROM healthpass.risk_mark m
          JOIN req r ON r.person_id = m.person_id
         WHERE m.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR m.person_id = ANY ($3))
           AND m.recorded_at <= r.at
           AND (m.lifted_at IS NULL OR m.lifted_at > r.at)
           AND (m.valid_until IS NULL OR m.valid_until > r.at)
         GROUP BY m.person_id
    ), hc1 AS (
        SELECT h.person_id,
               max(h.sampled_at) FILTER (WHERE h.kind = 'test' AND h.test_type = 'naat' AND h.result = 'negative'
                                           AND h.sampled_at <= r.at
                                           AND h.sampled_at > r.at - healthpass.result_window()) AS negative_at,
               bool_or(h.kind = 'vaccination' AND h.dose_number >= h.dose_total) AS vaccination_complete
          FROM healthpass.hc1_record h
          JOIN req r ON r.person_id = h.person_id
         WHERE h.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR h.person_id = ANY ($3))
           AND h.recorded_at <= r.at
         GROUP BY h.person_id
    ), recognised AS (
        SELECT t.person_id, max(t.colour_at) FILTER (WHERE t.colour_at <= r.at) AS green_at
          FROM healthpass.received_transfer t
          JOIN req r ON r.person_id = t.person_id
         WHERE t.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR t.person_id = ANY ($3))
           AND t.received_at <= r.at AND t.colour = 'green'
         GROUP BY t.person_id
    )
    SELECT r.person_id AS person_id, r.at AS at,
           decl.person_id IS NOT NULL AS has_declaration,
           coalesce(decl.valid, false) AS declaration_valid,
           coalesce(NOT decl.valid, false) AS declaration_expired,
           coalesce(decl.valid AND decl.fever_today, false) AS fever_today,
           coalesce(decl.valid AND decl.contact_14d, false) AS contact_history,
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0, false) AS travel_history,
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0 AND EXISTS (
               SELECT 1 FROM unnest(decl.travel_places) AS pl(place)
                 JOIN healthpass.risk_area a ON starts_with(pl.place, a.place)
                WHERE a.declared_at <= r.at AND (a.lifted_at IS NULL OR a.lifted_at > r.at)), false) AS travel_risk_area,
           CASE WHEN decl.valid THEN decl.temperature END AS temperature,
           CASE WHEN decl.valid THEN decl.destination_city END AS destination_city,
           res.latest_result AS latest_result,
           res.last_negative_at AS last_negative_at,
           coalesce(mark.confirmed, false) AS mark_confirmed,
           coalesce(mark.suspected, false) AS mark_suspected,
           coalesce(mark.close_contact, false) AS mark_close_contact,
           coalesce(mark.secondary_contact, false) AS mark_secondary_contact,
           coalesce(mark.risk_area_arrival, false) AS mark_risk_area_arrival,
           hc1.negative_at AS foreign_negative_at,
           coalesce(hc1.vaccination_complete, false) AS foreign_vaccination_complete,
           recognised.green_at AS recognised_green_at,
           least(CASE WHEN decl.valid THEN decl.valid_until END, res.leaves_window, mark.next_change,
                 hc1.negative_at + healthpass.result_window()) AS next_change
      FROM req r
      LEFT JOIN decl ON decl.person_id = r.person_id
      LEFT JOIN res ON res.person_id = r.person_id
      LEFT JOIN mark ON mark.person_id = r.person_id
      LEFT JOIN hc1 ON hc1.person_id = r.person_id
      LEFT JOIN recognised ON recognised.person_id = r.person_id$q$::text
$f$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_facts_sql() IS
    'the text of the facts query, pasted into compiled rule sets and run by colour_facts (internal)';

-- Internal: the facts query as a function (tests and investigations).
CREATE OR REPLACE FUNCTION healthpass_internal.colour_facts(lo bigint, hi bigint, ids bigint[], ats timestamptz[])
    RETURNS TABLE (person_id bigint, at timestamptz,
                   has_declaration boolean, declaration_valid boolean, declaration_expired boolean,
                   fever_today boolean, contact_history boolean, travel_history boolean,
                   travel_risk_area boolean, temperature numeric, destination_city text,
                   latest_result text, last_negative_at timestamptz,
                   mark_confirmed boolean, mark_suspected boolean, mark_close_contact boolean,
                   mark_secondary_contact boolean, mark_risk_area_arrival boolean,
                   foreign_negative_at timestamptz, foreign_vaccination_complete boolean,
                   recognised_green_at timestamptz,
                   next_change timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN QUERY EXECUTE healthpass_internal.hp_colour_facts_sql() USING lo, hi, ids, ats;
END
$$;
COMMENT ON FUNCTION healthpass_internal.colour_facts(bigint, bigint, bigint[], timestamptz[]) IS
    'facts of people at instants from what was recorded by then (internal; its query is pasted into compiled rule sets)';

-- Compiles one condition into a boolean SQL expression over the facts row
-- "f". Appends the instants at which a time-window test changes its answer
-- to boundaries. Raises 22023 for anything not in the grammar and 54000 when
-- it is too deep or too large.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_compile_condition(cond jsonb, path text, depth integer,
                                     INOUT nodes integer, INOUT boundaries text[],
                                     OUT sql text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    key text;
    keys text[];
    fact colour_fact;
    op text;
    val jsonb;
    parts text[] := '{}';
    sub record;
    i integer;
    lit text;
    iv interval;
    col text;
BEGIN
    nodes := nodes + 1;
    IF depth > 10 THEN
        RAISE EXCEPTION 'condition is nested deeper than 10 levels at %', path
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'Write a flatter condition with "all" or "any".';
    END IF;
    IF nodes > 100 THEN
        RAISE EXCEPTION 'condition has more than 100 parts at %', path
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'Split the condition into several rules.';
    END IF;
    IF cond IS NULL OR jsonb_typeof(cond) = 'null' THEN
        RAISE EXCEPTION 'condition at % is missing', path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    IF jsonb_typeof(cond) = 'boolean' THEN
        sql := CASE WHEN cond::text = 'true' THEN 'true' ELSE 'false' END;
        RETURN;
    END IF;
    IF jsonb_typeof(cond) <> 'object' THEN
        RAISE EXCEPTION 'condition % at % is not an object', hp_quote(cond::text), path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    SELECT array_agg(k ORDER BY k) INTO keys FROM jsonb_object_keys(cond) k;

    IF keys = ARRAY['all'] OR keys = ARRAY['any'] THEN
        key := keys[1];
        IF jsonb_typeof(cond->key) <> 'array' OR jsonb_array_length(cond->key) = 0 THEN
            RAISE EXCEPTION '"%" at % needs a non-empty array of conditions', key, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Write {"%s": [condition, ...]}.', key);
        END IF;
        FOR i IN 0 .. jsonb_array_length(cond->key) - 1 LOOP
            sub := hp_compile_condition(cond->key->i, format('%s.%s[%s]', path, key, i), depth + 1, nodes, boundaries);
            nodes := sub.nodes;
            boundaries := sub.boundaries;
            parts := parts || sub.sql;
        END LOOP;
        sql := '(' || array_to_string(parts, CASE key WHEN 'all' THEN ' AND ' ELSE ' OR ' END) || ')';
        RETURN;
    END IF;
    IF keys = ARRAY['not'] THEN
        sub := hp_compile_condition(cond->'not', path || '.not', depth + 1, nodes, boundaries);
        nodes := sub.nodes;
        boundaries := sub.boundaries;
        sql := '(NOT ' || sub.sql || ')';
        RETURN;
    END IF;
    IF NOT ('fact' = ANY (keys)) OR NOT keys <@ ARRAY['fact', 'op', 'value'] THEN
        RAISE EXCEPTION 'condition % at % is not understood', hp_quote(cond::text), path
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A condition is {"fact": name, "op": operator, "value": value}, {"all": [...]}, {"any": [...]}, {"not": condition}, true or false.';
    END IF;

    SELECT * INTO fact FROM colour_fact c WHERE c.name = cond->>'fact';
    IF NOT FOUND OR jsonb_typeof(cond->'fact') <> 'string' THEN
        RAISE EXCEPTION 'unknown fact "%" at %', hp_quote(cond->>'fact'), path
            USING ERRCODE = 'invalid_parameter_value',
                  -- the catalogue's names no longer fit a detail of 300 characters
                  DETAIL = format('A condition names one of the %s facts colour_facts_catalogue() lists.',
                                  (SELECT count(*) FROM colour_fact c));
    END IF;
    col := 'f.' || quote_ident(fact.name);
    op := cond->>'op';
    val := cond->'value';
    IF op IS NULL THEN
        IF fact.type <> 'boolean' OR cond ? 'value' THEN
            RAISE EXCEPTION 'fact "%" at % needs an operator', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Only a boolean fact may stand alone, meaning "is true".';
        END IF;
        sql := format('coalesce(%s, false)', col);
        RETURN;
    END IF;
    IF op IN ('is_missing', 'is_present') THEN
        IF cond ? 'value' THEN
            RAISE EXCEPTION 'operator "%" at % takes no value', hp_quote(op), path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Write {"fact": name, "op": "is_missing"} or "is_present".';
        END IF;
        sql := format('(%s IS %sNULL)', col, CASE op WHEN 'is_present' THEN 'NOT ' ELSE '' END);
        RETURN;
    END IF;
    IF NOT cond ? 'value' THEN
        RAISE EXCEPTION 'operator "%" at % needs a value', hp_quote(op), path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Write {"fact": name, "op": operator, "value": value}.';
    END IF;

    CASE fact.type
    WHEN 'boolean' THEN
        IF op NOT IN ('=', '<>') OR jsonb_typeof(val) <> 'boolean' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to true or false', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        sql := format('coalesce(%s %s %s, false)', col, op, val::text);
    WHEN 'numeric' THEN
        IF op NOT IN ('=', '<>', '<', '<=', '>', '>=') OR jsonb_typeof(val) <> 'number' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with =, <>, <, <=, > or >= to a number', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        sql := format('coalesce(%s %s %L::numeric, false)', col, op, (val #>> '{}')::numeric);
    WHEN 'text' THEN
        IF op IN ('=', '<>') AND jsonb_typeof(val) = 'string' THEN
            IF length(val #>> '{}') > 200 THEN
                RAISE EXCEPTION 'value at % is too long', path
                    USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A text value has at most 200 characters.';
            END IF;
            PERFORM hp_text(format('value at %s', path), val #>> '{}', 200);
            sql := format('coalesce(%s %s %L::text, false)', col, op, val #>> '{}');
        ELSIF op IN ('in', 'not_in') AND jsonb_typeof(val) = 'array' AND jsonb_array_length(val) > 0
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(val) e WHERE jsonb_typeof(e) <> 'string') THEN
            IF jsonb_array_length(val) > 50 THEN
                RAISE EXCEPTION 'value list at % has % entries', path, jsonb_array_length(val)
                    USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A value list has at most 50 entries.';
            END IF;
            PERFORM hp_text(format('value at %s[%s]', path, o - 1), e, 200)
               FROM jsonb_array_elements_text(val) WITH ORDINALITY AS x(e, o);
            SELECT string_agg(quote_literal(e), ', ' ORDER BY o) INTO lit
              FROM jsonb_array_elements_text(val) WITH ORDINALITY AS x(e, o);
            sql := format('%scoalesce(%s = ANY (ARRAY[%s]::text[]), false)',
                          CASE op WHEN 'not_in' THEN 'NOT ' ELSE '' END, col, lit);
        ELSE
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to a string, or with in or not_in to a list of strings', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
    WHEN 'timestamptz' THEN
        IF op NOT IN ('within', 'not_within') OR jsonb_typeof(val) <> 'string' THEN
            RAISE EXCEPTION 'fact "%" at % is tested with within or not_within and an interval such as "3 days"', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        BEGIN
            iv := (val #>> '{}')::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            RAISE EXCEPTION 'interval "%" at % is not valid', hp_quote(val #>> '{}'), path
                USING ERRCODE = 'invalid_datetime_format', DETAIL = 'Write an interval such as "72 hours" or "7 days".';
        END;
        IF iv <= interval '0' OR iv > interval '366 days' THEN
            RAISE EXCEPTION 'interval "%" at % is out of range', hp_quote(val #>> '{}'), path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A time window is longer than zero and at most 366 days.';
        END IF;
        sql := format('%scoalesce(%s > f.at - %L::interval, false)',
                      CASE op WHEN 'not_within' THEN 'NOT ' ELSE '' END, col, iv);
        boundaries := boundaries || format('%s + %L::interval', col, iv);
    END CASE;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_compile_condition(jsonb, text, integer, integer, text[]) IS
    'checks a rule condition and compiles it to SQL over the facts row f (internal)';

-- The SQL a condition compiles to: for administrators who want to see it.
CREATE OR REPLACE FUNCTION colour_condition_sql(condition jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN (hp_compile_condition(condition, '$', 1, 0, '{}')).sql;
END
$$;
COMMENT ON FUNCTION healthpass.colour_condition_sql(jsonb) IS 'checks a rule condition and shows the SQL it compiles to';

-- Makes a new rule set version from a list of rule ids, activates it now
-- and queues the re-colouring of everyone under it (hp_recolour_job_for,
-- 55_status.sql).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_activate_ruleset(rule_ids integer[], note text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v integer;
    at timestamptz;
    ids integer[] := ARRAY(SELECT DISTINCT x FROM unnest(rule_ids) x WHERE x IS NOT NULL ORDER BY x);
BEGIN
    -- the version and the instant are read first: Citus takes no subquery
    -- in an INSERT's VALUES (colour_ruleset is a reference table there)
    SELECT coalesce(max(s.version), 0) + 1, greatest(now(), coalesce(max(s.activated_at), now()))
      INTO v, at FROM colour_ruleset s;
    BEGIN
        INSERT INTO colour_ruleset (version, activated_at, rule_ids, compiled, note)
        VALUES (v, at, ids, hp_compile_ruleset(ids), note);
    EXCEPTION WHEN unique_violation THEN
        -- the callers hold hp_current_ruleset(true)'s lock; only a version
        -- written directly, around that lock, can collide
        RAISE EXCEPTION 'rule set version % was made by another session at the same time', v
            USING ERRCODE = 'unique_violation', DETAIL = 'Rule set versions are made one at a time; run the change again.';
    END;
    PERFORM hp_recolour_job_for(v);
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_activate_ruleset(integer[], text) IS 'new rule set version in force from now, re-colouring queued (internal)';

-- The rule set in force: the highest version (locked when asked, so that
-- rule changes are serialised).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_current_ruleset(lock boolean DEFAULT false) RETURNS colour_ruleset
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    s colour_ruleset;
BEGIN
    IF lock THEN
        LOCK TABLE colour_ruleset IN SHARE ROW EXCLUSIVE MODE;
    END IF;
    SELECT * INTO s FROM colour_ruleset ORDER BY version DESC LIMIT 1;
    RETURN s;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_current_ruleset(boolean) IS 'the latest rule set version (internal)';

-- Checks the parts of a rule; returns the trimmed reason.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_rule(colour health_colour, reason text, condition jsonb, priority integer) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    why text;
BEGIN
    IF colour IS NULL THEN
        RAISE EXCEPTION 'rule colour is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A rule gives green, light_green, yellow or red.';
    END IF;
    -- people read the reason: one line of at most 200 characters (hp_text:
    -- 54000 when longer, 22023 for control or bidi characters)
    why := hp_text('rule reason', reason, 200);
    IF why IS NULL THEN
        RAISE EXCEPTION 'rule reason "%" is not valid', hp_quote(coalesce(reason, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A reason is 1 to 200 characters without control characters; people read it.';
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN 0 AND 100000 THEN
        RAISE EXCEPTION 'rule priority % is out of range', priority
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Priorities run from 0 (listed first) to 100000.';
    END IF;
    PERFORM hp_compile_condition(condition, '$', 1, 0, '{}');
    RETURN why;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_rule(health_colour, text, jsonb, integer) IS 'checks a rule (internal)';

-- Stores a checked rule and returns its id. The id comes from the sequence;
-- a rule written directly with an id the sequence has not reached yet makes
-- the insert collide: 23505 in the project's words, not a bare duplicate key.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_insert_rule(colour health_colour, reason text, priority integer, condition jsonb)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id integer;
BEGIN
    INSERT INTO colour_rule AS r (colour, reason, priority, condition)
    VALUES (hp_insert_rule.colour, hp_insert_rule.reason, hp_insert_rule.priority, hp_insert_rule.condition)
    RETURNING r.rule_id INTO id;
    RETURN id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'colour rule id % is taken by a rule written directly',
            currval(pg_get_serial_sequence('healthpass.colour_rule', 'rule_id'))
        USING ERRCODE = 'unique_violation',
              DETAIL = format('The rule ids run up to %s; rules are added with add_colour_rule.',
                              (SELECT max(r.rule_id) FROM colour_rule r)),
              HINT = 'Move the sequence past them: SELECT setval(pg_get_serial_sequence(''healthpass.colour_rule'', ''rule_id''), max(rule_id)) FROM healthpass.colour_rule;';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_insert_rule(health_colour, text, integer, jsonb) IS 'stores a checked rule; 23505 when its id is taken (internal)';

CREATE OR REPLACE FUNCTION add_colour_rule(colour health_colour, reason text, condition jsonb,
                                priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    id := hp_insert_rule(add_colour_rule.colour, why, add_colour_rule.priority, add_colour_rule.condition);
    PERFORM hp_activate_ruleset(cur.rule_ids || id, format('add rule %s', id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.add_colour_rule(health_colour, text, jsonb, integer) IS
    'add a colour rule; returns its id; a new rule set version is in force at once and a re-colouring job is queued';

CREATE OR REPLACE FUNCTION replace_colour_rule(rule_id integer, colour health_colour, reason text,
                                    condition jsonb, priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    IF replace_colour_rule.rule_id IS NULL OR NOT replace_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', replace_colour_rule.rule_id
            USING ERRCODE = 'no_data_found', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    id := hp_insert_rule(replace_colour_rule.colour, why, replace_colour_rule.priority, replace_colour_rule.condition);
    PERFORM hp_activate_ruleset(array_remove(cur.rule_ids, replace_colour_rule.rule_id) || id,
                                format('replace rule %s by %s', replace_colour_rule.rule_id, id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.replace_colour_rule(integer, health_colour, text, jsonb, integer) IS
    'replace a rule in force by a new one; returns the new rule id; the old one stays in the history';

CREATE OR REPLACE FUNCTION retire_colour_rule(rule_id integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
BEGIN
    IF retire_colour_rule.rule_id IS NULL OR NOT retire_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', retire_colour_rule.rule_id
            USING ERRCODE = 'no_data_found', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    RETURN hp_activate_ruleset(array_remove(cur.rule_ids, retire_colour_rule.rule_id),
                               format('retire rule %s', retire_colour_rule.rule_id));
END
$$;
COMMENT ON FUNCTION healthpass.retire_colour_rule(integer) IS
    'take a rule out of force; returns the new rule set version';

CREATE OR REPLACE FUNCTION colour_rules(version integer DEFAULT NULL)
    RETURNS TABLE (rule_id integer, priority integer, colour health_colour, reason text,
                   condition jsonb, created_at timestamptz, created_by name)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    ids integer[];
BEGIN
    IF version IS NULL THEN
        SELECT s.rule_ids INTO ids FROM colour_ruleset s ORDER BY s.version DESC LIMIT 1;
    ELSE
        SELECT s.rule_ids INTO ids FROM colour_ruleset s WHERE s.version = colour_rules.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'rule set version % does not exist', version
                USING ERRCODE = 'no_data_found', DETAIL = 'See colour_rulesets() for the versions.';
        END IF;
    END IF;
    RETURN QUERY
        SELECT r.rule_id, r.priority, r.colour, r.reason, r.condition, r.created_at, r.created_by
          FROM colour_rule r WHERE r.rule_id = ANY (ids)
         ORDER BY r.priority, r.rule_id;
END
$$;
COMMENT ON FUNCTION healthpass.colour_rules(integer) IS 'the rules of a rule set version (default: in force), by priority';

CREATE OR REPLACE FUNCTION colour_rulesets()
    RETURNS TABLE (version integer, activated_at timestamptz, rule_ids integer[], note text, created_by name)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.version, s.activated_at, s.rule_ids, s.note, s.created_by
      FROM colour_ruleset s ORDER BY s.version
$$;
COMMENT ON FUNCTION healthpass.colour_rulesets() IS 'every rule set version, oldest first';

CREATE OR REPLACE FUNCTION colour_facts_catalogue()
    RETURNS TABLE (name text, type text, description text)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT c.name, c.type, c.description FROM colour_fact c ORDER BY c.name
$$;
COMMENT ON FUNCTION healthpass.colour_facts_catalogue() IS 'the facts colour-rule conditions may use, with their types';

GRANT EXECUTE ON FUNCTION
    healthpass.add_colour_rule(health_colour, text, jsonb, integer),
    healthpass.replace_colour_rule(integer, health_colour, text, jsonb, integer),
    healthpass.retire_colour_rule(integer)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_condition_sql(jsonb),
    healthpass.colour_rules(integer),
    healthpass.colour_rulesets(),
    healthpass.colour_facts_catalogue()
    TO healthpass_admin, healthpass_health, healthpass_report;

-- Every rule set (the shipped version 1 and every one an administrator
-- made) is compiled here, on install and on every upgrade, so its stored
-- query always names this version's functions (0.2.0 moved colour_facts to
-- healthpass_internal) and uses this version's compiler. The rules a set
-- lists never change, so the colours it gives stay the same. Only a set
-- whose compiled text changes is written, by its version: on a Citus cluster
-- colour_ruleset is a reference table, whose UPDATE may not call a function
-- of its columns. There the coordinator recompiles for every node; a
-- worker, which Citus hands the update too and where no query may reach
-- the cluster's tables while it does, leaves it to the coordinator.
DO $recompile$
DECLARE
    r record;
    c text;
    coordinator boolean := true;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
    END IF;
    IF NOT coordinator THEN
        RETURN;
    END IF;
    FOR r IN SELECT s.version, s.rule_ids, s.compiled FROM colour_ruleset s ORDER BY s.version LOOP
        c := hp_compile_ruleset(r.rule_ids);
        IF c IS DISTINCT FROM r.compiled THEN
            UPDATE colour_ruleset s SET compiled = c WHERE s.version = r.version;
        END IF;
    END LOOP;
END
$recompile$;
