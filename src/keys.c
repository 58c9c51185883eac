/*
 * keys.c
 *	  Signing keys and trust: the master key file, encrypted Ed25519 secret
 *	  keys, the per-backend caches of trusted public keys and of revoked
 *	  token ids (invalidated through relcache callbacks, so verifying costs no
 *	  table look-up), and the GUCs.
 *
 * Secret keys never reach SQL: C makes or imports a seed, encrypts it under
 * the master key (XChaCha20-Poly1305, the kid as associated data) and hands
 * SQL only the ciphertext. Decrypted keys live in sodium_malloc memory and
 * are wiped when the key table changes and when the backend exits; the
 * master key is read into sodium_malloc memory for one operation and wiped
 * right after.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "token.h"

/* this backend's local transaction id (PGPROC moved it into vxid in 17) */
#if PG_VERSION_NUM >= 170000
#define HP_MY_LXID (MyProc->vxid.lxid)
#else
#define HP_MY_LXID (MyProc->lxid)
#endif

#define MASTER_KEY_LEN	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define BOX_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define BOX_LEN			(BOX_NONCE_LEN + 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define DEFAULT_MASTER_KEY_NAME "healthpass_master.key"

char	   *hp_master_key_file = NULL;
char	   *hp_issuer = NULL;
int			hp_clock_skew = 300;

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

static HpBuf scratch[4];

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

/* CheckIssuer: GUC check hook of healthpass.issuer */
static bool
CheckIssuer(char **newval, void **extra, GucSource source)
{
	size_t		n = strlen(*newval);

	if (n == 0 || n > 64)
	{
		GUC_check_errdetail("An issuer is 1 to 64 bytes long.");
		return false;
	}
	return true;
}

