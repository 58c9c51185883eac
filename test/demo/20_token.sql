-- HP1 tokens: issue a health code, verify it, show the trust list, revoke it.
\echo '== HP1 signed tokens'
SELECT healthpass.issue_token('health',
         '{"c": "green", "n": "张*明", "d": "4401**********123X", "r": "P-7F3A"}',
         '5 minutes') AS token \gset
\echo 'issued health code:' :token
SELECT valid, reason, kind, issuer, encode(kid, 'hex') AS kid, expires_at - issued_at AS lifetime, body
  FROM healthpass.verify_token(:'token');
\echo 'the same code one hour later:'
SELECT valid, reason FROM healthpass.verify_token(:'token', now() + interval '1 hour');
\echo 'trust list for offline verifiers (written to' :out'/trust_list.json):'
SELECT jsonb_pretty(healthpass.trust_list()) AS trust_list \gset
\echo :trust_list
\o :out/trust_list.json
SELECT healthpass.trust_list();
\o
SELECT healthpass.revoke_token((healthpass.verify_token(:'token')).token_id, 'demo: code withdrawn') IS NOT NULL AS revoked;
SELECT valid, reason FROM healthpass.verify_token(:'token');
