/*
 * config: reads the INI file into a fresh struct config, validates all of
 * it, and reports every problem with its line number and key.
 *
 * Debian's inih gives the handler no line numbers, keeps only 49 bytes of a
 * section name and joins an indented line to the previous value. So inih
 * only splits "key = value" lines here; the reader in front of it counts
 * lines, rejects overlong lines and NUL bytes, strips indentation (no line
 * ever continues another), and reads section headers itself.
 *
 * Accounts and users keep file order; config_user and config_account scan
 * linearly (a login costs a crypt(3) anyway, and a hand-built config in a
 * test needs no hidden sort order). Validation sorts a temporary index to
 * find duplicate sections and resolve users in O(n log n).
 *
 * Providers: the presets below come first; a [provider NAME] section with a
 * preset's name changes only the keys it gives. Provider URLs may hold
 * "{tenant}"; once the whole file is read, each account gets its own copy
 * of the URLs and scope with its tenant filled in, so nothing after
 * config_load needs to know about tenants.
 *
 * Listeners: a "listen =" line of [server] and a [listener NAME] section
 * both become a struct cfg_listen in file order; the keys that go with a
 * mode are checked when its section ends, duplicate addresses once the
 * whole file is read. Users: auth = none users are collected into
 * cf->noauth, and no two of them may have overlapping networks, so a
 * client address maps to at most one.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <grp.h>
#include <pwd.h>

#include <ini.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io/errf.h"
#include "io/log.h"
#include "oauth/oauth.h"
#include "proxy/config.h"

#define CONFIG_LINE_MAX		198	/* inih's 200-byte line less "\n", NUL */
#define CONFIG_NAME_MAX		64	/* provider and account names */
#define CONFIG_HOST_MAX		253	/* a host name */
#define CONFIG_HOST_LABEL_MAX	63	/* one label of a host name */
#define CONFIG_EMAIL_MAX	254
#define CONFIG_PORT_MAX		65535
#define CONFIG_MAX_LISTENS	64	/* listen lines and [listener]s */
#define CONFIG_MAX_SEND_AS	1024	/* send_as addresses of an account */
#define CONFIG_MAX_PROVIDERS	64	/* presets included */
#define CONFIG_MAX_ACCOUNTS	100000
#define CONFIG_MAX_USERS	100000
#define CONFIG_MAX_ERRORS	100	/* shown; the rest are only counted */
#define CONFIG_ERROR_MAX	512	/* one error line */
#define CONFIG_ARRAY_MIN	4	/* first allocation of a growing array */

/* Ranges of the integer keys. */
#define CONNECTIONS_MIN		1
#define CONNECTIONS_MAX		1000000
#define MESSAGE_SIZE_MIN	1024
#define MESSAGE_SIZE_MAX	2147483648LL	/* 2^31 */
#define TIMEOUT_MIN		1
#define TIMEOUT_MAX		86400
#define AUTH_THREADS_MIN	1
#define AUTH_THREADS_MAX	64
#define REFRESH_MARGIN_MIN	60
#define REFRESH_MARGIN_MAX	3000
#define TOKEN_WAIT_MIN		1
#define TOKEN_WAIT_MAX		600
#define IDLE_TIMEOUT_MIN	0	/* 0: no connection reuse */
#define PENALTY_MAX_MIN		0	/* auth_penalty_max; 0: no penalty */
#define PENALTY_MAX_MAX		3600
#define AUTH_FAILURES_MIN	1	/* max_auth_failures */
#define AUTH_FAILURES_MAX	100
#define LIMIT_MIN		0	/* a sending limit; 0: none */
#define LIMIT_MAX		10000000
#define UPSTREAMS_MIN		1	/* max_upstream_connections */
#define UPSTREAMS_MAX		100
/* max_upstream_connections of a custom provider's accounts by default. */
#define UPSTREAMS_DEFAULT	10

/* A tenant id: 8-4-4-4-12 hexadecimal digits. */
#define CONFIG_GUID_LEN		36

_Static_assert(LONG_MAX >= MESSAGE_SIZE_MAX, "long holds max_message_size");

enum sect {
	S_NONE, S_BAD, S_SERVER, S_PROVIDER, S_ACCOUNT, S_USER, S_LISTENER
};

enum ktype {
	T_STR,		/* any non-empty text */
	T_LONG,		/* decimal integer in min..max */
	T_LOGLEVEL,	/* debug|info|warn|error */
	T_HOST,		/* a host name */
	T_LISTEN,	/* "ADDR:PORT MODE", appended to listens[] */
	T_URL,		/* https://... */
	T_SMTP,		/* "HOST:PORT MODE" into the provider */
	T_EMAIL,	/* exactly one '@' */
	T_HASH,		/* a crypt(3) hash */
	T_REF,		/* the name of another section, resolved later */
	T_TENANT,	/* common|organizations|consumers|GUID|domain */
	T_GRANT,	/* refresh_token|client_credentials|service_account */
	T_SCOPE,	/* space-separated scope tokens (RFC 6749 3.3) */
	T_ADDRPORT,	/* "ADDR:PORT", numeric, into the listener */
	T_MODE,		/* starttls|tls|plain */
	T_TLSVER,	/* TLSv1|TLSv1.1|TLSv1.2|TLSv1.3 */
	T_CIPHERS,	/* an OpenSSL cipher list */
	T_NETS,		/* CIDR list, appended to a struct cidr_list */
	T_BOOL,		/* yes|no */
	T_EMAILS,	/* e-mail addresses, appended to send_as */
	T_USERAUTH,	/* password|none */
	T_POLICY,	/* pass|reject|rewrite */
	T_SYSUSER,	/* a user name of this system */
	T_SYSGROUP,	/* a group name of this system */
	T_PATH,		/* an absolute path */
	T_METRICS	/* "ADDR:PORT" of the metrics server */
};

#define K_REQ		0x01	/* required (a preset provider has them) */
#define K_REPEAT	0x02	/* may be given more than once */
#define K_SECRET	0x04	/* never shown; no inline comment allowed */
#define K_RESTART	0x08	/* a change needs a restart, not a reload */

/* One bit per key of the table. */
#define KEYSET_BITS	128
struct keyset {
	uint64_t	 w[KEYSET_BITS / 64];
};

struct key {
	enum sect	 sect;
	const char	*name;
	enum ktype	 type;
	size_t		 off;		/* field in the section's struct */
	long long	 min, max;	/* T_LONG */
	const char	*def;		/* default, parsed like a value */
	int		 flags;
};

#define SRV(f)	offsetof(struct config, f)
#define PRV(f)	offsetof(struct cfg_provider, f)
#define ACC(f)	offsetof(struct cfg_account, f)
#define USR(f)	offsetof(struct cfg_user, f)
#define LST(f)	offsetof(struct cfg_listen, f)

/* The four sending-limit keys of section S, fields through macro F. */
#define LIMIT_KEYS(S, F) \
	{ S, "max_messages_per_minute", T_LONG, F(limits.msgs_minute), \
	    LIMIT_MIN, LIMIT_MAX, NULL, 0 }, \
	{ S, "max_messages_per_day", T_LONG, F(limits.msgs_day), \
	    LIMIT_MIN, LIMIT_MAX, NULL, 0 }, \
	{ S, "max_recipients_per_day", T_LONG, F(limits.rcpts_day), \
	    LIMIT_MIN, LIMIT_MAX, NULL, 0 }, \
	{ S, "max_recipients_per_message", T_LONG, F(limits.rcpts_msg), \
	    LIMIT_MIN, LIMIT_MAX, NULL, 0 }

