-- healthpass demo: runs in a throwaway database; grows with every feature.
\pset footer off
\echo '== healthpass demo'
CREATE EXTENSION healthpass;
SELECT healthpass.version() AS "healthpass version";
