/*
 * key_cache.c
 *	  The per-backend caches of signing and verification keys: every trusted
 *	  public key (local or imported, from healthpass.signing_key), the revoked
 *	  token ids (healthpass.revoked_token), and the one decrypted signing key
 *	  (the signer); their invalidation through relcache callbacks and the
 *	  _key_cache_invalidate() row trigger, so verifying costs no table
 *	  look-up. The tables are read through SPI as their owner.
 *
 * The decrypted key lives in sodium_malloc memory and is wiped when the key
 * table changes and when the backend exits; its seed is opened under the
 * master key by master_key.c.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "key_cache.h"
#include "master_key.h"

/* this backend's local transaction id (PGPROC moved it into vxid in 17) */
#if PG_VERSION_NUM >= 170000
#define HP_MY_LXID (MyProc->vxid.lxid)
#else
#define HP_MY_LXID (MyProc->lxid)
#endif

/* relations the caches depend on, as last resolved */
static Oid	key_rel = InvalidOid;
static Oid	revoked_rel = InvalidOid;
static Oid	tables_owner = InvalidOid;

/* key cache: sorted by kid */
static MemoryContext key_cxt = NULL;
static HpKey *keys = NULL;
static int	nkeys = 0;
static bool keys_valid = false;
static bool keys_inval_seen = false;
static LocalTransactionId keys_provisional = InvalidLocalTransactionId;

/* revocation cache: sorted 16-byte token ids */
static MemoryContext revoked_cxt = NULL;
static uint8 *revoked = NULL;
static int64 nrevoked = 0;
static bool revoked_valid = false;
static bool revoked_inval_seen = false;
static LocalTransactionId revoked_provisional = InvalidLocalTransactionId;

/* CacheUsable: a cache is valid, and not only provisionally for another transaction */
#define CacheUsable(valid, prov) \
	((valid) && ((prov) == InvalidLocalTransactionId || (prov) == HP_MY_LXID))

/* the one decrypted signing key this backend holds */
static uint8 *signer_mem = NULL;	/* 64 bytes, sodium_malloc */
static HpSigner signer;
static int64 signer_key_id = -1;

/* WipeSigner: forget the decrypted signing key */
static void
WipeSigner(void)
{
	if (signer_mem)
		sodium_memzero(signer_mem, 64);
	signer_key_id = -1;
}

/* HpRelcacheCallback: a key or revocation table changed (or everything did) */
static void
HpRelcacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == key_rel)
	{
		keys_valid = false;
		keys_inval_seen = true;
		WipeSigner();
	}
	if (relid == InvalidOid || relid == revoked_rel)
	{
		revoked_valid = false;
		revoked_inval_seen = true;
	}
}

/* WipeAtExit: wipe the decrypted signing key when the backend exits */
static void
WipeAtExit(int code, Datum arg)
{
	WipeSigner();
}

/* hp_key_cache_init: the invalidation callback and the wipe at exit; called by _PG_init */
void
hp_key_cache_init(void)
{
	CacheRegisterRelcacheCallback(HpRelcacheCallback, (Datum) 0);
	on_proc_exit(WipeAtExit, (Datum) 0);
}

/* ResolveTables: the OIDs and owner of the key and revocation tables */
static void
ResolveTables(void)
{
	Oid			nsp = get_namespace_oid("healthpass", true);
	HeapTuple	tp;

	key_rel = OidIsValid(nsp) ? get_relname_relid("signing_key", nsp) : InvalidOid;
	revoked_rel = OidIsValid(nsp) ? get_relname_relid("revoked_token", nsp) : InvalidOid;
	if (!OidIsValid(key_rel) || !OidIsValid(revoked_rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("healthpass key tables are missing"),
				 errdetail("The tables healthpass.signing_key and healthpass.revoked_token belong to the extension."),
				 errhint("Run CREATE EXTENSION healthpass in this database.")));
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(key_rel));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", key_rel);
	tables_owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
}

/*
 * RunAsOwner: runs an SQL statement through SPI as the owner of the key
 * tables (the extension's owner), so that callers need no table privilege;
 * returns SPI_processed. The caller has done SPI_connect.
 *
 * Cache loads read the latest committed state (plus this transaction's own
 * changes), not the calling statement's snapshot, so that what is cached
 * stays right after the statement ends. During a parallel operation no new
 * snapshot may be taken: the load uses the active snapshot and *provisional
 * is set, so that the cache is trusted for this transaction only.
 */
