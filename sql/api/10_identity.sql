-- 10_identity.sql: identity documents.
--
-- cn_resident_id: the resident identity card number (GB 11643-1999) as a
-- base type, stored as its first 17 digits in 8 bytes (like int8, so
-- comparison, sorting and hashing reuse PostgreSQL's int8 functions; the
-- check character is derived on output). Its order is the order of the
-- 18-character text.
--
-- normalize_document() and friends: the canonical form of every document
-- kind people type (resident ID, HKID, Macau ID, permits, passports, USCC,
-- organisation code, licence plate). All functions here are pure: the only
-- time-dependent rule (a resident ID's birth date must not be in the
-- future) can only turn an error into a success as time passes, never
-- change a result, so they are IMMUTABLE and usable in indexes and
-- constraints.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- accessors
CREATE OR REPLACE FUNCTION cn_resident_id_birth_date(cn_resident_id) RETURNS date
    AS 'MODULE_PATHNAME', 'cn_resident_id_birth_date'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_birth_date(cn_resident_id) IS 'birth date in a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_sex(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_sex'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_sex(cn_resident_id) IS
    'male (odd sequence number) or female (even) from a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_region_code(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_region_code'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_region_code(cn_resident_id) IS
    '6-digit region code (GB/T 2260) of a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_age(cn_resident_id, at date DEFAULT current_date) RETURNS integer
    AS 'MODULE_PATHNAME', 'cn_resident_id_age'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_age(cn_resident_id, date) IS
    'completed years of age at a date (default today)';

CREATE OR REPLACE FUNCTION cn_resident_id_mask(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_mask'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_mask(cn_resident_id) IS
    'masked display form: first 4 and last 4 characters kept';

-- any document kind
CREATE OR REPLACE FUNCTION normalize_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.normalize_document(text, text) IS
    'canonical form of a document number as typed by a person';

CREATE OR REPLACE FUNCTION is_valid_document(kind text, number text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.is_valid_document(text, text) IS
    'whether normalize_document accepts the number';

CREATE OR REPLACE FUNCTION mask_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.mask_document(text, text) IS
    'masked display form of a document number, normalised first';

CREATE OR REPLACE FUNCTION mask_name(name text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.mask_name(text) IS
    'masked display form of a person''s name (张*明, C*** T** M**)';

CREATE OR REPLACE FUNCTION document_kinds() RETURNS SETOF text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION healthpass.document_kinds() IS
    'document kinds known to normalize_document';

CREATE OR REPLACE FUNCTION document_kind_holder(kind text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.document_kind_holder(text) IS
    'what a document kind identifies: person, organisation or vehicle (22023 for an unknown kind)';

-- all of these are pure functions: every purpose role may call them
GRANT EXECUTE ON FUNCTION
    healthpass.cn_resident_id_in(cstring), healthpass.cn_resident_id_out(cn_resident_id),
    healthpass.cn_resident_id_recv(internal), healthpass.cn_resident_id_send(cn_resident_id),
    healthpass.cn_resident_id_eq(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_ne(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_lt(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_le(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_gt(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_ge(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_cmp(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_sortsupport(internal),
    healthpass.cn_resident_id_hash(cn_resident_id),
    healthpass.cn_resident_id_hash_extended(cn_resident_id, bigint),
    healthpass.cn_resident_id_birth_date(cn_resident_id), healthpass.cn_resident_id_sex(cn_resident_id),
    healthpass.cn_resident_id_region_code(cn_resident_id), healthpass.cn_resident_id_age(cn_resident_id, date),
    healthpass.cn_resident_id_mask(cn_resident_id),
    healthpass.normalize_document(text, text), healthpass.is_valid_document(text, text),
    healthpass.mask_document(text, text), healthpass.mask_name(text), healthpass.document_kinds(),
    healthpass.document_kind_holder(text)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