/* hp_token_init: GUCs, libsodium and the cache callback; called by _PG_init */
void
hp_token_init(void)
{
	if (sodium_init() < 0)
		elog(ERROR, "libsodium could not be initialised");

	DefineCustomStringVariable("healthpass.master_key_file",
							   "File holding the 32-byte master key that encrypts healthpass signing keys.",
							   "Empty means " DEFAULT_MASTER_KEY_NAME " in the data directory, created on first use.",
							   &hp_master_key_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("healthpass.issuer",
							   "Issuing authority written into the iss claim of HP1 tokens.",
							   NULL, &hp_issuer, "CN-44", PGC_SUSET, 0,
							   CheckIssuer, NULL, NULL);
	DefineCustomIntVariable("healthpass.clock_skew",
							"Clock skew allowed when verifying HP1 tokens.",
							NULL, &hp_clock_skew, 300, 0, 86400, PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	CacheRegisterRelcacheCallback(HpRelcacheCallback, (Datum) 0);
	on_proc_exit(WipeAtExit, (Datum) 0);
}

/* hp_buf_grow: palloc-backed growth for the codecs' buffers (hp1_codec.h) */
void
hp_buf_grow(HpBuf *b, size_t newcap)
{
	if (newcap > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("token buffer of %zu bytes is too large", newcap),
				 errdetail("A buffer holds at most 1 GB.")));
	if (b->data == NULL)
		b->data = MemoryContextAlloc(b->cxt ? (MemoryContext) b->cxt : CurrentMemoryContext, newcap);
	else
		b->data = repalloc(b->data, newcap);
	b->cap = newcap;
}

/* hp_scratch: one of four reusable buffers in TopMemoryContext */
HpBuf *
hp_scratch(int i)
{
	scratch[i].cxt = TopMemoryContext;
	return &scratch[i];
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

/* bytes of a path that a message quotes: its start and its end */
#define PATH_QUOTE_HEAD 24
#define PATH_QUOTE_TAIL 40

/*
 * QuotePath: a file name for a message, cut in the middle when long (the
 * start and the end, at character boundaries) and with control characters
 * shown as "?", so that neither a 5000-byte name nor a line break reaches
 * the log whole.
 */
static char *
QuotePath(const char *path)
{
	int			len = strlen(path);
	char	   *out;

	if (len <= PATH_QUOTE_HEAD + PATH_QUOTE_TAIL + 3)
		out = pstrdup(path);
	else
	{
		int			head = pg_mbcliplen(path, len, PATH_QUOTE_HEAD);
		int			tail = 0;

		while (tail < len && len - tail > PATH_QUOTE_TAIL)
			tail += pg_mblen(path + tail);
		if (tail > len)			/* a broken last character */
			tail = len;
		out = psprintf("%.*s...%s", head, path, path + tail);
	}
	for (char *c = out; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = '?';
	return out;
}

/*
 * FileErrcode: the SQLSTATE of a failed file operation's errno. Unlike
 * errcode_for_file_access() every errno gets a specific class, never XX000.
 */
static int
FileErrcode(int err)
{
	switch (err)
	{
		case ENOENT:
		case ENOTDIR:
			return ERRCODE_UNDEFINED_FILE;
		case EACCES:
		case EPERM:
		case EROFS:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case ENAMETOOLONG:
		case EINVAL:
		case ELOOP:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case EISDIR:
		case ENXIO:
		case ENODEV:
			return ERRCODE_WRONG_OBJECT_TYPE;
		case EEXIST:
			return ERRCODE_DUPLICATE_FILE;
		case EMFILE:
		case ENFILE:
			return ERRCODE_INSUFFICIENT_RESOURCES;
		case ENOSPC:
			return ERRCODE_DISK_FULL;
		case ENOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case EIO:
			return ERRCODE_IO_ERROR;
		default:
			return ERRCODE_SYSTEM_ERROR;
	}
}

/* FileErrorDetail: a sentence on what a failed file operation's errno means */
static const char *
FileErrorDetail(int err)
{
	switch (FileErrcode(err))
	{
		case ERRCODE_UNDEFINED_FILE:
			return "The file must exist on the database server.";
		case ERRCODE_INSUFFICIENT_PRIVILEGE:
			return "The server's operating-system user must be allowed to read the file.";
		case ERRCODE_INVALID_PARAMETER_VALUE:
			return "The path is too long, loops through symbolic links, or is not a valid file name.";
		case ERRCODE_WRONG_OBJECT_TYPE:
			return "The path names a directory or a device, not a regular file.";
		default:
			return "The operating system could not give access to the file.";
	}
}

/* MasterKeyPath: the configured key file, or the default in the data directory */
static void
MasterKeyPath(char *path)
{
	int			n;

	if (hp_master_key_file && hp_master_key_file[0])
		n = strlcpy(path, hp_master_key_file, MAXPGPATH);
	else
		n = snprintf(path, MAXPGPATH, "%s/%s", DataDir, DEFAULT_MASTER_KEY_NAME);
	if (n >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("master key file name \"%s\" is too long",
						QuotePath(hp_master_key_file && hp_master_key_file[0] ?
								  hp_master_key_file : DataDir)),
				 errdetail("A file name has at most %d bytes.", MAXPGPATH - 1),
				 errhint("Set healthpass.master_key_file to a shorter path.")));
}

/* CreateDefaultMasterKey: a new random key file (mode 0600), unless one appeared meanwhile */
static void
CreateDefaultMasterKey(const char *path)
{
	char		tmp[MAXPGPATH];
	uint8		key[MASTER_KEY_LEN];
	int			fd;

	ssize_t		wrote;
	int			err;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, MyProcPid) >= (int) sizeof(tmp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("master key file name \"%s\" is too long", QuotePath(path)),
				 errdetail("A file name has at most %d bytes.", MAXPGPATH - 1)));
	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		err = errno;
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not create master key file \"%s\": %s", QuotePath(tmp), strerror(err)),
				 errdetail("The server makes the default master key file in its data directory on first use.")));
	}
	randombytes_buf(key, sizeof(key));
	errno = 0;
	wrote = write(fd, key, sizeof(key));
	if (wrote != (ssize_t) sizeof(key) || pg_fsync(fd) != 0)
	{
		/* a short write without an error means the disk is full */
		err = (wrote >= 0 && wrote != (ssize_t) sizeof(key)) ? ENOSPC : errno;
		sodium_memzero(key, sizeof(key));
		CloseTransientFile(fd);
		unlink(tmp);
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not write master key file \"%s\": %s", QuotePath(tmp), strerror(err)),
				 errdetail("The server makes the default master key file in its data directory on first use.")));
	}
	sodium_memzero(key, sizeof(key));
	CloseTransientFile(fd);
	/* link() does not replace a key another backend made first */
	if (link(tmp, path) != 0 && errno != EEXIST)
	{
		err = errno;
		unlink(tmp);
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not create master key file \"%s\": %s", QuotePath(path), strerror(err)),
				 errdetail("The server makes the default master key file in its data directory on first use.")));
	}
	unlink(tmp);
	ereport(LOG, (errmsg("healthpass created master key file \"%s\"", QuotePath(path))));
}