static const struct key keys[] = {
	{ S_SERVER, "hostname", T_HOST, SRV(hostname), 0, 0, NULL, 0 },
	{ S_SERVER, "listen", T_LISTEN, 0, 0, 0, NULL, K_REPEAT },
	{ S_SERVER, "tls_cert", T_STR, SRV(tls_cert), 0, 0, NULL, 0 },
	{ S_SERVER, "tls_key", T_STR, SRV(tls_key), 0, 0, NULL, 0 },
	{ S_SERVER, "state_dir", T_STR, SRV(state_dir), 0, 0,
	    "/var/lib/authrelay", K_RESTART },
	{ S_SERVER, "max_connections", T_LONG, SRV(max_connections),
	    CONNECTIONS_MIN, CONNECTIONS_MAX, "10000", 0 },
	{ S_SERVER, "max_message_size", T_LONG, SRV(max_message_size),
	    MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX, "35882577", 0 },
	{ S_SERVER, "command_timeout", T_LONG, SRV(command_timeout),
	    TIMEOUT_MIN, TIMEOUT_MAX, "300", 0 },
	{ S_SERVER, "data_timeout", T_LONG, SRV(data_timeout),
	    TIMEOUT_MIN, TIMEOUT_MAX, "180", 0 },
	{ S_SERVER, "upstream_timeout", T_LONG, SRV(upstream_timeout),
	    TIMEOUT_MIN, TIMEOUT_MAX, "300", 0 },
	{ S_SERVER, "upstream_queue_timeout", T_LONG,
	    SRV(upstream_queue_timeout), TIMEOUT_MIN, TIMEOUT_MAX, "60", 0 },
	{ S_SERVER, "upstream_idle_timeout", T_LONG,
	    SRV(upstream_idle_timeout), IDLE_TIMEOUT_MIN, TIMEOUT_MAX, "60",
	    0 },
	{ S_SERVER, "auth_threads", T_LONG, SRV(auth_threads),
	    AUTH_THREADS_MIN, AUTH_THREADS_MAX, "2", K_RESTART },
	{ S_SERVER, "log_level", T_LOGLEVEL, SRV(log_level), 0, 0, "info", 0 },
	{ S_SERVER, "token_key_file", T_STR, SRV(token_key_file), 0, 0, NULL,
	    K_RESTART },
	{ S_SERVER, "refresh_margin", T_LONG, SRV(refresh_margin),
	    REFRESH_MARGIN_MIN, REFRESH_MARGIN_MAX, "300", K_RESTART },
	{ S_SERVER, "token_wait_timeout", T_LONG, SRV(token_wait_timeout),
	    TOKEN_WAIT_MIN, TOKEN_WAIT_MAX, "30", K_RESTART },
	{ S_SERVER, "auth_penalty_max", T_LONG, SRV(auth_penalty_max),
	    PENALTY_MAX_MIN, PENALTY_MAX_MAX, "15", 0 },
	{ S_SERVER, "max_auth_failures", T_LONG, SRV(max_auth_failures),
	    AUTH_FAILURES_MIN, AUTH_FAILURES_MAX, "3", 0 },
	{ S_SERVER, "max_connections_per_ip", T_LONG,
	    SRV(max_connections_per_ip), CONNECTIONS_MIN, CONNECTIONS_MAX,
	    "50", 0 },
	{ S_SERVER, "tls_handshake_timeout", T_LONG,
	    SRV(tls_handshake_timeout), TIMEOUT_MIN, TIMEOUT_MAX, "30", 0 },
	{ S_SERVER, "auth_timeout", T_LONG, SRV(auth_timeout), TIMEOUT_MIN,
	    TIMEOUT_MAX, "30", 0 },
	{ S_SERVER, "upstream_hold_timeout", T_LONG,
	    SRV(upstream_hold_timeout), IDLE_TIMEOUT_MIN, TIMEOUT_MAX, "10",
	    0 },
	{ S_SERVER, "metrics", T_METRICS, 0, 0, 0, NULL, K_RESTART },
	{ S_SERVER, "metrics_networks", T_NETS, SRV(metrics_networks), 0, 0,
	    NULL, K_REPEAT },
	{ S_SERVER, "metrics_per_user", T_BOOL, SRV(metrics_per_user), 0, 0,
	    "yes", 0 },
	{ S_SERVER, "user", T_SYSUSER, SRV(user), 0, 0, NULL, K_RESTART },
	{ S_SERVER, "group", T_SYSGROUP, SRV(group), 0, 0, NULL, K_RESTART },
	{ S_SERVER, "control_socket", T_PATH, SRV(control_socket), 0, 0,
	    CONFIG_CONTROL_DEFAULT, K_RESTART },
	{ S_PROVIDER, "auth_url", T_URL, PRV(auth_url), 0, 0, NULL, 0 },
	{ S_PROVIDER, "token_url", T_URL, PRV(token_url), 0, 0, NULL, K_REQ },
	{ S_PROVIDER, "device_url", T_URL, PRV(device_url), 0, 0, NULL, 0 },
	{ S_PROVIDER, "scope", T_SCOPE, PRV(scope), 0, 0, NULL, 0 },
	{ S_PROVIDER, "app_scope", T_SCOPE, PRV(app_scope), 0, 0, NULL, 0 },
	{ S_PROVIDER, "smtp", T_SMTP, 0, 0, 0, NULL, K_REQ },
	{ S_PROVIDER, "ca_file", T_STR, PRV(ca_file), 0, 0, NULL, 0 },
	{ S_PROVIDER, "max_upstream_connections", T_LONG,
	    PRV(max_upstream_connections), UPSTREAMS_MIN, UPSTREAMS_MAX, NULL,
	    0 },
	LIMIT_KEYS(S_PROVIDER, PRV),
	{ S_ACCOUNT, "provider", T_REF, ACC(provider_name), 0, 0, NULL, K_REQ },
	{ S_ACCOUNT, "email", T_EMAIL, ACC(email), 0, 0, NULL, K_REQ },
	/* Required unless grant = service_account: see account_end. */
	{ S_ACCOUNT, "client_id", T_STR, ACC(client_id), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "client_secret", T_STR, ACC(client_secret), 0, 0, NULL,
	    K_SECRET },
	{ S_ACCOUNT, "grant", T_GRANT, ACC(grant), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "tenant", T_TENANT, ACC(tenant), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "scope", T_SCOPE, ACC(scope), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "client_certificate", T_STR, ACC(client_certificate),
	    0, 0, NULL, 0 },
	{ S_ACCOUNT, "client_key", T_STR, ACC(client_key), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "service_account_file", T_STR,
	    ACC(service_account_file), 0, 0, NULL, 0 },
	{ S_ACCOUNT, "send_as", T_EMAILS, 0, 0, 0, NULL, K_REPEAT },
	{ S_ACCOUNT, "max_upstream_connections", T_LONG,
	    ACC(max_upstream_connections), UPSTREAMS_MIN, UPSTREAMS_MAX, NULL,
	    0 },
	LIMIT_KEYS(S_ACCOUNT, ACC),
	/* Required unless auth = none: see user_end. */
	{ S_USER, "password_hash", T_HASH, USR(password_hash), 0, 0, NULL,
	    K_SECRET },
	{ S_USER, "account", T_REF, USR(account_name), 0, 0, NULL, K_REQ },
	{ S_USER, "auth", T_USERAUTH, USR(auth_none), 0, 0, NULL, 0 },
	{ S_USER, "networks", T_NETS, USR(networks), 0, 0, NULL, K_REPEAT },
	{ S_USER, "sender_policy", T_POLICY, USR(sender_policy), 0, 0, NULL,
	    0 },
	{ S_USER, "rewrite_from_header", T_BOOL, USR(rewrite_from_header),
	    0, 0, NULL, 0 },
	LIMIT_KEYS(S_USER, USR),
	/* Only [server] keys have defaults in this table; a [listener]
	   starts with its own in section_listener. */
	{ S_LISTENER, "address", T_ADDRPORT, 0, 0, 0, NULL, K_REQ },
	{ S_LISTENER, "mode", T_MODE, LST(mode), 0, 0, NULL, K_REQ },
	{ S_LISTENER, "tls_min_version", T_TLSVER, LST(tls_min_version),
	    0, 0, NULL, 0 },
	{ S_LISTENER, "ciphers", T_CIPHERS, LST(ciphers), 0, 0, NULL, 0 },
	{ S_LISTENER, "networks", T_NETS, LST(networks), 0, 0, NULL,
	    K_REPEAT },
	{ S_LISTENER, "allow_plaintext_auth", T_BOOL,
	    LST(allow_plaintext_auth), 0, 0, NULL, 0 },
	{ S_LISTENER, "proxy_protocol", T_BOOL, LST(proxy_protocol), 0, 0,
	    NULL, 0 },
	{ S_LISTENER, "proxy_networks", T_NETS, LST(proxy_networks), 0, 0,
	    NULL, K_REPEAT },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= KEYSET_BITS, "one bit per key in a keyset");
_Static_assert(NKEYS <= CONFIG_KEYS_MAX, "a line per key in struct config");
#define KEY_ISSET(set, i)	(((set).w[(i) / 64] >> ((i) % 64)) & 1)
#define KEY_SET(set, i)		((set).w[(i) / 64] |= (uint64_t)1 << ((i) % 64))

/* Microsoft identity platform v2.0 endpoint ep at login host h. */
#define MS_URL(h, tenant, ep)	"https://" h "/" tenant "/oauth2/v2.0/" ep
#define MS_URLS(h, tenant)	MS_URL(h, tenant, "authorize"), \
				MS_URL(h, tenant, "token"), \
				MS_URL(h, tenant, "devicecode")

/*
 * Sending limits the providers publish: Exchange Online's per mailbox (30
 * messages a minute, 10,000 recipients a day, 500 a message: "Exchange
 * Online limits", Microsoft Learn), Google Workspace's per user (2,000
 * messages and 10,000 recipients a day, 100 recipients a message over
 * SMTP: "Gmail sending limits in Google Workspace").
 */
#define LIMITS_EXCHANGE	{ 30, 0, 10000, 500 }
#define LIMITS_GOOGLE	{ 0, 2000, 10000, 100 }

/*
 * The built-in providers (PROTOCOL.md). The national clouds' SMTP hosts
 * come from their users' reports, not from Microsoft's documentation.
 */
static const struct preset {
	const char	*name;
	const char	*auth_url;
	const char	*token_url;
	const char	*device_url;
	const char	*scope;
	const char	*app_scope;
	const char	*host;
	const char	*port;
	int		 tls;
	int		 offline_params;
	long		 max_upstreams;	/* max_upstream_connections */
	struct cfg_limits limits;	/* the provider's published sending
					   limits (see the example config) */
} presets[] = {
	{ "google", "https://accounts.google.com/o/oauth2/auth",
	    "https://oauth2.googleapis.com/token", NULL,
	    "https://mail.google.com/", NULL, "smtp.gmail.com", "465", 1, 1,
	    10, LIMITS_GOOGLE },
	{ "microsoft", MS_URLS("login.microsoftonline.com", "{tenant}"),
	    "https://outlook.office.com/SMTP.Send offline_access",
	    "https://outlook.office365.com/.default",
	    "smtp.office365.com", "587", 0, 0, 3, LIMITS_EXCHANGE },
	/* Personal Outlook.com accounts: the tenant is always consumers. */
	{ "outlook", MS_URLS("login.microsoftonline.com", "consumers"),
	    "https://outlook.office.com/SMTP.Send offline_access",
	    "https://outlook.office365.com/.default",
	    "smtp-mail.outlook.com", "587", 0, 0, 3, LIMITS_EXCHANGE },
	/* US Government (GCC High, DoD). */
	{ "microsoft-us", MS_URLS("login.microsoftonline.us", "{tenant}"),
	    "https://outlook.office365.us/SMTP.Send offline_access",
	    "https://outlook.office365.us/.default",
	    "smtp.office365.us", "587", 0, 0, 3, LIMITS_EXCHANGE },
	/* China (operated by 21Vianet). */
	{ "microsoft-china",
	    MS_URLS("login.partner.microsoftonline.cn", "{tenant}"),
	    "https://partner.outlook.cn/SMTP.Send offline_access",
	    "https://partner.outlook.cn/.default",
	    "smtp.partner.outlook.cn", "587", 0, 0, 3, LIMITS_EXCHANGE },
};
#define NPRESETS	(sizeof(presets) / sizeof(presets[0]))
_Static_assert(NPRESETS <= CONFIG_MAX_PROVIDERS, "presets fit");

/* A custom provider whose auth_url starts so is treated like google. */
#define GOOGLE_AUTH_PREFIX	"https://accounts.google.com/"

static const struct {
	const char		*name;
	enum oauth_grant	 grant;
} grants[] = {
	{ "refresh_token", OAUTH_GRANT_REFRESH_TOKEN },
	{ "client_credentials", OAUTH_GRANT_CLIENT_CREDENTIALS },
	{ "service_account", OAUTH_GRANT_SERVICE_ACCOUNT },
};

static const struct {
	const char	*name;
	int		 level;
} log_levels[] = {
	{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN },
	{ "error", LOG_ERR },
};

/* The values of the enumerated key types. */
struct word {
	const char	*name;
	int		 value;
};

