-- 90_citus.sql: scale-out on Citus (doc/citus.md). distribute() spreads a
-- created (and possibly populated) healthpass over a Citus cluster from its
-- coordinator; undistribute() takes it back to the coordinator so that DROP
-- EXTENSION leaves no shards behind. Neither runs in the extension script:
-- Citus propagates nothing while an extension script runs, so the DBA calls
-- them after CREATE EXTENSION (and distribute() again after ALTER EXTENSION
-- ... UPDATE when a version adds tables).
-- Both are plain functions (not SECURITY DEFINER), granted to no role: only
-- the extension's owner or a superuser may call them; Citus's own functions
-- check that the caller owns the tables.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Is this database's healthpass distributed (distribute() has run)? The
-- functions that must work one shard at a time on a cluster ask this: the
-- citus library may be loaded on a server (citus.version set) whose database
-- has no citus extension, or has it but was never distributed, and there the
-- plain statements are right. On a worker (whose metadata Citus keeps) the
-- answer is the same as on the coordinator.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_distributed() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid = 'healthpass.person'::regclass);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_distributed() IS
    'true when healthpass.person is distributed by Citus in this database (internal)';

-- The plan: every table of the extension, in the order it is distributed
-- (reference tables first, then each co-location group with the tables
-- others refer to first), with how and why. A table of the extension that
-- is missing here is reported by distribute() as "not planned" and left on
-- the coordinator; test/citus/run-citus-tests.sh fails on it.
--   method   reference  create_reference_table: a copy on every node
--            hash       create_distributed_table(tab, key, colocate_with)
--            local      left as a plain table on the coordinator
--   colocate the first table of a group names itself: its group is new
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_plan()
    RETURNS TABLE (ord integer, tab text, method text, key text, colocate text, why text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (row_number() OVER ())::integer, p.* FROM (VALUES
    -- small shared data: read on every node, written rarely
    ('setting',              'reference', NULL, NULL, 'database settings, read by every function'),
    ('signing_key',          'reference', NULL, NULL, 'our keys and trusted public keys: every node that signs or verifies reads them'),
    ('revoked_token',        'reference', NULL, NULL, 'revoked token ids: every node that verifies reads them'),
    ('notice',               'reference', NULL, NULL, 'notice and letter versions'),
    ('risk_area',            'reference', NULL, NULL, 'risk areas, read by every colour computation'),
    ('colour_fact',          'reference', NULL, NULL, 'the facts colour rules are written over'),
    ('colour_rule',          'reference', NULL, NULL, 'colour rules'),
    ('colour_ruleset',       'reference', NULL, NULL, 'compiled rule sets, read by every colour computation'),
    ('admission_rule',       'reference', NULL, NULL, 'admission decisions by colour'),
    ('venue',                'reference', NULL, NULL, 'venues: read on every scan by venue id and by manager (doc/venues.md)'),
    ('venue_history',        'reference', NULL, NULL, 'earlier versions of venues'),
    ('venue_staff',          'reference', NULL, NULL, 'staff of venues: read on every staff scan'),
    ('venue_staff_history',  'reference', NULL, NULL, 'earlier staff of venues'),
    ('venue_code_issued',    'reference', NULL, NULL, 'the ledger of venue codes'),
    ('port',                 'reference', NULL, NULL, 'border ports'),
    ('enrolment_point',      'reference', NULL, NULL, 'biometric enrolment points'),
    ('acceptance_point',     'reference', NULL, NULL, 'acceptance points'),
    ('sealing_key',          'reference', NULL, NULL, 'our transfer sealing keys'),
    ('transfer_partner',     'reference', NULL, NULL, 'transfer partners'),
    ('partner_sealing_key',  'reference', NULL, NULL, 'partners'' sealing keys'),
    ('hc1_signer',           'reference', NULL, NULL, 'HC1 document signers'),
    -- everything of one person, on the person's shard
    ('person',               'hash', 'person_id', 'person', 'people: every personal table is co-located with it'),
    ('person_history',       'hash', 'person_id', 'person', 'a person''s earlier versions (history trigger: same person)'),
    ('code_issued',          'hash', 'person_id', 'person', 'a person''s live codes'),
    ('notice_acceptance',    'hash', 'person_id', 'person', 'a person''s acceptances'),
    ('entry_registration',   'hash', 'person_id', 'person', 'a person''s entry registration'),
    ('entry_registration_history', 'hash', 'person_id', 'person', 'its earlier versions'),
    ('companion',            'hash', 'person_id', 'person', 'a registrant''s companions, keyed by the registrant'),
    ('companion_of',         'hash', 'person_id', 'person', 'the group a companion is in, keyed by the companion'),
    ('face_check',           'hash', 'person_id', 'person', 'a person''s face checks'),
    ('certified_photo',      'hash', 'person_id', 'person', 'a person''s certified photo'),
    ('epass',                'hash', 'person_id', 'person', 'a person''s e-pass'),
    ('epass_history',        'hash', 'person_id', 'person', 'its earlier versions'),
    ('family_member',        'hash', 'person_id', 'person', 'family members, keyed by the person who registered them'),
    ('family_member_history','hash', 'person_id', 'person', 'their earlier versions'),
    ('health_declaration',   'hash', 'person_id', 'person', 'declarations (re-colouring trigger: same person)'),
    ('test_result',          'hash', 'person_id', 'person', 'test results (re-colouring trigger: same person)'),
    ('risk_mark',            'hash', 'person_id', 'person', 'risk marks (re-colouring trigger: same person)'),
    ('colour_current',       'hash', 'person_id', 'person', 'the colour now'),
    ('colour_history',       'hash', 'person_id', 'person', 'colour history'),
    ('travel_document',      'hash', 'person_id', 'person', 'travel documents (reminder trigger: same person)'),
    ('endorsement',          'hash', 'person_id', 'person', 'endorsements (foreign key to travel_document includes person_id)'),
    ('electronic_permit',    'hash', 'person_id', 'person', 'electronic permits'),
    ('permit_binding',       'hash', 'person_id', 'person', 'permit binding attempts'),
    ('biometric_consent',    'hash', 'person_id', 'person', 'biometric consents'),
    ('biometric_enrolment',  'hash', 'person_id', 'person', 'biometric enrolments'),
    ('crossing',             'hash', 'person_id', 'person', 'border crossings'),
    ('record_certificate',   'hash', 'person_id', 'person', 'crossing record certificates'),
    ('contactless_code',     'hash', 'person_id', 'person', 'contactless codes'),
    ('contactless_passage',  'hash', 'person_id', 'person', 'contactless passages'),
    ('reminder',             'hash', 'person_id', 'person', 'reminders (made by same-person triggers)'),
    ('transfer_export',      'hash', 'person_id', 'person', 'transfers a person asked for'),
    ('received_transfer',    'hash', 'person_id', 'person', 'transfers received for a person'),
    ('hc1_record',           'hash', 'person_id', 'person', 'HC1 certificates recorded (re-colouring trigger: same person)'),
    -- look-ups keyed by a document number: one shard per number
    ('document_index',       'hash', 'doc_number', 'document_index', 'document number -> person: unique by (kind, number), so distributed by the number, not by person'),
    ('travel_document_index','hash', 'doc_number', 'document_index', 'travel document number -> person, by the number'),
    -- look-ups keyed by an opaque id
    ('ref_index',            'hash', 'public_ref', 'ref_index', 'public reference -> person: unique by the reference, so distributed by it'),
    ('transfer_package',     'hash', 'package_id', 'ref_index', 'packages imported, unique by package id'),
    -- the scan history, by venue (doc/scans.md)
    ('scan',                 'hash', 'venue_id', 'scan', 'the scan history (partitioned by day), by venue: a venue''s day and the people around an instant are one shard'),
    ('scan_check',           'hash', 'venue_id', 'scan', 'checks after a scan, with their scan'),
    ('venue_alert',          'hash', 'venue_id', 'scan', 'alerts of a venue'),
    -- traces, by trace (doc/tracing.md)
    ('trace_audit',          'hash', 'trace_id', 'trace_audit', 'one row a trace'),
    ('trace_result',         'hash', 'trace_id', 'trace_audit', 'the people of a trace, with their trace'),
    -- the coordinator's work queue
    ('recolour_job',         'local', NULL, NULL, 're-colouring jobs: the coordinator''s queue, claimed with SKIP LOCKED'),
    ('recolour_chunk',       'local', NULL, NULL, 'chunks of a re-colouring job')
    ) AS p(tab, method, key, colocate, why)
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_plan() IS
    'how distribute() places each table of the extension on Citus, in order (internal)';

-- The functions routed to the worker that holds their first argument's row
-- (create_distributed_function): one person's calls, co-located with person.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_function_plan()
    RETURNS TABLE (fn regprocedure, arg text, colocate text)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    VALUES ('healthpass.person_info(bigint)'::regprocedure, '$1', 'person'),
           ('healthpass.colour_status(bigint, timestamptz)', '$1', 'person'),
           ('healthpass.health_status(bigint)', '$1', 'person'),
           ('healthpass.health_code(bigint)', '$1', 'person')
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_function_plan() IS
    'the per-person functions distribute() routes to the person''s worker (internal)';

-- The refusal when Citus is not there (or this is not its coordinator).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_check(what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    coordinator boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('healthpass.%s() places the tables of healthpass on a Citus cluster; on a single PostgreSQL server there is nothing to do.', what),
                  HINT = 'On a Citus cluster: install Citus and healthpass on every node, preload citus, run CREATE EXTENSION citus and add the workers on the coordinator, then call this function there (doc/citus.md).';
    END IF;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
    IF NOT coordinator THEN
        RAISE EXCEPTION 'this node is not the Citus coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('healthpass.%s() changes the metadata of the cluster, which the coordinator keeps.', what),
                  HINT = 'Connect to the coordinator and call it there.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_check(text) IS
    'refuses distribute() and undistribute() without Citus or away from its coordinator (internal)';

-- What Citus knows of a table: 'reference', 'hash:<column>', or NULL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_state(rel regclass) RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m "char";
    col text;
BEGIN
    EXECUTE $q$SELECT p.partmethod, a.attname
                 FROM pg_catalog.pg_dist_partition p
                 LEFT JOIN pg_catalog.pg_attribute a
                        ON a.attrelid = p.logicalrelid
                       AND a.attname = pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)
                WHERE p.logicalrelid = $1$q$
       INTO m, col USING rel;
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN CASE m WHEN 'n' THEN 'reference' WHEN 'h' THEN 'hash:' || col ELSE 'other:' || m::text END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_state(regclass) IS 'how Citus holds a table now (internal)';

-- No two colour periods of one person overlap. On one node an exclusion
-- constraint over boxes guards it (sql/schema/55_status.sql); Citus refuses
-- an exclusion constraint without the distribution column under "=", so on a
-- cluster the row trigger below takes its place (distribute() swaps them,
-- undistribute() swaps back). The trigger reads only the person's own
-- periods (the row's shard). It needs no lock of its own: every writer of a
-- person's history first updates that person's colour_current row in the
-- same statement (hp_colour_apply), so two writers of one person are
-- serialised by that row lock and the second sees the first's period.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_history_no_overlap() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    prev record;
BEGIN
    IF NEW.person_id IS NULL OR NEW.since IS NULL OR NEW.until IS NULL OR NEW.since >= NEW.until THEN
        RETURN NEW;  -- refused by NOT NULL and the CHECK
    END IF;
    IF TG_TABLE_NAME = 'colour_history' THEN
        SELECT h.since, h.until INTO prev FROM colour_history h
         WHERE h.person_id = NEW.person_id AND h.since < NEW.until
           AND (TG_OP = 'INSERT' OR h.since <> OLD.since)
         ORDER BY h.since DESC LIMIT 1;
    ELSE
        -- on a shard (colour_history_102101), which holds every period of
        -- the person: read it directly, not through Citus's planner, which
        -- costs more than the check itself when a batch writes thousands
        EXECUTE format('SELECT h.since, h.until FROM %I.%I h
                         WHERE h.person_id = $1 AND h.since < $2 AND ($3 OR h.since <> $4)
                         ORDER BY h.since DESC LIMIT 1', TG_TABLE_SCHEMA, TG_TABLE_NAME)
           INTO prev USING NEW.person_id, NEW.until, TG_OP = 'INSERT', OLD.since;
    END IF;
    IF prev.until > NEW.since THEN
        RAISE EXCEPTION 'conflicting key value violates exclusion constraint "colour_history_no_overlap"'
            USING ERRCODE = 'exclusion_violation', TABLE = 'colour_history',
                  CONSTRAINT = 'colour_history_no_overlap',
                  DETAIL = format('The period [%s, %s) of person %s overlaps its period [%s, %s).',
                                  NEW.since, NEW.until, NEW.person_id, prev.since, prev.until);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_history_no_overlap() IS
    'on a Citus cluster: refuses a colour period overlapping another of the same person, in place of the exclusion constraint (internal)';

-- Swaps the guard: on_cluster true drops the exclusion constraint and adds
-- the trigger, false the other way round; each only when needed.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_overlap_guard(on_cluster boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    has_constraint boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                                       WHERE c.conrelid = 'healthpass.colour_history'::regclass
                                         AND c.conname = 'colour_history_no_overlap');
    has_trigger boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                    WHERE t.tgrelid = 'healthpass.colour_history'::regclass
                                      AND t.tgname = 'colour_history_no_overlap');
BEGIN
    IF on_cluster THEN
        IF has_constraint THEN
            ALTER TABLE healthpass.colour_history DROP CONSTRAINT colour_history_no_overlap;
        END IF;
        IF NOT has_trigger THEN
            CREATE TRIGGER colour_history_no_overlap BEFORE INSERT OR UPDATE ON healthpass.colour_history
                FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_colour_history_no_overlap();
        END IF;
    ELSE
        IF has_trigger THEN
            DROP TRIGGER colour_history_no_overlap ON healthpass.colour_history;
        END IF;
        IF NOT has_constraint THEN
            ALTER TABLE healthpass.colour_history ADD CONSTRAINT colour_history_no_overlap
                EXCLUDE USING gist (healthpass_internal.period_box(person_id, since, until) WITH &&);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_overlap_guard(boolean) IS
    'swaps the no-overlap guard of colour periods between the exclusion constraint and the cluster''s trigger (internal)';

-- After ALTER EXTENSION healthpass UPDATE on the coordinator (whose update
-- script propagates no DDL: see the Makefile), two things of a cluster are
-- brought to the coordinator's version here, by distribute():
--  1. each worker's own copy of the extension (its functions, which triggers
--     and routed calls run there): ALTER EXTENSION healthpass UPDATE on
--     the workers when one is behind (the same files must be installed
--     there);
--  2. the row triggers of every shard and every copy of a reference table,
--     which Citus made from the table's triggers when it was placed (named
--     after the trigger with the shard's id): each healthpass trigger is
--     replaced on the placements where its definition differs, and a
--     healthpass trigger a placement has but the table no longer has is
--     dropped. Citus's own triggers are left alone.
-- Returns what it changed, one row each; nothing when all is in step.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_sync(placed_now regclass[])
    RETURNS TABLE (object text, action text, detail text)
    LANGUAGE plpgsql VOLATILE
    -- pg_get_triggerdef names what is outside the search path in full, as
    -- it does on the placements: nothing of healthpass is on it here
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'healthpass');
    behind integer;
    failed text;
    p record;
    t record;
    rel regclass;
    n integer;
    shards bigint[];
    hosts text[];
    ports integer[];
    checks text[];
    wants text[];
    got text[];
    ok boolean;
