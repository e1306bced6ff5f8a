/*
 * mock: the shared declarations of the mock provider, a test tool that
 * plays Gmail / Microsoft 365 for authrelay's tests: an HTTPS OAuth2
 * endpoint (token, authorize, device code) and an SMTP server that accepts
 * XOAUTH2 with the tokens it issued. One thread per connection, blocking
 * I/O. Everything it records goes into files under the --dir directory,
 * written atomically (tmp + rename); DIR/control injects failures at run
 * time (mock_control.c).
 */
#ifndef MOCK_H
#define MOCK_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <jansson.h>

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
#define MOCK_TOKEN_MAX		128		/* an issued token or code */
#define MOCK_URL_MAX		512		/* a URL the mock builds */

enum mock_smtp_mode {
	MOCK_SMTP_TLS,			/* implicit TLS from the first byte */
	MOCK_SMTP_STARTTLS		/* plaintext, upgrade with STARTTLS */
};

/* Whose behaviour the mock copies where Google and Microsoft differ. */
enum mock_style {
	MOCK_STYLE_GOOGLE,		/* fixed refresh token, 334 challenge */
	MOCK_STYLE_MICROSOFT		/* rotating refresh tokens, 535 */
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
	enum mock_style	 style;
	int		 revoke_old;	/* microsoft: a redeemed RT dies */
	long		 device_interval;	/* s between device polls */
	long		 device_pending;	/* pending answers first */
	int		 device_slow_down;	/* then one slow_down */
	const char	*client_cert;	/* PEM cert for client assertions */
	const char	*sa_public_key;	/* PEM public key of the service acct */
	const char	*sa_email;	/* the service account's iss */
	/* Set by main() once listening, before any connection thread. */
	char		 http_host[64];	/* the HTTPS listener's address */
	unsigned int	 http_port;
};

