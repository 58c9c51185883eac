-- 20_token.sql: signed HP1 pass tokens (../shared/spec/hp1-token.md):
-- signing keys under a master key, issuing, verifying, the pass type,
-- revocation and trust lists.
-- (created once: later changes go to sql/updates/)

-- ---------------------------------------------------------------------
-- keys
-- ---------------------------------------------------------------------
-- Local keys carry secret_box: nonce (24 bytes) || XChaCha20-Poly1305 of the
-- 32-byte Ed25519 seed under the master key, with the kid as associated
-- data. Imported keys (other issuers' trust lists) have no secret_box.
CREATE TABLE signing_key (
    key_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid         bytea NOT NULL CHECK (length(kid) = 8),
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    secret_box  bytea CHECK (length(secret_box) = 72),
    issuer      text NOT NULL CHECK (issuer <> ''),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'retired', 'revoked')),
    status_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signing_key_validity CHECK (not_before < not_after),
    CONSTRAINT signing_key_kid_of_key CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8))
);
CREATE INDEX signing_key_kid ON signing_key (kid);
-- one active key of our own at a time
CREATE UNIQUE INDEX signing_key_one_active ON signing_key ((true))
    WHERE secret_box IS NOT NULL AND status = 'active';
COMMENT ON TABLE healthpass.signing_key IS
    'Ed25519 keys: ours (secret encrypted under the master key) and imported trusted public keys';

CREATE TABLE revoked_token (
    token_id    bytea PRIMARY KEY CHECK (length(token_id) = 16),
    kid         bytea CHECK (length(kid) = 8),
    reason      text NOT NULL CHECK (reason <> ''),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    revoked_by  name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.revoked_token IS 'Revoked HP1 token ids (cti)';

-- dumps keep the keys (secrets only encrypted) and the revocation list
SELECT pg_extension_config_dump('signing_key', '');
SELECT pg_extension_config_dump('signing_key_key_id_seq', '');
SELECT pg_extension_config_dump('revoked_token', '');

CREATE TYPE verification AS (
    valid       boolean,
    reason      text,
    kind        text,
    issuer      text,
    kid         bytea,
    issued_at   timestamptz,
    expires_at  timestamptz,
    token_id    bytea,
    body        jsonb
);
COMMENT ON TYPE healthpass.verification IS 'verdict of verify_token: reason is NULL when valid';

-- ---------------------------------------------------------------------
-- the pass type
-- ---------------------------------------------------------------------
CREATE TYPE pass;
CREATE FUNCTION pass_in(cstring) RETURNS pass
    AS 'MODULE_PATHNAME', 'pass_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_out(pass) RETURNS cstring
    AS 'MODULE_PATHNAME', 'pass_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_recv(internal) RETURNS pass
    AS 'MODULE_PATHNAME', 'pass_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_send(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE pass (
    INPUT = pass_in, OUTPUT = pass_out, RECEIVE = pass_recv, SEND = pass_send,
    INTERNALLENGTH = VARIABLE, STORAGE = extended
);
COMMENT ON TYPE healthpass.pass IS 'an HP1 token stored as its COSE_Sign1 bytes; text form HP1:...';
-- a token text can be stored into a pass column directly
CREATE CAST (text AS pass) WITH INOUT AS ASSIGNMENT;
