-- 53_marks.sql: risk marks set by the health authority, and risk areas.
--
-- A risk mark says that, from valid_from until valid_until (open when NULL),
-- a person is a confirmed or suspected case, a close contact, a secondary
-- contact, or has arrived from a risk area. Lifting a mark early records
-- when it was lifted; marks are never deleted, so the colour at any past
-- instant can be recomputed from what was known then.
--
-- A risk area is a place (a country, province, city or district name, as
-- declarations write them). A declared travel place matches an area when
-- the place starts with the area's name: the area "深圳市南山区" matches
-- "深圳市南山区粤海街道". Both sides are stored in one form (hp_place_form:
-- NFC, full-width ASCII folded, no space between CJK characters), so the
-- place "广东省 珠海市 香洲区" matches the area "广东省珠海市". Declaring or
-- lifting an area re-colours, at once, everyone whose declaration in force
-- lists a matching place.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Notes and reasons are free text checked by hp_text (05_checks.sql): at
-- most 500 characters (54000), no control or bidi characters (22023); a note
-- may span lines, a reason is one line.

CREATE OR REPLACE FUNCTION set_risk_mark(
    person_id bigint, kind text,
    valid_from timestamptz DEFAULT now(), valid_until timestamptz DEFAULT NULL,
    note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(set_risk_mark.person_id);
    k risk_mark_kind;
    v_from timestamptz := hp_instant('valid_from', set_risk_mark.valid_from, true);
    v_until timestamptz := hp_instant('valid_until', set_risk_mark.valid_until, false);
    why text := hp_text('note', set_risk_mark.note, 500, false, true);
    id bigint;
BEGIN
    IF kind IS NULL OR NOT kind = ANY (enum_range(NULL::risk_mark_kind)::text[]) THEN
        RAISE EXCEPTION 'risk mark kind "%" is not valid', hp_quote(kind)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A risk mark is one of: %s.', array_to_string(enum_range(NULL::risk_mark_kind), ', '));
    END IF;
    k := kind::risk_mark_kind;
    IF v_until IS NOT NULL AND v_until <= v_from THEN
        RAISE EXCEPTION 'validity window "%" to "%" is empty', v_from, v_until
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A risk mark ends after it starts.';
    END IF;
    IF v_until IS NOT NULL AND v_until <= now() THEN
        RAISE EXCEPTION 'validity window ends in the past at "%"', v_until
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A risk mark is recorded before it ends.';
    END IF;
    INSERT INTO risk_mark AS m (person_id, kind, valid_from, valid_until, note)
    VALUES (p.person_id, k, v_from, v_until, why)
    RETURNING m.mark_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.set_risk_mark(bigint, text, timestamptz, timestamptz, text) IS
    'mark a person (confirmed, suspected, close_contact, secondary_contact, risk_area_arrival) for a window; returns mark_id; the colour is recomputed';

CREATE OR REPLACE FUNCTION lift_risk_mark(person_id bigint, mark_id bigint, reason text) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m risk_mark;
    why text := hp_text('reason', lift_risk_mark.reason, 500, true);
BEGIN
    SELECT * INTO m FROM risk_mark r
     WHERE r.person_id = lift_risk_mark.person_id AND r.mark_id = lift_risk_mark.mark_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no risk mark %', lift_risk_mark.person_id, lift_risk_mark.mark_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Marks are named by the person and the mark id set_risk_mark returned.';
    END IF;
    IF m.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk mark % was already lifted at %', m.mark_id, m.lifted_at
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A mark is lifted once.';
    END IF;
    IF m.valid_until IS NOT NULL AND m.valid_until <= now() THEN
        RAISE EXCEPTION 'risk mark % already ended at %', m.mark_id, m.valid_until
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a current or future mark can be lifted.';
    END IF;
    UPDATE risk_mark r SET lifted_at = now(), lift_reason = why
     WHERE r.person_id = m.person_id AND r.mark_id = m.mark_id;
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass.lift_risk_mark(bigint, bigint, text) IS 'lift a risk mark early (with a reason); the colour is recomputed';

CREATE OR REPLACE FUNCTION risk_marks(person_id bigint)
    RETURNS TABLE (mark_id bigint, kind risk_mark_kind, valid_from timestamptz, valid_until timestamptz,
                   active boolean, note text, recorded_at timestamptz, lifted_at timestamptz, lift_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(risk_marks.person_id);
BEGIN
    RETURN QUERY
        SELECT m.mark_id, m.kind, m.valid_from, m.valid_until,
               m.lifted_at IS NULL AND m.valid_from <= now()
               AND (m.valid_until IS NULL OR m.valid_until > now()),
               m.note, m.recorded_at, m.lifted_at, m.lift_reason
          FROM risk_mark m WHERE m.person_id = p.person_id
         ORDER BY m.recorded_at DESC, m.mark_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass.risk_marks(bigint) IS 'a person''s risk marks, newest first, with whether each is active now';

-- Risk areas ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION declare_risk_area(place text, note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pl text := hp_clean_place('risk area', place);
    why text := hp_text('note', declare_risk_area.note, 500, false, true);
    id bigint;
BEGIN
    -- no declaration may slip in between the area and the re-colouring
    LOCK TABLE health_declaration IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM risk_area a WHERE a.place = pl AND a.lifted_at IS NULL) THEN
        RAISE EXCEPTION 'risk area "%" is already declared', hp_quote(pl)
            USING ERRCODE = 'unique_violation', DETAIL = 'An area is declared once until it is lifted.';
    END IF;
    BEGIN
        INSERT INTO risk_area AS a (place, note) VALUES (pl, why)
        RETURNING a.area_id INTO id;
    EXCEPTION WHEN unique_violation THEN
        -- another session declared the same place at the same time (both
        -- passed the check above; the unique index risk_area_active made
        -- this one wait for the other to commit)
        RAISE EXCEPTION 'risk area "%" is already declared', hp_quote(pl)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Another session declared the area at the same time; an area is declared once until it is lifted.';
    END;
    PERFORM hp_recolour_place(pl);
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.declare_risk_area(text, text) IS
    'declare a risk area; everyone whose declaration in force lists a matching place is re-coloured at once (progress as NOTICEs)';

CREATE OR REPLACE FUNCTION lift_risk_area(area_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    a risk_area;
BEGIN
    LOCK TABLE health_declaration IN SHARE MODE;
    SELECT * INTO a FROM risk_area r WHERE r.area_id = lift_risk_area.area_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'risk area % does not exist', lift_risk_area.area_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Areas are named by the id declare_risk_area returned.';
    END IF;
    IF a.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk area "%" was already lifted at %', hp_quote(a.place), a.lifted_at
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An area is lifted once.';
    END IF;
    UPDATE risk_area r SET lifted_at = now() WHERE r.area_id = a.area_id;
    PERFORM hp_recolour_place(a.place);
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass.lift_risk_area(bigint) IS 'lift a risk area; the people it affected are re-coloured at once';

CREATE OR REPLACE FUNCTION risk_areas(include_lifted boolean DEFAULT false)
    RETURNS TABLE (area_id bigint, place text, note text, declared_at timestamptz, lifted_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT a.area_id, a.place, a.note, a.declared_at, a.lifted_at
      FROM risk_area a
     WHERE include_lifted OR a.lifted_at IS NULL
     ORDER BY a.declared_at, a.area_id
$$;
COMMENT ON FUNCTION healthpass.risk_areas(boolean) IS 'risk areas in force (and lifted ones when asked), oldest first';

GRANT EXECUTE ON FUNCTION
    healthpass.set_risk_mark(bigint, text, timestamptz, timestamptz, text),
    healthpass.lift_risk_mark(bigint, bigint, text),
    healthpass.risk_marks(bigint),
    healthpass.declare_risk_area(text, text),
    healthpass.lift_risk_area(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.risk_areas(boolean)
    TO healthpass_health, healthpass_admin, healthpass_app, healthpass_scanner, healthpass_report;
