-- 42_companions.sql: accompanying travellers (seed 000, step 7-9).
--
-- A registrant binds companions by document. The group is the registrant
-- plus at most 9 companions (10 travellers). A person accompanies one group
-- at a time, and a registrant who has companions cannot be bound into
-- another group (groups do not nest). Both sides are stored on their own
-- person's rows: companion (registrant's rows) and companion_of
-- (companion's rows). The rules span two people, so they are checked in
-- bind_companion under row locks on both person rows, taken in person_id
-- order (no deadlock between two binders); see
-- test/isolation/specs/42_companion_binding.spec.
--
-- The tables also defend themselves, so that a direct INSERT (a DBA's
-- repair, a data load) cannot make a group bind_companion would refuse.
-- Row triggers may only read and lock the rows of the person the row
-- belongs to (a distributed table keeps a person's rows together; see
-- README, "Companions"), and they read only the two companion tables: a
-- restore loads the tables in name order (companion, companion_of, ...,
-- entry_registration, person), so a check against another table would
-- refuse good rows. Each side checks what its own person's rows can tell:
--   companion (registrant's side): not oneself; the registrant accompanies
--     no group; each companion once; at most companion_limit() companions;
--     positions unique, and pos left out gets the next one (binding order)
--   companion_of (companion's side): not oneself; one group at a time; the
--     companion leads no group of their own.
-- Both lock their person's row when it exists, so two inserts for one
-- person are checked one after the other; neither changes a binding's keys.
-- Only bind_companion checks what spans the two people or other tables
-- (documents, entry registrations, both halves of a binding written) and
-- takes both locks in order.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Largest number of companions one registrant may bind.
CREATE OR REPLACE FUNCTION companion_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9;
COMMENT ON FUNCTION healthpass.companion_limit() IS 'at most 9 companions: a group is at most 10 travellers';

-- Row trigger on companion (the registrant's rows): what can be checked on
-- the registrant's own rows. Keys of a binding are not changed in place.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_companion_guard() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.companion_id IS DISTINCT FROM OLD.companion_id THEN
            RAISE EXCEPTION 'the companion binding of person % to the group of person % cannot be moved',
                    OLD.companion_id, OLD.person_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A binding is removed and made again: unbind_companion, then bind_companion.';
        END IF;
        IF NEW.pos IS DISTINCT FROM OLD.pos
           AND EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.pos = NEW.pos) THEN
            RAISE EXCEPTION 'position % in the group of person % is taken', NEW.pos, NEW.person_id
                USING ERRCODE = 'unique_violation', DETAIL = 'Each companion of a group has a position of their own.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.person_id IS NULL OR NEW.companion_id IS NULL THEN
        RETURN NEW;  -- refused by NOT NULL
    END IF;
    IF NEW.companion_id = NEW.person_id THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'A registrant binds other people as companions.';
    END IF;
    -- the person's row, when there is one (a restore loads people later)
    PERFORM FROM person x WHERE x.person_id = NEW.person_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM companion_of c WHERE c.person_id = NEW.person_id) THEN
        RAISE EXCEPTION 'person % accompanies another group and cannot bind companions', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a companion cannot have companions of their own.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.companion_id = NEW.companion_id) THEN
        RAISE EXCEPTION 'person % is already bound to the group of person %', NEW.companion_id, NEW.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    END IF;
    SELECT count(*) INTO n FROM companion c WHERE c.person_id = NEW.person_id;
    IF n >= companion_limit() THEN
        RAISE EXCEPTION 'the group of person % already has % companions', NEW.person_id, n
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A registrant binds at most %s companions.', companion_limit());
    END IF;
    IF NEW.pos IS NULL THEN
        -- binding order: after every companion of the group
        SELECT coalesce(max(c.pos), 0) + 1 INTO NEW.pos FROM companion c WHERE c.person_id = NEW.person_id;
    ELSIF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.pos = NEW.pos) THEN
        RAISE EXCEPTION 'position % in the group of person % is taken', NEW.pos, NEW.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'Each companion of a group has a position of their own; leave pos out to bind them last.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_companion_guard() IS
    'row trigger on companion: the registrant''s side of the binding rules (not oneself, no nesting, once, limit, positions)';

