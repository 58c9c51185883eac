-- 70_border.sql: travel documents, endorsements, the electronic HK/Macau
-- permit (seed 001), the document-free channel's consent, enrolment and
-- eligibility, and crossings of the mainland border (seed 003).
--
-- Who calls what:
--   healthpass_border  the exit-entry administration's feed (documents,
--                      endorsements, lost reports), enrolment points and the
--                      border gates (crossings)
--   healthpass_app     the traveller's app: bind and view the electronic
--                      permit, renew an endorsement online, consent, check
--                      eligibility, find an acceptance point
-- Refusals at a gate are answers, not errors: cross_border returns
-- passed = false with a named refusal and records nothing.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Days and instants -----------------------------------------------------------

-- Documents and endorsements are dated in China Standard Time: a day's
-- first instant there.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_day_start(d date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (d::timestamp AT TIME ZONE 'Asia/Shanghai');
COMMENT ON FUNCTION healthpass_internal.hp_cst_day_start(date) IS 'the first instant of a day in China Standard Time (internal)';

-- The day an instant falls on in China Standard Time.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_day(t timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (t AT TIME ZONE 'Asia/Shanghai')::date;
COMMENT ON FUNCTION healthpass_internal.hp_cst_day(timestamptz) IS 'the China Standard Time day of an instant (internal)';

-- A checked day: present, between 1900 and 9999 (22008 otherwise).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_day(field text, value date) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = 'null_value_not_allowed', DETAIL = format('Give the %s as a date.', field);
    END IF;
    IF NOT isfinite(value) OR value < DATE '1900-01-01' OR value > DATE '9999-12-30' THEN
        RAISE EXCEPTION '% "%" is out of range', field, value
            USING ERRCODE = 'datetime_field_overflow', DETAIL = format('The %s lies between the years 1900 and 9999.', field);
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_day(text, date) IS 'checked date: present and finite (internal)';

-- Reference data ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION ports()
    RETURNS TABLE (port_code text, name text, name_zh text, city text, regions text[], document_free_from date)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT p.port_code, p.name, p.name_zh, p.city, p.regions, p.document_free_from
      FROM port p ORDER BY p.port_code
$$;
COMMENT ON FUNCTION healthpass.ports() IS
    'border ports to Hong Kong and Macau, the regions each serves and when its document-free channel opened';

CREATE OR REPLACE FUNCTION enrolment_points()
    RETURNS TABLE (point_code text, port_code text, name text)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT e.point_code, e.port_code, e.name FROM enrolment_point e ORDER BY e.point_code
$$;
COMMENT ON FUNCTION healthpass.enrolment_points() IS 'where people enrol face and fingerprints for the document-free channel';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_port(code text) RETURNS port
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p port;
BEGIN
    SELECT * INTO p FROM port WHERE port_code = code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'port "%" does not exist', hp_quote(code)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'ports() lists the ports by their code, for example "shenzhen_bay".';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_port(text) IS 'port row, or 22023 (internal)';

-- Trusted acceptance points of a city, of one district or all, for the
-- traveller whose face recognition cannot pass (seed 001). A district
-- matches with or without its "区" (天河 or 天河区).
CREATE OR REPLACE FUNCTION trusted_acceptance_points(district text DEFAULT NULL, city text DEFAULT '广州市')
    RETURNS SETOF acceptance_point
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d text := nullif(btrim(hp_text('district', trusted_acceptance_points.district, 50)), '');
    c text := btrim(hp_text('city', trusted_acceptance_points.city, 50));
BEGIN
    IF c IS NULL OR c = '' THEN
        RAISE EXCEPTION 'city is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the city, for example 广州市.';
    END IF;
    RETURN QUERY
        SELECT a.*
          FROM acceptance_point a
         WHERE (a.city = c OR a.city = c || '市')
           AND (d IS NULL OR a.district = d OR a.district = d || '区')
         ORDER BY a.district, a.point_id;
END
$$;
COMMENT ON FUNCTION healthpass.trusted_acceptance_points(text, text) IS
    'trusted acceptance points (可信受理点) of a city, optionally of one district, where the ID card''s online credential is activated';

CREATE OR REPLACE FUNCTION add_acceptance_point(city text, district text, address text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id integer;
BEGIN
    INSERT INTO acceptance_point (city, district, address)
    VALUES (hp_clean_place('city', add_acceptance_point.city), hp_clean_place('district', add_acceptance_point.district),
            hp_clean_place('address', add_acceptance_point.address))
    RETURNING point_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.add_acceptance_point(text, text, text) IS
    'add a trusted acceptance point (other cities follow, seed 001); returns its id';

-- Travel documents ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_travel_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['hk_macau_permit', 'home_return_permit', 'cn_passport', 'passport'];
COMMENT ON FUNCTION healthpass_internal.hp_travel_kinds() IS 'document kinds a travel document can be (internal)';

-- The canonical number of a travel document, or the error (masked).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_travel_number(kind text, number text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN healthpass_internal.hp_document_number(kind, number, healthpass_internal.hp_travel_kinds(), 'is not a travel document');
COMMENT ON FUNCTION healthpass_internal.hp_travel_number(text, text) IS 'canonical travel document number, or 22023 with the number masked (internal)';

-- A person's document by id, or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_get_document(pid bigint, did bigint) RETURNS travel_document
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d travel_document;
BEGIN
    IF did IS NULL THEN
        RAISE EXCEPTION 'document id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the document by its document_id.';
    END IF;
    SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = did;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % of person % does not exist', did, pid
            USING ERRCODE = 'no_data_found', DETAIL = 'travel_documents() lists a person''s documents.';
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_get_document(bigint, bigint) IS 'a person''s travel document, or P0002 (internal)';

-- What a document is at an instant: valid, expired, reported_lost or replaced.
-- It takes the columns it reads, not the row: a query routed to a Citus shard
-- reads the shard's rows (travel_document_102105), whose row type is not
-- travel_document.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_state(status text, expires_at timestamptz, issued_on date,
                                                                 at_time timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN status <> 'valid' THEN status
            WHEN at_time >= expires_at THEN 'expired'
            WHEN at_time < hp_cst_day_start(issued_on) THEN 'not_yet_issued'
            ELSE 'valid' END;
COMMENT ON FUNCTION healthpass_internal.hp_document_state(text, timestamptz, date, timestamptz) IS
    'valid, expired, reported_lost, replaced or not_yet_issued at an instant, from the document''s status, expiry and issue day (internal)';

-- The exit-entry administration records a document it issued. A document of
-- the same kind and use replaces the person's current one: its endorsements
-- are cancelled, and an electronic permit bound to it moves to the new card
-- when that is still a Guangdong permit, else it is unbound. biometric_ref
-- is set when the applicant left face and fingerprints with the application
-- (seed 003: enrolled already): a reference into the template store.
CREATE OR REPLACE FUNCTION record_travel_document(
    person_id bigint, doc_kind text, doc_number text, issuing_authority text,
    issued_on date, valid_until date, issuing_province text DEFAULT NULL,
    official boolean DEFAULT false, biometric_ref text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    number text := hp_travel_number(doc_kind, doc_number);
    authority text := nullif(btrim(hp_text('issuing authority', issuing_authority, 100)), '');
    old travel_document;
    did bigint;
BEGIN
    IF authority IS NULL THEN
        RAISE EXCEPTION 'issuing authority is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the authority that issued the document.';
    END IF;
    PERFORM hp_day('issue date', issued_on), hp_day('expiry date', valid_until);
    IF valid_until < issued_on THEN
        RAISE EXCEPTION 'document expiry date % is before its issue date %', valid_until, issued_on
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A document is valid from its issue date to its expiry date.';
    END IF;
    IF issued_on > hp_cst_day(now()) THEN
        RAISE EXCEPTION 'document issue date % is in the future', issued_on
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A document is recorded once it has been issued.';
    END IF;
    IF issuing_province IS NOT NULL AND issuing_province !~ '^[1-8][0-9]$' THEN
        RAISE EXCEPTION 'issuing province "%" is not valid', hp_quote(issuing_province)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A province is its two-digit GB/T 2260 code, for example 44 for Guangdong.';
    END IF;
    IF issuing_province IS NOT NULL AND doc_kind IN ('home_return_permit', 'passport') THEN
        RAISE EXCEPTION 'a % has no issuing province', doc_kind
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Only mainland permits and passports are issued by a province''s exit-entry administration.';
    END IF;
    IF official IS NULL THEN
        RAISE EXCEPTION 'official is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether the document is for public business (true) or private travel (false).';
    END IF;
    IF official AND doc_kind IN ('home_return_permit', 'passport') THEN
        RAISE EXCEPTION 'a % is not issued for public business', doc_kind
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Official documents are mainland passports and permits issued for public business.';
    END IF;
    IF EXISTS (SELECT 1 FROM travel_document_index i WHERE i.doc_kind = record_travel_document.doc_kind AND i.doc_number = number) THEN
        RAISE EXCEPTION '% "%" is already recorded', doc_kind, hp_mask_document(doc_kind, number)
            USING ERRCODE = 'unique_violation', DETAIL = 'A document number is issued once; a new document has a new number.';
    END IF;
    SELECT * INTO old FROM travel_document t
     WHERE t.person_id = p.person_id AND t.doc_kind = record_travel_document.doc_kind
       AND t.official = record_travel_document.official AND t.status = 'valid'
       FOR UPDATE;
    -- the old one steps aside (naming its successor) before the new one is
    -- current: one current document of a kind and use
    did := nextval(pg_get_serial_sequence('healthpass.travel_document', 'document_id'));
    IF old.document_id IS NOT NULL THEN
        UPDATE travel_document t SET status = 'replaced', replaced_by = did, updated_at = now()
         WHERE t.person_id = p.person_id AND t.document_id = old.document_id;
    END IF;
    INSERT INTO travel_document (person_id, document_id, doc_kind, doc_number, official, issuing_authority, issuing_province,
                                 issued_on, valid_until, expires_at)
    OVERRIDING SYSTEM VALUE
    VALUES (p.person_id, did, doc_kind, number, official, authority, issuing_province,
            issued_on, valid_until, hp_cst_day_start(valid_until + 1));
    INSERT INTO travel_document_index (doc_kind, doc_number, person_id, document_id)
    VALUES (doc_kind, number, p.person_id, did);
    IF old.document_id IS NOT NULL THEN
        PERFORM hp_document_gone(p.person_id, old.document_id, did, 'replaced by a new document');
    END IF;
    IF biometric_ref IS NOT NULL THEN
        PERFORM hp_enrol(p.person_id, 'permit_application', NULL, NULL, biometric_ref);
    END IF;
    RETURN did;
END
$$;
COMMENT ON FUNCTION healthpass.record_travel_document(bigint, text, text, text, date, date, text, boolean, text) IS
    'record a travel document the exit-entry administration issued (replacing the current one of its kind); returns its id';

-- A document stopped being current (replaced, reported lost): its active
-- endorsements are cancelled; an electronic permit bound to it moves to the
-- replacement when that is a Guangdong hk_macau_permit, else is unbound.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_gone(pid bigint, did bigint, new_did bigint, why text) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    nd travel_document;
BEGIN
    UPDATE endorsement e SET status = 'cancelled', updated_at = now()
     WHERE e.person_id = pid AND e.document_id = did AND e.status = 'active';
    IF NOT EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = pid AND ep.document_id = did) THEN
        RETURN;
    END IF;
    IF new_did IS NOT NULL THEN
        nd := hp_get_document(pid, new_did);
        IF nd.doc_kind = 'hk_macau_permit' AND nd.issuing_province = '44' AND NOT nd.official THEN
            UPDATE electronic_permit ep SET document_id = new_did WHERE ep.person_id = pid;
            RETURN;
        END IF;
    END IF;
    PERFORM hp_unbind_permit(pid, why);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_gone(bigint, bigint, bigint, text) IS
    'a document was replaced or lost: cancel its endorsements, move or unbind the electronic permit (internal)';

CREATE OR REPLACE FUNCTION record_document_lost(person_id bigint, document_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    d travel_document := hp_get_document(p.person_id, document_id);
BEGIN
    IF d.status <> 'valid' THEN
        RAISE EXCEPTION 'document % is already %', d.document_id, replace(d.status, '_', ' ')
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a current document can be reported lost.';
    END IF;
    UPDATE travel_document t SET status = 'reported_lost', updated_at = now()
     WHERE t.person_id = p.person_id AND t.document_id = d.document_id;
    PERFORM hp_document_gone(p.person_id, d.document_id, NULL, 'the document was reported lost');
END
$$;
COMMENT ON FUNCTION healthpass.record_document_lost(bigint, bigint) IS
    'the document was reported lost: it stops being valid, its endorsements are cancelled, an electronic permit on it is unbound';

-- A person's travel documents, newest first, numbers masked, the state now.
CREATE OR REPLACE FUNCTION travel_documents(person_id bigint)
    RETURNS TABLE (document_id bigint, doc_kind text, doc_number_masked text, official boolean,
                   issuing_authority text, issuing_province text, issued_on date, valid_until date,
                   state text, replaced_by bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT t.document_id, t.doc_kind, hp_mask_document(t.doc_kind, t.doc_number), t.official,
               t.issuing_authority, t.issuing_province, t.issued_on, t.valid_until,
               hp_document_state(t.status, t.expires_at, t.issued_on, now()), t.replaced_by
          FROM travel_document t WHERE t.person_id = p.person_id
         ORDER BY t.issued_on DESC, t.document_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass.travel_documents(bigint) IS
    'a person''s travel documents, newest first: kind, masked number, issuer, dates, state now (valid, expired, reported_lost, replaced)';

-- Endorsements -------------------------------------------------------------------

-- entries as given ('1', '2', 'multiple') -> entries_allowed (NULL = multiple)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_entries(entries text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF entries IN ('1', '2') THEN
        RETURN entries::integer;
    ELSIF entries = 'multiple' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'endorsement entries "%" are not valid', hp_quote(entries)
        USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement allows 1, 2 or multiple entries: "1", "2" or "multiple".';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_entries(text) IS 'entries allowed from "1", "2" or "multiple" (NULL) (internal)';

-- Checks an endorsement's fields against its document; returns nothing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_endorsement(
    d travel_document, region text, endorsement_type text, valid_from date, valid_until date, days_per_stay integer)
    RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF d.doc_kind <> 'hk_macau_permit' THEN
        RAISE EXCEPTION 'a % carries no endorsements', d.doc_kind
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Endorsements are put on an exit-entry permit for Hong Kong and Macau.';
    END IF;
    IF hp_document_state(d.status, d.expires_at, d.issued_on, now()) <> 'valid' THEN
        RAISE EXCEPTION 'document % is %', d.document_id, replace(hp_document_state(d.status, d.expires_at, d.issued_on, now()), '_', ' ')
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An endorsement is put on a valid document.';
    END IF;
    IF region IS NULL OR region NOT IN ('HK', 'MO') THEN
        RAISE EXCEPTION 'endorsement region "%" is not valid', hp_quote(region)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement is for Hong Kong ("HK") or Macau ("MO").';
    END IF;
    IF endorsement_type IS NULL OR endorsement_type NOT IN ('T', 'S', 'L', 'G', 'R', 'Q', 'D') THEN
        RAISE EXCEPTION 'endorsement type "%" is not valid', hp_quote(endorsement_type)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The types are T (family visit), S (business), L (group tour), G (individual tour), R (talent), Q (other) and D (stay).';
    END IF;
    PERFORM hp_day('endorsement start', valid_from), hp_day('endorsement end', valid_until);
    IF valid_until < valid_from THEN
        RAISE EXCEPTION 'endorsement end % is before its start %', valid_until, valid_from
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement is valid from its start day to its end day.';
    END IF;
    IF valid_until > d.valid_until THEN
        RAISE EXCEPTION 'endorsement end % is after the document expires on %', valid_until, d.valid_until
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement cannot outlast the document it is put on.';
    END IF;
    IF days_per_stay IS NULL OR days_per_stay NOT BETWEEN 1 AND 3650 THEN
        RAISE EXCEPTION 'days per stay % are out of range', coalesce(days_per_stay::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement allows a stay of 1 to 3650 days each time.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_endorsement(travel_document, text, text, date, date, integer) IS
    'checks an endorsement''s fields against its document (internal)';

-- Inserts an endorsement, replacing the document's active one for the region.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_put_endorsement(
    d travel_document, region text, endorsement_type text, entries text, valid_from date, valid_until date,
    days_per_stay integer, via text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    allowed integer := hp_entries(entries);
    old_id bigint;
    eid bigint;
BEGIN
    PERFORM hp_check_endorsement(d, region, endorsement_type, valid_from, valid_until, days_per_stay);
    SELECT e.endorsement_id INTO old_id FROM endorsement e
     WHERE e.person_id = d.person_id AND e.document_id = d.document_id AND e.region = hp_put_endorsement.region
       AND e.status = 'active'
       FOR UPDATE;
    IF old_id IS NOT NULL THEN
        -- the old one steps aside first: one active endorsement per region
        UPDATE endorsement e SET status = 'cancelled', updated_at = now()
         WHERE e.person_id = d.person_id AND e.endorsement_id = old_id;
    END IF;
    INSERT INTO endorsement (person_id, document_id, region, endorsement_type, entries_allowed, valid_from, valid_until,
                             starts_at, expires_at, days_per_stay, issued_via)
    VALUES (d.person_id, d.document_id, region, endorsement_type, allowed, valid_from, valid_until,
            hp_cst_day_start(valid_from), hp_cst_day_start(valid_until + 1), days_per_stay, via)
    RETURNING endorsement_id INTO eid;
    IF old_id IS NOT NULL THEN
        UPDATE endorsement e SET status = 'replaced', replaced_by = eid
         WHERE e.person_id = d.person_id AND e.endorsement_id = old_id;
    END IF;
    RETURN eid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_put_endorsement(travel_document, text, text, text, date, date, integer, text) IS
    'insert an endorsement, the active one of its region on the document replaced (internal)';

-- The exit-entry administration records an endorsement put on a permit at
-- an office (or a kiosk). It replaces the document's active one for the region.
CREATE OR REPLACE FUNCTION record_endorsement(
    person_id bigint, document_id bigint, region text, endorsement_type text, entries text,
    valid_from date, valid_until date, days_per_stay integer) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    RETURN hp_put_endorsement(hp_get_document(p.person_id, document_id), region, endorsement_type, entries,
                              valid_from, valid_until, days_per_stay, 'office');
END
$$;
COMMENT ON FUNCTION healthpass.record_endorsement(bigint, bigint, text, text, text, date, date, integer) IS
    'record an endorsement put on a permit (replacing the active one for its region); returns its id';

-- The issuing system confirms the entries used so far (the counts the
-- electronic permit shows "as of" this time). Never lowers a count the
-- gates here have already used.
CREATE OR REPLACE FUNCTION confirm_endorsement_entries(person_id bigint, endorsement_id bigint, entries_used integer,
                                                       as_of timestamptz DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    e endorsement;
BEGIN
    PERFORM hp_past_instant('confirmation time', as_of);
    IF confirm_endorsement_entries.endorsement_id IS NULL OR confirm_endorsement_entries.entries_used IS NULL THEN
        RAISE EXCEPTION '% is missing', CASE WHEN confirm_endorsement_entries.endorsement_id IS NULL THEN 'endorsement id'
                                             ELSE 'entries used' END
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Name the endorsement and the entries the issuing system counts as used.';
    END IF;
    SELECT * INTO e FROM endorsement x
     WHERE x.person_id = confirm_endorsement_entries.person_id AND x.endorsement_id = confirm_endorsement_entries.endorsement_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM hp_get_person(confirm_endorsement_entries.person_id);
        RAISE EXCEPTION 'endorsement % of person % does not exist', confirm_endorsement_entries.endorsement_id,
                        confirm_endorsement_entries.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'electronic_permit() lists a person''s endorsements.';
    END IF;
    IF entries_used < 0 OR entries_used > coalesce(e.entries_allowed, 10000) THEN
        RAISE EXCEPTION 'entries used % are out of range', coalesce(entries_used::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('This endorsement allows %s entries.', coalesce(e.entries_allowed::text, 'multiple (counted up to 10000)'));
    END IF;
    UPDATE endorsement x SET entries_used = greatest(x.entries_used, confirm_endorsement_entries.entries_used),
                             as_of = greatest(x.as_of, confirm_endorsement_entries.as_of), updated_at = now()
     WHERE x.person_id = e.person_id AND x.endorsement_id = e.endorsement_id
    RETURNING x.entries_used INTO entries_used;
    RETURN entries_used;
END
$$;
COMMENT ON FUNCTION healthpass.confirm_endorsement_entries(bigint, bigint, integer, timestamptz) IS
    'the issuing system confirms the entries used (never lowered below what gates here used); returns the count now';

-- Endorsement types a traveller may renew online (seed 001 续签); business,
-- talent, other and stay endorsements need papers at an office.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_online_renewal_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['T', 'L', 'G'];
COMMENT ON FUNCTION healthpass_internal.hp_online_renewal_types() IS 'endorsement types renewable online: T, L, G (internal)';

-- Online renewal through the electronic permit: a new endorsement on the
-- bound permit replaces the region's active one. The permit must be bound
-- and valid, and the new endorsement must start today or later and end
-- before the permit expires.
CREATE OR REPLACE FUNCTION renew_endorsement(
    person_id bigint, region text, endorsement_type text, entries text, valid_until date, days_per_stay integer,
    valid_from date DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    ep electronic_permit;
    d travel_document;
    start_day date := coalesce(valid_from, hp_cst_day(now()));
BEGIN
    SELECT * INTO ep FROM electronic_permit x WHERE x.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic permit', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Endorsements are renewed online through a bound electronic permit.';
    END IF;
    IF endorsement_type IS NOT NULL AND endorsement_type IN ('S', 'R', 'Q', 'D') THEN
        RAISE EXCEPTION 'endorsement type "%" cannot be renewed online', endorsement_type
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Business, talent, other and stay endorsements are renewed at an exit-entry office with their papers.';
    END IF;
    IF start_day < hp_cst_day(now()) THEN
        RAISE EXCEPTION 'renewal start % is in the past', start_day
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A renewed endorsement starts today or later.';
    END IF;
    d := hp_get_document(p.person_id, ep.document_id);
    RETURN hp_put_endorsement(d, region, endorsement_type, entries, start_day, valid_until, days_per_stay, 'online_renewal');
END
$$;
COMMENT ON FUNCTION healthpass.renew_endorsement(bigint, text, text, text, date, integer, date) IS
    'renew an endorsement online (续签) on the bound electronic permit: types T, L, G; replaces the region''s active one; returns its id';

-- The electronic permit (seed 001) ---------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_unbind_permit(pid bigint, why text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    DELETE FROM electronic_permit ep WHERE ep.person_id = pid;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO permit_binding (person_id, outcome, reason) VALUES (pid, 'unbound', why);
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_unbind_permit(bigint, text) IS 'unbind a person''s electronic permit and log it (internal)';

-- How long after "document information does not exist" binding is worth
-- trying again (seed 001: it worked 20 minutes later).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_permit_retry_after() RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
RETURN hp_setting('permit_retry_after')::interval;
COMMENT ON FUNCTION healthpass_internal.hp_permit_retry_after() IS 'setting permit_retry_after (internal)';

-- Binding (seed 001 如何綁定): the person's real name is approved, a face
-- check passed within face_check_valid_for (the check read digits aloud,
-- or another liveness method), and the number given is a valid,
-- privately-held hk_macau_permit issued by Guangdong (44) to this person.
-- One electronic permit per person. A number the issuing system has not
-- (yet) sent is answered "retry" with a time to retry after, not refused:
-- the feed lags (the seed's 20 minutes). The attempt is kept either way.
-- Refusals the person can act on (no face check, wrong province) are
-- answered "refused" with the reason; when face recognition is what fails,
-- the answer names the trusted acceptance points.
CREATE OR REPLACE FUNCTION bind_electronic_permit(person_id bigint, doc_number text, liveness_method text)
    RETURNS TABLE (outcome text, reason text, retry_after timestamptz, document_id bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    number text := hp_travel_number('hk_macau_permit', doc_number);
    f face_check;
    ix travel_document_index;
    d travel_document;
    why text;
    retry timestamptz;
BEGIN
    IF liveness_method IS NULL OR liveness_method NOT IN ('read_digits', 'head_motion', 'silent') THEN
        RAISE EXCEPTION 'liveness method "%" is not valid', hp_quote(liveness_method)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The face check''s liveness test was "read_digits" (the seed''s digits read aloud), "head_motion" or "silent".';
    END IF;
    IF EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an electronic permit', p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'One electronic permit per person: unbind it before binding another.';
    END IF;
    SELECT * INTO f FROM face_check c
     WHERE c.person_id = p.person_id ORDER BY c.checked_at DESC, c.check_id DESC LIMIT 1;
    IF p.realname_status <> 'approved' THEN
        why := 'real-name verification is not approved';
    ELSIF f.check_id IS NULL OR f.outcome <> 'passed'
          OR f.checked_at < now() - hp_setting('face_check_valid_for')::interval THEN
        why := CASE WHEN f.outcome = 'failed'
                    THEN 'face recognition did not pass: activate the ID card''s online credential at a trusted acceptance point (trusted_acceptance_points())'
                    ELSE 'no face check passed in the last ' || hp_setting('face_check_valid_for') END;
    ELSE
        SELECT * INTO ix FROM travel_document_index i WHERE i.doc_kind = 'hk_macau_permit' AND i.doc_number = number;
        IF FOUND AND ix.person_id = p.person_id THEN
            d := hp_get_document(p.person_id, ix.document_id);
        END IF;
        IF d.document_id IS NULL THEN
            -- unknown, or another person's: the same answer, as the seed's
            -- "document information does not exist"
            retry := now() + hp_permit_retry_after();
            why := 'document information does not exist yet: the issuing system may not have sent it; try again later';
        ELSIF hp_document_state(d.status, d.expires_at, d.issued_on, now()) <> 'valid' THEN
            why := 'the permit is ' || replace(hp_document_state(d.status, d.expires_at, d.issued_on, now()), '_', ' ');
        ELSIF d.official THEN
            why := 'the permit is for public business; the electronic permit is for private travel documents';
        ELSIF d.issuing_province IS DISTINCT FROM '44' THEN
            why := 'the permit was not issued in Guangdong';
        END IF;
    END IF;
    IF why IS NULL THEN
        INSERT INTO electronic_permit (person_id, document_id, face_check_id, liveness_method)
        VALUES (p.person_id, d.document_id, f.check_id, liveness_method);
        INSERT INTO permit_binding (person_id, outcome, reason) VALUES (p.person_id, 'bound', 'bound');
        RETURN QUERY SELECT 'bound'::text, NULL::text, NULL::timestamptz, d.document_id;
        RETURN;
    END IF;
    INSERT INTO permit_binding (person_id, outcome, reason, retry_after)
    VALUES (p.person_id, CASE WHEN retry IS NULL THEN 'refused' ELSE 'retry' END, why, retry);
    RETURN QUERY SELECT CASE WHEN retry IS NULL THEN 'refused' ELSE 'retry' END, why, retry, NULL::bigint;
END
$$;
COMMENT ON FUNCTION healthpass.bind_electronic_permit(bigint, text, text) IS
    'bind the electronic HK/Macau permit: bound, refused (with the reason) or retry (the document is not known yet; retry_after)';

CREATE OR REPLACE FUNCTION unbind_electronic_permit(person_id bigint) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    RETURN hp_unbind_permit(p.person_id, 'unbound by the holder');
END
$$;
COMMENT ON FUNCTION healthpass.unbind_electronic_permit(bigint) IS
    'unbind the electronic permit (true if one was bound); its pending reminders are cancelled';

CREATE OR REPLACE FUNCTION permit_bindings(person_id bigint)
    RETURNS TABLE (attempted_at timestamptz, outcome text, reason text, retry_after timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT b.attempted_at, b.outcome, b.reason, b.retry_after
                   FROM permit_binding b WHERE b.person_id = p.person_id ORDER BY b.attempt_id;
END
$$;
COMMENT ON FUNCTION healthpass.permit_bindings(bigint) IS 'a person''s binding attempts and unbindings, oldest first';

-- An endorsement as the permit shows it. It takes any row with the
-- endorsement's columns (PL/pgSQL over record): a query routed to a Citus
-- shard passes the shard's row (endorsement_102113), whose row type is not
-- endorsement.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_endorsement_json(e record, at_time timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'endorsement_id', e.endorsement_id, 'region', e.region, 'type', e.endorsement_type,
        'entries', coalesce(e.entries_allowed::text, 'multiple'), 'entries_used', e.entries_used,
        'entries_remaining', CASE WHEN e.entries_allowed IS NULL THEN NULL ELSE e.entries_allowed - e.entries_used END,
        'valid_from', e.valid_from, 'valid_until', e.valid_until, 'days_per_stay', e.days_per_stay,
        'state', CASE WHEN e.status <> 'active' THEN e.status
                      WHEN at_time >= e.expires_at THEN 'expired'
                      WHEN at_time < e.starts_at THEN 'not_yet_valid'
                      WHEN e.entries_allowed IS NOT NULL AND e.entries_used >= e.entries_allowed THEN 'used_up'
                      ELSE 'valid' END,
        'as_of', e.as_of);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_endorsement_json(record, timestamptz) IS
    'an endorsement (any row with its columns, a Citus shard''s too) for the permit page (internal)';

-- The electronic permit's page (seed 001 卡包): the document (number
-- masked), its active endorsements with the entries remaining "as of" the
-- issuing system's last confirmation, and the seed's notes.
CREATE OR REPLACE FUNCTION electronic_permit(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    ep electronic_permit;
    d travel_document;
BEGIN
    SELECT * INTO ep FROM electronic_permit x WHERE x.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic permit', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'bind_electronic_permit() binds one.';
    END IF;
    d := hp_get_document(p.person_id, ep.document_id);
    RETURN jsonb_build_object(
        'name', mask_name(p.name),
        'document', jsonb_build_object('doc_kind', d.doc_kind, 'doc_number_masked', hp_mask_document(d.doc_kind, d.doc_number),
                                       'issuing_authority', d.issuing_authority, 'issued_on', d.issued_on,
                                       'valid_until', d.valid_until, 'state', hp_document_state(d.status, d.expires_at, d.issued_on, now())),
        'bound_at', ep.bound_at,
        'endorsements', coalesce((SELECT jsonb_agg(hp_endorsement_json(e, now()) ORDER BY e.region)
                                    FROM endorsement e
                                   WHERE e.person_id = p.person_id AND e.document_id = d.document_id AND e.status = 'active'),
                                 '[]'::jsonb),
        'as_of', (SELECT max(e.as_of) FROM endorsement e
                   WHERE e.person_id = p.person_id AND e.document_id = d.document_id AND e.status = 'active'),
        'notes', jsonb_build_array(
            'The remaining entries are for reference and may lag; the physical document prevails.',
            'The electronic permit does not replace the physical document: carry it when crossing.'));
END
$$;
COMMENT ON FUNCTION healthpass.electronic_permit(bigint) IS
    'the electronic permit''s page: document (masked), endorsements with entries remaining as of a time, and the notes';

-- The document-free channel (seed 003) ------------------------------------------

CREATE OR REPLACE FUNCTION give_biometric_consent(person_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    t timestamptz;
BEGIN
    SELECT c.given_at INTO t FROM biometric_consent c WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL;
    IF FOUND THEN
        RETURN t;               -- given already: the same consent
    END IF;
    INSERT INTO biometric_consent (person_id) VALUES (p.person_id) RETURNING given_at INTO t;
    RETURN t;
END
$$;
COMMENT ON FUNCTION healthpass.give_biometric_consent(bigint) IS
    'consent to the border authority capturing face and fingerprints (idempotent); returns when it was given';

-- Withdrawing consent ends eligibility at once and withdraws the enrolment;
-- returns the template references the border system must now delete.
CREATE OR REPLACE FUNCTION withdraw_biometric_consent(person_id bigint) RETURNS text[]
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    refs text[];
BEGIN
    UPDATE biometric_consent c SET withdrawn_at = now() WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL;
    WITH w AS (
        UPDATE biometric_enrolment e SET withdrawn_at = now()
         WHERE e.person_id = p.person_id AND e.withdrawn_at IS NULL
        RETURNING e.template_ref
    )
    SELECT coalesce(array_agg(w.template_ref), '{}') INTO refs FROM w;
    RETURN refs;
END
$$;
COMMENT ON FUNCTION healthpass.withdraw_biometric_consent(bigint) IS
    'withdraw consent to biometric capture: eligibility ends at once; returns the template references to delete';

-- An enrolment row; a reference into the template store, never biometrics.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_enrol(pid bigint, source text, point text, op text, ref text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    eid bigint;
BEGIN
    IF ref IS NULL OR ref !~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{7,127}$' THEN
        RAISE EXCEPTION 'template reference "%" is not valid', hp_quote(ref, 20)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'healthpass keeps a reference into the border system''s template store (8 to 128 letters, digits and ._:/-), never a face or a fingerprint.';
    END IF;
    UPDATE biometric_enrolment e SET withdrawn_at = now() WHERE e.person_id = pid AND e.withdrawn_at IS NULL;
    INSERT INTO biometric_enrolment (person_id, source, point_code, operator, template_ref)
    VALUES (pid, source, point, op, ref) RETURNING enrolment_id INTO eid;
    RETURN eid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_enrol(bigint, text, text, text, text) IS
    'record a biometric enrolment by template reference, replacing the current one (internal)';

-- Enrolment at a collection point at the pilot ports: needs consent.
CREATE OR REPLACE FUNCTION enrol_biometrics(person_id bigint, point_code text, operator text, template_ref text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    op text := nullif(btrim(hp_text('operator', operator, 50)), '');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enrolment_point e WHERE e.point_code = enrol_biometrics.point_code) THEN
        RAISE EXCEPTION 'enrolment point "%" does not exist', hp_quote(point_code)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'enrolment_points() lists the points.';
    END IF;
    IF op IS NULL THEN
        RAISE EXCEPTION 'operator is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the officer who took the enrolment.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_consent c WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL) THEN
        RAISE EXCEPTION 'person % has not consented to biometric capture', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'give_biometric_consent() records the consent first.';
    END IF;
    RETURN hp_enrol(p.person_id, 'enrolment_point', point_code, op, template_ref);
END
$$;
COMMENT ON FUNCTION healthpass.enrol_biometrics(bigint, text, text, text) IS
    'enrol face and fingerprints at a collection point (a template reference, never biometrics); returns the enrolment id';

-- Eligibility for the document-free channel at an instant, for a region
-- (the port's, when a port is named), with every reason it fails:
--   under_14                 younger than 14 (birth date from the identity document)
--   no_valid_document        no valid home_return_permit nor private hk_macau_permit
--   official_document        the only valid permit is for public business
--   no_multiple_entry_endorsement  a mainland resident without a valid multiple-entry endorsement for the region
--   endorsement_type         the valid multiple-entry endorsement is not family visit, business, talent or other (T, S, R, Q)
--   no_consent               consent to biometric capture not given (or withdrawn)
--   not_enrolled             no face and fingerprints on file
--   port_not_in_pilot        the named port has no document-free channel at that instant
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_free_reasons(p person, region text, pt port, at_time timestamptz)
    RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    reasons text[] := '{}';
    hrp boolean;
    permit travel_document;
    official_permit boolean;
    multi endorsement;
BEGIN
    IF p.birth_date + interval '14 years' > hp_cst_day(at_time) THEN
        reasons := reasons || 'under_14'::text;
    END IF;
    hrp := EXISTS (SELECT 1 FROM travel_document t
                    WHERE t.person_id = p.person_id AND t.doc_kind = 'home_return_permit'
                      AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid');
    SELECT * INTO permit FROM travel_document t
     WHERE t.person_id = p.person_id AND t.doc_kind = 'hk_macau_permit' AND NOT t.official
       AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid';
    official_permit := EXISTS (SELECT 1 FROM travel_document t
                                WHERE t.person_id = p.person_id AND t.doc_kind IN ('hk_macau_permit', 'cn_passport') AND t.official
                                  AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid');
    IF NOT hrp THEN
        IF permit.document_id IS NULL THEN
            reasons := reasons || CASE WHEN official_permit THEN 'official_document' ELSE 'no_valid_document' END;
        ELSE
            SELECT * INTO multi FROM endorsement e
             WHERE e.person_id = p.person_id AND e.document_id = permit.document_id AND e.region = hp_document_free_reasons.region
               AND e.status = 'active' AND e.entries_allowed IS NULL AND at_time >= e.starts_at AND at_time < e.expires_at;
            IF multi.endorsement_id IS NULL THEN
                reasons := reasons || 'no_multiple_entry_endorsement'::text;
            ELSIF multi.endorsement_type NOT IN ('T', 'S', 'R', 'Q') THEN
                reasons := reasons || 'endorsement_type'::text;
            END IF;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_consent c
                    WHERE c.person_id = p.person_id AND c.given_at <= at_time AND (c.withdrawn_at IS NULL OR c.withdrawn_at > at_time)) THEN
        reasons := reasons || 'no_consent'::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_enrolment e
                    WHERE e.person_id = p.person_id AND e.enrolled_at <= at_time AND (e.withdrawn_at IS NULL OR e.withdrawn_at > at_time)) THEN
        reasons := reasons || 'not_enrolled'::text;
    END IF;
    IF pt.port_code IS NOT NULL AND (pt.document_free_from IS NULL OR hp_cst_day(at_time) < pt.document_free_from) THEN
        reasons := reasons || 'port_not_in_pilot'::text;
    END IF;
    RETURN reasons;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_free_reasons(person, text, port, timestamptz) IS
    'every reason a person cannot use the document-free channel at an instant (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_reason_text(reason text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE reason
    WHEN 'under_14' THEN 'The channel is for travellers aged 14 or over.'
    WHEN 'no_valid_document' THEN 'A valid exit-entry permit for Hong Kong and Macau, or a valid home return permit, is needed.'
    WHEN 'official_document' THEN 'Holders of documents for public business cannot use the channel yet.'
    WHEN 'no_multiple_entry_endorsement' THEN 'Mainland residents need a valid multiple-entry endorsement for the region.'
    WHEN 'endorsement_type' THEN 'The multiple-entry endorsement must be for a family visit, business, talent or other stay (T, S, R, Q).'
    WHEN 'no_consent' THEN 'Consent to the border authority capturing face and fingerprints is needed.'
    WHEN 'not_enrolled' THEN 'Face and fingerprints are not on file: enrol at a collection point at Shenzhen Bay or Gongbei.'
    WHEN 'port_not_in_pilot' THEN 'This port has no document-free channel.'
    END;
COMMENT ON FUNCTION healthpass_internal.hp_reason_text(text) IS 'the sentence a traveller reads for an eligibility reason (internal)';

CREATE OR REPLACE FUNCTION document_free_eligibility(person_id bigint, port_code text DEFAULT NULL, region text DEFAULT NULL,
                                                     at_time timestamptz DEFAULT now())
    RETURNS TABLE (eligible boolean, for_region text, reasons text[], explanations text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    pt port;
    r text;
    why text[];
BEGIN
    PERFORM hp_instant('eligibility time', at_time);
    IF port_code IS NOT NULL THEN
        pt := hp_port(port_code);
    END IF;
    r := hp_crossing_region(pt, document_free_eligibility.region);
    why := hp_document_free_reasons(p, r, pt, at_time);
    RETURN QUERY SELECT cardinality(why) = 0, r, why, ARRAY(SELECT hp_reason_text(x) FROM unnest(why) x);
END
$$;
COMMENT ON FUNCTION healthpass.document_free_eligibility(bigint, text, text, timestamptz) IS
    'eligibility for the document-free face channel: eligible, or every reason not (codes and sentences)';

-- Crossings -------------------------------------------------------------------

-- The region of a crossing: the port's one region, or the one named (which
-- the port must serve); HK when neither says.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_crossing_region(pt port, region text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF region IS NOT NULL AND region NOT IN ('HK', 'MO') THEN
        RAISE EXCEPTION 'region "%" is not valid', hp_quote(region)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The region is Hong Kong ("HK") or Macau ("MO").';
    END IF;
    IF pt.port_code IS NULL THEN
        RETURN coalesce(region, 'HK');
    END IF;
    IF region IS NULL THEN
        IF cardinality(pt.regions) > 1 THEN
            RAISE EXCEPTION 'port "%" serves Hong Kong and Macau', pt.port_code
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Name the region ("HK" or "MO") for a crossing at this port.';
        END IF;
        RETURN pt.regions[1];
    END IF;
    IF NOT region = ANY (pt.regions) THEN
        RAISE EXCEPTION 'port "%" does not serve region "%"', pt.port_code, region
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('This port serves %s.', array_to_string(pt.regions, ' and '));
    END IF;
    RETURN region;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_crossing_region(port, text) IS 'the region of a crossing at a port (internal)';

-- A crossing at a gate of the mainland's border control.
--   port_code, direction ('exit' leaves the mainland, 'entry' comes in),
--   channel ('document_free', 'e_channel', 'manual', 'self_service'),
--   the document read at the gate (doc_kind + doc_number), or for the
--   document-free channel the person the face matched (person_id),
--   region when the port serves both, the instant.
-- Leaving for HK/Macau on an hk_macau_permit uses one entry of the valid
-- endorsement for the region, atomically: two gates and one entry left let
-- exactly one through. Answers passed = false with a named refusal (and
-- records nothing) when:
--   document_invalid      the document is expired, reported lost, replaced or not yet valid
--                         (a mainland resident may come home on an invalid permit
--                         through a manual channel)
--   no_endorsement        no active endorsement for the region on the permit
--   endorsement_expired   the endorsement is not valid at this instant
--   no_entry_left         every entry of the endorsement is used
--   not_eligible          the document-free channel's eligibility fails (reasons given)
--   not_enrolled          e-channel and self-service need face and fingerprints on file
--   wrong_document        a mainland passport cannot be used to go to HK/Macau
-- An entry after an exit to the same region reports the stay and any
-- days beyond the endorsement's days per stay (overstay_days).
CREATE OR REPLACE FUNCTION cross_border(
    port_code text, direction text, channel text, doc_kind text DEFAULT NULL, doc_number text DEFAULT NULL,
    person_id bigint DEFAULT NULL, region text DEFAULT NULL, crossed_at timestamptz DEFAULT now())
    RETURNS TABLE (passed boolean, refusal text, detail text, crossing_id bigint, person_ref uuid,
                   entries_remaining integer, stay_days integer, overstay_days integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pt port := hp_port(port_code);
    r text := hp_crossing_region(pt, cross_border.region);
    at_time timestamptz := hp_instant('crossing time', crossed_at);
    p person;
    d travel_document;
    ix record;                  -- the document's index row: its person and id
    number text;
    e endorsement;
    why text[];
    cid bigint;
    last_exit crossing;
    stay integer;
    over integer;
    allowed_days integer;
    remaining integer;
BEGIN
    IF direction IS NULL OR direction NOT IN ('exit', 'entry') THEN
        RAISE EXCEPTION 'direction "%" is not valid', hp_quote(direction)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A crossing leaves the mainland ("exit") or comes in ("entry").';
    END IF;
    IF channel IS NULL OR channel NOT IN ('document_free', 'e_channel', 'manual', 'self_service') THEN
        RAISE EXCEPTION 'channel "%" is not valid', hp_quote(channel)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The channels are "document_free", "e_channel", "manual" and "self_service".';
    END IF;
    IF at_time > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'crossing time % is in the future', at_time
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A crossing is recorded when it happens.';
    END IF;
    IF channel = 'document_free' THEN
        IF direction = 'exit' THEN
            RAISE EXCEPTION 'the document-free channel is for entering the mainland'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Leaving for Hong Kong or Macau, and entering there, still needs the document (seed 003).';
        END IF;
        IF doc_number IS NOT NULL OR cross_border.person_id IS NULL THEN
            RAISE EXCEPTION 'a document-free crossing names the person the face matched, not a document'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass person_id, and no document kind or number.';
        END IF;
        p := hp_get_person(cross_border.person_id);
        why := hp_document_free_reasons(p, r, pt, at_time);
        IF cardinality(why) > 0 THEN
            RETURN QUERY SELECT false, 'not_eligible'::text, array_to_string(why, ', '), NULL::bigint, p.public_ref,
                                NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        -- the document the border system holds for the person: the home
        -- return permit, else the private permit
        SELECT * INTO d FROM travel_document t
         WHERE t.person_id = p.person_id AND t.status = 'valid' AND NOT t.official
           AND t.doc_kind IN ('home_return_permit', 'hk_macau_permit') AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid'
         ORDER BY t.doc_kind = 'home_return_permit' DESC LIMIT 1;
    ELSE
        IF cross_border.person_id IS NOT NULL THEN
            RAISE EXCEPTION 'a % crossing reads the document, not a person id', channel
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass doc_kind and doc_number as read at the gate.';
        END IF;
        -- the kind and number checked first (a NULL kind is refused, not
        -- looked up)
        number := hp_travel_number(cross_border.doc_kind, cross_border.doc_number);
        -- the document by its number (the gate's hot path): the index row,
        -- then the person's document by its key. Two statements: on Citus
        -- the index is distributed by number and the document by person, so
        -- each is one shard and a join of the two would need repartitioning.
        SELECT i.person_id, i.document_id INTO ix
          FROM travel_document_index i
         WHERE i.doc_kind = cross_border.doc_kind AND i.doc_number = number;
        IF FOUND THEN
            SELECT t.* INTO d FROM travel_document t
             WHERE t.person_id = ix.person_id AND t.document_id = ix.document_id;
        END IF;
        IF d.document_id IS NULL THEN
            RAISE EXCEPTION '% "%" is not recorded', doc_kind, hp_mask_value(doc_number)
                USING ERRCODE = 'no_data_found', DETAIL = 'The exit-entry administration has not recorded this document.';
        END IF;
        -- the gate needs the person's id and public reference only
        p.person_id := d.person_id;
        SELECT x.public_ref INTO p.public_ref FROM person x WHERE x.person_id = d.person_id;
        IF d.doc_kind = 'cn_passport' THEN
            RETURN QUERY SELECT false, 'wrong_document'::text,
                                'Mainland residents travel to Hong Kong and Macau on the exit-entry permit, not the passport.'::text,
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        -- a mainland resident comes home on an expired permit through a
        -- manual channel; anyone else needs a valid document
        IF hp_document_state(d.status, d.expires_at, d.issued_on, at_time) <> 'valid'
           AND NOT (direction = 'entry' AND channel = 'manual' AND d.doc_kind = 'hk_macau_permit') THEN
            RETURN QUERY SELECT false, 'document_invalid'::text,
                                format('The %s is %s.', replace(d.doc_kind, '_', ' '), replace(hp_document_state(d.status, d.expires_at, d.issued_on, at_time), '_', ' ')),
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        IF channel IN ('e_channel', 'self_service')
           AND NOT EXISTS (SELECT 1 FROM biometric_enrolment b
                            WHERE b.person_id = p.person_id AND b.enrolled_at <= at_time AND (b.withdrawn_at IS NULL OR b.withdrawn_at > at_time)) THEN
            RETURN QUERY SELECT false, 'not_enrolled'::text,
                                'Face and fingerprints are not on file: use a manual channel or enrol first.'::text,
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
    END IF;

    IF direction = 'exit' AND d.doc_kind = 'hk_macau_permit' THEN
        -- use one entry, atomically: the row lock makes a second gate wait
        -- and then see the count this one left. A renewal that commits while
        -- this waits replaces the endorsement by one this statement cannot
        -- see: a second statement (a new snapshot) tries that one.
        FOR attempt IN 1..2 LOOP
            UPDATE endorsement x SET entries_used = x.entries_used + 1, updated_at = now()
             WHERE x.person_id = p.person_id AND x.document_id = d.document_id AND x.region = r AND x.status = 'active'
               AND at_time >= x.starts_at AND at_time < x.expires_at
               AND (x.entries_allowed IS NULL OR x.entries_used < x.entries_allowed)
            RETURNING x.* INTO e;
            EXIT WHEN e.endorsement_id IS NOT NULL;
        END LOOP;
        IF e.endorsement_id IS NULL THEN
            SELECT * INTO e FROM endorsement x
             WHERE x.person_id = p.person_id AND x.document_id = d.document_id AND x.region = r AND x.status = 'active';
            RETURN QUERY SELECT false,
                CASE WHEN e.endorsement_id IS NULL THEN 'no_endorsement'
                     WHEN at_time < e.starts_at OR at_time >= e.expires_at THEN 'endorsement_expired'
                     ELSE 'no_entry_left' END,
                CASE WHEN e.endorsement_id IS NULL THEN format('The permit has no endorsement for %s.', r)
                     WHEN at_time < e.starts_at THEN format('The endorsement is valid from %s.', e.valid_from)
                     WHEN at_time >= e.expires_at THEN format('The endorsement expired after %s.', e.valid_until)
                     ELSE format('All %s entries of the endorsement are used.', e.entries_allowed) END,
                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        remaining := e.entries_allowed - e.entries_used;
    ELSIF direction = 'entry' THEN
        -- the stay that ends here: the latest crossing to this region, if an exit
        SELECT * INTO last_exit FROM crossing c
         WHERE c.person_id = p.person_id AND c.crossed_at <= at_time
         ORDER BY c.crossed_at DESC, c.crossing_id DESC LIMIT 1;
        IF last_exit.direction = 'exit' AND last_exit.region = r THEN
            stay := hp_cst_day(at_time) - hp_cst_day(last_exit.crossed_at);
            SELECT x.days_per_stay INTO allowed_days FROM endorsement x
             WHERE x.person_id = p.person_id AND x.endorsement_id = last_exit.endorsement_id;
            IF allowed_days IS NOT NULL THEN
                over := greatest(stay - allowed_days, 0);
            END IF;
        END IF;
    END IF;
    INSERT INTO crossing (person_id, port_code, direction, region, channel, crossed_at, document_id, endorsement_id,
                          stay_days, overstay_days)
    VALUES (p.person_id, pt.port_code, direction, r, channel, at_time, d.document_id, e.endorsement_id, stay, over)
    RETURNING crossing.crossing_id INTO cid;
    RETURN QUERY SELECT true, NULL::text,
                        CASE WHEN over > 0 THEN format('The stay of %s days overran the %s allowed by %s days.', stay, allowed_days, over) END,
                        cid, p.public_ref, remaining, stay, over;
END
$$;
COMMENT ON FUNCTION healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz) IS
    'a crossing at a gate: checks document, endorsement (one entry used atomically) or document-free eligibility; passed, or a named refusal';

-- A person's crossings in a period, oldest first.
CREATE OR REPLACE FUNCTION crossings(person_id bigint, from_time timestamptz DEFAULT '-infinity',
                                     to_time timestamptz DEFAULT 'infinity')
    RETURNS TABLE (crossing_id bigint, crossed_at timestamptz, port_code text, port_name text, direction text, region text,
                   channel text, doc_kind text, doc_number_masked text, stay_days integer, overstay_days integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    IF from_time IS NULL OR to_time IS NULL THEN
        RAISE EXCEPTION '% is missing', CASE WHEN from_time IS NULL THEN 'from_time' ELSE 'to_time' END
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'A period runs from its start to its end, both given.';
    END IF;
    IF from_time > to_time THEN
        RAISE EXCEPTION 'period from % to % is not valid', coalesce(from_time::text, 'NULL'), coalesce(to_time::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A period runs from its start to its end, both given.';
    END IF;
    RETURN QUERY
        SELECT c.crossing_id, c.crossed_at, c.port_code, pt.name_zh, c.direction, c.region, c.channel,
               t.doc_kind, hp_mask_document(t.doc_kind, t.doc_number), c.stay_days, c.overstay_days
          FROM crossing c
          JOIN port pt ON pt.port_code = c.port_code
          JOIN travel_document t ON t.person_id = c.person_id AND t.document_id = c.document_id
         WHERE c.person_id = p.person_id AND c.crossed_at >= from_time AND c.crossed_at < to_time
         ORDER BY c.crossed_at, c.crossing_id;
END
$$;
COMMENT ON FUNCTION healthpass.crossings(bigint, timestamptz, timestamptz) IS
    'a person''s crossings in a period, oldest first: port, direction, channel, document (masked), stay and overstay';

GRANT EXECUTE ON FUNCTION
    healthpass.ports(),
    healthpass.enrolment_points(),
    healthpass.trusted_acceptance_points(text, text)
  TO healthpass_app, healthpass_border, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.add_acceptance_point(text, text, text) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.record_travel_document(bigint, text, text, text, date, date, text, boolean, text),
    healthpass.record_document_lost(bigint, bigint),
    healthpass.record_endorsement(bigint, bigint, text, text, text, date, date, integer),
    healthpass.confirm_endorsement_entries(bigint, bigint, integer, timestamptz),
    healthpass.enrol_biometrics(bigint, text, text, text),
    healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz)
  TO healthpass_border;
GRANT EXECUTE ON FUNCTION
    healthpass.travel_documents(bigint),
    healthpass.crossings(bigint, timestamptz, timestamptz),
    healthpass.document_free_eligibility(bigint, text, text, timestamptz)
  TO healthpass_app, healthpass_border;
GRANT EXECUTE ON FUNCTION
    healthpass.record_document_lost(bigint, bigint),
    healthpass.bind_electronic_permit(bigint, text, text),
    healthpass.unbind_electronic_permit(bigint),
    healthpass.permit_bindings(bigint),
    healthpass.electronic_permit(bigint),
    healthpass.renew_endorsement(bigint, text, text, text, date, integer, date),
    healthpass.give_biometric_consent(bigint),
    healthpass.withdraw_biometric_consent(bigint)
  TO healthpass_app;