static const struct word modes[] = {
	{ "starttls", LISTEN_STARTTLS }, { "tls", LISTEN_TLS },
	{ "plain", LISTEN_PLAIN },
};
static const struct word tls_versions[] = {
	{ "TLSv1", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
};
static const struct word bools[] = { { "yes", 1 }, { "no", 0 } };
static const struct word user_auths[] = { { "password", 0 }, { "none", 1 } };
static const struct word policies[] = {
	{ "pass", SENDER_PASS }, { "reject", SENDER_REJECT },
	{ "rewrite", SENDER_REWRITE },
};
#define NWORDS(t)	(sizeof(t) / sizeof((t)[0]))

struct cfg_error {
	int		 line;
	size_t		 seq;		/* keeps equal lines in found order */
	char		*text;
};

/* A name to resolve once the whole file is read. */
struct ref {
	enum sect	 sect;		/* S_ACCOUNT: provider; S_USER: account */
	size_t		 idx;
	int		 line;
};

/* A section name and where it is, for sorting. */
struct named {
	const char	*name;
	int		 line;
	size_t		 idx;
};

struct parse {
	const char	*path;
	FILE		*f;
	struct config	*cf;
	int		 lineno;
	int		 read_errno;
	int		 comment;	/* this key line has an inline comment */
	/* The section being read. */
	enum sect	 sect;
	size_t		 idx;		/* into providers/accounts/users */
	int		 preset;	/* a built-in provider being overridden */
	int		 sect_line;
	char		 label[CONFIG_LINE_MAX + 1];	/* "account foo" */
	struct keyset	 seen;		/* bit i: keys[i] given in this section */
	struct keyset	 bad;		/* bit i: ... and its value refused */
	int		 seen_line[NKEYS];
	int		 server_line;
	struct keyset	 server_seen;
	size_t		 listens_cap, providers_cap, accounts_cap, users_cap;
	size_t		 nlistener_sects;	/* [listener] headers seen */
	struct ref	*refs;
	size_t		 nrefs, refs_cap;
	struct cfg_error *errs;
	size_t		 nerrs, errs_cap, dropped;
	int		 oom;
};

static void
perr(struct parse *, int, const char *, const char *, const char *, ...)
	__attribute__((format(printf, 5, 6)));

/* Make room for element n of an array of cap; NULL if out of memory. */
static void *
grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return arr;
	ncap = *cap == 0 ? CONFIG_ARRAY_MIN : *cap * 2;
	if ((na = reallocarray(arr, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return na;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/*
 * Record "PATH:LINE: [label] key: message". The message is built by the
 * callers from names and fixed text, never from a secret value; control
 * bytes from the file are shown as '?'.
 */
static void
perr(struct parse *p, int line, const char *label, const char *key,
    const char *fmt, ...)
{
	char buf[CONFIG_ERROR_MAX];
	struct cfg_error *ne;
	va_list ap;
	size_t off, i;
	int n;

	if (p->nerrs >= CONFIG_MAX_ERRORS) {
		p->dropped++;
		return;
	}
	n = snprintf(buf, sizeof(buf), "%s:%d: %s%s%s%s%s%s", p->path, line,
	    label != NULL ? "[" : "", label != NULL ? label : "",
	    label != NULL ? "]" : "", label != NULL && key != NULL ? " " : "",
	    key != NULL ? key : "", label != NULL || key != NULL ? ": " : "");
	off = n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 :
	    (size_t)n;
	va_start(ap, fmt);
	vsnprintf(buf + off, sizeof(buf) - off, fmt, ap);
	va_end(ap);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';

	if ((ne = grow(p->errs, &p->errs_cap, p->nerrs, sizeof(*ne))) == NULL)
		goto fail;
	p->errs = ne;
	if ((ne[p->nerrs].text = strdup(buf)) == NULL)
		goto fail;
	ne[p->nerrs].line = line;
	ne[p->nerrs].seq = p->nerrs;
	p->nerrs++;
	return;

fail:
	p->oom = 1;
}

/* The label of the section being read, if it is a valid one. */
static const char *
cur_label(const struct parse *p)
{
	return p->sect >= S_SERVER ? p->label : NULL;
}

/* Where a key of the current section is stored. */
static void *
sect_obj(struct parse *p)
{
	switch (p->sect) {
	case S_SERVER:
		return p->cf;
	case S_PROVIDER:
		return &p->cf->providers[p->idx];
	case S_ACCOUNT:
		return &p->cf->accounts[p->idx];
	case S_USER:
		return &p->cf->users[p->idx];
	case S_LISTENER:
		return &p->cf->listens[p->idx];
	default:
		return NULL;
	}
}

static size_t
key_index(enum sect sect, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == sect && strcmp(keys[i].name, name) == 0)
			break;
	return i;
}

/* inih's rule: stop at one of chars, or at ';' after white space. */
static char *
find_sep(char *s, const char *chars)
{
	int was_space = 0;

	while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL) &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
has_space(const char *s)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s))
			return 1;
	return 0;
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Strict decimal: digits with an optional '-', nothing else. */
static int
parse_num(const char *s, long long *out)
{
	char *end;
	long long n;

	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '-' && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE)
		n = s[0] == '-' ? LLONG_MIN : LLONG_MAX;
	*out = n;
	return 0;
}

static int
parse_port(const char *s, long long *out)
{
	if (parse_num(s, out) == -1 || *out < 1 || *out > CONFIG_PORT_MAX)
		return -1;
	return 0;
}

/* Letters, digits, '-' and '_' in dot-separated labels. */
static int
check_host(const char *s)
{
	size_t len = 0, label = 0;

	for (; *s != '\0'; s++, len++) {
		if (*s == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return -1;
		if (++label > CONFIG_HOST_LABEL_MAX)
			return -1;
	}
	if (len == 0 || len > CONFIG_HOST_MAX || label == 0)
		return -1;
	return 0;
}

static int
check_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (strlen(s) > CONFIG_EMAIL_MAX || has_space(s) || at == NULL ||
	    at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return -1;
	return 0;
}

/* Cheap syntax only: "$id$..." with no white space. */
static int
check_hash(const char *s)
{
	if (s[0] != '$' || s[1] == '\0' || has_space(s))
		return -1;
	return 0;
}

/* A file name component: [A-Za-z0-9._-], no leading '.', not too long. */
static int
check_name(const char *s)
{
	size_t n;

	if (s[0] == '\0' || s[0] == '.')
		return -1;
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' &&
		    s[n] != '_' && s[n] != '-')
			return -1;
	return n > CONFIG_NAME_MAX ? -1 : 0;
}

/* A login name: anything but white space and control bytes. */
static int
check_login(const char *s)
{
	if (s[0] == '\0')
		return -1;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return -1;
	return 0;
}

/*
 * https://..., no white space; '{' and '}' only in CONFIG_TENANT_VAR, which
 * may appear anywhere after the scheme.
 */
static int
check_url(const char *s)
{
	size_t skip = strlen(CONFIG_TENANT_VAR);

	if (strncmp(s, "https://", strlen("https://")) != 0)
		return -1;
	s += strlen("https://");
	if (*s == '\0' || *s == '/' || has_space(s))
		return -1;
	for (; *s != '\0'; s++) {
		if (strncmp(s, CONFIG_TENANT_VAR, skip) == 0)
			s += skip - 1;
		else if (*s == '{' || *s == '}')
			return -1;
	}
	return 0;
}

static int
is_guid(const char *s)
{
	size_t i;

	if (strlen(s) != CONFIG_GUID_LEN)
		return 0;
	for (i = 0; i < CONFIG_GUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/*
 * A Microsoft tenant: common, organizations, consumers, a tenant id or a
 * verified domain. It goes into URL paths: nothing else gets through.
 */
static int
check_tenant(const char *s)
{
	if (strcmp(s, "common") == 0 || strcmp(s, "organizations") == 0 ||
	    strcmp(s, "consumers") == 0 || is_guid(s))
		return 0;
	if (check_host(s) == -1 || strchr(s, '.') == NULL ||
	    strchr(s, '_') != NULL)
		return -1;
	return 0;
}

/*
 * Scope tokens (RFC 6749 3.3: %x21 / %x23-5B / %x5D-7E) separated by
 * spaces. Runs of spaces become one, in place.
 */
static int
check_scope(char *s)
{
	char *start = s, *o = s;

	for (; *s != '\0'; s++) {
		if (*s == ' ' && (o == start || o[-1] == ' '))
			continue;
		if (*s != ' ' &&
		    (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\'))
			return -1;
		*o++ = *s;
	}
	if (o > start && o[-1] == ' ')
		o--;
	*o = '\0';
	return o == start ? -1 : 0;
}

/* Split "WORD1 WORD2" in place at white space; exactly two words. */
static int
split2(char *s, char **second)
{
	char *t = s + strcspn(s, " \t");

	if (*t == '\0')
		return -1;
	*t++ = '\0';
	t += strspn(t, " \t");
	if (*t == '\0' || t[strcspn(t, " \t")] != '\0')
		return -1;
	*second = t;
	return 0;
}

/* Split "HOST:PORT" or "[V6]:PORT" in place; *v6 set for brackets. */
static int
split_hostport(char *s, char **host, char **port, int *v6)
{
	char *c;

	if (*s == '[') {
		if ((c = strchr(s, ']')) == NULL || c[1] != ':')
			return -1;
		*c = '\0';
		*host = s + 1;
		*port = c + 2;
		*v6 = 1;
	} else {
		if ((c = strrchr(s, ':')) == NULL)
			return -1;
		*c = '\0';
		*host = s;
		*port = c + 1;
		*v6 = 0;
	}
	return **port == '\0' ? -1 : 0;
}

static void
set_str(struct parse *p, char **field, const char *v, int secret)
{
	char *dup;

	if ((dup = strdup(v)) == NULL) {
		p->oom = 1;
		return;
	}
	if (secret)
		wipe_free(*field);
	else
		free(*field);
	*field = dup;
}

/* The value of word v in table t (n rows), or -1 if it is none of them. */
static int
word_find(const struct word *t, size_t n, const char *v, int *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v, t[i].name) == 0) {
			*out = t[i].value;
			return 0;
		}
	return -1;
}

/*
 * "ADDR:PORT" with a numeric address into l's text, addr and addrlen;
 * want is the expected form, for errors about key k. Returns 0, or -1
 * (reported).
 */
static int
parse_addrport(struct parse *p, const struct key *k, const char *v,
    struct cfg_listen *l, const char *want)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char buf[CONFIG_LINE_MAX + 1], *host, *port, *text;
	const char *label = cur_label(p);
	long long pn;
	int v6;

	snprintf(buf, sizeof(buf), "%s", v);
	if (split_hostport(buf, &host, &port, &v6) == -1) {
		perr(p, p->lineno, label, k->name, "no port (expected \"%s\")",
		    want);
		return -1;
	}
	if (parse_port(port, &pn) == -1) {
		perr(p, p->lineno, label, k->name, "port must be 1..%d",
		    CONFIG_PORT_MAX);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (!v6 && inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)pn);
		memcpy(&l->addr, &sin, sizeof(sin));
		l->addrlen = sizeof(sin);
	} else if (v6 && inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)pn);
		memcpy(&l->addr, &sin6, sizeof(sin6));
		l->addrlen = sizeof(sin6);
	} else {
		perr(p, p->lineno, label, k->name, "the address must be numeric:"
		    " a dotted IPv4 address or a [bracketed] IPv6 address");
		return -1;
	}
	if ((text = strdup(v)) == NULL) {
		l->addrlen = 0;
		p->oom = 1;
		return -1;
	}
	free(l->text);
	l->text = text;
	l->line = p->lineno;
	return 0;
}