/* LoadMasterKey: reads the master key into sodium_malloc memory; the caller wipes it */
static uint8 *
LoadMasterKey(void)
{
	char		path[MAXPGPATH];
	struct stat st;
	int			fd;
	uint8	   *key;
	ssize_t		got;

	int			err;

	MasterKeyPath(path);
	if (!(hp_master_key_file && hp_master_key_file[0]) && access(path, F_OK) != 0 && errno == ENOENT)
		CreateDefaultMasterKey(path);
	/* O_NONBLOCK: a FIFO in its place must not hang the backend */
	fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
	{
		err = errno;
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not open master key file \"%s\": %s", QuotePath(path), strerror(err)),
				 errdetail("Signing keys are encrypted under the master key in this file."),
				 errhint("Set healthpass.master_key_file to a file of 32 random bytes that only the server's operating-system user can read.")));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is not a regular file", QuotePath(path)),
				 errdetail("A master key file is a regular file of 32 bytes."),
				 errhint("Set healthpass.master_key_file to a file of 32 random bytes.")));
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is accessible by group or others", QuotePath(path)),
				 errdetail("Its permissions are %04o; a master key file must be readable by its owner only.",
						   (unsigned) (st.st_mode & 07777)),
				 errhint("Run chmod 600 on the file.")));
	}
	if (st.st_size != MASTER_KEY_LEN)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" has %lld bytes", QuotePath(path), (long long) st.st_size),
				 errdetail("A master key file holds exactly 32 bytes."),
				 errhint("Make one with: head -c 32 /dev/urandom > FILE; chmod 600 FILE")));
	}
	key = sodium_malloc(MASTER_KEY_LEN);
	if (key == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	got = read(fd, key, MASTER_KEY_LEN);
	err = errno;
	CloseTransientFile(fd);
	if (got != MASTER_KEY_LEN)
	{
		sodium_free(key);
		if (got < 0)
			ereport(ERROR,
					(errcode(FileErrcode(err)),
					 errmsg("could not read master key file \"%s\": %s", QuotePath(path), strerror(err)),
					 errdetail("%s", FileErrorDetail(err))));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" gave %zd bytes", QuotePath(path), got),
				 errdetail("A master key file holds exactly 32 bytes; it changed while it was read.")));
	}
	return key;
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
	uint8	   *master;
	uint8	   *seed;
	uint8		pk[32];
	unsigned long long seed_len;
	int			rc;
	const uint8 *box = (const uint8 *) VARDATA(k->secret_box);
	Size		box_len = VARSIZE(k->secret_box) - VARHDRSZ;
	HpBuf		prot = {0};

	if (signer_key_id == k->key_id)
		return &signer;
	if (signer_mem == NULL)
	{
		signer_mem = sodium_malloc(64);
		if (signer_mem == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	}
	if (box_len != BOX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("signing key %s has a damaged secret box", KidHex(k->kid)),
				 errdetail("Its encrypted secret key has %zu bytes instead of %d.", box_len, BOX_LEN)));
	master = LoadMasterKey();
	seed = sodium_malloc(32);
	if (seed == NULL)
	{
		sodium_free(master);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &seed_len, NULL,
													box + BOX_NONCE_LEN, box_len - BOX_NONCE_LEN,
													k->kid, HP1_KID_LEN, box, master);
	sodium_free(master);
	if (rc == 0)
		hp1_ed25519_keypair(seed, pk, signer_mem);
	sodium_free(seed);
	if (rc != 0 || seed_len != 32 || memcmp(pk, k->pk, 32) != 0)
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
	pfree(prot.data);
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