BEGIN
    EXECUTE 'SELECT count(*) FILTER (WHERE result IS DISTINCT FROM $2)
               FROM pg_catalog.run_command_on_workers($1)'
       INTO behind
      USING $q$SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'healthpass'$q$, v;
    IF behind > 0 THEN
        EXECUTE $q$SELECT string_agg(nodename || ':' || nodeport || ': ' || result, '; ')
                     FROM pg_catalog.run_command_on_workers($1) WHERE NOT success$q$
           INTO failed USING 'ALTER EXTENSION healthpass UPDATE';
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'healthpass could not be updated to % on a worker', v
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = healthpass_internal.hp_quote(failed),
                      HINT = 'Install the same healthpass files on every node (make install), then call distribute() again.';
        END IF;
        object := 'healthpass on the workers'; action := 'configured';
        detail := format('%s worker(s) updated to %s', behind, v);
        RETURN NEXT;
    END IF;

    FOR p IN SELECT * FROM healthpass_internal.hp_citus_plan() q WHERE q.method <> 'local' ORDER BY q.ord LOOP
        rel := to_regclass('healthpass.' || quote_ident(p.tab));
        -- a table placed by this call has its shards' triggers from Citus
        -- (and they are not committed yet: another connection cannot see them)
        CONTINUE WHEN rel IS NULL OR rel = ANY (placed_now) OR healthpass_internal.hp_citus_state(rel) IS NULL;
        -- every placement of the table, where Citus named each trigger of the
        -- table after it with the shard's id (endorsement_reminders_102111
        -- on healthpass.endorsement_102111)
        EXECUTE $q$SELECT array_agg(s.shardid ORDER BY s.shardid, n.nodeport), array_agg(n.nodename ORDER BY s.shardid, n.nodeport),
                          array_agg(n.nodeport ORDER BY s.shardid, n.nodeport)
                     FROM pg_catalog.pg_dist_shard s
                     JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
                     JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid
                    WHERE s.logicalrelid = $1$q$
           INTO shards, hosts, ports USING rel;
        CONTINUE WHEN shards IS NULL;
        -- each healthpass trigger of the table, as each placement should have it
        FOR t IN
            SELECT g.tgname::text AS name, pg_catalog.pg_get_triggerdef(g.oid) AS def
              FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_proc f ON f.oid = g.tgfoid
             WHERE g.tgrelid = rel AND NOT g.tgisinternal
               AND f.pronamespace = 'healthpass_internal'::regnamespace
        LOOP
            checks := ARRAY(SELECT format('SELECT pg_catalog.pg_get_triggerdef(g.oid) FROM pg_catalog.pg_trigger g
                                            WHERE g.tgrelid = %L::regclass AND g.tgname = %L',
                                           format('healthpass.%I', p.tab || '_' || x), t.name || '_' || x)
                              FROM unnest(shards) WITH ORDINALITY u(x, i) ORDER BY i);
            wants := ARRAY(SELECT replace(replace(t.def, format('CREATE TRIGGER %I ', t.name), format('CREATE TRIGGER %I ', t.name || '_' || x)),
                                          format(' ON healthpass.%I ', p.tab), format(' ON healthpass.%I ', p.tab || '_' || x))
                             FROM unnest(shards) WITH ORDINALITY u(x, i) ORDER BY i);
            EXECUTE 'SELECT array_agg(CASE WHEN r.success THEN r.result END ORDER BY r.i)
                       FROM (SELECT w.*, row_number() OVER () AS i
                               FROM pg_catalog.master_run_on_worker($1, $2, $3, true) w) r'
               INTO got USING hosts, ports, checks;
            n := 0;
            FOR i IN 1 .. cardinality(shards) LOOP
                CONTINUE WHEN got[i] IS NOT DISTINCT FROM wants[i];
                EXECUTE 'SELECT success, result FROM pg_catalog.master_run_on_worker($1, $2, $3, false)'
                   INTO ok, failed
                  USING ARRAY[hosts[i]], ARRAY[ports[i]], ARRAY[replace(wants[i], 'CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER')];
                IF NOT ok THEN
                    RAISE EXCEPTION 'trigger % could not be replaced on shard % of %', t.name, shards[i], rel
                        USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = healthpass_internal.hp_quote(failed);
                END IF;
                n := n + 1;
            END LOOP;
            IF n > 0 THEN
                object := format('trigger %s on %s', t.name, rel); action := 'configured';
                detail := format('replaced on %s placement(s) to match the table', n);
                RETURN NEXT;
            END IF;
        END LOOP;
        -- healthpass triggers a placement has and the table no longer has
        checks := ARRAY(SELECT format('SELECT pg_catalog.string_agg(g.tgname, %L) FROM pg_catalog.pg_trigger g
                                         JOIN pg_catalog.pg_proc f ON f.oid = g.tgfoid
                                        WHERE g.tgrelid = %L::regclass AND NOT g.tgisinternal
                                          AND f.pronamespace = %L::regnamespace',
                                       ',', format('healthpass.%I', p.tab || '_' || x), 'healthpass_internal')
                          FROM unnest(shards) WITH ORDINALITY u(x, i) ORDER BY i);
        EXECUTE 'SELECT array_agg(CASE WHEN r.success THEN r.result END ORDER BY r.i)
                   FROM (SELECT w.*, row_number() OVER () AS i
                           FROM pg_catalog.master_run_on_worker($1, $2, $3, true) w) r'
           INTO got USING hosts, ports, checks;
        FOR i IN 1 .. cardinality(shards) LOOP
            FOR t IN
                SELECT x.name FROM unnest(string_to_array(got[i], ',')) AS x(name)
                 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
                                    WHERE g.tgrelid = rel AND g.tgname::text || '_' || shards[i] = x.name)
            LOOP
                EXECUTE 'SELECT success, result FROM pg_catalog.master_run_on_worker($1, $2, $3, false)'
                   INTO ok, failed
                  USING ARRAY[hosts[i]], ARRAY[ports[i]],
                        ARRAY[format('DROP TRIGGER IF EXISTS %I ON healthpass.%I', t.name, p.tab || '_' || shards[i])];
                IF NOT ok THEN
                    RAISE EXCEPTION 'trigger % could not be dropped from shard % of %', t.name, shards[i], rel
                        USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = healthpass_internal.hp_quote(failed);
                END IF;
                object := format('trigger %s on shard %s of %s', t.name, shards[i], rel); action := 'configured';
                detail := 'dropped: the table no longer has it';
                RETURN NEXT;
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_sync(regclass[]) IS
    'brings the workers'' healthpass and the placements'' triggers to the coordinator''s version (internal)';

