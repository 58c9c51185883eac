-- 40_people.sql: people, their documents, real-name status and edit history.
--
-- A person is identified by one identity document (kind + normalised
-- number, unique). Look-ups by document go through document_index, keyed by
-- the document; look-ups by the opaque public reference (what codes carry)
-- go through ref_index. Every personal table has person_id in its primary
-- key; history rows are written by a row trigger that only touches the same
-- person's rows. Application roles never see these tables: they call the
-- SECURITY DEFINER functions below.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Row trigger shared by the tables that keep history: bumps the version,
-- stamps updated_at and copies the old row into the history table named by
-- the trigger argument (same person_id, so it stays on the person's shard).
--
-- On Citus the trigger fires on each placement of the table. For a
-- distributed table (person_102040) the history row is written through the
-- distributed history table, which routes it to the co-located shard on the
-- same node. For a reference table (venue) the trigger fires on every node's
-- copy, and a write to another reference table from there would have to go to
-- every node again, which Citus refuses ("cannot execute a distributed query
-- from a query on a shard"): each copy writes its own node's copy of the
-- history table instead (venue_history_102011), so every node ends with the
-- same history row, in the same distributed transaction.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_keep_history() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    target text := TG_ARGV[0];
    shard bigint;
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    IF TG_TABLE_NAME <> TG_ARGV[0] AND TG_TABLE_NAME ~ '_[0-9]+$'
       AND to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL THEN
        -- a placement on Citus: the history table's own placement on this
        -- node when it is a reference table (one shard, a copy on every node)
        EXECUTE 'SELECT s.shardid FROM pg_catalog.pg_dist_shard s
                   JOIN pg_catalog.pg_dist_partition p USING (logicalrelid)
                  WHERE s.logicalrelid = $1::regclass AND p.partmethod = ''n'''
           INTO shard USING 'healthpass.' || quote_ident(TG_ARGV[0]);
        IF shard IS NOT NULL THEN
            target := TG_ARGV[0] || '_' || shard;
        END IF;
    END IF;
    -- the history row takes its key columns (person_id, and any other the
    -- history table has, such as member_id) from the old row by name
    EXECUTE format('INSERT INTO healthpass.%I SELECT * FROM jsonb_populate_record(NULL::healthpass.%I, $1)',
                   target, TG_ARGV[0])
        USING to_jsonb(OLD) || jsonb_build_object('version', OLD.version, 'valid_from', OLD.updated_at,
                                                  'valid_to', NEW.updated_at, 'data', to_jsonb(OLD));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_keep_history() IS 'row trigger: version bump and history row of the same row (on Citus, a reference table''s history on the same node''s copy)';

-- Every version of a person's row in a table kept by hp_keep_history,
-- oldest first: the rows of its history table (named tbl || '_history'),
-- then the current row with valid_to NULL; "version" is left out of data.
-- Internal: tbl is always a fixed table name written by the caller.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_row_history(tbl text, pid bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT h.version, h.valid_from, h.valid_to, h.data - ''version''
           FROM healthpass.%I h WHERE h.person_id = $1
         UNION ALL
         SELECT c.version, c.updated_at, NULL::timestamptz, to_jsonb(c) - ''version''
           FROM healthpass.%I c WHERE c.person_id = $1
         ORDER BY 1', tbl || '_history', tbl)
        USING pid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_row_history(text, bigint) IS 'history plus current row of a person in a table that keeps history (internal)';

CREATE OR REPLACE TRIGGER person_keep_history
    BEFORE UPDATE ON person
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('person_history');

-- The document kinds a person can be identified by (every one of them
-- normalised by normalize_document; 'passport' is a foreign passport).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_person_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN ARRAY(SELECT k FROM document_kinds() k WHERE document_kind_holder(k) = 'person');
COMMENT ON FUNCTION healthpass_internal.hp_person_kinds() IS 'document kinds that identify a person';

-- normalize_document for a personal or venue flow: its error quotes the
-- number it was given (it is the validator people call on their own
-- input); here the same error quotes it masked, so no log collects it.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_normalize_masked(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- the usual case without a subtransaction: a valid number
    IF is_valid_document(kind, number) THEN
        RETURN normalize_document(kind, number);
    END IF;
    BEGIN
        RETURN normalize_document(kind, number);
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        DECLARE
            state text;
            detail text;
            hint text;
        BEGIN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            IF hint = '' THEN
                RAISE EXCEPTION 'invalid % number: "%"', kind, hp_mask_value(number)
                    USING ERRCODE = state, DETAIL = detail;
            END IF;
            RAISE EXCEPTION 'invalid % number: "%"', kind, hp_mask_value(number)
                USING ERRCODE = state, DETAIL = detail, HINT = hint;
        END;
    END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_normalize_masked(text, text) IS
    'normalize_document, its errors quoting the number masked (internal)';

-- The canonical number of a document of one of the kinds a flow takes
-- (kinds), or the refusal: a kind not among them (22023, naming what the
-- kind is not), a missing number (22004), or the validator's error with the
-- number masked. A valid number takes one C call (this function is inlined
-- into its caller); only a refusal goes through PL/pgSQL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_refusal(kind text, number text, kinds text[], refusal text)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR NOT kind = ANY (kinds) THEN
        RAISE EXCEPTION 'document kind "%" %', hp_quote(kind), refusal
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The kinds taken here are: %s.', array_to_string(kinds, ', '));
    END IF;
    IF number IS NULL THEN
        RAISE EXCEPTION 'document number is missing for kind "%"', kind
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Give the number printed on the document.';
    END IF;
    RETURN hp_normalize_masked(kind, number);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_refusal(text, text, text[], text) IS
    'the refusal of a document kind or number hp_document_number does not take (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_number(kind text, number text, kinds text[], refusal text)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN kind = ANY (kinds) AND number IS NOT NULL AND healthpass.is_valid_document(kind, number)
            THEN healthpass.normalize_document(kind, number)
            ELSE healthpass_internal.hp_document_refusal(kind, number, kinds, refusal) END;
COMMENT ON FUNCTION healthpass_internal.hp_document_number(text, text, text[], text) IS
    'canonical number of a document of the kinds a flow takes, or a specific refusal (internal)';

-- Validates a personal document and returns its canonical number.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_person_document(kind text, number text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN healthpass_internal.hp_document_number(kind, number, healthpass_internal.hp_person_kinds(), 'does not identify a person');
COMMENT ON FUNCTION healthpass_internal.hp_person_document(text, text) IS 'canonical number of a personal document, or an error';

-- Masked document number for codes and messages.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_mask_document(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN mask_document(kind, number);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_mask_document(text, text) IS 'masked document number (first and last characters only)';

-- Validates and normalises everything a person row holds; raises on the
-- first bad field. Birth date and sex of a resident ID card come from the
-- number and must agree with what was given.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_person(
    kind text, number text, name text, birth date, sex text, nationality text, phone text,
    OUT doc_kind text, OUT doc_number text, OUT person_name text, OUT birth_date date,
    OUT person_sex text, OUT person_nationality text, OUT person_phone text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id_birth date;
    id_sex text;
BEGIN
    doc_kind := kind;
    doc_number := hp_person_document(kind, number);

    person_name := hp_name('name', name);

    person_sex := lower(btrim(sex));
    IF person_sex IS NOT NULL AND person_sex NOT IN ('male', 'female') THEN
        RAISE EXCEPTION 'sex "%" is not valid', hp_quote(sex)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Sex is "male" or "female".';
    END IF;

    IF kind = 'cn_resident_id' THEN
        id_birth := healthpass.cn_resident_id_birth_date(doc_number::cn_resident_id);
        id_sex := healthpass.cn_resident_id_sex(doc_number::cn_resident_id);
        IF birth IS NOT NULL AND birth <> id_birth THEN
            RAISE EXCEPTION 'birth date % does not match resident identity card "%"',
                    birth, hp_mask_document(kind, doc_number)
                USING ERRCODE = 'check_violation',
                      DETAIL = format('The card number gives the birth date %s.', id_birth);
        END IF;
        IF person_sex IS NOT NULL AND person_sex <> id_sex THEN
            RAISE EXCEPTION 'sex "%" does not match resident identity card "%"',
                    person_sex, hp_mask_document(kind, doc_number)
                USING ERRCODE = 'check_violation',
                      DETAIL = format('The card number gives the sex %s.', id_sex);
        END IF;
        birth_date := id_birth;
        person_sex := id_sex;
    ELSE
        IF birth IS NULL THEN
            RAISE EXCEPTION 'birth date is missing for document kind "%"', kind
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Only a resident identity card number carries the birth date; other documents need it given.';
        END IF;
        birth_date := birth;
    END IF;
    IF birth_date < date '1900-01-01' OR birth_date > current_date THEN
        RAISE EXCEPTION 'birth date % is out of range', birth_date
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A birth date lies between 1900-01-01 and today.';
    END IF;

    person_nationality := upper(btrim(nationality));
    IF person_nationality IS NOT NULL AND person_nationality !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'nationality "%" is not valid', hp_quote(nationality)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Nationality is an ISO 3166-1 alpha-3 code such as CHN, HKG or MAC.';
    END IF;
    IF kind = 'passport' AND person_nationality IS NULL THEN
        RAISE EXCEPTION 'nationality is missing for passport "%"', hp_mask_document(kind, doc_number)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A foreign passport needs the issuing country.';
    END IF;

    person_phone := regexp_replace(phone, '[\s\-()]', '', 'g');
    IF person_phone IS NOT NULL AND person_phone !~ '^\+?[0-9]{5,20}$' THEN
        RAISE EXCEPTION 'phone number "%" is not valid', hp_quote(phone)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_person(text, text, text, date, text, text, text) IS 'validated, normalised person fields';

-- The one way a function locks a person: the row FOR UPDATE (a change of
-- the person's data or of what hangs off it), or FOR SHARE (issuing a code,
-- which must not cross a change but may run beside other issues). Every
-- writer of a person's facts takes this lock before any other of that
-- person's rows, so two of them never deadlock. A missing or unknown
-- person raises as hp_get_person does.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_lock_person(pid bigint, mode text DEFAULT 'update') RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF mode = 'share' THEN
        SELECT * INTO p FROM person WHERE person_id = pid FOR SHARE;
    ELSE
        SELECT * INTO p FROM person WHERE person_id = pid FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        PERFORM hp_get_person(pid);     -- raises: missing (22004) or unknown (P0002)
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_lock_person(bigint, text) IS 'person row locked FOR UPDATE (or FOR SHARE), or the error of hp_get_person';

-- The person row without locking; P0002 when there is none.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_get_person(pid bigint) RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF pid IS NULL THEN
        RAISE EXCEPTION 'person id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the person by their person_id.';
    END IF;
    SELECT * INTO p FROM person WHERE person_id = pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', pid
            USING ERRCODE = 'no_data_found', DETAIL = 'No person has this id.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_get_person(bigint) IS 'person row, or P0002';

-- Raises 55000 when a person's real-name check was rejected: no personal
-- code of any kind until they edit their information and it is approved.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_require_not_rejected(p person) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF p.realname_status = 'rejected' THEN
        RAISE EXCEPTION 'real-name verification of person % was rejected', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The real-name service rejected the information: %s.', rtrim(p.realname_reason, '.')),
                  HINT = 'The person must edit their name and document; the code is available again once the new check is approved.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_require_not_rejected(person) IS 'refuses personal codes for a rejected person';

-- Inserts a person and its index rows (used by register_person and by the
-- family functions, which pass the guardian).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_insert_person(
    doc_kind text, doc_number text, name text, birth_date date, sex text,
    nationality text, phone text, guardian bigint) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    c record;
    pid bigint;
    ref uuid;
BEGIN
    c := hp_check_person(doc_kind, doc_number, name, birth_date, sex, nationality, phone);
    INSERT INTO person (doc_kind, doc_number, name, birth_date, sex, nationality, phone, guardian_id)
        VALUES (c.doc_kind, c.doc_number, c.person_name, c.birth_date, c.person_sex,
                c.person_nationality, c.person_phone, guardian)
        RETURNING person.person_id, person.public_ref INTO pid, ref;
    BEGIN
        INSERT INTO document_index VALUES (c.doc_kind, c.doc_number, pid);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'document % "%" is already registered', c.doc_kind, hp_mask_document(c.doc_kind, c.doc_number)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Each document identifies one person; look the person up instead of registering again.';
    END;
    INSERT INTO ref_index VALUES (ref, pid);
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_insert_person(text, text, text, date, text, text, text, bigint) IS 'insert a validated person with its index rows';

-- Public API -------------------------------------------------------------

CREATE OR REPLACE FUNCTION register_person(
    doc_kind text, doc_number text, name text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality, phone, NULL);
END
$$;
COMMENT ON FUNCTION healthpass.register_person(text, text, text, date, text, text, text) IS
    'register a person by document; returns person_id; real-name status starts pending';

CREATE OR REPLACE FUNCTION find_person(doc_kind text, doc_number text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    pid bigint;
BEGIN
    SELECT d.person_id INTO pid FROM document_index d
     WHERE d.doc_kind = find_person.doc_kind AND d.doc_number = n;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'no_data_found', DETAIL = 'The document has not been registered yet.',
                  HINT = 'Register the person first.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass.find_person(text, text) IS 'person_id of a document (normalised first), or P0002';

CREATE OR REPLACE FUNCTION person_by_ref(ref uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has reference "%"', ref
            USING ERRCODE = 'no_data_found', DETAIL = 'The reference does not name a registered person.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass.person_by_ref(uuid) IS 'person_id of an opaque public reference, or P0002';

-- The claims every personal code carries: reference, masked name, document
-- kind and masked number. Internal: called by the code-issuing functions.
CREATE OR REPLACE FUNCTION healthpass_internal.person_claims(pid bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(pid);
BEGIN
    RETURN jsonb_build_object(
        'ref', p.public_ref::text,
        'name', mask_name(p.name),
        'doc', p.doc_kind,
        'id', hp_mask_document(p.doc_kind, p.doc_number));
END
$$;
COMMENT ON FUNCTION healthpass_internal.person_claims(bigint) IS 'reference, masked name and masked document for code bodies (internal)';

CREATE OR REPLACE FUNCTION person_info(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN jsonb_build_object(
        'person_id', p.person_id,
        'ref', p.public_ref,
        'doc_kind', p.doc_kind,
        'doc_number', p.doc_number,
        'doc_masked', hp_mask_document(p.doc_kind, p.doc_number),
        'name', p.name,
        'name_masked', mask_name(p.name),
        'birth_date', p.birth_date,
        'sex', p.sex,
        'nationality', p.nationality,
        'phone', p.phone,
        'guardian_id', p.guardian_id,
        'realname_status', p.realname_status,
        'realname_reason', p.realname_reason,
        'realname_checked_at', p.realname_checked_at,
        'version', p.version,
        'created_at', p.created_at,
        'updated_at', p.updated_at);
END
$$;
COMMENT ON FUNCTION healthpass.person_info(bigint) IS 'a person''s own information ("my information"), for the person''s own flows';

-- Applies changes to a locked person row; identity changes (name, document,
-- birth date, sex) reset the real-name status to pending and unbind the
-- certified photo of an earlier face check. Shared by edit_person, the
-- e-pass and the family edit.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_edit_person(p person, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k text;
    allowed CONSTANT text[] := ARRAY['name', 'doc_kind', 'doc_number', 'birth_date', 'sex', 'nationality', 'phone'];
    new_kind text := p.doc_kind;
    new_number text := p.doc_number;
    birth date := p.birth_date;
    c record;
    identity_changed boolean;
    v integer;
BEGIN
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes "%" are not a JSON object', hp_quote(changes::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Changes are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(changes) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown person field "%"', hp_quote(k)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Editable fields are %s.', array_to_string(allowed, ', '));
        END IF;
        -- every field is a string (null clears an optional one)
        IF jsonb_typeof(changes->k) NOT IN ('string', 'null') THEN
            RAISE EXCEPTION 'person field "%" must be a string, not %', k, hp_quote((changes->k)::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every field of "my information" is a JSON string.';
        END IF;
    END LOOP;
    IF changes ? 'doc_kind' THEN new_kind := changes->>'doc_kind'; END IF;
    IF changes ? 'doc_number' THEN new_number := changes->>'doc_number'; END IF;
    -- a resident ID card's birth date follows its number unless given
    IF changes ? 'birth_date' THEN
        BEGIN
            birth := (changes->>'birth_date')::date;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'birth date "%" is not a date', hp_quote(changes->>'birth_date')
                USING ERRCODE = 'invalid_datetime_format', DETAIL = 'Dates are written YYYY-MM-DD.';
        END;
    ELSIF new_kind = 'cn_resident_id' THEN
        birth := NULL;
    END IF;
    c := hp_check_person(new_kind, new_number,
            CASE WHEN changes ? 'name' THEN changes->>'name' ELSE p.name END,
            birth,
            CASE WHEN changes ? 'sex' THEN changes->>'sex'
                 WHEN new_kind = 'cn_resident_id' THEN NULL ELSE p.sex END,
            CASE WHEN changes ? 'nationality' THEN changes->>'nationality' ELSE p.nationality END,
            CASE WHEN changes ? 'phone' THEN changes->>'phone' ELSE p.phone END);

    identity_changed := (c.doc_kind, c.doc_number, c.person_name, c.birth_date, c.person_sex)
                        IS DISTINCT FROM (p.doc_kind, p.doc_number, p.name, p.birth_date, p.sex);
    IF (c.doc_kind, c.doc_number) IS DISTINCT FROM (p.doc_kind, p.doc_number) THEN
        BEGIN
            INSERT INTO document_index VALUES (c.doc_kind, c.doc_number, p.person_id);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'document % "%" is already registered', c.doc_kind, hp_mask_document(c.doc_kind, c.doc_number)
                USING ERRCODE = 'unique_violation', DETAIL = 'Each document identifies one person.';
        END;
        DELETE FROM document_index WHERE doc_kind = p.doc_kind AND doc_number = p.doc_number;
    END IF;
    UPDATE person SET
        doc_kind = c.doc_kind, doc_number = c.doc_number, name = c.person_name,
        birth_date = c.birth_date, sex = c.person_sex, nationality = c.person_nationality,
        phone = c.person_phone,
        realname_status = CASE WHEN identity_changed THEN 'pending' ELSE realname_status END,
        realname_reason = CASE WHEN identity_changed THEN NULL ELSE realname_reason END,
        realname_checked_at = CASE WHEN identity_changed THEN NULL ELSE realname_checked_at END
     WHERE person_id = p.person_id
     RETURNING version INTO v;
    -- a certified photo certifies the name and document it was taken for,
    -- and every live code carries the old masked name and number
    IF identity_changed THEN
        DELETE FROM certified_photo ph WHERE ph.person_id = p.person_id;
        PERFORM hp_revoke_codes(p.person_id, 'identity edited');
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_edit_person(person, jsonb) IS 'apply validated changes to a person (internal)';

CREATE OR REPLACE FUNCTION edit_person(person_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_edit_person(hp_lock_person(person_id), changes);
END
$$;
COMMENT ON FUNCTION healthpass.edit_person(bigint, jsonb) IS
    'edit "my information" (name, doc_kind, doc_number, birth_date, sex, nationality, phone); returns the new version; identity changes put real-name status back to pending and unbind the certified photo';

CREATE OR REPLACE FUNCTION person_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('person', p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.person_history(bigint) IS 'every version of a person, oldest first; the current one has valid_to NULL';

-- Real-name verification ------------------------------------------------

CREATE OR REPLACE FUNCTION realname_queue(max_rows integer DEFAULT 100)
    RETURNS TABLE (person_id bigint, version integer, doc_kind text, doc_number text,
                   name text, birth_date date, submitted_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 10000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Ask for 1 to 10000 people at a time.';
    END IF;
    RETURN QUERY
        SELECT p.person_id, p.version, p.doc_kind, p.doc_number, p.name, p.birth_date, p.updated_at
          FROM person p WHERE p.realname_status = 'pending'
         ORDER BY p.updated_at, p.person_id
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION healthpass.realname_queue(integer) IS 'people waiting for the external real-name check, oldest first, with the version to quote back';

-- checked_version is required and comes before the result: the external
-- check answers for the version realname_queue handed out, and a result
-- for data the person has edited since must not land (55000).
CREATE OR REPLACE FUNCTION record_realname_result(
    person_id bigint, checked_version integer, result text, reason text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF result IS NULL OR result NOT IN ('approved', 'rejected') THEN
        RAISE EXCEPTION 'real-name result "%" is not valid', hp_quote(result)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A real-name result is "approved" or "rejected".';
    END IF;
    PERFORM hp_text('rejection reason', reason, 500);
    IF result = 'rejected' AND nullif(btrim(reason), '') IS NULL THEN
        RAISE EXCEPTION 'a rejection of person % needs a reason', person_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The reason tells the person what to correct.';
    END IF;
    p := hp_lock_person(person_id);
    IF p.realname_status <> 'pending' THEN
        RAISE EXCEPTION 'real-name status of person % is "%", not pending', person_id, p.realname_status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Only a pending person can get a real-name result; an edit of their information makes them pending again.';
    END IF;
    IF checked_version IS NULL THEN
        RAISE EXCEPTION 'real-name result for person % names no checked version', person_id
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Quote back the version realname_queue gave with the information that was checked.';
    END IF;
    IF checked_version <> p.version THEN
        RAISE EXCEPTION 'real-name result for version % of person % is stale', checked_version, person_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The person has been edited since; the current version is %s.', p.version),
                  HINT = 'Check the current information again.';
    END IF;
    UPDATE person SET realname_status = result,
                      realname_reason = nullif(btrim(reason), ''),
                      realname_checked_at = now()
     WHERE person.person_id = p.person_id;
    -- seed 004: a rejected person cannot be scanned until edited and approved
    IF result = 'rejected' THEN
        PERFORM hp_revoke_codes(p.person_id, 'real-name verification rejected');
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION healthpass.record_realname_result(bigint, integer, text, text) IS
    'record the external real-name check: approved or rejected (with reason); checked_version guards against results for edited data';

-- The ledger of live codes ----------------------------------------------------

-- Issues a code to a person and records it in the ledger of live codes, so
-- that a later change that makes it wrong can revoke it (hp_revoke_codes).
-- Every personal code is issued through here. The person row is share-
-- locked first, so a revocation (which holds it FOR UPDATE) either sees
-- this code in the ledger or is seen by it: after a concurrent rejection
-- the re-read status refuses the code. The person's expired rows go on
-- the way.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_issue_code(p person, kind text, body jsonb, valid_for interval) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    code text;
    issued pass;
    now_p person;
BEGIN
    now_p := hp_lock_person(p.person_id, 'share');
    PERFORM hp_require_not_rejected(now_p);
    code := issue_token(kind, body, valid_for);
    issued := code;                     -- decoded once for the ledger
    DELETE FROM code_issued c WHERE c.person_id = p.person_id AND c.expires_at <= now();
    INSERT INTO code_issued (person_id, token_id, kid, kind, expires_at)
    VALUES (p.person_id, pass_token_id(issued), pass_kid(issued), kind, pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_issue_code(person, text, jsonb, interval) IS
    'issue a personal code and record it in the ledger of live codes (internal)';

-- Revokes a person's live codes (of the given kinds; all when NULL) and
-- returns how many were revoked.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_revoke_codes(pid bigint, reason text, kinds text[] DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
    token_ids bytea[];
    kids bytea[];
BEGIN
    -- two steps: the ledger rows are the person's (on Citus, one shard);
    -- the revocations go to the revocation list (a reference table), which
    -- a query running on the person's shard may not write
    WITH gone AS (
        DELETE FROM code_issued c
         WHERE c.person_id = pid AND (kinds IS NULL OR c.kind = ANY (kinds))
        RETURNING c.*
    )
    SELECT array_agg(g.token_id ORDER BY g.token_id), array_agg(g.kid ORDER BY g.token_id)
      INTO token_ids, kids
      FROM gone g
     WHERE g.expires_at > now()
       -- an administrator may have revoked one already (revoke_token)
       AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = g.token_id);
    SELECT count(revoke_token(u.token_id, reason, u.kid)) INTO n
      FROM unnest(token_ids, kids) AS u(token_id, kid);
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_revoke_codes(bigint, text, text[]) IS
    'revoke the live codes of a person, of some kinds or all (internal)';

-- A person's own static personal code (HP1 kind "personal"): what venues
-- scan and what family members print. Pending is fine; rejected is not.
CREATE OR REPLACE FUNCTION personal_code(person_id bigint, valid_for interval DEFAULT '1 day') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    IF valid_for IS NULL OR valid_for <= interval '0' OR valid_for > interval '366 days' THEN
        RAISE EXCEPTION 'validity % is out of range', valid_for
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A personal code is valid for more than zero and at most 366 days.';
    END IF;
    PERFORM hp_require_not_rejected(p);
    RETURN hp_issue_code(p, 'personal', person_claims(p.person_id), valid_for);
END
$$;
COMMENT ON FUNCTION healthpass.personal_code(bigint, interval) IS 'HP1 personal code (kind "personal"): reference, masked name and ID';

GRANT EXECUTE ON FUNCTION
    healthpass.register_person(text, text, text, date, text, text, text),
    healthpass.find_person(text, text),
    healthpass.person_by_ref(uuid),
    healthpass.person_info(bigint),
    healthpass.edit_person(bigint, jsonb),
    healthpass.person_history(bigint),
    healthpass.personal_code(bigint, interval)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.realname_queue(integer),
    healthpass.record_realname_result(bigint, integer, text, text)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.person_by_ref(uuid) TO healthpass_scanner, healthpass_health;