/* A listen line of [server]: "ADDR:PORT MODE", a listener with defaults. */
static void
add_listen(struct parse *p, const struct key *k, const char *v)
{
	struct config *cf = p->cf;
	struct cfg_listen l, *nl;
	char buf[CONFIG_LINE_MAX + 1], *mode;
	const char *label = cur_label(p);
	int m;

	memset(&l, 0, sizeof(l));
	l.tls_min_version = TLS1_2_VERSION;
	snprintf(buf, sizeof(buf), "%s", v);
	if (split2(buf, &mode) == -1) {
		perr(p, p->lineno, label, k->name, "expected \"ADDR:PORT "
		    "MODE\" (MODE: starttls, tls or plain)");
		return;
	}
	if (parse_addrport(p, k, buf, &l, "ADDR:PORT MODE") == -1)
		goto fail;
	if (word_find(modes, NWORDS(modes), mode, &m) == -1) {
		perr(p, p->lineno, label, k->name,
		    "mode must be starttls, tls or plain");
		goto fail;
	}
	l.mode = (enum listen_mode)m;
	if (cf->nlistens >= CONFIG_MAX_LISTENS) {
		perr(p, p->lineno, label, k->name, "more than %d listeners",
		    CONFIG_MAX_LISTENS);
		goto fail;
	}
	if ((nl = grow(cf->listens, &p->listens_cap, cf->nlistens,
	    sizeof(*nl))) == NULL) {
		p->oom = 1;
		goto fail;
	}
	cf->listens = nl;
	nl[cf->nlistens++] = l;
	return;

fail:
	free(l.text);
}

/* A CIDR list value appended to the list at field. */
static void
add_networks(struct parse *p, const struct key *k, const char *v,
    struct cidr_list *l)
{
	char err[CONFIG_ERROR_MAX / 2];

	if (cidr_list_add(l, v, err, sizeof(err)) == -1) {
		perr(p, p->lineno, cur_label(p), k->name, "%s", err);
		return;
	}
	if (p->sect == S_USER && p->cf->users[p->idx].networks_line == 0)
		p->cf->users[p->idx].networks_line = p->lineno;
}

/* send_as: e-mail addresses separated by commas and/or white space. */
static void
add_send_as(struct parse *p, const struct key *k, const char *v)
{
	struct cfg_account *a = &p->cf->accounts[p->idx];
	char buf[CONFIG_LINE_MAX + 1], *w, *save = NULL, **nv, *dup;
	size_t added = 0;

	snprintf(buf, sizeof(buf), "%s", v);
	for (w = strtok_r(buf, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save)) {
		if (check_email(w) == -1) {
			perr(p, p->lineno, cur_label(p), k->name, "\"%s\" is "
			    "not an e-mail address (one '@', no white space)",
			    w);
			return;
		}
		if (a->nsend_as >= CONFIG_MAX_SEND_AS) {
			perr(p, p->lineno, cur_label(p), k->name,
			    "more than %d addresses", CONFIG_MAX_SEND_AS);
			return;
		}
		if ((nv = reallocarray(a->send_as, a->nsend_as + 1,
		    sizeof(*nv))) == NULL || (a->send_as = nv,
		    dup = strdup(w)) == NULL) {
			p->oom = 1;
			return;
		}
		a->send_as[a->nsend_as++] = dup;
		added++;
	}
	if (added == 0)
		perr(p, p->lineno, cur_label(p), k->name, "no address given");
}

/*
 * An OpenSSL cipher list: refused here, with its line, if OpenSSL can make
 * nothing of it, rather than when the listener starts.
 */
static int
check_ciphers(const char *v)
{
	SSL_CTX *ctx;
	int ok;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return 0;	/* cannot tell: the listener will */
	ok = SSL_CTX_set_cipher_list(ctx, v);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok == 1 ? 0 : -1;
}

static void
set_smtp(struct parse *p, const struct key *k, const char *v)
{
	struct cfg_provider *pr = sect_obj(p);
	struct in6_addr a6;
	char buf[CONFIG_LINE_MAX + 1], nport[sizeof("65535")];
	char *mode, *host, *port, *h = NULL, *np = NULL;
	const char *label = cur_label(p);
	long long pn;
	int v6, tls;

	snprintf(buf, sizeof(buf), "%s", v);
	if (split2(buf, &mode) == -1) {
		perr(p, p->lineno, label, k->name,
		    "expected \"HOST:PORT MODE\" (MODE: tls or starttls)");
		return;
	}
	if (split_hostport(buf, &host, &port, &v6) == -1) {
		perr(p, p->lineno, label, k->name,
		    "no port (expected \"HOST:PORT MODE\")");
		return;
	}
	if (parse_port(port, &pn) == -1) {
		perr(p, p->lineno, label, k->name, "port must be 1..%d",
		    CONFIG_PORT_MAX);
		return;
	}
	if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 : check_host(host) == -1) {
		perr(p, p->lineno, label, k->name, "the host must be a host "
		    "name, a dotted IPv4 address or a [bracketed] IPv6 address");
		return;
	}
	if (strcmp(mode, "tls") == 0)
		tls = 1;
	else if (strcmp(mode, "starttls") == 0)
		tls = 0;
	else {
		perr(p, p->lineno, label, k->name,
		    "mode must be tls or starttls");
		return;
	}
	snprintf(nport, sizeof(nport), "%lld", pn);
	if ((h = strdup(host)) == NULL || (np = strdup(nport)) == NULL) {
		free(h);
		p->oom = 1;
		return;
	}
	free(pr->smtp_host);
	free(pr->smtp_port);
	pr->smtp_host = h;
	pr->smtp_port = np;
	pr->smtp_tls = tls;
}

