-- 44_family.sql: family members registered by proxy (seed 004).
--
-- A registered person (the guardian) adds family members who have no
-- smartphone. Members are full persons (their own document, real-name
-- check and codes) whose person.guardian_id names the guardian; the
-- guardian's list is family_member, keyed by the guardian. Members cannot
-- register others, and a guardian has at most 10 members.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- History of the guardian's links: the generic history trigger (40_people.sql).
CREATE OR REPLACE TRIGGER family_member_keep_history
    BEFORE UPDATE ON family_member
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('family_member_history');

-- Largest number of members one guardian may register.
CREATE OR REPLACE FUNCTION family_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 10;
COMMENT ON FUNCTION healthpass.family_limit() IS 'a guardian registers at most 10 family members';

-- Raises 22023 unless relation is one of the known ones.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_relation(relation text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    r text := lower(btrim(relation));
BEGIN
    IF r IS NULL OR r NOT IN ('parent', 'child', 'spouse', 'grandparent', 'grandchild', 'sibling', 'other') THEN
        RAISE EXCEPTION 'relation "%" is not valid', hp_quote(relation)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The relation is parent, child, spouse, grandparent, grandchild, sibling or other.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_relation(text) IS 'normalised family relation';

-- The member's person row if the guardian registered them; 42501 otherwise.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_family_member(guardian bigint, member bigint, for_update boolean) RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    PERFORM hp_get_person(guardian);
    IF NOT EXISTS (SELECT 1 FROM family_member f WHERE f.person_id = guardian AND f.member_id = member) THEN
        RAISE EXCEPTION 'person % is not a family member of person %', member, guardian
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'A guardian sees and edits only the family members they registered.';
    END IF;
    IF for_update THEN
        p := hp_lock_person(member);
    ELSE
        p := hp_get_person(member);
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_family_member(bigint, bigint, boolean) IS 'a guardian''s family member, or 42501';

CREATE OR REPLACE FUNCTION add_family_member(
    guardian_id bigint, doc_kind text, doc_number text, name text, relation text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_lock_person(guardian_id);
    r text := hp_check_relation(relation);
    n integer;
    mid bigint;
BEGIN
    IF g.guardian_id IS NOT NULL THEN
        RAISE EXCEPTION 'person % was registered by proxy and cannot register family members', g.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Only a person who registered themselves acts for their family.';
    END IF;
    SELECT count(*) INTO n FROM family_member f WHERE f.person_id = g.person_id;
    IF n >= family_limit() THEN
        RAISE EXCEPTION 'person % already has % family members', g.person_id, n
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A guardian registers at most %s family members.', family_limit());
    END IF;
    -- no phone of their own: the guardian's number is the contact (seed 004)
    mid := hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality,
                            coalesce(phone, g.phone), g.person_id);
    INSERT INTO family_member (person_id, member_id, relation) VALUES (g.person_id, mid, r);
    RETURN mid;
END
$$;
COMMENT ON FUNCTION healthpass.add_family_member(bigint, text, text, text, text, date, text, text, text) IS
    'register a family member by proxy; returns the member''s person_id (real-name status pending)';

CREATE OR REPLACE FUNCTION family_members(guardian_id bigint)
    RETURNS TABLE (member_id bigint, person_ref uuid, name text, doc_kind text, doc_masked text,
                   birth_date date, relation text, realname_status text, added_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_get_person(guardian_id);
    f record;
    p person;
BEGIN
    -- the guardian's rows first, then each member's row by person_id: on
    -- Citus they are on different shards (family_member is the guardian's),
    -- and a join of the two would need repartitioning
    FOR f IN
        SELECT x.member_id, x.relation, x.added_at FROM family_member x
         WHERE x.person_id = g.person_id
         ORDER BY x.added_at, x.member_id
    LOOP
        SELECT * INTO p FROM person x WHERE x.person_id = f.member_id;
        CONTINUE WHEN NOT FOUND;  -- as the join did
        member_id := p.person_id;
        person_ref := p.public_ref;
        name := p.name;
        doc_kind := p.doc_kind;
        doc_masked := hp_mask_document(p.doc_kind, p.doc_number);
        birth_date := p.birth_date;
        relation := f.relation;
        realname_status := p.realname_status;
        added_at := f.added_at;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.family_members(bigint) IS 'the family members a guardian registered, in the order added';

CREATE OR REPLACE FUNCTION edit_family_member(guardian_id bigint, member_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, true);
    v integer;
BEGIN
    IF changes IS NOT NULL AND jsonb_typeof(changes) = 'object' AND changes ? 'relation' THEN
        UPDATE family_member f SET relation = hp_check_relation(changes->>'relation')
         WHERE f.person_id = edit_family_member.guardian_id AND f.member_id = m.person_id;
        changes := changes - 'relation';
    END IF;
    v := hp_edit_person(m, changes);
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass.edit_family_member(bigint, bigint, jsonb) IS
    'edit a family member (person fields as edit_person, plus relation); returns the member''s new version';

CREATE OR REPLACE FUNCTION family_member_code(guardian_id bigint, member_id bigint,
                                   valid_for interval DEFAULT '90 days') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, false);
BEGIN
    RETURN personal_code(m.person_id, valid_for);
END
$$;
COMMENT ON FUNCTION healthpass.family_member_code(bigint, bigint, interval) IS
    'a family member''s personal code (HP1 kind "personal"), valid 90 days by default for printing';

CREATE OR REPLACE FUNCTION family_member_qr_png(guardian_id bigint, member_id bigint,
                                     valid_for interval DEFAULT '90 days',
                                     module_px integer DEFAULT 8) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- level Q: a printed code survives creases and smudges
    RETURN qr_png(family_member_code(guardian_id, member_id, valid_for), 'Q', hp_module_px(module_px));
END
$$;
COMMENT ON FUNCTION healthpass.family_member_qr_png(bigint, bigint, interval, integer) IS
    'printable PNG of a family member''s personal code (error correction Q)';

CREATE OR REPLACE FUNCTION family_member_history(guardian_id bigint, member_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, relation text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, false);
BEGIN
    RETURN QUERY
        SELECT h.version, h.valid_from, h.valid_to, h.data->>'relation'
          FROM family_member_history h
         WHERE h.person_id = family_member_history.guardian_id AND h.member_id = m.person_id
        UNION ALL
        SELECT f.version, f.updated_at, NULL::timestamptz, f.relation
          FROM family_member f
         WHERE f.person_id = family_member_history.guardian_id AND f.member_id = m.person_id
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION healthpass.family_member_history(bigint, bigint) IS
    'every version of the guardian''s relation to a member, oldest first (the member''s own data: person_history)';

GRANT EXECUTE ON FUNCTION
    healthpass.family_member_history(bigint, bigint),
    healthpass.family_limit(),
    healthpass.add_family_member(bigint, text, text, text, text, date, text, text, text),
    healthpass.family_members(bigint),
    healthpass.edit_family_member(bigint, bigint, jsonb),
    healthpass.family_member_code(bigint, bigint, interval),
    healthpass.family_member_qr_png(bigint, bigint, interval, integer)
  TO healthpass_app, healthpass_admin;
