/*
 * mock: the shared declarations of the mock provider, a test tool that
 * plays Gmail / Microsoft 365 for authrelay's tests: an HTTPS OAuth2 token
 * endpoint and an SMTP server that accepts XOAUTH2 with the tokens it issued.
 * One thread per connection, blocking I/O. Everything it records goes into
 * files under the --dir directory, written atomically (tmp + rename).
 */
#ifndef MOCK_H
#define MOCK_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Limits. */
#define MOCK_HTTP_MAX		(64 * 1024)	/* a whole HTTP request */
#define MOCK_SMTP_LINE_MAX	4096		/* a command line, with CRLF */
#define MOCK_DATA_LINE_MAX	(1024 * 1024)	/* one line inside DATA */
#define MOCK_SMTP_SIZE		35882577	/* EHLO SIZE, the message cap */
#define MOCK_RCPT_MAX		1000		/* recipients per message */
#define MOCK_IO_TIMEOUT		300		/* per read or write, seconds */
#define MOCK_LISTEN_BACKLOG	1024
#define MOCK_THREAD_STACK	(256 * 1024)
#define MOCK_RBUF_SIZE		16384		/* per-connection read buffer */
#define MOCK_TOKEN_MAX		128		/* an issued access token */

enum mock_smtp_mode {
	MOCK_SMTP_TLS,			/* implicit TLS from the first byte */
	MOCK_SMTP_STARTTLS		/* plaintext, upgrade with STARTTLS */
};

/*
 * Everything the command line sets. Later failure modes become fields here,
 * read by the one handler they affect.
 */
struct mock_opts {
	const char	*dir;
	const char	*cert;
	const char	*key;
	const char	*http_addr;
	const char	*smtp_addr;
	enum mock_smtp_mode smtp_mode;
	const char	*refresh_token;
	const char	*client_id;	/* NULL: any client_id is accepted */
	const char	*client_secret;	/* NULL: any client_secret accepted */
	long		 token_ttl;	/* seconds */
	int		 reject_tokens;	/* refuse every XOAUTH2 token */
	int		 quiet;		/* no per-event log lines */
};

/* One accepted connection: a socket, TLS on it or not, a read buffer. */
struct mock_conn {
	int		 fd;
	SSL		*ssl;		/* NULL while plaintext */
	unsigned long	 id;
	char		 rbuf[MOCK_RBUF_SIZE];
	size_t		 rpos;
	size_t		 rlen;
};

/* A growable byte buffer; always NUL-terminated after its len bytes. */
struct mock_dbuf {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

/* The options, set once by main() before any thread starts. */
extern struct mock_opts mock_opts;

/* main.c */
/* Log one line to stderr, prefixed "mock: ", unless --quiet. */
void	mock_log(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Log one line to stderr even with --quiet. */
void	mock_warn(const char *, ...) __attribute__((format(printf, 1, 2)));

/* mock_io.c */
/* Wrap an accepted socket; NULL on error (the socket is then closed). */
struct mock_conn *mock_conn_new(int, unsigned long);
/* Shut TLS down if up, close the socket, free. NULL does nothing. */
void	mock_conn_free(struct mock_conn *);
/* Start server-side TLS on the connection with ctx. 0 / -1. */
int	mock_conn_starttls(struct mock_conn *, SSL_CTX *);
/* Drop anything buffered but not yet read (STARTTLS injection). */
void	mock_conn_discard(struct mock_conn *);
/* Read up to n bytes, buffered first. n > 0 / 0 on EOF / -1 on error. */
ssize_t	mock_conn_read(struct mock_conn *, void *, size_t);
/*
 * Read one line, up to and including its LF, into line (replacing its
 * contents). At most max bytes are kept; the rest of a longer line is read
 * and dropped and *overflow set. 0 when a whole line was read, -1 on EOF
 * (also mid-line) or error.
 */
int	mock_conn_getline(struct mock_conn *, struct mock_dbuf *, size_t,
	    int *);
/* Write all n bytes. 0 / -1. */
int	mock_conn_write(struct mock_conn *, const void *, size_t);
/* printf to the connection. 0 / -1. */
int	mock_conn_printf(struct mock_conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Make buf empty; it keeps its memory. */
void	mock_dbuf_reset(struct mock_dbuf *);
/* Append n bytes. 0 / -1 on out of memory. */
int	mock_dbuf_add(struct mock_dbuf *, const void *, size_t);
/* Release the memory; the buffer is then empty and reusable. */
void	mock_dbuf_free(struct mock_dbuf *);

/* mock_files.c */
/* Write data to DIR/name atomically (tmp in the same directory + rename). */
int	mock_file_write(const char *, const void *, size_t);
/* Create DIR/messages and write every counter file as 0. 0 / -1. */
int	mock_files_init(void);
/* Counters, each kept in DIR/<name> as a decimal line. */
enum mock_counter {
	MOCK_CNT_TOKEN_REQUESTS,	/* DIR/token-requests */
	MOCK_CNT_SMTP_CONNECTIONS,	/* DIR/smtp-connections */
	MOCK_CNT_AUTH,			/* DIR/auth-count: accepted AUTHs */
	MOCK_CNT_AUTH_FAILURES,		/* DIR/auth-failures */
	MOCK_CNT_MAX
};
/* Add one to a counter and rewrite its file before returning the value. */
unsigned long mock_counter_bump(enum mock_counter);
/* Write the port number to DIR/name atomically. 0 / -1. */
int	mock_port_write(const char *, unsigned int);
/*
 * Store one message as DIR/messages/NNNNNN.eml (data) and then
 * NNNNNN.env (envelope text). Returns the message number, or 0 on error.
 */
unsigned long mock_message_store(const struct mock_dbuf *,
	    const struct mock_dbuf *);

/* mock_b64.c */
/* Encode n bytes as padded base64 into a new NUL-terminated string. */
char	*mock_b64_encode(const void *, size_t);
/*
 * Decode strict base64 (length a multiple of 4, padding only at the end,
 * zero pad bits, no white space) into a new buffer, NUL-terminated after
 * *outlen bytes. NULL on bad input.
 */
unsigned char *mock_b64_decode(const char *, size_t, size_t *);

/* mock_token.c */
/* Issue a new access token into out (MOCK_TOKEN_MAX). 0 / -1. */
int	mock_token_issue(char *, size_t, long);
/* Whether token was issued here and has not expired. */
int	mock_token_valid(const char *);
/* Monotonic clock in milliseconds. */
int64_t	mock_now_ms(void);

/* mock_http.c */
/* Serve one HTTPS connection to the token endpoint, then free it. */
void	mock_http_serve(struct mock_conn *, SSL_CTX *);

/* mock_smtp.c */
/* Serve one SMTP session, then free the connection. */
void	mock_smtp_serve(struct mock_conn *, SSL_CTX *);

#endif