/* Check v for key k and store it in the current section. */
static void
set_key(struct parse *p, const struct key *k, const char *v)
{
	char *field = (char *)sect_obj(p) + k->off;
	char scope[CONFIG_LINE_MAX + 1];
	const char *label = cur_label(p);
	struct ref *nr;
	long long n;
	size_t i;
	int w;

	switch (k->type) {
	case T_STR:
		break;
	case T_SYSUSER:
		if (getpwnam(v) == NULL) {
			perr(p, p->lineno, label, k->name, "no such user on "
			    "this system");
			return;
		}
		break;
	case T_SYSGROUP:
		if (getgrnam(v) == NULL) {
			perr(p, p->lineno, label, k->name, "no such group on "
			    "this system");
			return;
		}
		break;
	case T_PATH:
		if (v[0] != '/' || strlen(v) >= CONFIG_PATH_MAX) {
			perr(p, p->lineno, label, k->name, "must be an "
			    "absolute path of at most %d bytes",
			    CONFIG_PATH_MAX - 1);
			return;
		}
		break;
	case T_LONG:
		if (parse_num(v, &n) == -1) {
			perr(p, p->lineno, label, k->name, "not a plain decimal"
			    " integer (allowed: %lld..%lld)", k->min, k->max);
			return;
		}
		if (n < k->min || n > k->max) {
			perr(p, p->lineno, label, k->name,
			    "out of range (allowed: %lld..%lld)", k->min, k->max);
			return;
		}
		*(long *)(void *)field = (long)n;
		return;
	case T_LOGLEVEL:
		for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
			if (strcmp(v, log_levels[i].name) == 0)
				break;
		if (i == sizeof(log_levels) / sizeof(log_levels[0])) {
			perr(p, p->lineno, label, k->name,
			    "must be debug, info, warn or error");
			return;
		}
		*(int *)(void *)field = log_levels[i].level;
		return;
	case T_HOST:
		if (check_host(v) == -1) {
			perr(p, p->lineno, label, k->name,
			    "not a valid host name");
			return;
		}
		break;
	case T_LISTEN:
		add_listen(p, k, v);
		return;
	case T_URL:
		if (check_url(v) == -1) {
			perr(p, p->lineno, label, k->name, "must be an https:// "
			    "URL (braces only in " CONFIG_TENANT_VAR ")");
			return;
		}
		break;
	case T_SMTP:
		set_smtp(p, k, v);
		return;
	case T_EMAIL:
		if (check_email(v) == -1) {
			perr(p, p->lineno, label, k->name, "not an e-mail address"
			    " (one '@', no white space)");
			return;
		}
		break;
	case T_HASH:
		if (check_hash(v) == -1) {
			perr(p, p->lineno, label, k->name, "not a crypt(3) hash"
			    " (starts with '$', no white space)");
			return;
		}
		break;
	case T_REF:
		if ((nr = grow(p->refs, &p->refs_cap, p->nrefs,
		    sizeof(*nr))) == NULL) {
			p->oom = 1;
			return;
		}
		p->refs = nr;
		nr[p->nrefs].sect = p->sect;
		nr[p->nrefs].idx = p->idx;
		nr[p->nrefs].line = p->lineno;
		p->nrefs++;
		break;
	case T_TENANT:
		if (check_tenant(v) == -1) {
			perr(p, p->lineno, label, k->name, "must be common, "
			    "organizations, consumers, a tenant id (GUID) or a "
			    "domain name");
			return;
		}
		if (p->sect == S_ACCOUNT)
			p->cf->accounts[p->idx].tenant_line = p->lineno;
		break;
	case T_GRANT:
		for (i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
			if (strcmp(v, grants[i].name) == 0)
				break;
		if (i == sizeof(grants) / sizeof(grants[0])) {
			perr(p, p->lineno, label, k->name, "must be "
			    "refresh_token, client_credentials or "
			    "service_account");
			return;
		}
		*(enum oauth_grant *)(void *)field = grants[i].grant;
		return;
	case T_ADDRPORT:
		parse_addrport(p, k, v, sect_obj(p), "ADDR:PORT");
		return;
	case T_METRICS:
		parse_addrport(p, k, v, &p->cf->metrics, "ADDR:PORT");
		return;
	case T_MODE:
		if (word_find(modes, NWORDS(modes), v, &w) == -1) {
			perr(p, p->lineno, label, k->name,
			    "must be starttls, tls or plain");
			return;
		}
		*(enum listen_mode *)(void *)field = (enum listen_mode)w;
		return;
	case T_TLSVER:
		if (word_find(tls_versions, NWORDS(tls_versions), v, &w) ==
		    -1) {
			perr(p, p->lineno, label, k->name,
			    "must be TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
			return;
		}
		*(int *)(void *)field = w;
		return;
	case T_CIPHERS:
		if (check_ciphers(v) == -1) {
			perr(p, p->lineno, label, k->name,
			    "OpenSSL finds no usable cipher in this list");
			return;
		}
		break;
	case T_NETS:
		add_networks(p, k, v, (struct cidr_list *)(void *)field);
		return;
	case T_BOOL:
		if (word_find(bools, NWORDS(bools), v, &w) == -1) {
			perr(p, p->lineno, label, k->name, "must be yes or no");
			return;
		}
		*(int *)(void *)field = w;
		return;
	case T_EMAILS:
		add_send_as(p, k, v);
		return;
	case T_USERAUTH:
		if (word_find(user_auths, NWORDS(user_auths), v, &w) == -1) {
			perr(p, p->lineno, label, k->name,
			    "must be password or none");
			return;
		}
		*(int *)(void *)field = w;
		return;
	case T_POLICY:
		if (word_find(policies, NWORDS(policies), v, &w) == -1) {
			perr(p, p->lineno, label, k->name,
			    "must be pass, reject or rewrite");
			return;
		}
		*(enum sender_policy *)(void *)field = (enum sender_policy)w;
		return;
	case T_SCOPE:
		snprintf(scope, sizeof(scope), "%s", v);
		if (check_scope(scope) == -1) {
			perr(p, p->lineno, label, k->name, "must be scope tokens"
			    " (printable ASCII but '\"' and '\\') separated "
			    "by spaces");
			return;
		}
		v = scope;
		break;
	}
	set_str(p, (char **)(void *)field, v, k->flags & K_SECRET);
}

/* Line of key name in the current section; 0 if it was not given. */
static int
key_line(const struct parse *p, const char *name)
{
	size_t i = key_index(p->sect, name);

	return KEY_ISSET(p->seen, i) ? p->seen_line[i] : 0;
}

/* Was key name given in the current section with a value we refused? */
static int
key_bad(const struct parse *p, const char *name)
{
	return KEY_ISSET(p->bad, key_index(p->sect, name)) != 0;
}

/* Report key name, given in the current section, as not allowed here. */
static void
key_unused(struct parse *p, const char *name, const char *why)
{
	int line;

	if ((line = key_line(p, name)) != 0)
		perr(p, line, p->label, name, "%s", why);
}

/*
 * The end of an [account]: the keys that go with its grant. Nothing is
 * said about the grant's keys if the grant itself was refused.
 */
static void
account_end(struct parse *p)
{
	struct cfg_account *a = &p->cf->accounts[p->idx];
	int cert = key_line(p, "client_certificate") != 0;
	int key = key_line(p, "client_key") != 0;
	int secret = key_line(p, "client_secret") != 0;

	if (key_bad(p, "grant"))
		return;
	if (a->grant == OAUTH_GRANT_SERVICE_ACCOUNT) {
		if (key_line(p, "service_account_file") == 0)
			perr(p, p->sect_line, p->label, "service_account_file",
			    "missing (required with grant = service_account)");
		key_unused(p, "client_secret",
		    "not used with grant = service_account");
		key_unused(p, "client_certificate",
		    "not used with grant = service_account");
		key_unused(p, "client_key",
		    "not used with grant = service_account");
		return;
	}
	if (key_line(p, "client_id") == 0)
		perr(p, p->sect_line, p->label, "client_id",
		    "missing (required)");
	key_unused(p, "service_account_file",
	    "only valid with grant = service_account");
	if (a->grant != OAUTH_GRANT_CLIENT_CREDENTIALS) {
		key_unused(p, "client_certificate",
		    "only valid with grant = client_credentials");
		key_unused(p, "client_key",
		    "only valid with grant = client_credentials");
		return;
	}
	if (cert && !key)
		perr(p, key_line(p, "client_certificate"), p->label,
		    "client_key", "missing (client_certificate and client_key "
		    "go together)");
	if (key && !cert)
		perr(p, key_line(p, "client_key"), p->label,
		    "client_certificate", "missing (client_certificate and "
		    "client_key go together)");
	if (secret && (cert || key))
		perr(p, key_line(p, "client_secret"), p->label,
		    "client_secret", "give client_secret or "
		    "client_certificate and client_key, not both");
	if (!secret && !cert && !key)
		perr(p, p->sect_line, p->label, "client_secret", "missing "
		    "(grant = client_credentials needs client_secret or "
		    "client_certificate and client_key)");
}

/*
 * The end of a [listener]: the keys that go with its mode. Nothing is said
 * about them if the mode itself was refused.
 */
static void
listener_end(struct parse *p)
{
	struct cfg_listen *l = &p->cf->listens[p->idx];

	if (l->proxy_protocol && l->proxy_networks.n == 0 &&
	    !key_bad(p, "proxy_networks"))
		perr(p, key_line(p, "proxy_protocol"), p->label,
		    "proxy_protocol", "needs proxy_networks (the balancers "
		    "whose headers are believed)");
	if (!l->proxy_protocol && key_line(p, "proxy_networks") != 0)
		perr(p, key_line(p, "proxy_networks"), p->label,
		    "proxy_networks", "only with proxy_protocol = yes");
	if (key_bad(p, "mode") || key_line(p, "mode") == 0)
		return;
	if (l->mode == LISTEN_PLAIN) {
		key_unused(p, "tls_min_version",
		    "not used on a plain listener");
		key_unused(p, "ciphers", "not used on a plain listener");
		if (l->allow_plaintext_auth && l->networks.n == 0 &&
		    !key_bad(p, "networks"))
			perr(p, key_line(p, "allow_plaintext_auth"), p->label,
			    "allow_plaintext_auth", "only valid on a plain "
			    "listener that has networks set");
		return;
	}
	if (l->allow_plaintext_auth)
		perr(p, key_line(p, "allow_plaintext_auth"), p->label,
		    "allow_plaintext_auth", "only valid on a plain listener "
		    "that has networks set (AUTH here is under TLS anyway)");
}

/* The end of a [user]: the keys that go with auth and sender_policy. */
static void
user_end(struct parse *p)
{
	struct cfg_user *u = &p->cf->users[p->idx];

	if (!key_bad(p, "auth") && u->auth_none) {
		key_unused(p, "password_hash", "must be absent with "
		    "auth = none");
		if (key_line(p, "networks") == 0)
			perr(p, p->sect_line, p->label, "networks",
			    "missing (required with auth = none)");
	} else if (!key_bad(p, "auth") && key_line(p, "password_hash") == 0)
		perr(p, p->sect_line, p->label, "password_hash",
		    "missing (required)");
	if (u->rewrite_from_header && !key_bad(p, "sender_policy") &&
	    u->sender_policy != SENDER_REWRITE)
		perr(p, key_line(p, "rewrite_from_header"), p->label,
		    "rewrite_from_header", "only valid with sender_policy = "
		    "rewrite");
}

/* The current section is over: report its missing keys. */
static void
section_end(struct parse *p)
{
	size_t i;

	if (p->sect < S_SERVER)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].sect != p->sect || !(keys[i].flags & K_REQ) ||
		    KEY_ISSET(p->seen, i) || p->preset)
			continue;
		perr(p, p->sect_line, p->label, keys[i].name,
		    "missing (required)");
	}
	if (p->sect == S_ACCOUNT)
		account_end(p);
	if (p->sect == S_USER)
		user_end(p);
	if (p->sect == S_LISTENER)
		listener_end(p);
	if (p->sect == S_SERVER) {
		p->server_seen = p->seen;
		for (i = 0; i < NKEYS; i++)
			if (keys[i].sect == S_SERVER && KEY_ISSET(p->seen, i))
				p->cf->key_line[i] = p->seen_line[i];
	}
	p->sect = S_NONE;
}

static void
section_provider(struct parse *p, const char *name)
{
	struct config *cf = p->cf;
	struct cfg_provider *np;
	size_t i;

	if (check_name(name) == -1) {
		perr(p, p->lineno, p->label, NULL, "the name must be 1..%d of "
		    "[A-Za-z0-9._-], not starting with '.'", CONFIG_NAME_MAX);
		return;
	}
	for (i = 0; i < cf->nproviders; i++)
		if (strcmp(cf->providers[i].name, name) == 0)
			break;
	if (i < cf->nproviders) {
		if (cf->providers[i].line != 0) {
			perr(p, p->lineno, p->label, NULL,
			    "duplicate section (first at line %d)",
			    cf->providers[i].line);
			return;
		}
		p->preset = 1;
	} else {
		if (cf->nproviders >= CONFIG_MAX_PROVIDERS) {
			perr(p, p->lineno, p->label, NULL,
			    "more than %d providers", CONFIG_MAX_PROVIDERS);
			return;
		}
		if ((np = grow(cf->providers, &p->providers_cap,
		    cf->nproviders, sizeof(*np))) == NULL)
			goto oom;
		cf->providers = np;
		memset(&np[i], 0, sizeof(np[i]));
		np[i].limits = CFG_LIMITS_UNSET;
		if ((np[i].name = strdup(name)) == NULL)
			goto oom;
		cf->nproviders++;
	}
	cf->providers[i].line = p->lineno;
	p->sect = S_PROVIDER;
	p->idx = i;
	return;

oom:
	p->oom = 1;
}

static void
section_account(struct parse *p, const char *name)
{
	struct config *cf = p->cf;
	struct cfg_account *na;

	if (check_name(name) == -1) {
		perr(p, p->lineno, p->label, NULL, "the name must be 1..%d of "
		    "[A-Za-z0-9._-], not starting with '.'", CONFIG_NAME_MAX);
		return;
	}
	if (cf->naccounts >= CONFIG_MAX_ACCOUNTS) {
		perr(p, p->lineno, p->label, NULL, "more than %d accounts",
		    CONFIG_MAX_ACCOUNTS);
		return;
	}
	if ((na = grow(cf->accounts, &p->accounts_cap, cf->naccounts,
	    sizeof(*na))) == NULL)
		goto oom;
	cf->accounts = na;
	na += cf->naccounts;
	memset(na, 0, sizeof(*na));
	na->limits = CFG_LIMITS_UNSET;
	if ((na->name = strdup(name)) == NULL)
		goto oom;
	na->line = p->lineno;
	p->sect = S_ACCOUNT;
	p->idx = cf->naccounts++;
	return;

oom:
	p->oom = 1;
}

static void
section_user(struct parse *p, const char *name)
{
	struct config *cf = p->cf;
	struct cfg_user *nu;

	if (check_login(name) == -1) {
		perr(p, p->lineno, p->label, NULL,
		    "the login name must have no white space or control bytes");
		return;
	}
	if (cf->nusers >= CONFIG_MAX_USERS) {
		perr(p, p->lineno, p->label, NULL, "more than %d users",
		    CONFIG_MAX_USERS);
		return;
	}
	if ((nu = grow(cf->users, &p->users_cap, cf->nusers,
	    sizeof(*nu))) == NULL)
		goto oom;
	cf->users = nu;
	nu += cf->nusers;
	memset(nu, 0, sizeof(*nu));
	if ((nu->name = strdup(name)) == NULL)
		goto oom;
	nu->line = p->lineno;
	p->sect = S_USER;
	p->idx = cf->nusers++;
	return;

oom:
	p->oom = 1;
}

static void
section_listener(struct parse *p, const char *name)
{
	struct config *cf = p->cf;
	struct cfg_listen *nl;

	p->nlistener_sects++;
	if (check_name(name) == -1) {
		perr(p, p->lineno, p->label, NULL, "the name must be 1..%d of "
		    "[A-Za-z0-9._-], not starting with '.'", CONFIG_NAME_MAX);
		return;
	}
	if (cf->nlistens >= CONFIG_MAX_LISTENS) {
		perr(p, p->lineno, p->label, NULL, "more than %d listeners",
		    CONFIG_MAX_LISTENS);
		return;
	}
	if ((nl = grow(cf->listens, &p->listens_cap, cf->nlistens,
	    sizeof(*nl))) == NULL)
		goto oom;
	cf->listens = nl;
	nl += cf->nlistens;
	memset(nl, 0, sizeof(*nl));
	nl->tls_min_version = TLS1_2_VERSION;
	nl->line = nl->sect_line = p->lineno;
	if ((nl->name = strdup(name)) == NULL)
		goto oom;
	p->sect = S_LISTENER;
	p->idx = cf->nlistens++;
	return;

oom:
	p->oom = 1;
}

