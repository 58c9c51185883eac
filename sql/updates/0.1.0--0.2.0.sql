-- 0.1.0 -> 0.2.0: the schema changes of this step (tables, types, indexes,
-- seed rows, and functions that must be dropped before they are replayed
-- with another signature). Every sql/api file is appended after this one.

-- issue 10: the internal schema (its routines are moved in at the end) ----
CREATE SCHEMA healthpass_internal;
COMMENT ON SCHEMA healthpass_internal IS
    'healthpass internals: helpers, trigger functions, caches; not for applications';
REVOKE ALL ON SCHEMA healthpass_internal FROM PUBLIC;

-- issue 9: one ledger of live codes for every code kind ---------------------
CREATE TABLE code_issued (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    kind       text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE code_issued IS 'codes issued to a person and not yet expired or revoked (the ledger revocation works from)';
SELECT pg_catalog.pg_extension_config_dump('code_issued', '');
INSERT INTO code_issued (person_id, token_id, kid, kind, expires_at)
SELECT person_id, token_id, kid, 'entry', expires_at FROM entry_code_issued WHERE expires_at > now();
DROP TABLE entry_code_issued;
DROP FUNCTION hp_revoke_entry_codes(bigint, text);

-- issue 9: tokens -----------------------------------------------------------
-- _add_signing_key takes the end of the key's validity instead of an
-- interval (checked by _signing_key_until)
DROP FUNCTION IF EXISTS _add_signing_key(record, timestamptz, interval);

-- issue 9: companions and health --------------------------------------------
-- Places have one stored form, hp_place_form (as in sql/schema/
-- 51_declarations.sql); declarations and risk areas stored before are
-- brought into it, so "广东省 珠海市 香洲区" matches the area "广东省珠海市".
CREATE FUNCTION hp_place_form(place text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
         btrim(regexp_replace(
           translate(CASE WHEN current_setting('server_encoding') = 'UTF8' THEN normalize(place, NFC) ELSE place END,
                     '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～',
                     E'!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'),
           '[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', ' ', 'g'), ' '),
         '(?<=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]) (?=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff])',
         '', 'g');
COMMENT ON FUNCTION hp_place_form(text) IS
    'the stored and compared form of a place: NFC, full-width ASCII folded, spaces collapsed and removed between CJK characters (internal)';
-- two areas in force that are one place in two spellings: the later ones
-- are lifted now (the earliest stays in force and covers the same people);
-- an area whose name is only spaces of another width names no place (it
-- would match every place): it is lifted and kept under the name "?"
UPDATE risk_area a SET lifted_at = now()
 WHERE a.lifted_at IS NULL
   AND (hp_place_form(a.place) = ''
        OR EXISTS (SELECT 1 FROM risk_area b
                    WHERE b.lifted_at IS NULL AND b.area_id < a.area_id
                      AND hp_place_form(b.place) = hp_place_form(a.place)));
UPDATE risk_area SET place = hp_place_form(place)
 WHERE place IS DISTINCT FROM hp_place_form(place) AND hp_place_form(place) <> '';
UPDATE risk_area SET place = '?' WHERE place = '' OR hp_place_form(place) = '';
ALTER TABLE risk_area ADD CONSTRAINT risk_area_place_form CHECK (place <> '' AND place = hp_place_form(place));
UPDATE health_declaration d
   SET travel_places = coalesce((SELECT array_agg(DISTINCT hp_place_form(pl) ORDER BY hp_place_form(pl))
                                   FROM unnest(d.travel_places) pl WHERE hp_place_form(pl) <> ''), '{}')
 WHERE EXISTS (SELECT 1 FROM unnest(d.travel_places) pl WHERE pl IS DISTINCT FROM hp_place_form(pl));
UPDATE health_declaration d SET destination_city = hp_place_form(d.destination_city)
 WHERE d.destination_city IS DISTINCT FROM hp_place_form(d.destination_city);
-- whoever has places in a declaration in force may now match an area:
-- their colour is computed again at the next read or colour_tick()
UPDATE colour_current c SET recheck_at = now()
 WHERE c.person_id IN (SELECT d.person_id FROM health_declaration d
                        WHERE d.valid_until > now() AND cardinality(d.travel_places) > 0);
-- A sample is recorded pending once (test_result_pending_once). Two calls
-- racing in 0.1.0 could store the same pending record twice: the copies
-- (same sample, sampling time and result) go, the first record stays.
DELETE FROM test_result t
 WHERE t.result = 'pending'
   AND EXISTS (SELECT 1 FROM test_result u
                WHERE u.person_id = t.person_id AND u.institution = t.institution
                  AND u.sample_ref = t.sample_ref AND u.sampled_at = t.sampled_at
                  AND u.result = 'pending' AND u.result_id < t.result_id);
CREATE UNIQUE INDEX test_result_pending_once ON test_result (person_id, institution, sample_ref, sampled_at)
    WHERE result = 'pending';
-- one checker for free text (hp_text, 05_checks.sql) replaces these
DROP FUNCTION IF EXISTS hp_note(text, text, boolean);
DROP FUNCTION IF EXISTS hp_result_text(text, text, integer);

-- issue 9: the manual check takes the phone -------------------------------
DROP FUNCTION manual_health_check(text, text, text);

-- issue 9: entry_lookup says whether the person may apply for an e-pass ----
DROP FUNCTION entry_lookup(text, text);

-- issue 9: 0.1.0 granted and commented PostgreSQL's own version() -----------
-- (an unqualified name in its GRANT and COMMENT); put both back
REVOKE EXECUTE ON FUNCTION pg_catalog.version()
    FROM healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
COMMENT ON FUNCTION pg_catalog.version() IS 'PostgreSQL version string';

-- issue 9: scanners look colours up from what a person shows, not by id ----
REVOKE EXECUTE ON FUNCTION colour_status(bigint, timestamptz), colour_at(bigint, timestamptz)
    FROM healthpass_scanner;

-- issue 9: the checked version of a real-name result is required ----------
DROP FUNCTION record_realname_result(bigint, text, text, integer);

-- issue 10: names on cn_resident_id that cannot be mistaken for PostgreSQL's -
ALTER FUNCTION birth_date(cn_resident_id) RENAME TO cn_resident_id_birth_date;
ALTER FUNCTION sex(cn_resident_id) RENAME TO cn_resident_id_sex;
ALTER FUNCTION region_code(cn_resident_id) RENAME TO cn_resident_id_region_code;
ALTER FUNCTION age(cn_resident_id, date) RENAME TO cn_resident_id_age;
ALTER FUNCTION mask(cn_resident_id) RENAME TO cn_resident_id_mask;

-- issue 10: every internal routine moves to healthpass_internal: the
-- helpers (hp_*, _*), those commented as internal, the e-pass page's health
-- section and the exclusion constraint's period_box. Moving keeps each
-- routine's OID, so triggers, constraints and indexes built on them stay.
-- The internals 0.1.0 granted to every role lose the grants.
REVOKE EXECUTE ON FUNCTION _b64url_encode(bytea), _utc(timestamptz)
    FROM healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
DO $move$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'healthpass'::regnamespace
                AND (p.proname ~ '^(hp)?_' OR p.proname IN ('person_claims', 'colour_facts', 'epass_health_section', 'period_box'))
    LOOP
        EXECUTE format('ALTER ROUTINE %s SET SCHEMA healthpass_internal', f);
    END LOOP;
END
$move$;

-- issue 10: settings in one place ------------------------------------------
-- health_config (one row of columns, inserted by CREATE EXTENSION, which
-- made a restore collide with it) becomes rows of the table setting, read
-- and changed through settings() and configure() like every other database
-- setting, with no row until a setting is changed; values that differ from
-- the defaults move over.
CREATE TABLE setting (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.setting IS 'database settings an administrator changed (the defaults are in settings())';
SELECT pg_catalog.pg_extension_config_dump('setting', '');
INSERT INTO setting (name, value, updated_at)
SELECT 'code_valid_for', c.code_valid_for::text, c.updated_at
  FROM health_config c WHERE c.code_valid_for <> interval '3 minutes'
UNION ALL
SELECT 'declaration_valid_for', c.declaration_valid_for::text, c.updated_at
  FROM health_config c WHERE c.declaration_valid_for <> interval '1 day';
DROP FUNCTION hp_health_config();
DROP TABLE health_config;

-- issue 10: one person lock (FOR UPDATE or FOR SHARE) ---------------------
DROP FUNCTION hp_lock_person(bigint);

-- issue 10: one history trigger: the family links use the generic one -----
DROP TRIGGER family_member_keep_history ON family_member;
DROP FUNCTION hp_family_member_history();

-- issue 10: one check for "as of" instants (hp_past_instant) --------------
DROP FUNCTION hp_check_instant(timestamptz);

-- issue 11: scans, checks, alerts and admission rules (as sql/schema/61_scans.sql)
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

-- issue 11: venues and staff
CREATE TABLE venue (
    venue_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_kind      text NOT NULL CHECK (id_kind IN ('uscc', 'org_code', 'cn_resident_id', 'plate')),
    id_number    text NOT NULL,      -- normalised by normalize_document
    name         text NOT NULL,
    street       text NOT NULL,      -- 街道
    address      text NOT NULL,
    phone        text NOT NULL,
    image_type   text NOT NULL CHECK (image_type IN ('image/jpeg', 'image/png')),
    image        bytea NOT NULL,     -- licence, or vehicle photo for a plate
    manager_id   bigint NOT NULL,    -- person_id of the registering person
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    status_reason text,              -- why the status last changed
    negative_test_hours integer CHECK (negative_test_hours BETWEEN 1 AND 168),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_kind, id_number, name),
    CONSTRAINT venue_status_reason CHECK (status = 'active' OR status_reason IS NOT NULL)
);
COMMENT ON TABLE healthpass.venue IS
    'venues (seed 004): identifier, name, street, address, phone, licence or vehicle photo, manager, status';
-- "my venues" of a manager
CREATE INDEX venue_manager ON venue (manager_id);

-- earlier versions of a venue row (edits and status changes); the image is
-- kept as its digest (hp_venue_history_slim)
CREATE TABLE venue_history (
    venue_id   bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (venue_id, version)
);
COMMENT ON TABLE healthpass.venue_history IS 'earlier versions of venue rows (data is the row as it was, the image as its SHA-256)';

-- the people who scan for a venue besides its manager; a person may serve
-- several venues
CREATE TABLE venue_staff (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id)
);
COMMENT ON TABLE healthpass.venue_staff IS 'staff a venue''s manager added (registered people whose name matched)';
-- "my venues" of a staff member
CREATE INDEX venue_staff_person ON venue_staff (person_id);