CREATE OR REPLACE TRIGGER companion_guard
    BEFORE INSERT OR UPDATE ON companion
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_companion_guard();

-- Row trigger on companion_of (the companion's rows): what can be checked on
-- the companion's own rows.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_companion_of_guard() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    other bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.registrant_id IS DISTINCT FROM OLD.registrant_id THEN
            RAISE EXCEPTION 'the companion binding of person % to the group of person % cannot be moved',
                    OLD.person_id, OLD.registrant_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A binding is removed and made again: unbind_companion, then bind_companion.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.person_id IS NULL OR NEW.registrant_id IS NULL THEN
        RETURN NEW;  -- refused by NOT NULL
    END IF;
    IF NEW.registrant_id = NEW.person_id THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'A companion accompanies another person''s group.';
    END IF;
    -- the person's row, when there is one (a restore loads people later)
    PERFORM FROM person x WHERE x.person_id = NEW.person_id FOR UPDATE;
    SELECT c.registrant_id INTO other FROM companion_of c WHERE c.person_id = NEW.person_id;
    IF other = NEW.registrant_id THEN
        RAISE EXCEPTION 'person % is already bound to the group of person %', NEW.person_id, other
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'person % already accompanies the group of person %', NEW.person_id, other
            USING ERRCODE = 'check_violation', DETAIL = 'A person accompanies one group at a time.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id) THEN
        RAISE EXCEPTION 'person % leads a group of their own', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a registrant with companions cannot join another group.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_companion_of_guard() IS
    'row trigger on companion_of: the companion''s side of the binding rules (not oneself, one group at a time, no nesting)';

CREATE OR REPLACE TRIGGER companion_of_guard
    BEFORE INSERT OR UPDATE ON companion_of
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_companion_of_guard();

CREATE OR REPLACE FUNCTION bind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    shown text := hp_mask_document(doc_kind, n);
    registrant bigint := person_id;
    cid bigint;
    locked integer;
    other bigint;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = bind_companion.doc_kind AND d.doc_number = n;
    IF cid IS NULL THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, shown
            USING ERRCODE = 'no_data_found', DETAIL = 'The companion has not registered yet.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;
    IF cid = registrant THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', registrant
            USING ERRCODE = 'check_violation', DETAIL = format('Document %s "%s" is the registrant''s own.', doc_kind, shown);
    END IF;

    -- both people, locked in person_id order: every binding, unbinding and
    -- group check that involves either of them waits here. One statement a
    -- person: on Citus each is routed to that person's shard (a FOR UPDATE
    -- over two people would span two shards, which Citus refuses).
    PERFORM FROM person x WHERE x.person_id = least(registrant, cid) FOR UPDATE;
    PERFORM FROM person x WHERE x.person_id = greatest(registrant, cid) FOR UPDATE;

    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = registrant) THEN
        RAISE EXCEPTION 'person % has no entry registration', registrant
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a registered traveller can bind companions.',
                  HINT = 'Submit the entry registration with submit_entry first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" has not completed the entry registration', doc_kind, shown
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A companion must have a complete entry registration of their own.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;

    SELECT c.registrant_id INTO other FROM companion_of c WHERE c.person_id = cid;
    IF other = registrant THEN
        RAISE EXCEPTION 'companion % "%" is already bound to this group', doc_kind, shown
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'companion % "%" already accompanies another group', doc_kind, shown
            USING ERRCODE = 'check_violation', DETAIL = 'A person accompanies one group at a time.',
                  HINT = 'The other registrant must unbind them first.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" leads a group of their own', doc_kind, shown
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a registrant with companions cannot join another group.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion_of c WHERE c.person_id = registrant) THEN
        RAISE EXCEPTION 'person % accompanies another group and cannot bind companions', registrant
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a companion cannot have companions of their own.';
    END IF;

    SELECT count(*) INTO locked FROM companion c WHERE c.person_id = registrant;
    IF locked >= companion_limit() THEN
        RAISE EXCEPTION 'the group of person % already has % companions', registrant, locked
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A registrant binds at most %s companions.', companion_limit());
    END IF;

    -- pos left out: the row trigger gives the next position (binding order)
    BEGIN
        INSERT INTO companion (person_id, companion_id) VALUES (registrant, cid);
        INSERT INTO companion_of (person_id, registrant_id) VALUES (cid, registrant);
    EXCEPTION WHEN unique_violation THEN
        -- cannot happen under the two person locks; a row written around
        -- this function is reported in the project's words all the same
        RAISE EXCEPTION 'companion % "%" is already bound to a group', doc_kind, shown
            USING ERRCODE = 'unique_violation', DETAIL = 'A person accompanies one group at a time.';
    END;
    -- the new companion is last: after the registrant and the others
    RETURN locked + 2;
