-- 51_declarations.sql: health declarations (seed 002's three questions and
-- itinerary, seed 004's "expired, declare again").
--
-- A declaration answers: fever or symptoms today, contact history in the
-- last 14 days, travel history in the last 14 days (the places), where the
-- person is going today (city and address) and, when measured, the
-- temperature. It is valid for health_settings().declaration_valid_for from
-- the moment it is made; the latest declaration is the one that counts, and
-- once it has lapsed the person's colour turns yellow by the default rules.
-- Declarations are never changed: a new one supersedes the old, so the
-- colour at any past instant can be recomputed from what was known then.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- A place as typed, checked and in its one stored form: free text of at most
-- 100 characters without control or bidi characters (hp_text: 54000 when too
-- long, 22023 for a bad character), then hp_place_form (sql/schema/
-- 51_declarations.sql): NFC, full-width ASCII folded, spaces collapsed and
-- removed between CJK characters. Every place a function takes (travel
-- places, destination city, risk areas) goes through here, so declarations
-- and risk areas are compared in one form.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_clean_place(field text, place text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    p text := hp_place_form(hp_text(field, place, 100));
BEGIN
    IF p IS NULL OR p = '' THEN
        RAISE EXCEPTION '% "%" is empty', field, hp_quote(coalesce(place, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A place names a country, province, city or district.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_clean_place(text, text) IS 'checked place in its stored form (hp_place_form), or 22023/54000 naming the field (internal)';

CREATE OR REPLACE FUNCTION declare_health(
    person_id bigint,
    fever_today boolean,
    contact_14d boolean,
    travel_places text[] DEFAULT '{}',
    destination_city text DEFAULT NULL,
    destination_address text DEFAULT NULL,
    temperature numeric DEFAULT NULL,
    OUT declaration_id bigint, OUT declared_at timestamptz, OUT valid_until timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(declare_health.person_id);
    places text[];
    city text;
    address text;
BEGIN
    IF declare_health.fever_today IS NULL THEN
        RAISE EXCEPTION 'fever_today is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every declaration answers whether the person has a fever or symptoms today.';
    END IF;
    IF declare_health.contact_14d IS NULL THEN
        RAISE EXCEPTION 'contact_14d is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every declaration answers whether the person had contact with a case in the last 14 days.';
    END IF;
    IF coalesce(cardinality(declare_health.travel_places), 0) > 30 THEN
        RAISE EXCEPTION 'travel history lists % places', cardinality(declare_health.travel_places)
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A declaration lists at most 30 places visited in the last 14 days.';
    END IF;
    SELECT coalesce(array_agg(DISTINCT hp_clean_place('travel place', t.pl) ORDER BY hp_clean_place('travel place', t.pl)), '{}')
      INTO places FROM unnest(declare_health.travel_places) AS t(pl);
    IF declare_health.destination_city IS NOT NULL THEN
        city := hp_clean_place('destination city', declare_health.destination_city);
    END IF;
    IF declare_health.destination_address IS NOT NULL THEN
        address := regexp_replace(hp_text('destination address', declare_health.destination_address, 200),
                                  '[\s　]+', ' ', 'g');
        IF address IS NULL THEN
            RAISE EXCEPTION 'destination address "%" is empty', hp_quote(declare_health.destination_address)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Leave the address out, or give the street and number.';
        END IF;
    END IF;
    IF declare_health.temperature IS NOT NULL
       AND NOT declare_health.temperature BETWEEN 34.0 AND 43.0 THEN
        RAISE EXCEPTION 'temperature % is out of range', hp_quote(declare_health.temperature::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A body temperature is given in degrees Celsius between 34.0 and 43.0.';
    END IF;
    INSERT INTO health_declaration AS d
           (person_id, valid_until, fever_today, contact_14d, travel_places,
            destination_city, destination_address, temperature)
    VALUES (p.person_id, now() + hp_setting('declaration_valid_for')::interval,
            declare_health.fever_today, declare_health.contact_14d, places,
            city, address, round(declare_health.temperature, 1))
    RETURNING d.declaration_id, d.declared_at, d.valid_until
         INTO declare_health.declaration_id, declare_health.declared_at, declare_health.valid_until;
END
$$;
COMMENT ON FUNCTION healthpass.declare_health(bigint, boolean, boolean, text[], text, text, numeric) IS
    'record a health declaration (fever today, 14-day contact, 14-day travel places, destination, temperature); the colour is recomputed';

-- A person's declarations, newest first, with whether each is the one in force.
CREATE OR REPLACE FUNCTION health_declarations(person_id bigint, max_rows integer DEFAULT 20)
    RETURNS TABLE (declaration_id bigint, declared_at timestamptz, valid_until timestamptz,
                   in_force boolean, fever_today boolean, contact_14d boolean, travel_places text[],
                   destination_city text, destination_address text, temperature numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(health_declarations.person_id);
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Ask for 1 to 1000 declarations at a time.';
    END IF;
    RETURN QUERY
        SELECT d.declaration_id, d.declared_at, d.valid_until,
               row_number() OVER w = 1 AND d.valid_until > now(),
               d.fever_today, d.contact_14d, d.travel_places,
               d.destination_city, d.destination_address, d.temperature
          FROM health_declaration d
         WHERE d.person_id = p.person_id AND d.declared_at <= now()
        WINDOW w AS (ORDER BY d.declared_at DESC, d.declaration_id DESC)
         ORDER BY d.declared_at DESC, d.declaration_id DESC
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION healthpass.health_declarations(bigint, integer) IS
    'a person''s declarations, newest first; in_force marks the latest one while it is valid';

GRANT EXECUTE ON FUNCTION
    healthpass.declare_health(bigint, boolean, boolean, text[], text, text, numeric),
    healthpass.health_declarations(bigint, integer)
    TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.health_declarations(bigint, integer) TO healthpass_health;
