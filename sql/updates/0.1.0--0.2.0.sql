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
