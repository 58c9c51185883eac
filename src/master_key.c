/*
 * master_key.c
 *	  The master key file and what is sealed under it: finding, creating
 *	  (0600, on first use) and reading the 32-byte master key; sealing an
 *	  Ed25519 seed into a secret box (XChaCha20-Poly1305, the kid as
 *	  associated data) and opening one (hp_unseal_seed); and the SQL
 *	  functions that make sealed key material, from random bytes or from a
 *	  seed file on the server. File errors become specific SQLSTATEs, and file
 *	  names in messages are cut and cleaned (QuotePath).
 *
 * Secret keys never reach SQL: C makes or imports a seed, encrypts it under
 * the master key and hands SQL only the ciphertext. The master key is read
 * into sodium_malloc memory for one operation and wiped right after.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "guc.h"
#include "hp1_codec.h"
#include "master_key.h"
#include "quote.h"

#define MASTER_KEY_LEN	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define BOX_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define BOX_LEN			HP_SEALED_SEED_LEN

StaticAssertDecl(HP_SEALED_SEED_LEN == BOX_NONCE_LEN + 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES,
				 "a sealed seed is nonce, seed and tag");

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
	int			head,
				tail = 0;

	if (len <= PATH_QUOTE_HEAD + PATH_QUOTE_TAIL + 3)
		return hp_quote(path, len, len, false);
	head = pg_mbcliplen(path, len, PATH_QUOTE_HEAD);
	while (tail < len && len - tail > PATH_QUOTE_TAIL)
		tail += pg_mblen(path + tail);
	if (tail > len)				/* a broken last character */
		tail = len;
	/* both ends cleaned by the one quoting helper */
	return psprintf("%s...%s", hp_quote(path, head, head, false),
					hp_quote(path + tail, len - tail, len - tail, false));
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
		n = snprintf(path, MAXPGPATH, "%s/%s", DataDir, HP_DEFAULT_MASTER_KEY_NAME);
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

/*
 * hp_unseal_seed: opens a sealed seed under the master key: the 32-byte
 * seed in sodium_malloc memory (the caller frees it with sodium_free), or
 * NULL when the box was sealed under another master key, for another kid,
 * or altered. Raises when the master key cannot be read.
 */
uint8 *
hp_unseal_seed(const uint8 *kid, const uint8 *box, size_t box_len)
{
	uint8	   *master;
	uint8	   *seed;
	unsigned long long seed_len;
	int			rc;

	if (box_len != BOX_LEN)
		return NULL;
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
													kid, HP1_KID_LEN, box, master);
	sodium_free(master);
	if (rc != 0 || seed_len != 32)
	{
		sodium_free(seed);
		return NULL;
	}
	return seed;
}

/*
 * hp_seal_seed: seals a 32-byte seed under the master key, the kid as
 * associated data, into box (HP_SEALED_SEED_LEN bytes: nonce, ciphertext,
 * tag). Raises when the master key file cannot be read.
 */
void
hp_seal_seed(const uint8 *kid, const uint8 *seed, uint8 *box)
{
	uint8	   *master = LoadMasterKey();
	unsigned long long clen;

	randombytes_buf(box, BOX_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + BOX_NONCE_LEN, &clen, seed, 32, kid, HP1_KID_LEN, NULL,
											   box, master);
	sodium_free(master);
}

/* SealMaterial: (kid, public_key, secret_box) of a seed, encrypted under the master key */
static Datum
SealMaterial(FunctionCallInfo fcinfo, const uint8 *seed)
{
	TupleDesc	td;
	uint8		pk[32];
	uint8	   *sk;
	uint8		kid[HP1_KID_LEN];
	bytea	   *box = palloc(VARHDRSZ + BOX_LEN);
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
	SET_VARSIZE(box, VARHDRSZ + BOX_LEN);
	hp_seal_seed(kid, seed, (uint8 *) VARDATA(box));
	values[0] = PointerGetDatum(cstring_to_text_with_len((char *) kid, HP1_KID_LEN));
	values[1] = PointerGetDatum(cstring_to_text_with_len((char *) pk, 32));
	values[2] = PointerGetDatum(box);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td), values, nulls));
}

/* ReturnMaterial: SealMaterial, then the seed (sodium_malloc memory) freed, even on error */
static Datum
ReturnMaterial(FunctionCallInfo fcinfo, uint8 *seed)
{
	volatile Datum result = (Datum) 0;

	PG_TRY();
	{
		result = SealMaterial(fcinfo, seed);
	}
	PG_CATCH();
	{
		sodium_free(seed);
		PG_RE_THROW();
	}
	PG_END_TRY();
	sodium_free(seed);
	return result;
}

/* _signing_key_material(): a new random key pair, secret encrypted */
PG_FUNCTION_INFO_V1(hp_signing_key_material);
Datum
hp_signing_key_material(PG_FUNCTION_ARGS)
{
	uint8	   *seed = sodium_malloc(32);

	if (seed == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory"),
						errdetail("libsodium could not allocate guarded memory for the key.")));
	randombytes_buf(seed, 32);
	return ReturnMaterial(fcinfo, seed);
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
	return ReturnMaterial(fcinfo, seed);
}