/* A "[...]" line: end the current section and start the next. */
static void
section(struct parse *p, char *s)
{
	char *e, *kind, *name;

	section_end(p);
	p->sect = S_BAD;	/* until it proves valid: its keys are ignored */
	memset(&p->seen, 0, sizeof(p->seen));
	memset(&p->bad, 0, sizeof(p->bad));
	p->preset = 0;
	p->sect_line = p->lineno;
	p->label[0] = '\0';

	e = find_sep(s + 1, "]");
	if (*e != ']') {
		perr(p, p->lineno, NULL, NULL, "section header without ']'");
		return;
	}
	*e++ = '\0';
	e += strspn(e, " \t");
	if (*e != '\0' && *e != ';') {
		perr(p, p->lineno, NULL, NULL, "text after ']'");
		return;
	}
	kind = trim(s + 1);
	name = kind + strcspn(kind, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, " \t");
	}
	snprintf(p->label, sizeof(p->label), "%s%s%s", kind,
	    *name != '\0' ? " " : "", name);

	if (strcmp(kind, "server") == 0) {
		if (*name != '\0')
			perr(p, p->lineno, p->label, NULL,
			    "[server] takes no name");
		else if (p->server_line != 0)
			perr(p, p->lineno, p->label, NULL,
			    "duplicate section (first at line %d)",
			    p->server_line);
		else {
			p->server_line = p->lineno;
			p->sect = S_SERVER;
		}
	} else if (strcmp(kind, "provider") == 0)
		section_provider(p, name);
	else if (strcmp(kind, "account") == 0)
		section_account(p, name);
	else if (strcmp(kind, "user") == 0)
		section_user(p, name);
	else if (strcmp(kind, "listener") == 0)
		section_listener(p, name);
	else
		perr(p, p->lineno, p->label, NULL, "unknown section");
}

static char *
blank_line(char *str)
{
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/*
 * inih's reader: hand it one line at a time, counting them. Everything but
 * "key = value" lines (blank, comment, section header, broken) reaches inih
 * as an empty line; indentation is stripped so inih joins no lines.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char buf[CONFIG_LINE_MAX + 2];	/* the line, a CR, NUL */
	size_t n = 0, max, len;
	int c, over = 0, nul = 0;
	char *s, *e;

	if (num < 2)
		return NULL;
	while ((c = getc(p->f)) != EOF && c != '\n') {
		if (c == '\0')
			nul = 1;
		if (n < sizeof(buf) - 1)
			buf[n++] = (char)c;
		else
			over = 1;
	}
	if (c == EOF && ferror(p->f)) {
		p->read_errno = errno;
		return NULL;
	}
	if (c == EOF && n == 0 && !over)
		return NULL;
	buf[n] = '\0';
	p->lineno++;
	p->comment = 0;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	max = (size_t)num - 2 < CONFIG_LINE_MAX ? (size_t)num - 2 :
	    CONFIG_LINE_MAX;
	if (over || n > max) {
		perr(p, p->lineno, cur_label(p), NULL,
		    "line longer than %zu bytes", max);
		goto blank;
	}
	if (nul) {
		perr(p, p->lineno, cur_label(p), NULL, "NUL byte in the line");
		goto blank;
	}

	s = buf;
	if (p->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s = trim(s);
	if (*s == '\0' || *s == ';' || *s == '#')
		goto blank;
	if (*s == '[') {
		section(p, s);
		goto blank;
	}
	e = find_sep(s, "=:");
	if (*e != '=' && *e != ':') {
		perr(p, p->lineno, cur_label(p), NULL,
		    "expected \"key = value\"");
		goto blank;
	}
	if (*find_sep(e + 1, NULL) != '\0')
		p->comment = 1;
	len = strlen(s);
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return str;

blank:
	explicit_bzero(buf, sizeof(buf));
	return blank_line(str);
}

/* inih's handler: one "key = value" of the current section. */
static int
handler(void *user, const char *section_name, const char *name,
    const char *value)
{
	struct parse *p = user;
	const char *label = cur_label(p);
	const struct key *k;
	size_t i, nerrs;

	(void)section_name;	/* ours, not inih's truncated copy */
	if (p->sect == S_BAD)
		return 1;
	if (p->sect == S_NONE) {
		perr(p, p->lineno, NULL, name, "outside any section");
		return 1;
	}
	if (*name == '\0') {
		perr(p, p->lineno, label, NULL, "no key name before '='");
		return 1;
	}
	if ((i = key_index(p->sect, name)) == NKEYS) {
		perr(p, p->lineno, label, name, "unknown key");
		return 1;
	}
	k = &keys[i];
	if (KEY_ISSET(p->seen, i) && !(k->flags & K_REPEAT)) {
		perr(p, p->lineno, label, name,
		    "given twice (first at line %d)", p->seen_line[i]);
		return 1;
	}
	KEY_SET(p->seen, i);
	p->seen_line[i] = p->lineno;
	nerrs = p->nerrs + p->dropped;
	if (*value == '\0')
		perr(p, p->lineno, label, name, "empty value");
	else if (has_ctl(value))
		perr(p, p->lineno, label, name, "control character in the value");
	else if ((k->flags & K_SECRET) && p->comment)
		perr(p, p->lineno, label, name, "no comment allowed on this "
		    "line: \" ;\" would cut the value short");
	else
		set_key(p, k, value);
	if (p->nerrs + p->dropped != nerrs)
		KEY_SET(p->bad, i);
	return 1;
}

static int
named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int
named_find(const void *key, const void *elt)
{
	return strcmp(key, ((const struct named *)elt)->name);
}

/* Sort v by name and report every section named like an earlier one. */
static void
dup_sections(struct parse *p, const char *kind, struct named *v, size_t n)
{
	char label[CONFIG_LINE_MAX + 1];
	size_t i, first = 0;

	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[first].name) != 0) {
			first = i;
			continue;
		}
		snprintf(label, sizeof(label), "%s %s", kind, v[i].name);
		perr(p, v[i].line, label, NULL,
		    "duplicate section (first at line %d)", v[first].line);
	}
}

static struct cfg_provider *
provider_find(struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nproviders; i++)
		if (strcmp(cf->providers[i].name, name) == 0)
			return &cf->providers[i];
	return NULL;
}

static int
server_seen(const struct parse *p, const char *name)
{
	return KEY_ISSET(p->server_seen, key_index(S_SERVER, name)) != 0;
}

/* [server] checks that need the whole file; the host name default. */
static void
validate_server(struct parse *p)
{
	struct config *cf = p->cf;
	char host[HOST_NAME_MAX + 1];

	size_t i;
	int tls = 0;

	for (i = 0; i < cf->nlistens; i++)
		if (cf->listens[i].mode != LISTEN_PLAIN)
			tls = 1;
	/* A listen, tls_cert or tls_key given but wrong is reported already. */
	if (cf->nlistens == 0 && !server_seen(p, "listen") &&
	    p->nlistener_sects == 0)
		perr(p, 0, "server", "listen", "at least one is required (a "
		    "listen line or a [listener] section)");
	if (tls && cf->tls_cert == NULL && !server_seen(p, "tls_cert"))
		perr(p, p->server_line, "server", "tls_cert",
		    "missing (required with a tls or starttls listener)");
	if (tls && cf->tls_key == NULL && !server_seen(p, "tls_key"))
		perr(p, p->server_line, "server", "tls_key",
		    "missing (required with a tls or starttls listener)");
	if (cf->group != NULL && cf->user == NULL && !server_seen(p, "user"))
		perr(p, config_server_line(p->cf, "group"), "server", "group",
		    "only with user (the group of the user the daemon runs "
		    "as)");
	if (cf->hostname != NULL || server_seen(p, "hostname"))
		return;
	if (gethostname(host, sizeof(host)) == -1 ||
	    (host[sizeof(host) - 1] = '\0', check_host(host) == -1))
		perr(p, 0, "server", "hostname", "the system host name is not "
		    "a usable host name: set hostname");
	else
		set_str(p, &cf->hostname, host, 0);
}

/* Where listener l is written: its label and key, for errors. */
static void
listen_where(const struct cfg_listen *l, char *label, size_t size,
    const char **key)
{
	if (l->name != NULL) {
		snprintf(label, size, "listener %s", l->name);
		*key = "address";
	} else {
		snprintf(label, size, "server");
		*key = "listen";
	}
}

/* Two listeners on one address; two [listener] sections of one name. */
static void
validate_listeners(struct parse *p)
{
	struct config *cf = p->cf;
	struct cfg_listen *l, *o;
	char label[CONFIG_LINE_MAX + 1];
	const char *key;
	size_t i, j;

	for (i = 0; i < cf->nlistens; i++) {
		l = &cf->listens[i];
		for (j = 0; j < i; j++) {
			o = &cf->listens[j];
			if (l->name != NULL && o->name != NULL &&
			    strcmp(l->name, o->name) == 0) {
				snprintf(label, sizeof(label), "listener %s",
				    l->name);
				perr(p, l->sect_line, label, NULL, "duplicate "
				    "section (first at line %d)", o->sect_line);
				break;
			}
			if (l->addrlen == 0 || l->addrlen != o->addrlen ||
			    memcmp(&l->addr, &o->addr, l->addrlen) != 0)
				continue;
			listen_where(l, label, sizeof(label), &key);
			perr(p, l->line, label, key, "same address as line %d",
			    o->line);
			break;
		}
	}
}

/* Would a and b (both set) bind the same socket: same port, and the
   same address or a wildcard of the same family? */
static int
addr_overlap(const struct cfg_listen *a, const struct cfg_listen *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->addr,
	    *b4 = (const void *)&b->addr;
	const struct sockaddr_in6 *a6 = (const void *)&a->addr,
	    *b6 = (const void *)&b->addr;

	if (a->addr.ss_family != b->addr.ss_family)
		return 0;
	if (a->addr.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == INADDR_ANY ||
		    b4->sin_addr.s_addr == INADDR_ANY);
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0 ||
	    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr));
}

/* metrics: not on an SMTP listener's address; who may scrape it. */
static void
validate_metrics(struct parse *p)
{
	struct config *cf = p->cf;
	char err[CONFIG_ERROR_MAX / 2];
	size_t i;

	if (cf->metrics.addrlen == 0)
		return;
	for (i = 0; i < cf->nlistens; i++)
		if (cf->listens[i].addrlen != 0 &&
		    addr_overlap(&cf->metrics, &cf->listens[i])) {
			perr(p, cf->metrics.line, "server", "metrics",
			    "the address of the SMTP listener at line %d",
			    cf->listens[i].line);
			return;
		}
	if (cf->metrics_networks.n == 0 && !server_seen(p,
	    "metrics_networks") && cidr_list_add(&cf->metrics_networks,
	    CONFIG_METRICS_NETWORKS, err, sizeof(err)) == -1)
		p->oom = 1;
}

/*
 * The auth = none users, into cf->noauth; two of them whose networks
 * overlap would make a client address ambiguous.
 */
