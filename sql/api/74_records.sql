-- 74_records.sql: entry-exit record certificates (出入境记录凭证) and Hong
-- Kong's contactless e-Channel code (非触式e-道), seed 003.
--
-- Who calls what:
--   healthpass_app     the traveller's app (the National Immigration
--                      Administration's service platform: download and print
--                      a certificate; the contactless e-Channel code after
--                      iAM Smart)
--   healthpass_border  exit-entry offices and the self-service kiosks at the
--                      ports (print a certificate, the latest crossing at the
--                      kiosk's port), counters verifying a certificate, and
--                      Hong Kong's contactless e-Channel gates
--   healthpass_scanner anyone shown a certificate: verify it
--
-- A record certificate is an HP1 token of kind "record", signed like every
-- personal code (hp_issue_code: it is in the person's ledger of live codes,
-- so an edit of the person's name or document revokes it) and valid for a
-- year: it is a paper record, verified offline with the issuer's trust
-- list. Its body (doc/records.md) holds only masked identity:
--   ref, name, doc, id    person_claims: reference, masked name, document kind, masked number
--   per                   [from, to): the period, epoch seconds (a period certificate)
--   at                    the port code (a kiosk print: the latest crossing there)
--   x                     the crossings, oldest first, each {c: channel, d: direction,
--                         p: port code, r: region, t: instant in epoch seconds}
-- At most hp_record_limit() crossings (40): the token then still fits a QR
-- code at level M that prints 55 mm wide (version 22 or less, measured).
--
-- The contactless e-Channel code is an HP1 token of kind "crossing" for a
-- Hong Kong resident (identity document hkid) who authenticated with iAM
-- Smart, valid for the setting contactless_code_valid_for (10 minutes),
-- used once at a gate. Refusals at the gate are answers (passed = false and
-- a named refusal), like cross_border's; bad arguments raise.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Fixed rules -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 40;
COMMENT ON FUNCTION healthpass_internal.hp_record_limit() IS
    'crossings a record certificate lists at most: its token still fits a printable QR code at level M (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_valid_for() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN interval '1 year';
COMMENT ON FUNCTION healthpass_internal.hp_record_valid_for() IS 'how long a record certificate verifies: a year (internal)';

-- Words a certificate prints -------------------------------------------------------

-- An instant as a certificate prints it: China Standard Time, to the minute.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_text(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI');
COMMENT ON FUNCTION healthpass_internal.hp_cst_text(timestamptz) IS 'an instant in China Standard Time, to the minute (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_direction_zh(direction text, region text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE direction WHEN 'exit' THEN '出境' WHEN 'entry' THEN '入境' ELSE direction END
       || ' · ' || CASE region WHEN 'HK' THEN '香港' WHEN 'MO' THEN '澳门' ELSE region END;
COMMENT ON FUNCTION healthpass_internal.hp_direction_zh(text, text) IS 'a crossing''s direction and region in Chinese: 出境 · 香港 (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_channel_zh(channel text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE channel
    WHEN 'document_free' THEN '免出示证件通道'
    WHEN 'e_channel' THEN '电子通道'
    WHEN 'manual' THEN '人工通道'
    WHEN 'self_service' THEN '自助通道'
    ELSE channel END;
COMMENT ON FUNCTION healthpass_internal.hp_channel_zh(text) IS 'a border channel''s name in Chinese (internal)';

-- Record certificates ------------------------------------------------------------

-- The person a certificate is for: a mainland resident (identity document
-- cn_resident_id); anyone else is refused (23514), as seed 003 says.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_person(pid bigint) RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(pid);
BEGIN
    IF p.doc_kind <> 'cn_resident_id' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold an entry-exit record certificate', p.doc_kind
            USING ERRCODE = 'check_violation',
                  DETAIL = 'Entry-exit record certificates are for mainland residents, identified by a resident identity card (seed 003).';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_person(bigint) IS
    'the person of a record certificate: a resident identity card holder, or 23514 (internal)';

-- A crossing as a certificate's body lists it. It takes the columns, not the
-- row: a query routed to a Citus shard reads the shard's rows, whose row type
-- is not crossing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_crossing(crossed_at timestamptz, port_code text, direction text,
                                                                  region text, channel text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('t', floor(extract(epoch FROM crossed_at))::bigint, 'p', port_code,
                          'd', direction, 'r', region, 'c', channel);
COMMENT ON FUNCTION healthpass_internal.hp_record_crossing(timestamptz, text, text, text, text) IS
    'a crossing as a record certificate lists it (internal)';

-- Signs a certificate whose body lists the crossings given (ids, oldest
-- first) and keeps the administration's copy. from_s/to_s: the period, or
-- at_port: the kiosk's port.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_sign(p person, from_s timestamptz, to_s timestamptz, at_port text,
                                                              ids bigint[]) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    body jsonb := person_claims(p.person_id);
    code text;
    issued pass;
BEGIN
    IF at_port IS NULL THEN
        body := body || jsonb_build_object('per', jsonb_build_array(extract(epoch FROM from_s)::bigint,
                                                                    extract(epoch FROM to_s)::bigint));
    ELSE
        body := body || jsonb_build_object('at', at_port);
    END IF;
    body := body || jsonb_build_object('x', coalesce(
        (SELECT jsonb_agg(hp_record_crossing(c.crossed_at, c.port_code, c.direction, c.region, c.channel) ORDER BY c.crossed_at, c.crossing_id)
           FROM crossing c WHERE c.person_id = p.person_id AND c.crossing_id = ANY (ids)), '[]'));
    code := hp_issue_code(p, 'record', body, hp_record_valid_for());
    issued := code;
    INSERT INTO record_certificate (person_id, token_id, kid, period_from, period_to, port_code, crossing_ids,
                                    issued_at, expires_at)
    VALUES (p.person_id, pass_token_id(issued), pass_kid(issued), from_s, to_s, at_port, ids,
            pass_issued_at(issued), pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_sign(person, timestamptz, timestamptz, text, bigint[]) IS
    'sign a record certificate listing the given crossings and keep its copy (internal)';

-- A period certificate: the crossings recorded in [from_time, to_time),
-- both cut to whole seconds (the token says the period in seconds). The
-- period ends by now; more crossings than hp_record_limit() are refused.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_period(pid bigint, from_time timestamptz, to_time timestamptz)
    RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_record_person(pid);
    f timestamptz := date_trunc('second', hp_instant('period start', from_time));
    t timestamptz := date_trunc('second', hp_past_instant('period end', to_time));
    ids bigint[];
BEGIN
    IF f >= t THEN
        RAISE EXCEPTION 'period from % to % is not valid', hp_cst_text(from_time), hp_cst_text(to_time)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A period starts at least a second before it ends.';
    END IF;
    ids := ARRAY(SELECT c.crossing_id FROM crossing c
                  WHERE c.person_id = p.person_id AND c.crossed_at >= f AND c.crossed_at < t
                  ORDER BY c.crossed_at, c.crossing_id);
    IF cardinality(ids) > hp_record_limit() THEN
        RAISE EXCEPTION 'the period from % to % holds % crossings', hp_cst_text(f), hp_cst_text(t), cardinality(ids)
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('A certificate lists at most %s crossings: shorten the period and ask for several certificates.',
                                  hp_record_limit());
    END IF;
    RETURN hp_record_sign(p, f, t, NULL, ids);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_period(bigint, timestamptz, timestamptz) IS
    'a record certificate of a period (internal)';

-- The kiosk print: the person's latest crossing at the port, or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_latest(pid bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_record_person(pid);
    pt port := hp_port(port_code);
    cid bigint;
BEGIN
    SELECT c.crossing_id INTO cid FROM crossing c
     WHERE c.person_id = p.person_id AND c.port_code = pt.port_code
     ORDER BY c.crossed_at DESC, c.crossing_id DESC LIMIT 1;
    IF cid IS NULL THEN
        RAISE EXCEPTION 'person % has no crossing at port "%"', p.person_id, pt.port_code
            USING ERRCODE = 'no_data_found',
                  DETAIL = 'The kiosk prints the latest crossing recorded at its port; crossings() lists them all.';
    END IF;
    RETURN hp_record_sign(p, NULL, NULL, pt.port_code, ARRAY[cid]);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_latest(bigint, text) IS
    'a record certificate of the latest crossing at a port, the kiosk print (internal)';

-- The lines a certificate prints, from its token's own body (what is printed
-- is what is signed): title, name and document, period (or port), issue and
-- validity, then one line a crossing. Masked identity only.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_lines(token text,
    OUT title text, OUT who text, OUT period text, OUT validity text, OUT crossings text[])
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t pass := token;
    b jsonb := pass_body(t);
BEGIN
    title := '出入境记录凭证 Entry-exit record';
    who := format('%s · %s %s', b->>'name', CASE b->>'doc' WHEN 'cn_resident_id' THEN '居民身份证' ELSE b->>'doc' END, b->>'id');
    IF b ? 'per' THEN
        period := format('%s 至 %s (北京时间)', hp_cst_text(to_timestamp((b->'per'->>0)::bigint)),
                         hp_cst_text(to_timestamp((b->'per'->>1)::bigint)));
    ELSE
        period := format('%s 最近一次出入境记录', coalesce((SELECT pt.name_zh FROM port pt WHERE pt.port_code = b->>'at'), b->>'at'));
    END IF;
    validity := format('签发 %s · 有效至 %s', hp_cst_text(pass_issued_at(t)), hp_cst_text(pass_expires_at(t)));
    crossings := ARRAY(
        SELECT format('%s  %s  %s  %s', hp_cst_text(to_timestamp((x->>'t')::bigint)),
                      coalesce(pt.name_zh, x->>'p'), hp_direction_zh(x->>'d', x->>'r'), hp_channel_zh(x->>'c'))
          FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(x, i)
          LEFT JOIN port pt ON pt.port_code = x->>'p'
         ORDER BY i);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_lines(text) IS
    'the text lines a record certificate prints, read from its token (internal)';

-- The certificate as SVG, an A4 page (210 mm wide, units are mm; 295.5 mm
-- high with 40 crossings): the title,
-- masked name and document, the period, issue and validity, the table of
-- crossings (time in China Standard Time, port, direction, channel) and the
-- token's QR code at level M, 56 mm, top right. Every text is escaped.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_svg(token text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    b jsonb := pass_body(token::pass);
    l record := hp_record_lines(token);
    qr text := qr_svg(token, 'M', 1, 4);
    n integer := (regexp_match(qr, 'viewBox="0 0 ([0-9]+) '))[1]::integer;
    modules text := (regexp_match(qr, '<path [^>]*/>'))[1];
    y numeric := 91.5;
    tbl text := '';
    x record;
    h numeric;
BEGIN
    FOR x IN
        SELECT hp_cst_text(to_timestamp((c->>'t')::bigint)) AS at_text, coalesce(pt.name_zh, c->>'p') AS port_name,
               hp_direction_zh(c->>'d', c->>'r') AS dir, hp_channel_zh(c->>'c') AS channel
          FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(c, i)
          LEFT JOIN port pt ON pt.port_code = c->>'p'
         ORDER BY i
    LOOP
        tbl := tbl || format('<text y="%s"><tspan x="15">%s</tspan><tspan x="52">%s</tspan><tspan x="100">%s</tspan><tspan x="130">%s</tspan></text>',
                               y, hp_xml(x.at_text), hp_xml(x.port_name), hp_xml(x.dir), hp_xml(x.channel)) || E'\n';
        y := y + 4.8;
    END LOOP;
    IF tbl = '' THEN
        tbl := format('<text x="15" y="%s">%s</text>', y,
                       hp_xml(CASE WHEN b ? 'per' THEN '本期间无出入境记录 No crossings in this period' ELSE '无记录 No crossing' END)) || E'\n';
        y := y + 4.8;
    END IF;
    h := y + 12;
    RETURN '<?xml version="1.0" encoding="UTF-8"?>' || E'\n'
        || format('<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="210mm" height="%smm" viewBox="0 0 210 %s">', h, h) || E'\n'
        || format('<title>%s</title>', hp_xml(l.title)) || E'\n'
        || format('<rect width="210" height="%s" fill="#ffffff"/>', h) || E'\n'
        || format('<svg x="139" y="12" width="56" height="56" viewBox="0 0 %s %s" shape-rendering="crispEdges">', n, n)
        || format('<rect width="%s" height="%s" fill="#ffffff"/>', n, n) || modules || '</svg>' || E'\n'
        || '<g font-family="Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif" fill="#000000">' || E'\n'
        || '<text x="167" y="73" font-size="3" text-anchor="middle">扫码核验 Scan to verify</text>' || E'\n'
        || '<text x="15" y="24" font-size="8" font-weight="bold">出入境记录凭证</text>' || E'\n'
        || '<text x="15" y="32" font-size="5">Entry-exit record</text>' || E'\n'
        || '<g font-size="4">' || E'\n'
        || format('<text x="15" y="44">姓名 Name: %s</text>', hp_xml(b->>'name')) || E'\n'
        || format('<text x="15" y="51">证件 Document: %s %s</text>',
                  hp_xml(CASE b->>'doc' WHEN 'cn_resident_id' THEN '居民身份证' ELSE b->>'doc' END), hp_xml(b->>'id')) || E'\n'
        || format('<text x="15" y="58">%s %s</text>', CASE WHEN b ? 'per' THEN '期间 Period:' ELSE '口岸 Port:' END,
                  hp_xml(l.period)) || E'\n'
        || format('<text x="15" y="65">%s</text>', hp_xml(l.validity)) || E'\n'
        || '</g>' || E'\n'
        || '<text x="15" y="71" font-size="3">时间均为北京时间 (UTC+8) · Times are China Standard Time</text>' || E'\n'
        || '<line x1="15" y1="79" x2="195" y2="79" stroke="#000000" stroke-width="0.3"/>' || E'\n'
        || '<text y="84" font-size="3.6" font-weight="bold"><tspan x="15">时间 Time</tspan><tspan x="52">口岸 Port</tspan>'
        || '<tspan x="100">出入境 Direction</tspan><tspan x="130">通道 Channel</tspan></text>' || E'\n'
        || '<line x1="15" y1="86.5" x2="195" y2="86.5" stroke="#000000" stroke-width="0.2"/>' || E'\n'
        || '<g font-size="3.6">' || E'\n' || tbl || '</g>' || E'\n'
        || format('<line x1="15" y1="%s" x2="195" y2="%s" stroke="#000000" stroke-width="0.3"/>', y - 2.8, y - 2.8) || E'\n'
        || format('<text x="15" y="%s" font-size="3">凭证以二维码核验结果为准 · The QR code is the signed record: verify it.</text>', y + 3) || E'\n'
        || '</g>' || E'\n'
        || '</svg>' || E'\n';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_svg(text) IS
    'a record certificate as a printable SVG page, read from its token (internal)';

-- The certificate as PNG: the QR code at level M with the lines drawn under
-- it (hp_poster_png), and the title and the masked identity and period in
-- iTXt chunks.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_png(token text, module_px integer) RETURNS bytea
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    l record := hp_record_lines(token);
    lines text[] := ARRAY[l.title, l.who, l.period, l.validity]
                    || CASE WHEN cardinality(l.crossings) = 0 THEN ARRAY['本期间无出入境记录 No crossings in this period']
                            ELSE l.crossings END;
BEGIN
    RETURN hp_png_text(hp_png_text(hp_poster_png(token, 'M', module_px, lines), 'Description', l.who || ' · ' || l.period),
                       'Title', l.title);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_png(text, integer) IS
    'a record certificate as a PNG: the QR code with its lines drawn under it (internal)';

CREATE OR REPLACE FUNCTION crossing_record(person_id bigint, from_time timestamptz, to_time timestamptz) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_period(person_id, from_time, to_time);
END
$$;
COMMENT ON FUNCTION healthpass.crossing_record(bigint, timestamptz, timestamptz) IS
    'an entry-exit record certificate (HP1 kind "record", a year long) of a mainland resident''s crossings in [from_time, to_time): at most 40';

CREATE OR REPLACE FUNCTION latest_crossing_record(person_id bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_latest(person_id, port_code);
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_record(bigint, text) IS
    'the kiosk print: a record certificate (HP1 kind "record") of the person''s latest crossing at the port; P0002 when none';

CREATE OR REPLACE FUNCTION record_certificate_svg(person_id bigint, from_time timestamptz, to_time timestamptz) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_svg(hp_record_period(person_id, from_time, to_time));
END
$$;
COMMENT ON FUNCTION healthpass.record_certificate_svg(bigint, timestamptz, timestamptz) IS
    'a new record certificate of a period as a printable SVG page: masked identity, period, table of crossings, QR code';

CREATE OR REPLACE FUNCTION latest_crossing_svg(person_id bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_svg(hp_record_latest(person_id, port_code));
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_svg(bigint, text) IS
    'the kiosk print as a printable SVG page: the latest crossing at the port and its QR code';

CREATE OR REPLACE FUNCTION record_certificate_png(person_id bigint, from_time timestamptz, to_time timestamptz,
                                                  module_px integer DEFAULT 6) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    px integer := hp_module_px(module_px);
BEGIN
    RETURN hp_record_png(hp_record_period(person_id, from_time, to_time), px);
END
$$;
COMMENT ON FUNCTION healthpass.record_certificate_png(bigint, timestamptz, timestamptz, integer) IS
    'a new record certificate of a period as a PNG: the QR code at level M with its lines drawn under it (font: healthpass.poster_font)';

CREATE OR REPLACE FUNCTION latest_crossing_png(person_id bigint, port_code text, module_px integer DEFAULT 6) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    px integer := hp_module_px(module_px);
BEGIN
    RETURN hp_record_png(hp_record_latest(person_id, port_code), px);
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_png(bigint, text, integer) IS
    'the kiosk print as a PNG: the QR code at level M with its lines drawn under it';

-- Whether a record body has the shape this page describes (any issuer's:
-- the limit of 40 is this issuer's, not checked).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_body_ok(b jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    x jsonb;
BEGIN
    IF jsonb_typeof(b->'name') IS DISTINCT FROM 'string' OR jsonb_typeof(b->'doc') IS DISTINCT FROM 'string'
       OR jsonb_typeof(b->'id') IS DISTINCT FROM 'string' OR jsonb_typeof(b->'x') IS DISTINCT FROM 'array'
       OR (b ? 'per') = (b ? 'at') THEN
        RETURN false;
    END IF;
    IF b ? 'per' THEN
        IF jsonb_typeof(b->'per') <> 'array' OR jsonb_array_length(b->'per') <> 2
           OR jsonb_typeof(b->'per'->0) <> 'number' OR (b->'per'->>0) !~ '^-?[0-9]{1,11}$'
           OR jsonb_typeof(b->'per'->1) <> 'number' OR (b->'per'->>1) !~ '^-?[0-9]{1,11}$' THEN
            RETURN false;
        END IF;
        IF (b->'per'->>0)::bigint >= (b->'per'->>1)::bigint THEN
            RETURN false;
        END IF;
    ELSIF jsonb_typeof(b->'at') <> 'string' THEN
        RETURN false;
    END IF;
    FOR x IN SELECT e FROM jsonb_array_elements(b->'x') e LOOP
        IF jsonb_typeof(x) <> 'object'
           OR jsonb_typeof(x->'t') IS DISTINCT FROM 'number' OR (x->>'t') !~ '^-?[0-9]{1,11}$'
           OR jsonb_typeof(x->'p') IS DISTINCT FROM 'string' OR jsonb_typeof(x->'c') IS DISTINCT FROM 'string'
           OR jsonb_typeof(x->'d') IS DISTINCT FROM 'string' OR (x->>'d') NOT IN ('exit', 'entry')
           OR jsonb_typeof(x->'r') IS DISTINCT FROM 'string' OR (x->>'r') NOT IN ('HK', 'MO') THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_body_ok(jsonb) IS 'a record certificate body of the documented shape (internal)';

-- What a counter sees of a shown certificate: verify_token's verdict (reason
-- names the first failure: the token's, then wrong_kind, then malformed for
-- a body of another shape), and the claims when the signature checked
-- (also for an expired or revoked certificate, with valid = false): masked
-- identity, the period or the kiosk's port, and the crossings, oldest first,
-- as a jsonb array of {crossed_at (China Standard Time, ISO 8601),
-- port_code, port_name, direction, region, channel}. Certificates of other
-- issuers whose keys were imported verify too (issuer says whose).
CREATE OR REPLACE FUNCTION verify_record_certificate(token text)
    RETURNS TABLE (valid boolean, reason text, issuer text, issued_at timestamptz, expires_at timestamptz,
                   name_masked text, doc_kind text, id_masked text, period_from timestamptz, period_to timestamptz,
                   latest_at_port text, crossings jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v verification;
    why text;
    b jsonb;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'record certificate is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Pass the HP1 text scanned from the certificate.';
    END IF;
    v := verify_token(token);
    why := v.reason;
    IF v.kind IS NOT NULL AND v.kind <> 'record' THEN
        why := coalesce(why, 'wrong_kind');
    ELSIF v.body IS NOT NULL THEN
        IF hp_record_body_ok(v.body) THEN
            b := v.body;
        ELSE
            why := coalesce(why, 'malformed');
        END IF;
    END IF;
    RETURN QUERY SELECT why IS NULL, why, CASE WHEN b IS NOT NULL THEN v.issuer END,
        CASE WHEN b IS NOT NULL THEN v.issued_at END, CASE WHEN b IS NOT NULL THEN v.expires_at END,
        b->>'name', b->>'doc', b->>'id',
        to_timestamp((b->'per'->>0)::bigint), to_timestamp((b->'per'->>1)::bigint), b->>'at',
        CASE WHEN b IS NOT NULL THEN coalesce(
            (SELECT jsonb_agg(jsonb_build_object(
                        'crossed_at', to_char(to_timestamp((x->>'t')::bigint) AT TIME ZONE 'Asia/Shanghai',
                                              'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
                        'port_code', x->>'p', 'port_name', pt.name_zh, 'direction', x->>'d', 'region', x->>'r',
                        'channel', x->>'c') ORDER BY i)
               FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(x, i)
               LEFT JOIN port pt ON pt.port_code = x->>'p'), '[]') END;
END
$$;
COMMENT ON FUNCTION healthpass.verify_record_certificate(text) IS
    'verify a shown entry-exit record certificate: verdict, masked identity, period or port, and its crossings (jsonb, oldest first)';

-- The contactless e-Channel (seed 003 非触式e-道) ---------------------------------

-- How a Hong Kong resident authenticated before the code is issued.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_contactless_methods() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['iam_smart', 'iam_smart_plus'];
COMMENT ON FUNCTION healthpass_internal.hp_contactless_methods() IS
    'authentications a contactless e-Channel code follows: iAM Smart, iAM Smart+ (internal)';

-- The code the contactless e-Channel app shows after the resident's
-- identity card was authenticated with iAM Smart (智方便): an HP1 token of
-- kind "crossing", valid for contactless_code_valid_for, used once.
CREATE OR REPLACE FUNCTION hk_contactless_code(person_id bigint, authenticated_via text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    code text;
    issued pass;
BEGIN
    IF authenticated_via IS NULL OR NOT authenticated_via = ANY (hp_contactless_methods()) THEN
        RAISE EXCEPTION 'authentication "%" is not valid', hp_quote(authenticated_via)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The contactless e-Channel code follows an authentication of the identity card with iAM Smart ("iam_smart" or "iam_smart_plus").';
    END IF;
    IF p.doc_kind <> 'hkid' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold a contactless e-Channel code', p.doc_kind
            USING ERRCODE = 'check_violation',
                  DETAIL = 'The contactless e-Channel is for holders of a Hong Kong identity card (seed 003).';
    END IF;
    code := hp_issue_code(p, 'crossing', person_claims(p.person_id), hp_setting('contactless_code_valid_for')::interval);
    issued := code;
    INSERT INTO contactless_code (person_id, token_id, authenticated_via, issued_at, expires_at)
    VALUES (p.person_id, pass_token_id(issued), authenticated_via, pass_issued_at(issued), pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass.hk_contactless_code(bigint, text) IS
    'a Hong Kong resident''s contactless e-Channel code (HP1 kind "crossing", minutes long, used once) after iAM Smart authentication';

-- A contactless e-Channel gate of Hong Kong scans a code. port_code: a port
-- serving Hong Kong; direction as Hong Kong sees it ('arrival' or
-- 'departure'). Answers passed = true and records the passage, or
-- passed = false with a named refusal (recording nothing):
--   malformed, unknown_key, key_revoked, key_expired, bad_signature,
--   issuer_mismatch, expired, not_yet_valid, revoked   verify_token's verdict
--   wrong_kind    a code of another kind (a health code, a certificate)
--   foreign       signed by another issuer's key: gates take the codes of
--                 the issuer they belong to
--   not_issued    signed here but not issued as a contactless code
--   already_used  the code let someone through already (single use, even
--                 at two gates at once)
-- The masked name and number are returned whenever the signature checked.
CREATE OR REPLACE FUNCTION scan_contactless_code(token text, port_code text, direction text)
    RETURNS TABLE (passed boolean, refusal text, detail text, name_masked text, id_masked text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pt port := hp_port(port_code);
    v verification;
    why text;
    what text;
    ref uuid;
    pid bigint;
    used bytea;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'contactless code is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Pass the HP1 text the gate scanned.';
    END IF;
    PERFORM hp_crossing_region(pt, 'HK');
    IF direction IS NULL OR direction NOT IN ('arrival', 'departure') THEN
        RAISE EXCEPTION 'direction "%" is not valid', hp_quote(direction)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A Hong Kong gate lets travellers in ("arrival") or out ("departure").';
    END IF;
    v := verify_token(token);
    IF v.kind IS NOT NULL AND v.kind <> 'crossing' THEN
        why := 'wrong_kind';
        what := format('The code is of kind "%s", not a contactless e-Channel code.', hp_quote(v.kind, 20));
    ELSIF v.reason IS NOT NULL THEN
        why := v.reason;
        what := CASE v.reason
            WHEN 'expired' THEN 'The code has expired: the traveller opens the app for a new one.'
            WHEN 'revoked' THEN 'The code was revoked: the traveller''s details changed since it was issued.'
            WHEN 'malformed' THEN 'The scanned text is not an HP1 code.'
            WHEN 'not_yet_valid' THEN 'The code is dated in the future; check the clocks.'
            ELSE 'The code is not signed by a key this server trusts for it.' END;
    ELSIF NOT EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = v.kid AND k.secret_box IS NOT NULL) THEN
        why := 'foreign';
        what := format('The code was issued by "%s"; a gate takes the codes of its own issuer.', hp_quote(v.issuer, 40));
    ELSE
        BEGIN
            ref := (v.body->>'ref')::uuid;
        EXCEPTION WHEN invalid_text_representation THEN
            ref := NULL;
        END;
        SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
        IF pid IS NULL THEN
            why := 'malformed';
            what := 'The code names no person.';
        ELSIF NOT EXISTS (SELECT 1 FROM contactless_code c WHERE c.person_id = pid AND c.token_id = v.token_id) THEN
            why := 'not_issued';
            what := 'The code was not issued as a contactless e-Channel code.';
        ELSE
            INSERT INTO contactless_passage AS cp (person_id, token_id, port_code, direction)
            VALUES (pid, v.token_id, pt.port_code, scan_contactless_code.direction)
            ON CONFLICT (person_id, token_id) DO NOTHING
            RETURNING cp.token_id INTO used;
            IF used IS NULL THEN
                why := 'already_used';
                what := (SELECT format('The code let its holder through at %s on %s already; it is used once.',
                                       x.name, hp_cst_text(cp.passed_at))
                           FROM contactless_passage cp JOIN port x ON x.port_code = cp.port_code
                          WHERE cp.person_id = pid AND cp.token_id = v.token_id);
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT why IS NULL, why, what,
        CASE WHEN v.kind = 'crossing' THEN v.body->>'name' END,
        CASE WHEN v.kind = 'crossing' THEN v.body->>'id' END;
END
$$;
COMMENT ON FUNCTION healthpass.scan_contactless_code(text, text, text) IS
    'a Hong Kong contactless e-Channel gate scans a code: passed (the passage recorded, the code used), or a named refusal; masked name and number';

GRANT EXECUTE ON FUNCTION
    healthpass.crossing_record(bigint, timestamptz, timestamptz),
    healthpass.latest_crossing_record(bigint, text),
    healthpass.record_certificate_svg(bigint, timestamptz, timestamptz),
    healthpass.latest_crossing_svg(bigint, text),
    healthpass.record_certificate_png(bigint, timestamptz, timestamptz, integer),
    healthpass.latest_crossing_png(bigint, text, integer)
  TO healthpass_app, healthpass_border;
GRANT EXECUTE ON FUNCTION healthpass.verify_record_certificate(text) TO healthpass_border, healthpass_scanner;
GRANT EXECUTE ON FUNCTION healthpass.hk_contactless_code(bigint, text) TO healthpass_app;
GRANT EXECUTE ON FUNCTION healthpass.scan_contactless_code(text, text, text) TO healthpass_border;