/* One accepted connection: a socket, TLS on it or not, a read buffer. */
struct mock_conn {
	int		 fd;
	SSL		*ssl;		/* NULL while plaintext */
	unsigned long	 id;
	int		 abort;		/* free: no close_notify, just close */
	unsigned long	 nreads;	/* reads that returned data */
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

/* One parsed HTTP request (mock_http.c). */
struct mock_http_req {
	char		 method[16];
	char		 path[256];	/* as sent, without the query */
	const char	*route;		/* the table path it maps to */
	const char	*query;		/* into head, after '?'; "" if none */
	const char	*content_type;	/* into head, or NULL */
	long		 content_length;	/* -1: none */
	int		 expect_continue;
	int		 chunked;
	struct mock_dbuf head;		/* request line and headers, NULs */
	struct mock_dbuf body;
};

#define MOCK_HTTP_BODY_MAX	4096	/* one response body */
#define MOCK_HTTP_HEADERS_MAX	4096	/* a response's extra header lines */
#define MOCK_FORM_MAX		32	/* parameters in one form or query */

/* The response a route builds; status 0 or drop set: send nothing. */
struct mock_http_resp {
	int		 status;
	int		 drop;		/* close the connection, no response */
	char		 headers[MOCK_HTTP_HEADERS_MAX];	/* "N: v\r\n" */
	char		 body[MOCK_HTTP_BODY_MAX];	/* JSON */
};

/* A decoded application/x-www-form-urlencoded body or query string. */
struct mock_form {
	size_t		 n;
	char		*name[MOCK_FORM_MAX];
	char		*value[MOCK_FORM_MAX];
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
/*
 * Shut TLS down if up (not if c->abort: then the peer sees the connection
 * cut), close the socket, free. NULL does nothing.
 */
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
/*
 * Create DIR/messages and write every counter file, and
 * DIR/smtp-max-concurrent, as 0. 0 / -1.
 */
int	mock_files_init(void);
/* Counters, each kept in DIR/<name> as a decimal line. */
enum mock_counter {
	MOCK_CNT_TOKEN_REQUESTS,	/* DIR/token-requests */
	MOCK_CNT_SMTP_CONNECTIONS,	/* DIR/smtp-connections */
	MOCK_CNT_AUTH,			/* DIR/auth-count: accepted AUTHs */
	MOCK_CNT_AUTH_FAILURES,		/* DIR/auth-failures */
	MOCK_CNT_DEVICE_POLLS,		/* DIR/device-polls: device_code
					   grant requests */
	MOCK_CNT_MAIL,			/* DIR/mail-commands: MAIL commands
					   received, accepted or not */
	MOCK_CNT_MAX
};
/* Add one to a counter and rewrite its file before returning the value. */
unsigned long mock_counter_bump(enum mock_counter);
/*
 * An SMTP connection opens / closes: keeps the number open and rewrites
 * DIR/smtp-max-concurrent whenever the maximum grows.
 */
void	mock_concurrency_enter(void);
void	mock_concurrency_leave(void);
/* Write a string and a newline to DIR/name atomically. 0 / -1. */
int	mock_file_write_line(const char *, const char *);
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
/* Encode n bytes as unpadded base64url (RFC 4648 5) into a new string. */
char	*mock_b64url_encode(const void *, size_t);
/*
 * Decode unpadded base64url (no '=', '+', '/' or white space, canonical
 * pad bits) like mock_b64_decode. NULL on bad input.
 */
unsigned char *mock_b64url_decode(const char *, size_t, size_t *);

/* mock_token.c */
/* Issue a new access token into out (MOCK_TOKEN_MAX). 0 / -1. */
int	mock_token_issue(char *, size_t, long);
/* Whether token was issued here and has not expired. */
int	mock_token_valid(const char *);
/*
 * Refresh tokens. The valid set starts as {--refresh-token} and is kept in
 * DIR/refresh-tokens, one a line, oldest first, newest last.
 */
/* Write DIR/refresh-tokens for the first time. 0 / -1. */
int	mock_rt_init(void);
/* Whether rt is a valid refresh token. */
int	mock_rt_valid(const char *);
/*
 * The refresh token to hand out with a new grant, into out
 * (MOCK_TOKEN_MAX): google style the configured one, microsoft style a new
 * one added to the set. If used is not NULL it is the token the client
 * redeemed, removed from the set when --revoke-old. 0 / -1.
 */
int	mock_rt_grant(char *, size_t, const char *);
/* A new random token "<prefix><n>-<32 hex>" into out; 0 / -1. */
int	mock_random_token(char *, size_t, const char *, unsigned long);
/* Monotonic clock in milliseconds. */
int64_t	mock_now_ms(void);

/* mock_http.c */
/* Serve one HTTPS connection to the OAuth endpoints, then free it. */
void	mock_http_serve(struct mock_conn *, SSL_CTX *);
/*
 * Parse an application/x-www-form-urlencoded string. A parameter given
 * twice is an error (RFC 6749 3.1). 0 / -1 (f is then empty).
 */
int	mock_form_parse(struct mock_form *, const char *, size_t);
/* The value of a form parameter, or NULL. */
const char *mock_form_get(const struct mock_form *, const char *);
/* Free the names and values; f is then empty. */
void	mock_form_free(struct mock_form *);
/* Percent-encode s (all but RFC 3986 unreserved) into a new string. */
char	*mock_url_encode(const char *);
/* Set a JSON error response {"error":E,"error_description":D}. */
void	mock_resp_error(struct mock_http_resp *, int, const char *,
	    const char *);
/*
 * Set an OAuth error response in the current --style's shape: microsoft
 * adds "error_codes":[code] and prefixes the description with
 * "AADSTS<code>: " when code is not 0.
 */
void	mock_resp_oauth_error(struct mock_http_resp *, int, const char *,
	    long, const char *);
/* Set a JSON response; the object's reference is taken. 0 / -1 (too big:
 * a 500 is set instead). */
int	mock_resp_json(struct mock_http_resp *, int, json_t *);
/* Add "Name: value\r\n" to the response headers. 0 / -1 (no room). */
int	mock_resp_header(struct mock_http_resp *, const char *, const char *);
/*
 * Whether url names this endpoint's path as the client may know it:
 * https://HOST:PORT + path with HOST the listen address, 127.0.0.1 or
 * localhost.
 */
int	mock_http_self_url(const char *, const char *);

/* mock_oauth.c: the endpoints, as routes of mock_http.c's table. */
typedef void	mock_route_fn(struct mock_conn *, struct mock_http_req *,
		    struct mock_http_resp *);
/* POST /token: every grant type, after DIR/control's injections. */
mock_route_fn	mock_oauth_token;
/* GET /authorize: 302 back to the loopback redirect_uri with a code. */
mock_route_fn	mock_oauth_authorize;
/* POST /devicecode: a device code and user code. */
mock_route_fn	mock_oauth_devicecode;
/* GET /device: the verification page (approval is automatic). */
mock_route_fn	mock_oauth_device;

/* mock_jwt.c */
/* Load --client-cert and --sa-public-key if given. 0 / -1 (logged). */
int	mock_jwt_keys_load(void);
/*
 * Verify a client assertion (RFC 7523, Microsoft's certificate
 * credential): RS256 signed by --client-cert's key, header x5t or
 * x5t#S256 = the certificate's thumbprint, iss = sub = client_id,
 * aud = this token endpoint (path), exp in the future, nbf not in the
 * future, jti present. 0, or -1 with *why a short reason.
 */
int	mock_jwt_client_assertion(const char *, const char *, const char *,
	    const char **);
/*
 * Verify a Google service account assertion: RS256 signed by
 * --sa-public-key, iss = --sa-email, sub and scope present, aud = this
 * token endpoint (path), iat not in the future, exp after now and at most
 * an hour after iat. On success *sub and *scope are new strings. 0, or -1
 * with *why a short reason.
 */
int	mock_jwt_sa_assertion(const char *, const char *, char **, char **,
	    const char **);

/* mock_control.c: DIR/control, run-time failure injection. */
enum mock_fail {
	MOCK_FAIL_NONE,
	MOCK_FAIL_500,
	MOCK_FAIL_429,
	MOCK_FAIL_INVALID_GRANT,
	MOCK_FAIL_INVALID_CLIENT,
	MOCK_FAIL_DROP
};
/* What DIR/control says the current token request gets. */
struct mock_token_ctl {
	enum mock_fail	 fail;
	long		 retry_after;	/* seconds, MOCK_FAIL_429 */
	long		 delay_ms;	/* sleep before answering */
};
/* One-shot SMTP injections. */
enum mock_smtp_ctl {
	MOCK_CTL_SMTP_REJECT,		/* "smtp-reject N" */
	MOCK_CTL_SMTP_421,		/* "smtp-421 N" */
	MOCK_CTL_SMTP_432,		/* "smtp-432 N" */
	MOCK_CTL_SMTP_DROP_DATA		/* "smtp-drop-data N" */
};
/*
 * Take the injections for one token request from DIR/control: the first
 * "delay" line and the first "fail" line with a count left, each counted
 * down and the file rewritten. *ctl is all zero when there is nothing.
 */
void	mock_control_token(struct mock_token_ctl *);
/* Take one unit of an SMTP injection: 1 if one was there, else 0. */
int	mock_control_smtp(enum mock_smtp_ctl);

/* mock_smtp.c */
/* Serve one SMTP session, then free the connection. */
void	mock_smtp_serve(struct mock_conn *, SSL_CTX *);

#endif
