-- the extension loads and reports the version from healthpass.control
SELECT healthpass.version() ~ '^\d+\.\d+\.\d+$' AS version_ok;
SELECT extversion = healthpass.version() AS matches_catalog
  FROM pg_extension WHERE extname = 'healthpass';
