-- 10_identity.sql: identity documents.
--
-- cn_resident_id: the resident identity card number (GB 11643-1999) as a
-- base type, stored as its first 17 digits in 8 bytes (like int8, so
-- comparison, sorting and hashing reuse PostgreSQL's int8 functions; the
-- check character is derived on output). Its order is the order of the
-- 18-character text.
--
-- normalize_document() and friends: the canonical form of every document
-- kind people type (resident ID, HKID, Macau ID, permits, passport, USCC,
-- organisation code, licence plate). All functions here are pure: the only
-- time-dependent rule (a resident ID's birth date must not be in the
-- future) can only turn an error into a success as time passes, never
-- change a result, so they are IMMUTABLE and usable in indexes and
-- constraints.
-- (created once: later changes go to sql/updates/)

CREATE TYPE cn_resident_id;

CREATE FUNCTION cn_resident_id_in(cstring) RETURNS cn_resident_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_out(cn_resident_id) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_recv(internal) RETURNS cn_resident_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_send(cn_resident_id) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE cn_resident_id (
    INPUT = cn_resident_id_in,
    OUTPUT = cn_resident_id_out,
    RECEIVE = cn_resident_id_recv,
    SEND = cn_resident_id_send,
    LIKE = pg_catalog.int8
);
COMMENT ON TYPE healthpass.cn_resident_id IS
    'resident identity card number (GB 11643-1999), 18 characters';

-- comparison: the int8 functions of the server, on the 17-digit value
CREATE FUNCTION cn_resident_id_eq(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_ne(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_lt(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_le(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_gt(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_ge(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_cmp(cn_resident_id, cn_resident_id) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_sortsupport(internal) RETURNS void
    AS 'btint8sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_hash(cn_resident_id) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_hash_extended(cn_resident_id, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR = (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR <> (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS cn_resident_id_ops
    DEFAULT FOR TYPE cn_resident_id USING btree AS
        OPERATOR 1 <,
        OPERATOR 2 <=,
        OPERATOR 3 =,
        OPERATOR 4 >=,
        OPERATOR 5 >,
        FUNCTION 1 cn_resident_id_cmp(cn_resident_id, cn_resident_id),
        FUNCTION 2 cn_resident_id_sortsupport(internal),
        FUNCTION 4 btequalimage(oid);

CREATE OPERATOR CLASS cn_resident_id_hash_ops
    DEFAULT FOR TYPE cn_resident_id USING hash AS
        OPERATOR 1 =,
        FUNCTION 1 cn_resident_id_hash(cn_resident_id),
        FUNCTION 2 cn_resident_id_hash_extended(cn_resident_id, bigint);

-- text → cn_resident_id in assignments (INSERT of a text parameter); the
-- other way round is PostgreSQL's automatic I/O cast
CREATE CAST (text AS cn_resident_id) WITH INOUT AS ASSIGNMENT;
CREATE CAST (varchar AS cn_resident_id) WITH INOUT AS ASSIGNMENT;