static void
validate_noauth(struct parse *p)
{
	struct config *cf = p->cf;
	struct cfg_user *u, *o;
	char label[CONFIG_LINE_MAX + 1], a[CIDR_TEXT_MAX], b[CIDR_TEXT_MAX];
	size_t i, j, x, y, n = 0;

	for (i = 0; i < cf->nusers; i++)
		if (cf->users[i].auth_none)
			n++;
	if (n == 0)
		return;
	if ((cf->noauth = calloc(n, sizeof(*cf->noauth))) == NULL) {
		p->oom = 1;
		return;
	}
	for (i = 0; i < cf->nusers; i++) {
		if (!(u = &cf->users[i])->auth_none)
			continue;
		for (j = 0; j < cf->nnoauth; j++) {
			o = cf->noauth[j];
			for (x = 0; x < u->networks.n; x++)
				for (y = 0; y < o->networks.n; y++) {
					if (!cidr_overlap(&u->networks.v[x],
					    &o->networks.v[y]))
						continue;
					cidr_format(&u->networks.v[x], a,
					    sizeof(a));
					cidr_format(&o->networks.v[y], b,
					    sizeof(b));
					snprintf(label, sizeof(label),
					    "user %s", u->name);
					perr(p, u->networks_line, label,
					    "networks", "%s overlaps %s of "
					    "[user %s] (line %d): both are "
					    "auth = none", a, b, o->name,
					    o->networks_line);
					goto next;
				}
		}
next:
		cf->noauth[cf->nnoauth++] = u;
	}
}

/*
 * url with every CONFIG_TENANT_VAR replaced by tenant, in a new string
 * (*out NULL for a NULL url). Returns 0, or -1 when out of memory.
 */
static int
subst_tenant(const char *url, const char *tenant, char **out)
{
	size_t vlen = strlen(CONFIG_TENANT_VAR), tlen, n = 0;
	const char *s, *v;
	char *o;

	*out = NULL;
	if (url == NULL)
		return 0;
	if (tenant == NULL)
		tenant = "";
	tlen = strlen(tenant);
	for (s = url; (v = strstr(s, CONFIG_TENANT_VAR)) != NULL; s = v + vlen)
		n++;
	if ((*out = o = malloc(strlen(url) + n * tlen + 1)) == NULL)
		return -1;
	for (s = url; (v = strstr(s, CONFIG_TENANT_VAR)) != NULL;
	    s = v + vlen) {
		memcpy(o, s, (size_t)(v - s));
		o += v - s;
		memcpy(o, tenant, tlen);
		o += tlen;
	}
	strcpy(o, s);
	return 0;
}

static int
has_tenant_var(const char *url)
{
	return url != NULL && strstr(url, CONFIG_TENANT_VAR) != NULL;
}

/*
 * An account whose provider is known: its tenant, and its own copy of the
 * provider's URLs and scope with the tenant filled in.
 */
/* A sending limit not given (-1) takes def, and that not given, none. */
static void
limit_take(long *v, long def)
{
	if (*v < 0)
		*v = def > 0 ? def : 0;
}

static void
resolve_account(struct parse *p, struct cfg_account *a)
{
	const struct cfg_provider *pr = a->provider;
	char label[CONFIG_LINE_MAX + 1];
	const char *scope;
	char *own;

	if (a->max_upstream_connections == 0)
		a->max_upstream_connections = pr->max_upstream_connections > 0 ?
		    pr->max_upstream_connections : UPSTREAMS_DEFAULT;
	limit_take(&a->limits.msgs_minute, pr->limits.msgs_minute);
	limit_take(&a->limits.msgs_day, pr->limits.msgs_day);
	limit_take(&a->limits.rcpts_day, pr->limits.rcpts_day);
	limit_take(&a->limits.rcpts_msg, pr->limits.rcpts_msg);
	if (!has_tenant_var(pr->auth_url) && !has_tenant_var(pr->token_url) &&
	    !has_tenant_var(pr->device_url)) {
		if (a->tenant != NULL) {
			snprintf(label, sizeof(label), "account %s", a->name);
			perr(p, a->tenant_line, label, "tenant", "provider %s "
			    "has no " CONFIG_TENANT_VAR " in its URLs",
			    pr->name);
		}
		free(a->tenant);
		a->tenant = NULL;
	} else if (a->tenant == NULL &&
	    (a->tenant = strdup(CONFIG_TENANT_DEFAULT)) == NULL)
		goto oom;

	/* The account's own scope, if any, is replaced by its resolved copy. */
	own = a->scope;
	a->scope = NULL;
	if (own != NULL)
		scope = own;
	else if (a->grant == OAUTH_GRANT_CLIENT_CREDENTIALS)
		scope = pr->app_scope != NULL ? pr->app_scope :
		    CONFIG_APP_SCOPE_DEFAULT;
	else
		scope = pr->scope;
	if (subst_tenant(scope, a->tenant, &a->scope) == -1 ||
	    subst_tenant(pr->auth_url, a->tenant, &a->auth_url) == -1 ||
	    subst_tenant(pr->token_url, a->tenant, &a->token_url) == -1 ||
	    subst_tenant(pr->device_url, a->tenant, &a->device_url) == -1) {
		free(own);
		goto oom;
	}
	free(own);
	return;

oom:
	p->oom = 1;
}

/* Duplicate accounts and users; then every provider and account named. */
static void
validate_sections(struct parse *p)
{
	struct config *cf = p->cf;
	struct named *accts = NULL, *users = NULL, *found;
	struct cfg_account *a;
	struct cfg_user *u;
	char label[CONFIG_LINE_MAX + 1];
	size_t i;

	if ((cf->naccounts > 0 &&
	    (accts = calloc(cf->naccounts, sizeof(*accts))) == NULL) ||
	    (cf->nusers > 0 &&
	    (users = calloc(cf->nusers, sizeof(*users))) == NULL)) {
		p->oom = 1;
		goto done;
	}
	for (i = 0; i < cf->naccounts; i++)
		accts[i] = (struct named){ cf->accounts[i].name,
		    cf->accounts[i].line, i };
	for (i = 0; i < cf->nusers; i++)
		users[i] = (struct named){ cf->users[i].name,
		    cf->users[i].line, i };
	dup_sections(p, "account", accts, cf->naccounts);
	dup_sections(p, "user", users, cf->nusers);

	for (i = 0; i < p->nrefs; i++) {
		if (p->refs[i].sect == S_ACCOUNT) {
			a = &cf->accounts[p->refs[i].idx];
			if ((a->provider = provider_find(cf,
			    a->provider_name)) != NULL)
				continue;
			snprintf(label, sizeof(label), "account %s", a->name);
			perr(p, p->refs[i].line, label, "provider",
			    "no provider \"%s\" (neither a preset nor a "
			    "[provider] section)", a->provider_name);
			continue;
		}
		u = &cf->users[p->refs[i].idx];
		found = cf->naccounts == 0 ? NULL : bsearch(u->account_name,
		    accts, cf->naccounts, sizeof(*accts), named_find);
		if (found != NULL) {
			u->account = &cf->accounts[found->idx];
			continue;
		}
		snprintf(label, sizeof(label), "user %s", u->name);
		perr(p, p->refs[i].line, label, "account",
		    "no [account %s] section", u->account_name);
	}
	for (i = 0; i < cf->nproviders; i++)
		if (cf->providers[i].auth_url != NULL &&
		    strncmp(cf->providers[i].auth_url, GOOGLE_AUTH_PREFIX,
		    strlen(GOOGLE_AUTH_PREFIX)) == 0)
			cf->providers[i].offline_params = 1;
	for (i = 0; i < cf->naccounts; i++)
		if (cf->accounts[i].provider != NULL)
			resolve_account(p, &cf->accounts[i]);

done:
	free(accts);
	free(users);
}

static int
error_cmp(const void *a, const void *b)
{
	const struct cfg_error *x = a, *y = b;

	if (x->line != y->line)
		return (x->line > y->line) - (x->line < y->line);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* All errors, by line, one per line of text; NULL if out of memory. */
static char *
join_errors(struct parse *p)
{
	char *out, *o;
	size_t i, total = 1;
	int n;

	if (p->oom) {
		if (asprintf(&out, "%s:0: out of memory\n", p->path) == -1)
			return NULL;
		return out;
	}
	if (p->nerrs > 0)
		qsort(p->errs, p->nerrs, sizeof(*p->errs), error_cmp);
	for (i = 0; i < p->nerrs; i++)
		total += strlen(p->errs[i].text) + 1;
	if (p->dropped > 0)
		total += CONFIG_ERROR_MAX;
	if ((out = o = malloc(total)) == NULL)
		return NULL;
	for (i = 0; i < p->nerrs; i++) {
		n = snprintf(o, total - (size_t)(o - out), "%s\n",
		    p->errs[i].text);
		o += n;
	}
	*o = '\0';
	if (p->dropped > 0)
		snprintf(o, total - (size_t)(o - out),
		    "%.*s: %zu more errors not shown\n",
		    CONFIG_ERROR_MAX / 2, p->path, p->dropped);
	return out;
}

/* *dst = a copy of s, or NULL for NULL; -1 when out of memory. */
static int
dup_opt(char **dst, const char *s)
{
	*dst = NULL;
	if (s != NULL && (*dst = strdup(s)) == NULL)
		return -1;
	return 0;
}

/* A config with the defaults and the built-in providers. */
static struct config *
config_new(struct parse *p, const char *path)
{
	const struct preset *ps;
	struct config *cf;
	struct cfg_provider *pr;
	size_t i;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return NULL;
	p->cf = cf;
	if ((cf->path = strdup(path)) == NULL)
		goto fail;
	p->sect = S_SERVER;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == S_SERVER && keys[i].def != NULL)
			set_key(p, &keys[i], keys[i].def);
	p->sect = S_NONE;
	if ((cf->providers = calloc(NPRESETS, sizeof(*cf->providers))) == NULL)
		goto fail;
	p->providers_cap = NPRESETS;
	for (i = 0; i < NPRESETS; i++) {
		ps = &presets[i];
		pr = &cf->providers[cf->nproviders++];
		if (dup_opt(&pr->name, ps->name) == -1 ||
		    dup_opt(&pr->auth_url, ps->auth_url) == -1 ||
		    dup_opt(&pr->token_url, ps->token_url) == -1 ||
		    dup_opt(&pr->device_url, ps->device_url) == -1 ||
		    dup_opt(&pr->scope, ps->scope) == -1 ||
		    dup_opt(&pr->app_scope, ps->app_scope) == -1 ||
		    dup_opt(&pr->smtp_host, ps->host) == -1 ||
		    dup_opt(&pr->smtp_port, ps->port) == -1)
			goto fail;
		pr->smtp_tls = ps->tls;
		pr->offline_params = ps->offline_params;
		pr->max_upstream_connections = ps->max_upstreams;
		pr->limits = ps->limits;
	}
	if (p->oom || p->nerrs > 0)
		goto fail;
	return cf;

fail:
	config_free(cf);
	p->cf = NULL;
	return NULL;
}

/*
 * Read path into a new p->cf (NULL when out of memory), key by key, the
 * whole-file checks aside. Returns 0 when the file could be read to its
 * end (there may be errors in p), -1 when not.
 */