END
$$;
COMMENT ON FUNCTION healthpass.bind_companion(bigint, text, text) IS
    'bind an accompanying traveller by document; returns their pos in group_codes (the registrant is 1)';

CREATE OR REPLACE FUNCTION unbind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    registrant bigint := person_id;
    cid bigint;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = unbind_companion.doc_kind AND d.doc_number = n;
    -- both people, in person_id order, one statement a person (see
    -- bind_companion); without a companion, the registrant alone
    PERFORM FROM person x WHERE x.person_id = least(registrant, cid) FOR UPDATE;
    IF cid IS NOT NULL THEN
        PERFORM FROM person x WHERE x.person_id = greatest(registrant, cid) FOR UPDATE;
    END IF;
    DELETE FROM companion c WHERE c.person_id = registrant AND c.companion_id = cid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % "%" is not bound to the group of person %',
                doc_kind, hp_mask_document(doc_kind, n), registrant
            USING ERRCODE = 'no_data_found', DETAIL = 'Only a bound companion can be unbound.';
    END IF;
    DELETE FROM companion_of c WHERE c.person_id = cid;
END
$$;
COMMENT ON FUNCTION healthpass.unbind_companion(bigint, text, text) IS 'remove a companion from the registrant''s group';

CREATE OR REPLACE FUNCTION group_codes(person_id bigint)
    RETURNS TABLE (pos integer, person_ref uuid, is_registrant boolean,
                   name_masked text, doc_masked text,
                   prev_ref uuid, next_ref uuid, code_status text, entry_code text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    me person := hp_get_person(person_id);
    registrant bigint;
    m record;
BEGIN
    SELECT c.registrant_id INTO registrant FROM companion_of c WHERE c.person_id = me.person_id;
    registrant := coalesce(registrant, me.person_id);
    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = registrant) THEN
        RAISE EXCEPTION 'person % has no entry registration', registrant
            USING ERRCODE = 'no_data_found', DETAIL = 'A group is a registered traveller and their companions.',
                  HINT = 'Submit the entry registration with submit_entry first.';
    END IF;
    FOR m IN
        WITH members AS (
            SELECT registrant AS pid, 0 AS ord
            UNION ALL
            SELECT c.companion_id, c.pos FROM companion c WHERE c.person_id = registrant),
        paged AS (
            SELECT p, row_number() OVER w AS page,
                   lag(p.public_ref) OVER w AS prv, lead(p.public_ref) OVER w AS nxt
              FROM members mm JOIN person p ON p.person_id = mm.pid
            WINDOW w AS (ORDER BY mm.ord))
        SELECT * FROM paged ORDER BY page
    LOOP
        pos := m.page;
        person_ref := (m.p).public_ref;
        is_registrant := (m.p).person_id = registrant;
        name_masked := mask_name((m.p).name);
        doc_masked := hp_mask_document((m.p).doc_kind, (m.p).doc_number);
        prev_ref := m.prv;
        next_ref := m.nxt;
        IF (m.p).realname_status = 'rejected' THEN
            code_status := 'realname_rejected';
            entry_code := NULL;
        ELSE
            code_status := 'ok';
            entry_code := hp_entry_code(m.p);
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.group_codes(bigint) IS
    'the group of a registrant or companion in a stable order (registrant first, then binding order) with previous/next references and each entry code';

GRANT EXECUTE ON FUNCTION
    healthpass.companion_limit(),
    healthpass.bind_companion(bigint, text, text),
    healthpass.unbind_companion(bigint, text, text),
    healthpass.group_codes(bigint)
  TO healthpass_app, healthpass_admin;
