-- 40_people.sql: people, their documents, real-name status and edit history.
--
-- A person is identified by one identity document (kind + normalised
-- number, unique). Look-ups by document go through document_index, keyed by
-- the document; look-ups by the opaque public reference (what codes carry)
-- go through ref_index. Every personal table has person_id in its primary
-- key; history rows are written by a row trigger that only touches the same
-- person's rows. Application roles never see these tables: they call the
-- SECURITY DEFINER functions below.
-- (created once: later changes go to sql/updates/)

CREATE TABLE person (
    person_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_ref          uuid NOT NULL DEFAULT gen_random_uuid(),
    doc_kind            text NOT NULL,
    doc_number          text NOT NULL,
    name                text NOT NULL,
    birth_date          date NOT NULL,
    sex                 text CHECK (sex IN ('male', 'female')),
    nationality         text CHECK (nationality ~ '^[A-Z]{3}$'),
    phone               text,
    guardian_id         bigint,
    realname_status     text NOT NULL DEFAULT 'pending'
                        CHECK (realname_status IN ('pending', 'approved', 'rejected')),
    realname_reason     text,
    realname_checked_at timestamptz,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (realname_status <> 'rejected' OR realname_reason IS NOT NULL),
    CHECK (guardian_id IS DISTINCT FROM person_id)
);
COMMENT ON TABLE healthpass.person IS 'people identified by one identity document; guardian_id is set for family members registered by proxy';
-- the real-name service's work queue
CREATE INDEX person_realname_pending ON person (updated_at, person_id) WHERE realname_status = 'pending';

-- (kind, number) -> person: the only way to find a person by document
CREATE TABLE document_index (
    doc_kind   text NOT NULL,
    doc_number text NOT NULL,
    person_id  bigint NOT NULL,
    PRIMARY KEY (doc_kind, doc_number)
);
COMMENT ON TABLE healthpass.document_index IS 'look-up of a person by document kind and normalised number';

-- opaque public reference -> person (codes carry the reference, never the number)
CREATE TABLE ref_index (
    public_ref uuid PRIMARY KEY,
    person_id  bigint NOT NULL
);
COMMENT ON TABLE healthpass.ref_index IS 'look-up of a person by the opaque public reference that codes carry';

-- earlier versions of a person row, one per change
CREATE TABLE person_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.person_history IS 'earlier versions of person rows (data is the whole row as it was)';

SELECT pg_catalog.pg_extension_config_dump('person', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.person', 'person_id'), '');
SELECT pg_catalog.pg_extension_config_dump('document_index', '');
SELECT pg_catalog.pg_extension_config_dump('ref_index', '');
SELECT pg_catalog.pg_extension_config_dump('person_history', '');

-- Every code issued to a person and not yet expired (entry, personal,
-- e-pass, health), so that a change that makes a code wrong can revoke it:
-- a rejected real-name check, an identity edit, an unbound photo, a
-- modified registration. Rows go when they expire or are revoked.
CREATE TABLE code_issued (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    kind       text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE healthpass.code_issued IS 'codes issued to a person and not yet expired or revoked (the ledger revocation works from)';
SELECT pg_catalog.pg_extension_config_dump('code_issued', '');