/* ReturnMaterial: (kid, public_key, secret_box) of a seed, encrypted under the master key */
static Datum
ReturnMaterial(FunctionCallInfo fcinfo, const uint8 *seed)
{
	TupleDesc	td;
	uint8		pk[32];
	uint8	   *sk;
	uint8	   *master;
	uint8		kid[HP1_KID_LEN];
	bytea	   *box = palloc(VARHDRSZ + BOX_LEN);
	unsigned long long clen;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sk = sodium_malloc(64);
	if (sk == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	hp1_ed25519_keypair(seed, pk, sk);
	sodium_free(sk);
	hp1_kid(pk, kid);
	master = LoadMasterKey();
	SET_VARSIZE(box, VARHDRSZ + BOX_LEN);
	randombytes_buf(VARDATA(box), BOX_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt((uint8 *) VARDATA(box) + BOX_NONCE_LEN, &clen,
											   seed, 32, kid, HP1_KID_LEN, NULL,
											   (uint8 *) VARDATA(box), master);
	sodium_free(master);
	values[0] = PointerGetDatum(cstring_to_text_with_len((char *) kid, HP1_KID_LEN));
	values[1] = PointerGetDatum(cstring_to_text_with_len((char *) pk, 32));
	values[2] = PointerGetDatum(box);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td), values, nulls));
}

/* _signing_key_material(): a new random key pair, secret encrypted */
PG_FUNCTION_INFO_V1(hp_signing_key_material);
Datum
hp_signing_key_material(PG_FUNCTION_ARGS)
{
	uint8	   *seed = sodium_malloc(32);
	volatile Datum result = (Datum) 0;

	if (seed == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	randombytes_buf(seed, 32);
	PG_TRY();
	{
		result = ReturnMaterial(fcinfo, seed);
	}
	PG_FINALLY();
	{
		sodium_free(seed);
	}
	PG_END_TRY();
	return result;
}

/*
 * _signing_key_material_from_file(path): key material of the Ed25519 seed
 * (RFC 8032 secret key) in a server-side file: 64 hex digits, optionally
 * followed by a newline. The file must be readable by its owner only.
 */
PG_FUNCTION_INFO_V1(hp_signing_key_material_from_file);
Datum
hp_signing_key_material_from_file(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	struct stat st;
	int			fd;
	char	   *hex;
	uint8	   *seed;
	ssize_t		got;
	int			err;
	bool		good = true;
	volatile Datum result = (Datum) 0;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to import a signing key from \"%s\"", QuotePath(path)),
				 errdetail("Only superusers may read key files on the server.")));
	if (strlen(path) >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key file name \"%s\" is too long", QuotePath(path)),
				 errdetail("A file name has at most %d bytes.", MAXPGPATH - 1)));
	/* O_NONBLOCK: a FIFO in its place must not hang the backend */
	fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
	{
		err = errno;
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not open key file \"%s\": %s", QuotePath(path), strerror(err)),
				 errdetail("%s", FileErrorDetail(err))));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("key file \"%s\" is not a regular file", QuotePath(path)),
				 errdetail("A key file is a regular file holding the 32-byte Ed25519 seed as 64 hex digits.")));
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) || (st.st_size != 64 && st.st_size != 65))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key file \"%s\" is not a private file of 64 hex digits", QuotePath(path)),
				 errdetail("A key file holds the 32-byte Ed25519 seed as 64 hex digits and is readable by its owner only."),
				 errhint("Make it with chmod 600.")));
	}
	hex = sodium_malloc(65);
	seed = sodium_malloc(32);
	if (hex == NULL || seed == NULL)
	{
		if (hex)
			sodium_free(hex);
		if (seed)
			sodium_free(seed);
		CloseTransientFile(fd);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	}
	got = read(fd, hex, 65);
	err = errno;
	CloseTransientFile(fd);
	if (got < 0)
	{
		sodium_free(hex);
		sodium_free(seed);
		ereport(ERROR,
				(errcode(FileErrcode(err)),
				 errmsg("could not read key file \"%s\": %s", QuotePath(path), strerror(err)),
				 errdetail("%s", FileErrorDetail(err))));
	}
	/* 64 hex digits, all of them (libsodium decodes in constant time) */
	if (got < 64 || (got == 65 && hex[64] != '\n') ||
		sodium_hex2bin(seed, 32, hex, 64, NULL, NULL, NULL) != 0)
		good = false;
	sodium_free(hex);
	if (!good)
	{
		sodium_free(seed);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key file \"%s\" is not a private file of 64 hex digits", QuotePath(path)),
				 errdetail("A key file holds the 32-byte Ed25519 seed as 64 hex digits and is readable by its owner only.")));
	}
	PG_TRY();
	{
		result = ReturnMaterial(fcinfo, seed);
	}
	PG_FINALLY();
	{
		sodium_free(seed);
	}
	PG_END_TRY();
	return result;
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
	return PointerGetDatum(NULL);
}
