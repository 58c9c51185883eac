-- Hostile-argument suite, the calls (run by test/scripts/90_hostile.sh):
-- every call not yet done, after call :start, one top-level statement each so
-- statement_timeout bounds each call. hostile.try catches every error; a
-- lost connection ends this session and the driver starts it again after
-- the call that was running.
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
SET client_min_messages = notice;
SET statement_timeout = :'timeout';
SET lock_timeout = '1s';
SELECT format('SELECT hostile.try(%s)', call_id)
  FROM hostile.calls c
 WHERE call_id > :start
   AND NOT EXISTS (SELECT FROM hostile.result r WHERE r.call_id = c.call_id)
 ORDER BY call_id
\gexec
