/*
 * store: one JSON token file per account in the state directory,
 * "<state_dir>/<account>.json", mode 0600. Writes are atomic and durable:
 * temporary file in the same directory, fsync, rename, fsync of the
 * directory; a crash leaves the old file or the new one, never half of one.
 * A file is read only if it is a regular file (not a link), owned by us,
 * with no group or other permission bits; the state directory likewise
 * (store_check_dir). Refusals say what to run ("chmod 600 FILE").
 *
 * Plain format: {"version":1,"refresh_token":"...","access_token":"...",
 * "expires_at":<unix seconds>,"scope":"...","updated_at":<unix seconds>}
 * with only refresh_token required.
 *
 * Sealed format (written when a key is given): the plain text above sealed
 * with AES-256-GCM, the account name as additional data, in the versioned
 * envelope {"version":1,"sealed":"aes-256-gcm","nonce":B64,"data":B64,
 * "tag":B64} described in seal.h.
 */
#ifndef OAUTH_STORE_H
#define OAUTH_STORE_H

#include <stddef.h>
#include <time.h>

struct stored_token {
	char	*refresh_token;		/* required */
	char	*access_token;		/* NULL if none */
	time_t	 expires_at;		/* of access_token; 0 if none */
	char	*scope;			/* NULL if unknown */
	time_t	 refresh_at;		/* when refresh_token was issued
					   (authorize, set-token, rotation);
					   0 if unknown; store_write: 0
					   means now */
};

/* Largest token file read. */
#define STORE_FILE_MAX	65536
/* Bytes of a token sealing key (AES-256-GCM). */
#define STORE_KEY_LEN	32

/*
 * Path of the account's token file into buf. Returns 0, or -1 if it does
 * not fit or the account name holds '/' or starts with '.'.
 */
int	store_path(const char *dir, const char *account, char *buf,
	    size_t size);
/*
 * Read the account's token file. Returns 0 and fills *t (free with
 * store_token_clear); -1 with a reason in err (no secret in it) when the file
 * is missing, unreadable, not ours or open to others, too large, not valid
 * JSON, sealed and no key (or the wrong one) given, or lacks refresh_token.
 */
int	store_read(const char *dir, const unsigned char *key,
	    const char *account, struct stored_token *t, char *err,
	    size_t errsize);
/*
 * Atomically replace the account's token file with t. Returns 0, or -1 with
 * a reason in err (the old file is then untouched).
 */
int	store_write(const char *dir, const unsigned char *key,
	    const char *account, const struct stored_token *t, char *err,
	    size_t errsize);
/*
 * key (store_read, store_write): NULL, or STORE_KEY_LEN bytes; with a key,
 * files are written sealed with AES-256-GCM, and both sealed and plain files
 * are read. Without one, a sealed file is an error that says so.
 */

/*
 * The state directory must be a directory owned by us that no one else can
 * read or write (no group/other bits). Returns 0, or -1 with a reason that
 * says how to fix it (e.g. "chmod 700 DIR").
 */
int	store_check_dir(const char *dir, char *err, size_t errsize);
/*
 * Read a sealing key file: exactly STORE_KEY_LEN bytes, a regular file
 * owned by us with mode 0600 or stricter. Returns 0, or -1 with a reason.
 */
int	store_load_key(const char *path, unsigned char key[STORE_KEY_LEN],
	    char *err, size_t errsize);
/* Wipe and free the strings of t. */
void	store_token_clear(struct stored_token *t);

#endif
