-- The API surface, pinned: for every function, aggregate and procedure of
-- schema healthpass, its identity signature, result type, volatility,
-- SECURITY DEFINER or INVOKER with its search_path, and who may EXECUTE it
-- (PUBLIC and the seven purpose roles). A signature, volatility or grant that
-- changes fails here until the pinned list below is regenerated on purpose:
--
--     flock /tmp/healthpass-build.lock make -s install && test/hostile/pin-api.sh
--
-- (pin-api.sh creates the installed extension in a throwaway cluster, runs
-- the surface query block below and rewrites the rows of the pinned block;
-- review the diff before committing it.)
--
-- Then the rules every routine must keep, whatever the list says:
--   * every SECURITY DEFINER routine sets search_path;
--   * no routine of the schema is executable by PUBLIC (procedures included);
--   * no table, view or sequence of the schema (nor a column) is granted to
--     a purpose role or to PUBLIC;
--   * PostgreSQL's own pg_catalog.version() carries no grant to a
--     healthpass role and keeps its own comment.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

-- BEGIN SURFACE QUERY (pin-api.sh runs this block too)
SET search_path = public, pg_catalog;
CREATE TEMP VIEW api_now AS
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS sig,
       CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                      WHEN 'a' THEN 'aggregate' ELSE 'window' END AS kind,
       coalesce(pg_get_function_result(p.oid), '-') AS result,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
       CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END AS security,
       coalesce((SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c
                  WHERE c LIKE 'search_path=%'), '-') AS search_path,
       coalesce(nullif(concat_ws(',',
           CASE WHEN has_function_privilege('public', p.oid, 'EXECUTE') THEN 'PUBLIC' END,
           CASE WHEN has_function_privilege('healthpass_admin', p.oid, 'EXECUTE') THEN 'admin' END,
           CASE WHEN has_function_privilege('healthpass_app', p.oid, 'EXECUTE') THEN 'app' END,
           CASE WHEN has_function_privilege('healthpass_scanner', p.oid, 'EXECUTE') THEN 'scanner' END,
           CASE WHEN has_function_privilege('healthpass_health', p.oid, 'EXECUTE') THEN 'health' END,
           CASE WHEN has_function_privilege('healthpass_report', p.oid, 'EXECUTE') THEN 'report' END,
           CASE WHEN has_function_privilege('healthpass_border', p.oid, 'EXECUTE') THEN 'border' END,
           CASE WHEN has_function_privilege('healthpass_messenger', p.oid, 'EXECUTE') THEN 'messenger' END), ''),
           'none') AS executors
  FROM pg_proc p
 WHERE p.pronamespace = 'healthpass'::regnamespace;
-- END SURFACE QUERY

CREATE TEMP TABLE api_pinned (
    sig text PRIMARY KEY, kind text, result text, volatility text, security text,
    search_path text, executors text);