static uint64
RunAsOwner(const char *sql, int nargs, Oid *argtypes, Datum *args, bool write,
		   bool *provisional)
{
	Oid			save_user;
	int			save_sec;
	int			rc;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(tables_owner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	if (write)
		rc = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, false, 0);
	else if (IsInParallelMode())
	{
		rc = SPI_execute(sql, true, 0);
		*provisional = true;
	}
	else
	{
		SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
								  true, false, 0);
	}
	SetUserIdAndSecContext(save_user, save_sec);
	if (rc < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* KidCmp: order of cached keys (kid, then key id) */
static int
KidCmp(const void *a, const void *b)
{
	const HpKey *x = a;
	const HpKey *y = b;
	int			c = memcmp(x->kid, y->kid, HP1_KID_LEN);

	if (c != 0)
		return c;
	return x->key_id < y->key_id ? -1 : x->key_id > y->key_id;
}

/* LoadKeys: (re)loads the key cache from healthpass.signing_key */
static void
LoadKeys(void)
{
	uint64		n,
				i;
	HpKey	   *fresh;
	bool		provisional = false;

	ResolveTables();
	if (key_cxt == NULL)
		key_cxt = AllocSetContextCreate(CacheMemoryContext, "healthpass key cache",
										ALLOCSET_SMALL_SIZES);
	keys_inval_seen = false;
	SPI_connect();
	n = RunAsOwner("SELECT key_id, kid, public_key, not_before, not_after, status, secret_box, issuer"
				   " FROM healthpass.signing_key", 0, NULL, NULL, false, &provisional);
	MemoryContextReset(key_cxt);
	keys = NULL;
	nkeys = 0;
	fresh = MemoryContextAllocZero(key_cxt, sizeof(HpKey) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		HpKey	   *k = &fresh[i];
		bytea	   *kid = DatumGetByteaPP(SPI_getbinval(tup, td, 2, &isnull));
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(tup, td, 3, &isnull));
		char	   *status;
		Datum		box;

		k->key_id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		if (VARSIZE_ANY_EXHDR(kid) != HP1_KID_LEN || VARSIZE_ANY_EXHDR(pk) != 32)
			elog(ERROR, "signing key %lld has a kid or public key of the wrong length",
				 (long long) k->key_id);
		memcpy(k->kid, VARDATA_ANY(kid), HP1_KID_LEN);
		memcpy(k->pk, VARDATA_ANY(pk), 32);
		k->not_before = DatumGetTimestampTz(SPI_getbinval(tup, td, 4, &isnull));
		k->not_after = DatumGetTimestampTz(SPI_getbinval(tup, td, 5, &isnull));
		status = TextDatumGetCString(SPI_getbinval(tup, td, 6, &isnull));
		k->status = strcmp(status, "active") == 0 ? 'a' : strcmp(status, "retired") == 0 ? 'r' : 'x';
		k->issuer = MemoryContextStrdup(key_cxt,
										TextDatumGetCString(SPI_getbinval(tup, td, 8, &isnull)));
		box = SPI_getbinval(tup, td, 7, &isnull);
		k->local = !isnull;
		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(box);
			Size		len = VARSIZE_ANY_EXHDR(b);

			k->secret_box = MemoryContextAlloc(key_cxt, VARHDRSZ + len);
			SET_VARSIZE(k->secret_box, VARHDRSZ + len);
			memcpy(VARDATA(k->secret_box), VARDATA_ANY(b), len);
		}
	}
	SPI_finish();
	qsort(fresh, n, sizeof(HpKey), KidCmp);
	keys = fresh;
	nkeys = (int) n;
	keys_valid = !keys_inval_seen;
	keys_provisional = provisional ? HP_MY_LXID : InvalidLocalTransactionId;
}

