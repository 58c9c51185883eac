-- One line per object of the extension, in a fixed order, describing what
-- an upgrade must reproduce: every member object of the extension (with its
-- definition, owner-independent privileges and comment), every column,
-- constraint, index and trigger of its tables, and which tables are dumped.
-- ACLs are compared with NULL read as the default it stands for.
-- The upgrade test compares this for a fresh install and for an upgraded one.
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'healthpass'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
)
SELECT line FROM (
  -- routines: signature, result, language, flags, settings, body, privileges
  SELECT format('function %s returns %s lang=%s vol=%s strict=%s secdef=%s parallel=%s leak=%s cost=%s rows=%s config=%s acl=%s comment=%s body=%s',
                p.oid::regprocedure, pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proisstrict,
                p.prosecdef, p.proparallel, p.proleakproof, p.procost, p.prorows, p.proconfig,
                coalesce(p.proacl, acldefault('f'::"char", p.proowner)),
                obj_description(p.oid, 'pg_proc'), md5(coalesce(p.prosrc, '') || coalesce(p.probin, ''))
                || ' args=' || pg_get_function_arguments(p.oid) || ' kind=' || p.prokind::text) AS line
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    JOIN pg_language l ON l.oid = p.prolang
  UNION ALL
  -- relations: kind, privileges, comment, dumped or not
  SELECT format('relation %s kind=%s acl=%s comment=%s dumped=%s filter=%s', c.oid::regclass, c.relkind,
                coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)),
                obj_description(c.oid, 'pg_class'),
                c.oid = ANY (e.extconfig), e.extcondition[array_position(e.extconfig, c.oid)])
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid,
         pg_extension e WHERE e.extname = 'healthpass'
  UNION ALL
  SELECT format('column %s.%s %s notnull=%s default=%s identity=%s generated=%s comment=%s', c.oid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
                a.attidentity, a.attgenerated, col_description(c.oid, a.attnum))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT format('constraint %s %s %s', con.conrelid::regclass, con.conname, pg_get_constraintdef(con.oid))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_constraint con ON con.conrelid = c.oid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_index i ON i.indrelid = c.oid
  UNION ALL
  SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT format('type %s type=%s labels=%s comment=%s', t.oid::regtype, t.typtype,
                (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid),
                obj_description(t.oid, 'pg_type'))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
  UNION ALL
  SELECT format('type-attribute %s.%s %s', t.oid::regtype, a.attname, format_type(a.atttypid, a.atttypmod))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid AND t.typtype = 'c'
    JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
  UNION ALL
  SELECT format('operator %s comment=%s', o.oid::regoperator, obj_description(o.oid, 'pg_operator'))
    FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
  UNION ALL
  SELECT format('cast %s', pg_describe_object(m.classid, m.objid, 0))
    FROM members m WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass,
                                           'pg_operator'::regclass)
  UNION ALL
  SELECT format('schema %s acl=%s', n.nspname, n.nspacl) FROM pg_namespace n WHERE n.nspname LIKE 'healthpass%'
  UNION ALL
  -- PostgreSQL's own routines must not carry our grants or comments
  SELECT format('catalog-function %s acl=%s comment=%s', p.oid::regprocedure,
                coalesce(p.proacl, acldefault('f'::"char", p.proowner)), obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = 'version'
) s ORDER BY line;