INSERT INTO api_pinned (sig, kind, result, volatility, security, search_path, executors) VALUES
-- BEGIN PINNED (written by test/hostile/pin-api.sh)
    ('acknowledge_venue_alert(alert_id bigint)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('add_acceptance_point(city text, district text, address text)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('add_colour_rule(colour healthpass.health_colour, reason text, condition jsonb, priority integer)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('add_family_member(guardian_id bigint, doc_kind text, doc_number text, name text, relation text, birth_date date, sex text, nationality text, phone text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('add_hc1_signer(country text, certificate bytea)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('add_venue_staff(manager_id bigint, venue_id bigint, doc_kind text, doc_number text, name text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('admission_rules()', 'function', 'TABLE(colour healthpass.health_colour, decision text, prompt text, changed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health,report,border,messenger'),
    ('apply_epass(person_id bigint, letter_version integer, info jsonb)', 'function', 'jsonb', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('base45_decode(data text)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('base45_encode(data bytea)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('bind_companion(person_id bigint, doc_kind text, doc_number text)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('bind_electronic_permit(person_id bigint, doc_number text, liveness_method text)', 'function', 'TABLE(outcome text, reason text, retry_after timestamp with time zone, document_id bigint)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('certified_photo(person_id bigint)', 'function', 'TABLE(media_type text, photo bytea, bound_at timestamp with time zone, provider text, checked_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('claim_due_reminders(worker text, max_count integer)', 'function', 'TABLE(reminder_id bigint, person_id bigint, reason text, due_at timestamp with time zone, subject text, doc_kind text, region text, endorsement_type text, doc_number_masked text, expires_on date, days_left integer, entries_remaining integer, attempts integer)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'messenger'),
    ('close_venue(person_id bigint, venue_id bigint, reason text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('cn_resident_id_age(healthpass.cn_resident_id, at date)', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_birth_date(healthpass.cn_resident_id)', 'function', 'date', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_cmp(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_eq(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_ge(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_gt(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_hash(healthpass.cn_resident_id)', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_hash_extended(healthpass.cn_resident_id, bigint)', 'function', 'bigint', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_in(cstring)', 'function', 'healthpass.cn_resident_id', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_le(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_lt(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_mask(healthpass.cn_resident_id)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_ne(healthpass.cn_resident_id, healthpass.cn_resident_id)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_out(healthpass.cn_resident_id)', 'function', 'cstring', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_recv(internal)', 'function', 'healthpass.cn_resident_id', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_region_code(healthpass.cn_resident_id)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_send(healthpass.cn_resident_id)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_sex(healthpass.cn_resident_id)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('cn_resident_id_sortsupport(internal)', 'function', 'void', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('colour_at(person_id bigint, at timestamp with time zone)', 'function', 'healthpass.health_colour', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health,report'),
    ('colour_condition_sql(condition jsonb)', 'function', 'text', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('colour_facts_catalogue()', 'function', 'TABLE(name text, type text, description text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('colour_history(person_id bigint, from_at timestamp with time zone, to_at timestamp with time zone)', 'function', 'TABLE(since timestamp with time zone, until timestamp with time zone, colour healthpass.health_colour, reasons text[], rule_ids integer[], ruleset integer)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health'),
    ('colour_meaning(colour healthpass.health_colour)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('colour_rules(version integer)', 'function', 'TABLE(rule_id integer, priority integer, colour healthpass.health_colour, reason text, condition jsonb, created_at timestamp with time zone, created_by name)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('colour_rulesets()', 'function', 'TABLE(version integer, activated_at timestamp with time zone, rule_ids integer[], note text, created_by name)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('colour_status(person_id bigint, at timestamp with time zone)', 'function', 'TABLE(colour healthpass.health_colour, reasons text[], rule_ids integer[], since timestamp with time zone, until timestamp with time zone, source text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health,report'),
    ('colour_tick(max_people integer)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('companion_limit()', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app'),
    ('configure(setting_name text, value text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('configure_health(code_valid_for interval, declaration_valid_for interval)', 'function', 'void', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('confirm_endorsement_entries(person_id bigint, endorsement_id bigint, entries_used integer, as_of timestamp with time zone)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('cross_border(port_code text, direction text, channel text, doc_kind text, doc_number text, person_id bigint, region text, crossed_at timestamp with time zone)', 'function', 'TABLE(passed boolean, refusal text, detail text, crossing_id bigint, person_ref uuid, entries_remaining integer, stay_days integer, overstay_days integer)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('crossing_record(person_id bigint, from_time timestamp with time zone, to_time timestamp with time zone)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('crossings(person_id bigint, from_time timestamp with time zone, to_time timestamp with time zone)', 'function', 'TABLE(crossing_id bigint, crossed_at timestamp with time zone, port_code text, port_name text, direction text, region text, channel text, doc_kind text, doc_number_masked text, stay_days integer, overstay_days integer)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('current_notice(kind text)', 'function', 'TABLE(version integer, title text, body text, published_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('declare_health(person_id bigint, fever_today boolean, contact_14d boolean, travel_places text[], destination_city text, destination_address text, temperature numeric, OUT declaration_id bigint, OUT declared_at timestamp with time zone, OUT valid_until timestamp with time zone)', 'function', 'record', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('declare_risk_area(place text, note text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('distribute()', 'function', 'TABLE(object text, action text, detail text)', 'volatile', 'invoker', 'healthpass, healthpass_internal, pg_temp', 'none'),
    ('document_free_eligibility(person_id bigint, port_code text, region text, at_time timestamp with time zone)', 'function', 'TABLE(eligible boolean, for_region text, reasons text[], explanations text[])', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('document_kind_holder(kind text)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('document_kinds()', 'function', 'SETOF text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('edit_family_member(guardian_id bigint, member_id bigint, changes jsonb)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('edit_person(person_id bigint, changes jsonb)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('edit_venue(person_id bigint, venue_id bigint, changes jsonb, image bytea)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('electronic_permit(person_id bigint)', 'function', 'jsonb', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('enrol_biometrics(person_id bigint, point_code text, operator text, template_ref text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('enrolment_points()', 'function', 'TABLE(point_code text, port_code text, name text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,border'),
    ('entry_code(person_id bigint)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('entry_fields()', 'function', 'text[]', 'immutable', 'invoker', '-', 'admin,app'),
    ('entry_history(person_id bigint)', 'function', 'TABLE(version integer, valid_from timestamp with time zone, valid_to timestamp with time zone, data jsonb)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('entry_lookup(doc_kind text, doc_number text)', 'function', 'TABLE(state text, person_id bigint, entry_code text, notice_version integer, may_apply_epass boolean)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('entry_registration(person_id bigint)', 'function', 'jsonb', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('epass_fields()', 'function', 'text[]', 'immutable', 'invoker', '-', 'admin,app'),
    ('epass_history(person_id bigint)', 'function', 'TABLE(version integer, valid_from timestamp with time zone, valid_to timestamp with time zone, data jsonb)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('epass_page(person_id bigint)', 'function', 'jsonb', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('face_checks(person_id bigint)', 'function', 'TABLE(check_id bigint, provider text, provider_ref text, outcome text, checked_at timestamp with time zone, photo_bound boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('family_limit()', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app'),
    ('family_member_code(guardian_id bigint, member_id bigint, valid_for interval)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('family_member_history(guardian_id bigint, member_id bigint)', 'function', 'TABLE(version integer, valid_from timestamp with time zone, valid_to timestamp with time zone, relation text)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('family_member_qr_png(guardian_id bigint, member_id bigint, valid_for interval, module_px integer)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('family_members(guardian_id bigint)', 'function', 'TABLE(member_id bigint, person_ref uuid, name text, doc_kind text, doc_masked text, birth_date date, relation text, realname_status text, added_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('family_test_results(guardian_id bigint, at timestamp with time zone)', 'function', 'TABLE(member_id bigint, name_masked text, relation text, sampled_at timestamp with time zone, result text, reported_at timestamp with time zone, institution text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health'),
    ('find_person(doc_kind text, doc_number text)', 'function', 'bigint', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('give_biometric_consent(person_id bigint)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('group_codes(person_id bigint)', 'function', 'TABLE(pos integer, person_ref uuid, is_registrant boolean, name_masked text, doc_masked text, prev_ref uuid, next_ref uuid, code_status text, entry_code text)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('hc1_records(person_id bigint)', 'function', 'TABLE(uvci text, kind text, test_type text, sampled_at timestamp with time zone, result text, vaccinated_on date, dose_number integer, dose_total integer, valid_from date, valid_until date, country text, expires_at timestamp with time zone, recorded_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,health'),
    ('hc1_signers()', 'function', 'TABLE(kid bytea, country text, family text, not_before timestamp with time zone, not_after timestamp with time zone, subject text, added_at timestamp with time zone, added_by name)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,report'),
    ('health_code(person_id bigint)', 'function', 'TABLE(token text, colour healthpass.health_colour, reasons text[], since timestamp with time zone, last_negative_at timestamp with time zone, expires_at timestamp with time zone)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('health_code_png(person_id bigint, module_px integer)', 'function', 'TABLE(token text, colour healthpass.health_colour, expires_at timestamp with time zone, png bytea)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('health_declarations(person_id bigint, max_rows integer)', 'function', 'TABLE(declaration_id bigint, declared_at timestamp with time zone, valid_until timestamp with time zone, in_force boolean, fever_today boolean, contact_14d boolean, travel_places text[], destination_city text, destination_address text, temperature numeric)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health'),
    ('health_settings(OUT code_valid_for interval, OUT declaration_valid_for interval, OUT updated_at timestamp with time zone)', 'function', 'record', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health,report'),
    ('health_status(person_id bigint)', 'function', 'TABLE(colour healthpass.health_colour, meaning text, reasons text[], since timestamp with time zone, declaration_valid_until timestamp with time zone, latest_result text, latest_sampled_at timestamp with time zone, last_negative_at timestamp with time zone)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health'),
    ('hk_contactless_code(person_id bigint, authenticated_via text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('import_signing_key(seed_file text, not_before timestamp with time zone, not_after timestamp with time zone)', 'function', 'bytea', 'volatile', 'invoker', 'healthpass, healthpass_internal, pg_temp', 'none'),
    ('import_transfer(token text, itinerary jsonb)', 'function', 'TABLE(outcome text, person_id bigint, package_id uuid, source text, colour healthpass.health_colour, code text, code_expires_at timestamp with time zone)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('import_transfer_partner(material jsonb, accept_from boolean, send_to boolean)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('import_trust_list(doc jsonb)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('is_valid_document(kind text, number text)', 'function', 'boolean', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('issue_token(kind text, body jsonb, valid_for interval)', 'function', 'text', 'volatile', 'invoker', '-', 'admin'),
    ('issue_token_at(kind text, body jsonb, issued_at timestamp with time zone, expires_at timestamp with time zone, token_id bytea, kid bytea)', 'function', 'text', 'volatile', 'invoker', '-', 'none'),
    ('latest_crossing_png(person_id bigint, port_code text, module_px integer)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('latest_crossing_record(person_id bigint, port_code text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('latest_crossing_svg(person_id bigint, port_code text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('latest_test_result(person_id bigint, at timestamp with time zone)', 'function', 'TABLE(sampled_at timestamp with time zone, result text, reported_at timestamp with time zone, institution text, sample_ref text, last_negative_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,health'),
    ('lift_risk_area(area_id bigint)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('lift_risk_mark(person_id bigint, mark_id bigint, reason text)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('manual_health_check(doc_kind text, doc_number text, name text, phone text)', 'function', 'TABLE(name_masked text, id_masked text, colour healthpass.health_colour, meaning text, reasons text[], since timestamp with time zone, latest_result text, latest_sampled_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,scanner'),
    ('mark_reminder_failed(person_id bigint, reminder_id bigint, worker text, error text)', 'function', 'boolean', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'messenger'),
    ('mark_reminder_sent(person_id bigint, reminder_id bigint, worker text)', 'function', 'boolean', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'messenger'),
    ('mark_traced_contacts(trace_id bigint, kind text, second_ring_kind text, valid_for interval, note text)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('mask_document(kind text, number text)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('mask_name(name text)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('modify_entry(person_id bigint, changes jsonb)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('modify_epass(person_id bigint, changes jsonb)', 'function', 'jsonb', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('my_venues(person_id bigint)', 'function', 'TABLE(venue_id bigint, role text, name text, street text, address text, status text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('normalize_document(kind text, number text)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('notice_acceptances(person_id bigint)', 'function', 'TABLE(kind text, version integer, accepted_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('pass_body(healthpass.pass)', 'function', 'jsonb', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_cose(healthpass.pass)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_expires_at(healthpass.pass)', 'function', 'timestamp with time zone', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_in(cstring)', 'function', 'healthpass.pass', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_issued_at(healthpass.pass)', 'function', 'timestamp with time zone', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_issuer(healthpass.pass)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_kid(healthpass.pass)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_kind(healthpass.pass)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_out(healthpass.pass)', 'function', 'cstring', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_recv(internal)', 'function', 'healthpass.pass', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_send(healthpass.pass)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('pass_token_id(healthpass.pass)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('permit_bindings(person_id bigint)', 'function', 'TABLE(attempted_at timestamp with time zone, outcome text, reason text, retry_after timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('person_by_ref(ref uuid)', 'function', 'bigint', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health'),
    ('person_history(person_id bigint)', 'function', 'TABLE(version integer, valid_from timestamp with time zone, valid_to timestamp with time zone, data jsonb)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('person_info(person_id bigint)', 'function', 'jsonb', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('personal_code(person_id bigint, valid_for interval)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('photo_limit()', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,app'),
    ('ports()', 'function', 'TABLE(port_code text, name text, name_zh text, city text, regions text[], document_free_from date)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,border'),
    ('publish_notice(kind text, title text, body text)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('qr_png(data text, level text, module_px integer, margin integer, fg text, bg text)', 'function', 'bytea', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('qr_svg(data text, level text, module_px integer, margin integer, fg text, bg text)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('qr_text(data text, level text, margin integer, invert boolean)', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('realname_queue(max_rows integer)', 'function', 'TABLE(person_id bigint, version integer, doc_kind text, doc_number text, name text, birth_date date, submitted_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('received_transfers(person_id bigint)', 'function', 'TABLE(package_id uuid, source text, colour text, colour_at timestamp with time zone, answers jsonb, last_negative_test date, tests integer, destination_city text, outcome text, received_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,health'),
    ('recolour_all()', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('recolour_chunk_size()', 'function', 'integer', 'immutable', 'invoker', '-', 'admin,report'),
    ('recolour_progress(job bigint)', 'function', 'TABLE(job_id bigint, version integer, note text, state text, done bigint, total bigint, percent numeric, changed bigint, created_at timestamp with time zone, started_at timestamp with time zone, finished_at timestamp with time zone, people_per_second numeric)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,report'),
    ('recolour_run(IN job bigint)', 'procedure', '-', 'volatile', 'invoker', '-', 'admin'),
    ('recolour_start(chunk_size integer)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('recolour_step(job bigint)', 'function', 'TABLE(job_id bigint, state text, done bigint, total bigint, changed bigint, finished boolean)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('record_certificate_png(person_id bigint, from_time timestamp with time zone, to_time timestamp with time zone, module_px integer)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('record_certificate_svg(person_id bigint, from_time timestamp with time zone, to_time timestamp with time zone)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('record_document_lost(person_id bigint, document_id bigint)', 'function', 'void', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('record_endorsement(person_id bigint, document_id bigint, region text, endorsement_type text, entries text, valid_from date, valid_until date, days_per_stay integer)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('record_face_check(person_id bigint, provider text, outcome text, photo bytea, provider_ref text, checked_at timestamp with time zone)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('record_hc1(person_id bigint, certificate text, OUT uvci text, OUT kind text, OUT country text)', 'function', 'record', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,health'),
    ('record_realname_result(person_id bigint, checked_version integer, result text, reason text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('record_scan_check(staff_id bigint, venue_id bigint, person_ref uuid, scanned_at timestamp with time zone, admitted boolean, temperature numeric, note text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner'),
    ('record_test_result(person_id bigint, institution text, sample_ref text, sampled_at timestamp with time zone, result text, reported_at timestamp with time zone)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('record_travel_document(person_id bigint, doc_kind text, doc_number text, issuing_authority text, issued_on date, valid_until date, issuing_province text, official boolean, biometric_ref text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('register_person(doc_kind text, doc_number text, name text, birth_date date, sex text, nationality text, phone text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('register_venue(person_id bigint, id_kind text, id_number text, name text, street text, address text, phone text, image bytea, negative_test_hours integer)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('reminder_scheduler()', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,messenger'),
    ('reminders(person_id bigint)', 'function', 'TABLE(reminder_id bigint, reason text, subject text, subject_id bigint, doc_kind text, doc_number_masked text, region text, expires_on date, offset_days integer, due_at timestamp with time zone, status text, attempts integer, next_at timestamp with time zone, sent_at timestamp with time zone, cancelled_reason text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('remove_hc1_signer(kid bytea)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('remove_venue_staff(manager_id bigint, venue_id bigint, staff_id bigint)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('renew_endorsement(person_id bigint, region text, endorsement_type text, entries text, valid_until date, days_per_stay integer, valid_from date)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('reopen_venue(person_id bigint, venue_id bigint, reason text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('replace_colour_rule(rule_id integer, colour healthpass.health_colour, reason text, condition jsonb, priority integer)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('report_hourly_load(from_at timestamp with time zone, to_at timestamp with time zone, venue bigint, exported boolean)', 'function', 'TABLE(hour timestamp with time zone, scans bigint, self_scans bigint, staff_scans bigint, manual_checks bigint, venues bigint, people bigint, suppressed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('report_non_green(from_at timestamp with time zone, to_at timestamp with time zone, exported boolean)', 'function', 'TABLE(day timestamp with time zone, venue_id bigint, venue_name text, street text, light_green bigint, yellow bigint, red bigint, suppressed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('report_quiet_venues(days integer, include_closed boolean, exported boolean)', 'function', 'TABLE(venue_id bigint, venue_name text, street text, status text, registered_at timestamp with time zone, last_scan_at timestamp with time zone, days_since integer)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('report_staff_activity(from_at timestamp with time zone, to_at timestamp with time zone, exported boolean)', 'function', 'TABLE(day timestamp with time zone, staff_ref uuid, staff_masked text, venues bigint, scans bigint, manual_checks bigint, people bigint, suppressed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('report_street_day(from_at timestamp with time zone, to_at timestamp with time zone, exported boolean)', 'function', 'TABLE(day timestamp with time zone, street text, venues bigint, scans bigint, people bigint, suppressed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('report_venue_day(from_at timestamp with time zone, to_at timestamp with time zone, venue bigint, exported boolean)', 'function', 'TABLE(day timestamp with time zone, venue_id bigint, venue_name text, street text, method text, colour healthpass.health_colour, decision text, scans bigint, people bigint, suppressed boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health,report'),
    ('request_transfer(person_id bigint, destination text, notice_version integer, form jsonb)', 'function', 'TABLE(token text, package_id uuid, expires_at timestamp with time zone)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('result_window()', 'function', 'interval', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('retire_colour_rule(rule_id integer)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('revocation_list()', 'function', 'jsonb', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,scanner,report'),
    ('revoke_pass(token healthpass.pass, reason text)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('revoke_signing_key(kid bytea, reason text)', 'function', 'integer', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('revoke_token(token_id bytea, reason text, kid bytea)', 'function', 'timestamp with time zone', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('risk_areas(include_lifted boolean)', 'function', 'TABLE(area_id bigint, place text, note text, declared_at timestamp with time zone, lifted_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health,report'),
    ('risk_marks(person_id bigint)', 'function', 'TABLE(mark_id bigint, kind healthpass.risk_mark_kind, valid_from timestamp with time zone, valid_until timestamp with time zone, active boolean, note text, recorded_at timestamp with time zone, lifted_at timestamp with time zone, lift_reason text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('rotate_sealing_key(grace interval)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('rotate_signing_key(valid_for interval)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('scan_contactless_code(token text, port_code text, direction text)', 'function', 'TABLE(passed boolean, refusal text, detail text, name_masked text, id_masked text)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'border'),
    ('scan_maintenance(ahead integer)', 'function', 'TABLE(action text, partition text, day date)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('scan_personal_code(token text)', 'function', 'TABLE(valid boolean, reason text, kind text, issuer text, person_ref uuid, name_masked text, doc_kind text, id_masked text, expires_at timestamp with time zone, colour healthpass.health_colour, meaning text, reasons text[], since timestamp with time zone, latest_result text, latest_sampled_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health'),
    ('scan_venue_code(person_id bigint, venue_token text)', 'function', 'TABLE(venue_name text, scanned_at timestamp with time zone, person_ref uuid, name_masked text, colour healthpass.health_colour, meaning text, latest_result text, latest_sampled_at timestamp with time zone, decision text, prompt text, recorded boolean)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('sealing_keys()', 'function', 'TABLE(kid bytea, public_key bytea, created_at timestamp with time zone, retired_at timestamp with time zone, open_until timestamp with time zone, current boolean)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('set_admission_rule(colour healthpass.health_colour, decision text, prompt text)', 'function', 'void', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('set_risk_mark(person_id bigint, kind text, valid_from timestamp with time zone, valid_until timestamp with time zone, note text)', 'function', 'bigint', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('settings()', 'function', 'TABLE(name text, kind text, value text, default_value text, changed boolean, updated_at timestamp with time zone, description text)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,report'),
    ('signing_keys(OUT kid bytea, OUT issuer text, OUT local boolean, OUT status text, OUT not_before timestamp with time zone, OUT not_after timestamp with time zone, OUT status_reason text, OUT created_at timestamp with time zone)', 'function', 'SETOF record', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,report'),
    ('staff_manual_check(staff_id bigint, venue_id bigint, doc_kind text, doc_number text, name text, phone text)', 'function', 'TABLE(venue_name text, scanned_at timestamp with time zone, person_ref uuid, name_masked text, colour healthpass.health_colour, meaning text, latest_result text, latest_sampled_at timestamp with time zone, decision text, prompt text, recorded boolean)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner'),
    ('staff_scan(staff_id bigint, venue_id bigint, token text)', 'function', 'TABLE(valid boolean, reason text, kind text, venue_name text, scanned_at timestamp with time zone, person_ref uuid, name_masked text, colour healthpass.health_colour, meaning text, latest_result text, latest_sampled_at timestamp with time zone, decision text, prompt text, recorded boolean)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner'),
    ('submit_entry(person_id bigint, notice_version integer, entry jsonb)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('suspend_venue(person_id bigint, venue_id bigint, reason text)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('test_results(person_id bigint)', 'function', 'TABLE(result_id bigint, institution text, sample_ref text, sampled_at timestamp with time zone, result text, reported_at timestamp with time zone, recorded_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('token_issuer()', 'function', 'text', 'stable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('trace_audit(max_rows integer)', 'function', 'TABLE(trace_id bigint, traced_by name, traced_at timestamp with time zone, case_person_id bigint, case_ref uuid, case_name_masked text, trace_window interval, from_at timestamp with time zone, to_at timestamp with time zone, second_ring boolean, returned integer, ring1 integer, ring2 integer, marked integer, marked_at timestamp with time zone, marked_by name)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('trace_contacts(case_person_id bigint, from_at timestamp with time zone, to_at timestamp with time zone, trace_window interval, second_ring boolean)', 'function', 'TABLE(trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text, encounters integer, closest_gap interval, source_at timestamp with time zone, contact_at timestamp with time zone, first_at timestamp with time zone, last_at timestamp with time zone, venue_ids bigint[], venue_names text[], via_ref uuid)', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('trace_result(trace_id bigint)', 'function', 'TABLE(trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text, encounters integer, closest_gap interval, source_at timestamp with time zone, contact_at timestamp with time zone, first_at timestamp with time zone, last_at timestamp with time zone, venue_ids bigint[], venue_names text[], via_ref uuid, mark_id bigint)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('transfer_exports(person_id bigint)', 'function', 'TABLE(package_id uuid, destination text, notice_version integer, consented_at timestamp with time zone, created_at timestamp with time zone, expires_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('transfer_material()', 'function', 'jsonb', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('transfer_partners()', 'function', 'TABLE(issuer text, accept_from boolean, send_to boolean, sealing_kid bytea, updated_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin'),
    ('travel_documents(person_id bigint)', 'function', 'TABLE(document_id bigint, doc_kind text, doc_number_masked text, official boolean, issuing_authority text, issuing_province text, issued_on date, valid_until date, state text, replaced_by bigint)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app,border'),
    ('trust_list()', 'function', 'jsonb', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health,report,border,messenger'),
    ('trusted_acceptance_points(district text, city text)', 'function', 'SETOF healthpass.acceptance_point', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,border'),
    ('unbind_certified_photo(person_id bigint)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('unbind_companion(person_id bigint, doc_kind text, doc_number text)', 'function', 'void', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('unbind_electronic_permit(person_id bigint)', 'function', 'boolean', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('undistribute()', 'function', 'TABLE(object text, action text, detail text)', 'volatile', 'invoker', 'healthpass, healthpass_internal, pg_temp', 'none'),
    ('venue_alerts(include_acknowledged boolean)', 'function', 'TABLE(alert_id bigint, venue_id bigint, venue_name text, street text, person_ref uuid, name_masked text, scanned_at timestamp with time zone, colour healthpass.health_colour, raised_at timestamp with time zone, acknowledged_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,health'),
    ('venue_code(person_id bigint, venue_id bigint)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('venue_details(person_id bigint, venue_id bigint)', 'function', 'TABLE(role text, id_kind text, id_masked text, name text, street text, address text, phone text, image_type text, image bytea, status text, status_reason text, negative_test_hours integer, staff_count integer, version integer, created_at timestamp with time zone, updated_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('venue_history(person_id bigint, venue_id bigint)', 'function', 'TABLE(version integer, valid_from timestamp with time zone, valid_to timestamp with time zone, data jsonb)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('venue_poster_png(person_id bigint, venue_id bigint, module_px integer)', 'function', 'bytea', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('venue_poster_svg(person_id bigint, venue_id bigint)', 'function', 'text', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('venue_staff(manager_id bigint, venue_id bigint)', 'function', 'TABLE(staff_id bigint, name_masked text, doc_kind text, id_masked text, added_at timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app'),
    ('verify_hc1(certificate text, at_time timestamp with time zone, OUT valid boolean, OUT reason text, OUT kid bytea, OUT alg text, OUT country text, OUT issued_at timestamp with time zone, OUT expires_at timestamp with time zone, OUT content jsonb)', 'function', 'record', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health,border'),
    ('verify_health_code(token text)', 'function', 'TABLE(valid boolean, reason text, person_ref uuid, name_masked text, doc_kind text, id_masked text, issuer text, colour healthpass.health_colour, negative_test date, issued_at timestamp with time zone, expires_at timestamp with time zone, current_colour healthpass.health_colour, current_reasons text[], current_since timestamp with time zone)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'admin,app,scanner,health'),
    ('verify_record_certificate(token text)', 'function', 'TABLE(valid boolean, reason text, issuer text, issued_at timestamp with time zone, expires_at timestamp with time zone, name_masked text, doc_kind text, id_masked text, period_from timestamp with time zone, period_to timestamp with time zone, latest_at_port text, crossings jsonb)', 'stable', 'definer', 'healthpass, healthpass_internal, pg_temp', 'scanner,border'),
    ('verify_token(token healthpass.pass, at timestamp with time zone)', 'function', 'healthpass.verification', 'stable', 'invoker', '-', 'admin,app,scanner,health'),
    ('verify_token(token text, at timestamp with time zone)', 'function', 'healthpass.verification', 'stable', 'invoker', '-', 'admin,app,scanner,health'),
    ('version()', 'function', 'text', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('withdraw_biometric_consent(person_id bigint)', 'function', 'text[]', 'volatile', 'definer', 'healthpass, healthpass_internal, pg_temp', 'app'),
    ('worse(a healthpass.health_colour, b healthpass.health_colour)', 'function', 'healthpass.health_colour', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger'),
    ('worst(healthpass.health_colour)', 'aggregate', 'healthpass.health_colour', 'immutable', 'invoker', '-', 'admin,app,scanner,health,report,border,messenger')
-- END PINNED
;

CREATE TEMP VIEW api_diff AS
SELECT coalesce(n.sig, p.sig) AS sig,
       concat_ws(' | ', n.kind, n.result, n.volatility, n.security, 'search_path=' || n.search_path,
                 'executable by ' || n.executors) AS have,
       concat_ws(' | ', p.kind, p.result, p.volatility, p.security, 'search_path=' || p.search_path,
                 'executable by ' || p.executors) AS want
  FROM api_now n FULL JOIN api_pinned p ON p.sig = n.sig;

SELECT plan((SELECT count(*)::integer FROM api_diff) + 7);

-- every routine as pinned (a routine that appeared or vanished shows an empty side)
SELECT is(have, want, 'healthpass.' || sig) FROM api_diff ORDER BY sig;

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'healthpass'::regnamespace AND p.prosecdef
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
     ORDER BY 1 $$,
    'every SECURITY DEFINER routine sets search_path');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' (' || p.prokind::text || ')' FROM pg_proc p
     WHERE p.pronamespace = 'healthpass'::regnamespace
       AND has_function_privilege('public', p.oid, 'EXECUTE')
     ORDER BY 1 $$,
    'no function, aggregate or procedure of the schema is executable by PUBLIC');

SELECT is_empty($$
    SELECT c.oid::regclass::text || ' (' || c.relkind::text || ') to ' || coalesce(a.grantee::regrole::text, 'PUBLIC')
           || ': ' || a.privilege_type
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.relnamespace = 'healthpass'::regnamespace
       AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM pg_roles WHERE rolname IN
               ('healthpass_admin', 'healthpass_app', 'healthpass_scanner', 'healthpass_health', 'healthpass_report',
                'healthpass_border', 'healthpass_messenger')))
     ORDER BY 1 $$,
    'no table, view or sequence of the schema is granted to a purpose role or PUBLIC');

SELECT is_empty($$
    SELECT c.oid::regclass::text || '.' || t.attname || ' to ' || coalesce(a.grantee::regrole::text, 'PUBLIC')
      FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
     WHERE c.relnamespace = 'healthpass'::regnamespace
       AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'healthpass\_%'))
     ORDER BY 1 $$,
    'no column of the schema is granted to a purpose role or PUBLIC');

SELECT is_empty($$
    SELECT a.grantee::regrole::text || ': ' || a.privilege_type
      FROM pg_proc p, aclexplode(p.proacl) a
     WHERE p.oid = 'pg_catalog.version()'::regprocedure
       AND a.grantee IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'healthpass\_%') $$,
    'pg_catalog.version() carries no grant to a healthpass role');

SELECT is(obj_description('pg_catalog.version()'::regprocedure, 'pg_proc'), 'PostgreSQL version string',
          'pg_catalog.version() keeps its own comment');

SELECT is((SELECT string_agg(DISTINCT executors, ';') FROM api_now WHERE sig = 'version()'),
          'admin,app,scanner,health,report,border,messenger',
          'healthpass.version() is executable by the seven purpose roles');

SELECT * FROM finish();
