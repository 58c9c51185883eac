-- 0.1.0 -> 0.2.0: the schema changes of this step (tables, types, indexes,
-- seed rows, and functions that must be dropped before they are replayed
-- with another signature). Every sql/api file is appended after this one.

-- issue 9: settings dump only what was changed ----------------------------
-- health_config held a default row inserted by CREATE EXTENSION, which made
-- a restore collide with it; it now holds only what an administrator
-- changed (NULL: the default).
ALTER TABLE health_config
    ALTER COLUMN code_valid_for DROP NOT NULL, ALTER COLUMN code_valid_for DROP DEFAULT,
    ALTER COLUMN declaration_valid_for DROP NOT NULL, ALTER COLUMN declaration_valid_for DROP DEFAULT;
COMMENT ON TABLE health_config IS 'health settings an administrator changed (at most one row; NULL: the default)';
UPDATE health_config SET
    code_valid_for = nullif(code_valid_for, interval '3 minutes'),
    declaration_valid_for = nullif(declaration_valid_for, interval '1 day');
DELETE FROM health_config WHERE code_valid_for IS NULL AND declaration_valid_for IS NULL;

-- issue 9: one ledger of live codes for every code kind ---------------------
CREATE TABLE code_issued (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    kind       text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE code_issued IS 'codes issued to a person and not yet expired or revoked (the ledger revocation works from)';
SELECT pg_catalog.pg_extension_config_dump('code_issued', '');
INSERT INTO code_issued (person_id, token_id, kid, kind, expires_at)
SELECT person_id, token_id, kid, 'entry', expires_at FROM entry_code_issued WHERE expires_at > now();
DROP TABLE entry_code_issued;
DROP FUNCTION hp_revoke_entry_codes(bigint, text);