static int
parse_file(struct parse *p, const char *path)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->path = path;
	if (config_new(p, path) == NULL) {
		p->oom = 1;
		return -1;
	}
	if ((p->f = fopen(path, "re")) == NULL) {
		perr(p, 0, NULL, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	r = ini_parse_stream(reader, p, handler, p);
	section_end(p);
	if (p->read_errno != 0)
		perr(p, p->lineno + 1, NULL, NULL, "read error: %s",
		    strerror(p->read_errno));
	else if (r == -2)
		p->oom = 1;
	else if (r != 0 && p->nerrs == 0)
		perr(p, r, NULL, NULL, "syntax error");
	fclose(p->f);
	return p->oom || p->read_errno != 0 ? -1 : 0;
}

static void
parse_done(struct parse *p)
{
	size_t i;

	for (i = 0; i < p->nerrs; i++)
		free(p->errs[i].text);
	free(p->errs);
	free(p->refs);
}

/*
 * Read and validate path. Returns the config, or NULL with *errors set to a
 * malloc'd text of one line per problem, "PATH:LINE: [section] key: what is
 * wrong" (LINE 0 for whole-file problems such as a missing listen), with no
 * secret value in it. The caller frees *errors.
 */
struct config *
config_load(const char *path, char **errors)
{
	struct parse p;
	struct config *cf;

	if (errors != NULL)
		*errors = NULL;
	if (parse_file(&p, path) == 0) {
		validate_server(&p);
		validate_listeners(&p);
		validate_metrics(&p);
		validate_sections(&p);
		validate_noauth(&p);
	}
	cf = p.cf;

	if (p.oom || p.nerrs > 0 || p.dropped > 0) {
		if (errors != NULL)
			*errors = join_errors(&p);
		config_free(cf);
		cf = NULL;
	}
	parse_done(&p);
	return cf;
}

/*
 * The control_socket of the file at path, even when other parts of it are
 * wrong (so that status and reload still reach the daemon): its value,
 * or the default when it is not given or not valid. -1 when the file
 * cannot be read at all.
 */
int
config_control_socket(const char *path, char *out, size_t size)
{
	struct parse p;
	int r;

	r = parse_file(&p, path);
	snprintf(out, size, "%s", p.cf != NULL && p.cf->control_socket !=
	    NULL ? p.cf->control_socket : CONFIG_CONTROL_DEFAULT);
	config_free(p.cf);
	parse_done(&p);
	return r;
}

/* Free a config; NULL does nothing. Wipes client secrets. */
void
config_free(struct config *cf)
{
	size_t i, j;

	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->hostname);
	for (i = 0; i < cf->nlistens; i++) {
		free(cf->listens[i].name);
		free(cf->listens[i].text);
		free(cf->listens[i].ciphers);
		cidr_list_free(&cf->listens[i].networks);
		cidr_list_free(&cf->listens[i].proxy_networks);
	}
	free(cf->listens);
	free(cf->tls_cert);
	free(cf->tls_key);
	free(cf->state_dir);
	free(cf->token_key_file);
	free(cf->user);
	free(cf->group);
	free(cf->control_socket);
	free(cf->metrics.text);
	cidr_list_free(&cf->metrics_networks);
	for (i = 0; i < cf->nproviders; i++) {
		free(cf->providers[i].name);
		free(cf->providers[i].auth_url);
		free(cf->providers[i].token_url);
		free(cf->providers[i].device_url);
		free(cf->providers[i].scope);
		free(cf->providers[i].app_scope);
		free(cf->providers[i].smtp_host);
		free(cf->providers[i].smtp_port);
		free(cf->providers[i].ca_file);
	}
	free(cf->providers);
	for (i = 0; i < cf->naccounts; i++) {
		free(cf->accounts[i].name);
		free(cf->accounts[i].provider_name);
		free(cf->accounts[i].email);
		free(cf->accounts[i].client_id);
		wipe_free(cf->accounts[i].client_secret);
		free(cf->accounts[i].tenant);
		free(cf->accounts[i].client_certificate);
		free(cf->accounts[i].client_key);
		free(cf->accounts[i].service_account_file);
		free(cf->accounts[i].auth_url);
		free(cf->accounts[i].token_url);
		free(cf->accounts[i].device_url);
		free(cf->accounts[i].scope);
		for (j = 0; j < cf->accounts[i].nsend_as; j++)
			free(cf->accounts[i].send_as[j]);
		free(cf->accounts[i].send_as);
	}
	free(cf->accounts);
	for (i = 0; i < cf->nusers; i++) {
		free(cf->users[i].name);
		wipe_free(cf->users[i].password_hash);
		free(cf->users[i].account_name);
		cidr_list_free(&cf->users[i].networks);
	}
	free(cf->users);
	free(cf->noauth);
	free(cf);
}

/* Lookups by name; NULL if absent. */
struct cfg_user *
config_user(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nusers; i++)
		if (strcmp(cf->users[i].name, name) == 0)
			return &cf->users[i];
	return NULL;
}

/* Lookups by name; NULL if absent. */
struct cfg_account *
config_account(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->naccounts; i++)
		if (strcmp(cf->accounts[i].name, name) == 0)
			return &cf->accounts[i];
	return NULL;
}

/*
 * The auth = none user whose networks hold the client address sa; NULL if
 * there is none. Validation made sure there is at most one.
 */
struct cfg_user *
config_noauth_user(const struct config *cf, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < cf->nnoauth; i++)
		if (cidr_list_match(&cf->noauth[i]->networks, sa))
			return cf->noauth[i];
	return NULL;
}

/*
 * 1 if account a may send as addr: its email or one of its send_as,
 * compared case-insensitively over the whole address; else 0 (also for
 * the null sender "").
 */
int
config_sender_owned(const struct cfg_account *a, const char *addr)
{
	size_t i;

	if (*addr == '\0')
		return 0;
	if (strcasecmp(a->email, addr) == 0)
		return 1;
	for (i = 0; i < a->nsend_as; i++)
		if (strcasecmp(a->send_as[i], addr) == 0)
			return 1;
	return 0;
}

/*
 * What the token manager needs for account a (for oauth_account_add): the
 * strings point into a, which must outlive oc.
 */
void
config_oauth_account(const struct cfg_account *a,
    struct oauth_account_cfg *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->name = a->name;
	oc->token_url = a->token_url;
	oc->client_id = a->client_id;
	oc->client_secret = a->client_secret;
	oc->ca_file = a->provider->ca_file;
	oc->grant = a->grant;
	oc->scope = a->scope;
	oc->email = a->email;
	oc->client_cert_file = a->client_certificate;
	oc->client_key_file = a->client_key;
	oc->service_account_file = a->service_account_file;
}

/*
 * The token manager's settings from cf (for oauth_new); seal_key is NULL
 * or the STORE_KEY_LEN bytes read from token_key_file.
 */
void
config_oauth_opts(const struct config *cf, const unsigned char *seal_key,
    struct oauth_opts *oo)
{
	memset(oo, 0, sizeof(*oo));
	oo->state_dir = cf->state_dir;
	oo->config_path = cf->path;
	oo->seal_key = seal_key;
	oo->refresh_margin = cf->refresh_margin;
	oo->wait_timeout = cf->token_wait_timeout;
}

/* The word for value v in table t, as the config writes it. */
static const char *
word_name(const struct word *t, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return "unknown";
}

/* The line of [server] key name in cf's file; 0 if it was not given. */
int
config_server_line(const struct config *cf, const char *name)
{
	size_t i = key_index(S_SERVER, name);

	return i < NKEYS ? cf->key_line[i] : 0;
}

/* A listener mode as the config writes it: starttls, tls, plain. */
const char *
config_mode_name(enum listen_mode m)
{
	return word_name(modes, NWORDS(modes), (int)m);
}

/* An OpenSSL TLS version as the config writes it: TLSv1.2, ... */
const char *
config_tls_name(int version)
{
	return word_name(tls_versions, NWORDS(tls_versions), version);
}

static const char *const sect_names[] = {
	[S_SERVER] = "server", [S_PROVIDER] = "provider",
	[S_ACCOUNT] = "account", [S_USER] = "user",
	[S_LISTENER] = "listener",
};

/* Key i of the table into *ki; -1 past the last. */
int
config_key_at(size_t i, struct config_key_info *ki)
{
	const struct key *k;

	if (i >= NKEYS)
		return -1;
	k = &keys[i];
	ki->section = sect_names[k->sect];
	ki->name = k->name;
	ki->def = k->def;
	ki->reload = !(k->flags & K_RESTART);
	ki->required = (k->flags & K_REQ) != 0;
	ki->repeat = (k->flags & K_REPEAT) != 0;
	ki->secret = (k->flags & K_SECRET) != 0;
	return 0;
}

/* Do the values of [server] key k differ between a and b? */
static int
key_differs(const struct key *k, const struct config *a,
    const struct config *b)
{
	const char *fa = (const char *)a + k->off;
	const char *fb = (const char *)b + k->off;
	const char *sa, *sb;

	if (k->type == T_METRICS) {
		sa = a->metrics.text;
		sb = b->metrics.text;
		if (sa == NULL || sb == NULL)
			return sa != sb;
		return strcmp(sa, sb) != 0;
	}
	if (k->type == T_LONG)
		return *(const long *)(const void *)fa !=
		    *(const long *)(const void *)fb;
	sa = *(char *const *)(const void *)fa;
	sb = *(char *const *)(const void *)fb;
	if (sa == NULL || sb == NULL)
		return sa != sb;
	return strcmp(sa, sb) != 0;
}

/*
 * A reload: the [server] keys that need a restart keep in next the values
 * they have in cur. For each one that changed, one line "PATH:LINE:
 * [server] KEY: changed; a restart is needed to apply it (keeping the
 * running value)" is appended to *report (malloc'd; NULL if none).
 * Returns the number of such keys, -1 when out of memory.
 */
int
config_keep_restart(struct config *next, const struct config *cur,
    char **report)
{
	char **fn, *tmp;
	size_t i;
	int n = 0;

	*report = NULL;
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->sect != S_SERVER || !(k->flags & K_RESTART) ||
		    !key_differs(k, next, cur))
			continue;
		if (errf_append(report, "%s:%d: [server] %s: changed; a "
		    "restart is needed to apply it (keeping the running "
		    "value)", next->path, next->key_line[i], k->name) == -1)
			return -1;
		n++;
		if (k->type == T_METRICS) {
			tmp = cur->metrics.text;
			if (tmp != NULL && (tmp = strdup(tmp)) == NULL)
				return -1;
			free(next->metrics.text);
			next->metrics = cur->metrics;
			next->metrics.text = tmp;
			continue;
		}
		if (k->type == T_LONG) {
			*(long *)(void *)((char *)next + k->off) =
			    *(const long *)(const void *)((const char *)cur +
			    k->off);
			continue;
		}
		/* Strings: next takes a copy of cur's. */
		fn = (char **)(void *)((char *)next + k->off);
		tmp = *(char *const *)(const void *)((const char *)cur + k->off);
		if (tmp != NULL && (tmp = strdup(tmp)) == NULL)
			return -1;
		free(*fn);
		*fn = tmp;
	}
	return n;
}
