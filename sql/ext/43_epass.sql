-- 43_epass.sql: face verification, the certified photo and the electronic
-- pass (seed 000).

-- The health-code section of the e-pass page. This version says that no
-- health code is available; the health-code domain (sql/ext/5x) replaces
-- this one function (same signature) to show the live colour and code.
CREATE FUNCTION epass_health_section(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'available', false,
        'message', 'the health code is not available');
END
$$;
COMMENT ON FUNCTION epass_health_section(bigint) IS
    'health-code part of the e-pass page: {"available": false, ...} until the health-code domain replaces it';