/* hp_keys_lookup: the cached keys with this kid (count, first in *first) */
int
hp_keys_lookup(const uint8 *kid, size_t kid_len, const HpKey **first)
{
	int			lo = 0,
				hi,
				end;

	if (!CacheUsable(keys_valid, keys_provisional))
		LoadKeys();
	if (kid_len != HP1_KID_LEN)
		return 0;
	hi = nkeys;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (memcmp(keys[mid].kid, kid, HP1_KID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < nkeys && memcmp(keys[end].kid, kid, HP1_KID_LEN) == 0; end++)
		;
	*first = &keys[lo];
	return end - lo;
}

/*
 * hp_key_issuer: the issuer a key vouches for. An imported key belongs to
 * the issuer its trust list published it under; our own keys belong to
 * healthpass.issuer (what this server writes into iss).
 */
const char *
hp_key_issuer(const HpKey *k)
{
	return k->local ? hp_issuer : k->issuer;
}

/* LoadRevoked: (re)loads the revoked token ids */
static void
LoadRevoked(void)
{
	uint64		n,
				i;
	bool		provisional = false;

	ResolveTables();
	if (revoked_cxt == NULL)
		revoked_cxt = AllocSetContextCreate(CacheMemoryContext, "healthpass revocation cache",
											ALLOCSET_SMALL_SIZES);
	revoked_inval_seen = false;
	SPI_connect();
	n = RunAsOwner("SELECT token_id FROM healthpass.revoked_token ORDER BY token_id",
				   0, NULL, NULL, false, &provisional);
	MemoryContextReset(revoked_cxt);
	revoked = MemoryContextAllocHuge(revoked_cxt, HP1_CTI_LEN * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		bytea	   *id = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1, &isnull));

		if (VARSIZE_ANY_EXHDR(id) != HP1_CTI_LEN)
			elog(ERROR, "a revoked token id has the wrong length");
		memcpy(revoked + i * HP1_CTI_LEN, VARDATA_ANY(id), HP1_CTI_LEN);
	}
	SPI_finish();
	nrevoked = (int64) n;
	revoked_valid = !revoked_inval_seen;
	revoked_provisional = provisional ? HP_MY_LXID : InvalidLocalTransactionId;
}

/* hp_token_is_revoked: whether a token id is on the revocation list */
bool
hp_token_is_revoked(const uint8 *cti)
{
	int64		lo = 0,
				hi;

	if (!CacheUsable(revoked_valid, revoked_provisional))
		LoadRevoked();
	hi = nrevoked;
	while (lo < hi)
	{
		int64		mid = (lo + hi) / 2;
		int			c = memcmp(revoked + mid * HP1_CTI_LEN, cti, HP1_CTI_LEN);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* KidHex: the kid as hex, for messages */
static char *
KidHex(const uint8 *kid)
{
	char	   *s = palloc(2 * HP1_KID_LEN + 1);

	for (int i = 0; i < HP1_KID_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", kid[i]);
	return s;
}

/* UseKey: decrypts a local key into the signer (cached until invalidation) */
static const HpSigner *
UseKey(const HpKey *k)
{
	uint8	   *seed;
	uint8		pk[32];
	const uint8 *box = (const uint8 *) VARDATA(k->secret_box);
	Size		box_len = VARSIZE(k->secret_box) - VARHDRSZ;
	Hp1Buf		prot = {0};

	if (signer_key_id == k->key_id)
		return &signer;
	if (signer_mem == NULL)
	{
		signer_mem = sodium_malloc(64);
		if (signer_mem == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	}
	if (box_len != HP_SEALED_SEED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("signing key %s has a damaged secret box", KidHex(k->kid)),
				 errdetail("Its encrypted secret key has %zu bytes instead of %d.", box_len, HP_SEALED_SEED_LEN)));
	seed = hp_unseal_seed(k->kid, box, box_len);
	if (seed != NULL)
	{
		hp1_ed25519_keypair(seed, pk, signer_mem);
		sodium_free(seed);
	}
	if (seed == NULL || memcmp(pk, k->pk, 32) != 0)
	{
		WipeSigner();
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot decrypt signing key %s", KidHex(k->kid)),
				 errdetail("The key was encrypted under another master key, or its row was altered."),
				 errhint("Point healthpass.master_key_file at the master key the signing keys were made with, or run healthpass.rotate_signing_key().")));
	}
	memcpy(signer.kid, k->kid, HP1_KID_LEN);
	signer.sk = signer_mem;
	prot.cxt = CurrentMemoryContext;
	hp1_protected(&prot, k->kid, HP1_KID_LEN);
	memcpy(signer.prot, prot.data, prot.len);
	signer.prot_len = prot.len;
	hp1_buf_free(&prot);
	signer_key_id = k->key_id;
	return &signer;
}

/* FindActive: the newest local active key whose validity holds now */
static const HpKey *
FindActive(TimestampTz now)
{
	const HpKey *best = NULL;

	for (int i = 0; i < nkeys; i++)
	{
		const HpKey *k = &keys[i];

		if (k->local && k->status == 'a' && k->not_before <= now && now < k->not_after &&
			(best == NULL || k->not_before > best->not_before))
			best = k;
	}
	return best;
}

/*
 * hp_signer_active: the active local signing key, decrypted; when there is
 * none usable at now, _ensure_signing_key() makes one (first use,
 * or after the active key expired or was revoked).
 */
const HpSigner *
hp_signer_active(TimestampTz now)
{
	const HpKey *k;

	if (!CacheUsable(keys_valid, keys_provisional))
		LoadKeys();
	if (signer_key_id >= 0)
	{
		/* fast path: the cached signer is still the active key */
		for (int i = 0; i < nkeys; i++)
			if (keys[i].key_id == signer_key_id && keys[i].status == 'a' &&
				keys[i].not_before <= now && now < keys[i].not_after)
				return &signer;
	}
	k = FindActive(now);
	if (k == NULL)
	{
		Oid			argtype = TIMESTAMPTZOID;
		Datum		arg = TimestampTzGetDatum(now);

		SPI_connect();
		/* in healthpass_internal from 0.2.0; a 0.1.0 database not yet updated has it in healthpass */
		RunAsOwner(OidIsValid(get_namespace_oid("healthpass_internal", true))
				   ? "SELECT healthpass_internal._ensure_signing_key($1)"
				   : "SELECT healthpass._ensure_signing_key($1)",
				   1, &argtype, &arg, true, NULL);
		SPI_finish();
		if (!CacheUsable(keys_valid, keys_provisional))
			LoadKeys();
		k = FindActive(now);
		if (k == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no active signing key"),
					 errdetail("No local signing key is active and valid at this time."),
					 errhint("Run healthpass.rotate_signing_key().")));
	}
	return UseKey(k);
}