CREATE OR REPLACE FUNCTION distribute() RETURNS TABLE (object text, action text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p record;
    f record;
    st text;
    want text;
    rel regclass;
    first_of_group text;
    changed integer := 0;
    has_triggers boolean;
    n bigint;
    copied regclass[] := '{}';
    placed regclass[] := '{}';
BEGIN
    PERFORM hp_citus_check('distribute');
    -- Row triggers on distributed tables are refused unless this is on.
    -- Every row trigger of healthpass touches only rows of the person (or
    -- venue) whose row changed, which live on the same shard group (the
    -- history, the colour, the reminders, the companion guards), so none of
    -- them needs a query on another node; the setting stays on for this
    -- database so that ALTER EXTENSION ... UPDATE can replace the triggers.
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- A plain table with a foreign key to a new reference table would be
    -- turned into a "Citus local table" on the way (a new shell table that
    -- the extension does not own, which collides on the workers with the
    -- extension's own copy): the plan places every such table itself, so
    -- the automatic conversion is off while it runs.
    PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s
                     JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
                    WHERE d.datname = current_database() AND s.setrole = 0
                      AND 'citus.enable_unsafe_triggers=on' = ANY (s.setconfig)) THEN
        EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
        object := 'database ' || current_database(); action := 'configured';
        detail := 'citus.enable_unsafe_triggers = on: the row triggers of healthpass touch only co-located rows of the same person';
        changed := changed + 1;
        RETURN NEXT;
    END IF;

    FOR p IN SELECT * FROM hp_citus_plan() ORDER BY ord LOOP
        rel := to_regclass('healthpass.' || quote_ident(p.tab));
        IF rel IS NULL THEN
            object := 'healthpass.' || quote_ident(p.tab); action := 'missing';
            detail := 'in the plan but not in this database';
            RETURN NEXT; CONTINUE;
        END IF;
        object := 'healthpass.' || quote_ident(p.tab);
        st := hp_citus_state(rel);
        IF p.method = 'local' THEN
            action := CASE WHEN st IS NULL THEN 'local' ELSE 'distributed elsewhere' END;
            detail := coalesce(st || ': ', '') || p.why;
            RETURN NEXT; CONTINUE;
        END IF;
        want := CASE p.method WHEN 'reference' THEN 'reference' ELSE 'hash:' || p.key END;
        IF st = want THEN
            action := 'unchanged';
            detail := CASE p.method WHEN 'reference' THEN 'already a reference table'
                                    ELSE format('already distributed by %s', p.key) END;
            RETURN NEXT; CONTINUE;
        ELSIF st IS NOT NULL THEN
            RAISE EXCEPTION 'table % is held by Citus as % where healthpass expects %', object, st,
                    CASE p.method WHEN 'reference' THEN 'a reference table' ELSE 'distributed by ' || p.key END
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'distribute() does not move a table that was distributed another way.',
                      HINT = 'Call healthpass.undistribute() first, then distribute().';
        END IF;
        IF p.tab = 'colour_history' THEN
            PERFORM hp_citus_overlap_guard(true);
        END IF;
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
        -- the rows are copied into the shards as they are: a row trigger
        -- firing on that copy would re-colour, re-schedule or re-version
        -- what was already recorded
        has_triggers := EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = rel AND NOT t.tgisinternal);
        IF has_triggers THEN
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', rel);
        END IF;
        IF p.method = 'reference' THEN
            PERFORM pg_catalog.create_reference_table(rel);
            action := 'reference';
            detail := format('%s (%s rows)', p.why, n);
        ELSE
            first_of_group := (SELECT q.tab FROM hp_citus_plan() q
                                WHERE q.colocate = p.colocate ORDER BY q.ord LIMIT 1);
            PERFORM pg_catalog.create_distributed_table(rel, p.key,
                        colocate_with := CASE WHEN first_of_group = p.tab THEN 'none'
                                              ELSE 'healthpass.' || quote_ident(first_of_group) END);
            action := 'distributed';
            detail := format('by %s, co-located with %s: %s (%s rows)', p.key, first_of_group, p.why, n);
        END IF;
        IF has_triggers THEN
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', rel);
        END IF;
        IF n > 0 THEN
            copied := copied || rel;
        END IF;
        placed := placed || rel;
        changed := changed + 1;
        RETURN NEXT;
    END LOOP;

    -- The rows are in the shards now; the coordinator's own copy of each
    -- table (no longer visible, still on disk) is removed, or a distributed
    -- province would keep a second copy of everything there. Once every
    -- table is placed, in the reverse order, so that no table still local
    -- has a foreign key to one being emptied.
    FOR i IN REVERSE coalesce(cardinality(copied), 0) .. 1 LOOP
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(copied[i]);
    END LOOP;

    -- tables of the extension the plan does not name (a new version's table)
    FOR object IN
        SELECT 'healthpass.' || quote_ident(c.relname) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthpass'
         WHERE c.relkind IN ('r', 'p')
           AND c.relname NOT IN (SELECT q.tab FROM hp_citus_plan() q)
         ORDER BY 1
    LOOP
        action := 'not planned'; detail := 'left on the coordinator: healthpass_internal.hp_citus_plan() does not name it';
        RETURN NEXT;
    END LOOP;

    -- Identity sequences on the workers. A row made on a worker (a reminder
    -- by a row trigger, a call made on a worker: Citus's query-from-any-
    -- node) takes its id from that worker's own copy of the sequence, which
    -- CREATE EXTENSION started at 1 like the coordinator's: ids would clash.
    -- Each node hands out ids from its own range instead, starting at its
    -- group id times 2^48 (the coordinator is group 0 and keeps its own);
    -- 2^48 ids a node, and below 2^53 (exact in JSON numbers) up to group 31.
    -- A node added later gets its range from the next distribute(). (The two
    -- integer ids, of colour rules and acceptance points, are made by the
    -- administration's functions, on the coordinator.)
    FOR f IN
        SELECT pg_catalog.pg_get_serial_sequence(format('healthpass.%I', c.relname), a.attname) AS seq
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
                                         AND a.atttypid = 'pg_catalog.int8'::pg_catalog.regtype
         WHERE c.relnamespace = 'healthpass'::regnamespace AND c.relkind IN ('r', 'p')
           AND c.relname IN (SELECT q.tab FROM hp_citus_plan() q WHERE q.method <> 'local')
         ORDER BY 1
    LOOP
        EXECUTE 'SELECT count(*) FILTER (WHERE success AND result <> '''')
                   FROM pg_catalog.run_command_on_workers($1)'
           INTO n
          USING format('SELECT pg_catalog.setval(%1$L, (g.groupid::bigint << 48) + 1, false)
                          FROM pg_catalog.pg_dist_local_group g
                         WHERE (SELECT s.last_value FROM %1$s s) < (g.groupid::bigint << 48)', f.seq);
        IF n > 0 THEN
            object := f.seq; action := 'configured';
            detail := format('ids made on %s worker(s) start at the worker''s group id times 2^48', n);
            changed := changed + 1;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- after an update: the workers' healthpass and the shards' triggers
    FOR f IN SELECT * FROM hp_citus_sync(placed) LOOP
        object := f.object; action := f.action; detail := f.detail;
        changed := changed + 1;
        RETURN NEXT;
    END LOOP;

    FOR f IN SELECT * FROM hp_citus_function_plan() LOOP
        object := 'healthpass.' || f.fn::text;
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object
                                 WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1
                                   AND distribution_argument_index IS NOT NULL)'
           INTO STRICT st USING f.fn::oid;
        IF st::boolean THEN
            action := 'unchanged'; detail := format('already routed by %s', f.arg);
        ELSE
            PERFORM pg_catalog.create_distributed_function(f.fn, f.arg, colocate_with := 'healthpass.' || f.colocate);
            action := 'distributed function';
            detail := format('routed by %s to the worker of its %s row', f.arg, f.colocate);
            changed := changed + 1;
        END IF;
        RETURN NEXT;
    END LOOP;

    IF changed = 0 THEN
        object := 'healthpass'; action := 'nothing to do';
        detail := 'every table and function is already placed as planned';
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.distribute() IS
    'Citus coordinator, owner or superuser: distributes the tables of healthpass (by person, venue, trace, key) and makes the shared ones reference tables; idempotent; reports what it did';

-- Drops the shards and the Citus metadata of one table, keeping the table
-- itself (what Citus's DROP TABLE hook does; the workers keep the copy the
-- extension made there).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_forget(rel regclass, metadata_only boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    sch text;
    tab text;
BEGIN
    SELECT n.nspname, c.relname INTO sch, tab
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    EXECUTE 'SELECT pg_catalog.master_remove_distributed_table_metadata_from_workers($1, $2, $3)' USING rel, sch, tab;
    EXECUTE 'SELECT pg_catalog.citus_drop_all_shards($1, $2, $3, drop_shards_metadata_only := $4)'
       USING rel, sch, tab, metadata_only;
    EXECUTE 'SELECT pg_catalog.master_remove_partition_metadata($1, $2, $3)' USING rel, sch, tab;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_forget(regclass, boolean) IS
    'drops the shards and Citus metadata of a table, keeping the table (internal)';

CREATE OR REPLACE FUNCTION undistribute() RETURNS TABLE (object text, action text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p record;
    st text;
    rel regclass;
    part regclass;
    changed integer := 0;
    n bigint;
BEGIN
    PERFORM hp_citus_check('undistribute');
    -- Citus's undistribute_table() makes a new table and drops the old one,
    -- which PostgreSQL refuses for a table an extension owns. So each table
    -- is taken back by hand, as Citus's own DROP TABLE hook does it, keeping
    -- the rows: read them, drop the shards and the metadata (the workers'
    -- copies made by CREATE EXTENSION stay), and put the rows back into the
    -- coordinator's table, which still holds the rows it had when it was
    -- distributed. Triggers and foreign keys stay quiet meanwhile (the rows
    -- were checked when they were written): that needs a superuser.
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to undistribute healthpass'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'undistribute() copies rows back with triggers and foreign keys switched off, which only a superuser may do.';
    END IF;
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    -- reference tables with foreign keys: one connection per node throughout
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- routed functions first: they name a co-location group
    FOR p IN SELECT * FROM hp_citus_function_plan() LOOP
        object := 'healthpass.' || p.fn::text;
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object
                                 WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1)'
           INTO STRICT st USING p.fn::oid;
        IF st::boolean THEN
            -- no Citus function forgets a function that still exists: the
            -- entry goes from pg_dist_object here and on every worker (there
            -- by signature: OIDs differ between nodes)
            EXECUTE 'DELETE FROM pg_catalog.pg_dist_object
                      WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1' USING p.fn::oid;
            EXECUTE 'SELECT count(*) FROM pg_catalog.run_command_on_workers($1) WHERE NOT success'
               INTO n
              USING format('DELETE FROM pg_catalog.pg_dist_object WHERE classid = %L::regclass AND objid = %L::regprocedure',
                           'pg_catalog.pg_proc', 'healthpass.' || p.fn::text);
            IF n > 0 THEN
                RAISE EXCEPTION 'function healthpass.% could not be forgotten on % workers', p.fn, n
                    USING ERRCODE = 'connection_failure', DETAIL = 'Every worker must be reachable to undistribute.';
            END IF;
            action := 'local function'; detail := 'no longer routed to a worker';
            changed := changed + 1;
            RETURN NEXT;
        END IF;
    END LOOP;
    -- referencing tables before the tables they refer to: the plan backwards
    FOR p IN SELECT * FROM hp_citus_plan() ORDER BY ord DESC LOOP
        rel := to_regclass('healthpass.' || quote_ident(p.tab));
        CONTINUE WHEN rel IS NULL;
        st := hp_citus_state(rel);
        CONTINUE WHEN st IS NULL;
        object := 'healthpass.' || quote_ident(p.tab);
        EXECUTE format('CREATE TEMP TABLE hp_citus_rows ON COMMIT DROP AS SELECT * FROM %s', rel);
        GET DIAGNOSTICS n = ROW_COUNT;
        -- the day partitions of the scan history: their shards go with the parent's
        FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i WHERE i.inhparent = rel LOOP
            PERFORM hp_citus_forget(part, true);
        END LOOP;
        PERFORM hp_citus_forget(rel, false);
        EXECUTE format('DELETE FROM %s', rel);
        EXECUTE format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM hp_citus_rows', rel);
        DROP TABLE hp_citus_rows;
        IF p.tab = 'colour_history' THEN
            PERFORM hp_citus_overlap_guard(false);
        END IF;
        action := 'undistributed'; detail := format('was %s; its %s rows are back on the coordinator', st, n);
        changed := changed + 1;
        RETURN NEXT;
    END LOOP;
    IF changed = 0 THEN
        object := 'healthpass'; action := 'nothing to do'; detail := 'no table of healthpass is held by Citus';
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.undistribute() IS
    'Citus coordinator, owner or superuser: brings every table of healthpass back to the coordinator (before DROP EXTENSION)';
