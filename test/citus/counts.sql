-- row counts of every table of the plan (test/citus/run-citus-tests.sh)
SELECT p.tab || ' ' || (xpath('/row/c/text()',
         query_to_xml(format('SELECT count(*) AS c FROM healthpass.%I', p.tab), false, true, '')))[1]::text
  FROM healthpass_internal.hp_citus_plan() p
 ORDER BY p.ord;