/* hp_signer_for_kid: a local, unrevoked key by kid, decrypted */
const HpSigner *
hp_signer_for_kid(const uint8 *kid, size_t kid_len)
{
	const HpKey *first;
	int			n = hp_keys_lookup(kid, kid_len, &first);

	for (int i = 0; i < n; i++)
		if (first[i].local && first[i].status != 'x')
			return UseKey(&first[i]);
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no usable local signing key with kid %s",
					kid_len == HP1_KID_LEN ? KidHex(kid) : "of this length"),
			 errdetail("Only this server's own keys that are not revoked can sign.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * InvalidateShardParent: on Citus the trigger fires on a shard placement
 * (signing_key_102008 on every node of a reference table), whose OID the
 * callback does not know; invalidate the healthpass table the shard belongs
 * to as well, so every backend of the node that holds the placement
 * reloads (doc/citus.md).
 */
static void
InvalidateShardParent(const char *relname)
{
	static const char *const tables[] = {"signing_key", "revoked_token"};
	Oid			nsp;

	for (size_t i = 0; i < lengthof(tables); i++)
	{
		size_t		len = strlen(tables[i]);

		if (strncmp(relname, tables[i], len) == 0 && relname[len] == '_' &&
			relname[len + 1] >= '0' && relname[len + 1] <= '9')
		{
			nsp = get_namespace_oid("healthpass", true);
			if (OidIsValid(nsp))
			{
				Oid			parent = get_relname_relid(tables[i], nsp);

				if (OidIsValid(parent))
					CacheInvalidateRelcacheByRelid(parent);
			}
			return;
		}
	}
}

/* _key_cache_invalidate(): row trigger that tells every backend a key table changed */
PG_FUNCTION_INFO_V1(hp_key_cache_invalidate);
Datum
hp_key_cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("healthpass._key_cache_invalidate() must be called as a trigger"),
				 errdetail("It is attached to the key and revocation tables.")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	InvalidateShardParent(RelationGetRelationName(td->tg_relation));
	return PointerGetDatum(NULL);
}
