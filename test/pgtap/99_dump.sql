-- What pg_dump carries of the extension's tables: every table that holds
-- data a user made is marked for dumping, and so is every identity
-- sequence of such a table (else a restored database hands out ids its
-- restored rows already hold).
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(2);

SELECT is((SELECT string_agg(c.relname || '.' || a.attname, ', ' ORDER BY c.relname)
             FROM pg_extension e
             JOIN pg_class c ON c.oid = ANY (e.extconfig) AND c.relkind IN ('r', 'p')
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
            WHERE e.extname = 'healthpass'
              AND NOT pg_get_serial_sequence(format('%I.%I', c.relnamespace::regnamespace, c.relname), a.attname)::regclass::oid
                      = ANY (e.extconfig)),
          NULL, 'every identity sequence of a dumped table is dumped');
SELECT is((SELECT string_agg(c.relname, ', ' ORDER BY c.relname)
             FROM pg_class c
             JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthpass'
            WHERE c.relkind IN ('r', 'p') AND NOT c.oid = ANY (e.extconfig)
              -- reference data the extension owns, and the scan history's
              -- parent (its day partitions are ordinary tables, dumped whole)
              AND c.relname NOT IN ('port', 'enrolment_point', 'colour_fact', 'scan')),
          NULL, 'every table is dumped except reference data the extension owns and the scan history''s parent');
SELECT * FROM finish();