-- staff that were removed, and when
CREATE TABLE venue_staff_history (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id, added_at)
);
COMMENT ON TABLE healthpass.venue_staff_history IS 'former staff of a venue: when they were added and removed';

-- Every venue code issued and not yet expired or revoked, so that a change
-- of what the poster shows, a suspension or a closing revokes it. The
-- token is kept: venue_code hands out the same code until it nears expiry.
CREATE TABLE venue_code_issued (
    venue_id   bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    token      text NOT NULL,
    version    integer NOT NULL,     -- the venue version the code was issued for
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (venue_id, token_id)
);
COMMENT ON TABLE healthpass.venue_code_issued IS 'venue codes issued and not yet expired or revoked (the ledger revocation works from)';

SELECT pg_catalog.pg_extension_config_dump('venue', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.venue', 'venue_id'), '');
SELECT pg_catalog.pg_extension_config_dump('venue_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_code_issued', '');

-- issue 11: contact tracing
-- (as sql/schema/63_tracing.sql) every trace audited and kept, keyed by trace_id
CREATE TABLE trace_audit (
    trace_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    traced_by    name NOT NULL DEFAULT session_user,
    traced_at    timestamptz NOT NULL DEFAULT now(),
    person_id    bigint NOT NULL,            -- the case
    trace_window interval NOT NULL,          -- two scans at one venue this close are an encounter
    from_at      timestamptz NOT NULL,       -- the case's scans in [from_at, to_at]
    to_at        timestamptz NOT NULL,
    second_ring  boolean NOT NULL,
    returned     integer NOT NULL DEFAULT 0, -- how many people came back
    ring1        integer NOT NULL DEFAULT 0,
    ring2        integer,                    -- NULL: the second ring was not asked for
    marked_at    timestamptz,                -- the last mark_traced_contacts of this trace
    marked_by    name,
    marked       integer NOT NULL DEFAULT 0, -- people marked from this trace
    CONSTRAINT trace_audit_range CHECK (from_at < to_at),
    CONSTRAINT trace_audit_counts CHECK (returned = ring1 + coalesce(ring2, 0) AND (ring2 IS NULL) = NOT second_ring)
);
COMMENT ON TABLE healthpass.trace_audit IS
    'every contact trace: who traced which case, when, the window and range, how many came back, and the marking';
SELECT pg_catalog.pg_extension_config_dump('trace_audit', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.trace_audit', 'trace_id'), '');

CREATE TABLE trace_result (
    trace_id      bigint NOT NULL REFERENCES trace_audit ON DELETE CASCADE,
    person_id     bigint NOT NULL,
    ring          smallint NOT NULL CHECK (ring IN (1, 2)),
    encounters    integer NOT NULL,          -- this person's scans within the window of a scan of the source
    closest_gap   interval NOT NULL,
    source_at     timestamptz NOT NULL,      -- the closest encounter: the source's scan (the case, or for
    contact_at    timestamptz NOT NULL,      -- ring 2 the ring-1 contact via_person_id) and this person's
    first_at      timestamptz NOT NULL,      -- this person's first and last scan that met the source
    last_at       timestamptz NOT NULL,
    venue_ids     bigint[] NOT NULL,         -- where they met, in venue_id order
    via_person_id bigint,                    -- ring 2: the ring-1 contact of the closest encounter
    mark_id       bigint,                    -- the risk mark mark_traced_contacts set
    PRIMARY KEY (trace_id, person_id),
    CONSTRAINT trace_result_via CHECK ((ring = 2) = (via_person_id IS NOT NULL))
);
COMMENT ON TABLE healthpass.trace_result IS
    'the people a contact trace returned, ring 1 (met the case) and 2 (met a ring-1 contact afterwards), and their marks';
SELECT pg_catalog.pg_extension_config_dump('trace_result', '');
