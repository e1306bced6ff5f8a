/*
 * config: reads the INI file (with inih) into a struct config, validates all
 * of it, and reports every problem with its line number and key. A config is
 * used only once config_load has returned it without errors.
 *
 * inih as packaged by Debian reads lines of at most 200 bytes and treats
 * " ;" as the start of a comment: secrets containing " ;" cannot be written
 * in this file. config.c strips indentation before inih sees a line, so no
 * line continues another.
 */
#ifndef PROXY_CONFIG_H
#define PROXY_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include "oauth/oauth.h"
#include "proxy/cidr.h"

#define CONFIG_DEFAULT_PATH	"/etc/authrelay/authrelay.ini"
#define CONFIG_CONTROL_DEFAULT	"/run/authrelay/control"
/* Who may scrape metrics unless metrics_networks says. */
#define CONFIG_METRICS_NETWORKS	"127.0.0.0/8, ::1"
#define CONFIG_PATH_MAX		108	/* a path key: sun_path's size */
#define CONFIG_KEYS_MAX		128	/* keys in the key table */
/* Written in a provider's URLs; replaced by each account's tenant. */
#define CONFIG_TENANT_VAR	"{tenant}"
#define CONFIG_TENANT_DEFAULT	"common"
/* Scope of grant = client_credentials when neither account nor provider
   gives one (Microsoft 365, app-only SMTP.SendAsApp). */
#define CONFIG_APP_SCOPE_DEFAULT "https://outlook.office365.com/.default"

enum listen_mode { LISTEN_STARTTLS, LISTEN_TLS, LISTEN_PLAIN };

/*
 * Sending limits (proxy/sendlimit.h): of a provider (its accounts'
 * default), an account, a user. 0: none; while the file is read, -1: not
 * given (an account then takes its provider's, and that 0).
 */
struct cfg_limits {
	long	msgs_minute;	/* max_messages_per_minute */
	long	msgs_day;	/* max_messages_per_day */
	long	rcpts_day;	/* max_recipients_per_day */
	long	rcpts_msg;	/* max_recipients_per_message */
};
#define CFG_LIMITS_UNSET	((struct cfg_limits){ -1, -1, -1, -1 })

/*
 * A listener: a "listen =" line of [server] (the shorthand: defaults for
 * everything but address and mode) or a [listener NAME] section.
 */
struct cfg_listen {
	char			*name;		/* NULL for a listen line */
	char			*text;		/* "0.0.0.0:587" as written */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;	/* 0: no valid address given */
	enum listen_mode	 mode;
	int			 tls_min_version; /* OpenSSL's TLS1_VERSION ..
						     TLS1_3_VERSION; default
						     TLS1_2_VERSION */
	char			*ciphers;	/* TLS <= 1.2 cipher list;
						   NULL: OpenSSL's default */
	struct cidr_list	 networks;	/* clients allowed; empty:
						   all */
	int			 allow_plaintext_auth;	/* AUTH in clear
							   (plain only) */
	int			 proxy_protocol;	/* a PROXY v1/v2 header
							   first */
	struct cidr_list	 proxy_networks;	/* ... from these peers
							   only */
	int			 line;		/* of the listen line or of
						   the address key */
	int			 sect_line;	/* of the [listener] header */
};

/*
 * A provider as written (or preset): its URLs may hold CONFIG_TENANT_VAR;
 * the accounts using it hold the URLs with the tenant filled in.
 */
struct cfg_provider {
	char	*name;
	char	*auth_url;		/* NULL: no authorization-code flow */
	char	*token_url;
	char	*device_url;		/* NULL: no device-code flow */
	char	*scope;			/* NULL: none asked for */
	char	*app_scope;		/* client_credentials; NULL: default */
	char	*smtp_host;
	char	*smtp_port;		/* numeric string */
	int	 smtp_tls;		/* 1: implicit TLS, 0: STARTTLS */
	char	*ca_file;		/* NULL: system store */
	long	 max_upstream_connections;	/* default of its accounts;
						   0: UPSTREAMS_DEFAULT */
	int	 offline_params;	/* authorize asks for access_type=offline
					   and prompt=consent (Google) */
	struct cfg_limits limits;	/* its accounts' default */
	int	 line;			/* 0 for an untouched preset */
};

struct cfg_account {
	char			*name;
	char			*provider_name;
	struct cfg_provider	*provider;	/* resolved by validation */
	char			*email;
	char			*client_id;	/* NULL only for a service
						   account */
	char			*client_secret;	/* NULL: public client */
	enum oauth_grant	 grant;		/* default refresh_token */
	char			*tenant;	/* NULL if the provider has no
						   {tenant}; default common */
	int			 tenant_line;	/* 0: not given */
	char			*client_certificate;	/* PEM, with ... */
	char			*client_key;		/* ... its key */
	char			*service_account_file;	/* Google JSON key */
	/* Resolved by validation, tenant filled in. */
	char			*auth_url;	/* NULL if the provider has none */
	char			*token_url;
	char			*device_url;	/* NULL if the provider has none */
	char			*scope;		/* the account's, else the
						   provider's (app_scope for
						   client_credentials); NULL:
						   none */
	char			**send_as;	/* other addresses the mailbox
						   may send as */
	size_t			 nsend_as;
	long			 max_upstream_connections;	/* resolved:
						   the account's, else its
						   provider's, else 10 */
	struct cfg_limits	 limits;	/* resolved: the account's, else
						   its provider's, else none */
	int			 line;
};

enum sender_policy {
	SENDER_PASS,		/* any envelope sender goes to the provider */
	SENDER_REJECT,		/* one the account does not own gets 553 */
	SENDER_REWRITE,		/* ... is replaced with the account's email */
};

struct cfg_user {
	char			*name;		/* the login name */
	int			 auth_none;	/* auth = none: no login; mapped
						   by networks at MAIL */
	char			*password_hash;	/* crypt(3); NULL with
						   auth = none */
	char			*account_name;
	struct cfg_account	*account;	/* resolved by validation */
	struct cidr_list	 networks;	/* where it may be used from;
						   empty: anywhere */
	int			 networks_line;	/* first networks key; 0 */
	enum sender_policy	 sender_policy;	/* default pass */
	int			 rewrite_from_header;	/* with rewrite */
	struct cfg_limits	 limits;	/* the user's own; 0: none */
	int			 line;
};

struct config {
	char			*path;
	/* [server] */
	char			*hostname;	/* default: gethostname() */
	struct cfg_listen	*listens;
	size_t			 nlistens;
	char			*tls_cert;
	char			*tls_key;
	char			*state_dir;	/* default /var/lib/authrelay */
	char			*token_key_file;	/* NULL: tokens unsealed */
	long			 refresh_margin;	/* s, default 300 */
	long			 token_wait_timeout;	/* s, default 30 */
	long			 max_connections;	/* default 10000 */
	long			 max_message_size;	/* default 35882577 */
	long			 command_timeout;	/* s, default 300 */
	long			 data_timeout;		/* s, default 180 */
	long			 upstream_timeout;	/* s, default 300 */
	long			 upstream_queue_timeout; /* s, default 60 */
	long			 upstream_idle_timeout;	/* s, default 60; 0: no
							   reuse */
	long			 auth_threads;		/* default 2 */
	long			 auth_penalty_max;	/* s, default 15; 0: no
							   penalty */
	long			 max_auth_failures;	/* per connection, 3 */
	long			 max_connections_per_ip;	/* default 50 */
	long			 tls_handshake_timeout;	/* s, default 30 */
	long			 auth_timeout;	/* s from connect to AUTH (or an
						   auth = none MAIL), 30 */
	long			 upstream_hold_timeout;	/* s an idle session
						   keeps its provider
						   connection; 0: for ever */
	int			 log_level;	/* enum log_level, default info */
	char			*user;		/* run as; NULL: as started */
	char			*group;		/* NULL: the user's group */
	char			*control_socket;	/* status and reload */
	struct cfg_listen	 metrics;	/* addrlen 0: no metrics */
	struct cidr_list	 metrics_networks;	/* who may scrape;
						   default 127.0.0.0/8, ::1 */
	int			 metrics_per_user;	/* default yes */
	int			 key_line[CONFIG_KEYS_MAX];	/* [server]
						   keys' lines; 0: default */
	/* sections */
	struct cfg_provider	*providers;	/* presets first, then others */
	size_t			 nproviders;
	struct cfg_account	*accounts;
	size_t			 naccounts;
	struct cfg_user		*users;
	size_t			 nusers;
	/* Resolved by validation. */
	struct cfg_user		**noauth;	/* the auth = none users */
	size_t			 nnoauth;
};

/*
 * Read and validate path. Returns the config, or NULL with *errors set to a
 * malloc'd text of one line per problem, "PATH:LINE: [section] key: what is
 * wrong" (LINE 0 for whole-file problems such as a missing listen), with no
 * secret value in it. The caller frees *errors.
 */
struct config	*config_load(const char *path, char **errors);
/*
 * The control_socket of the file at path, even when other parts of it are
 * wrong (so that status and reload still reach the daemon): its value,
 * or the default when it is not given or not valid. -1 when the file
 * cannot be read at all.
 */
int		 config_control_socket(const char *path, char *out,
		    size_t size);
/* Free a config; NULL does nothing. Wipes client secrets. */
void		 config_free(struct config *);
/* The line of [server] key name in cf's file; 0 if it was not given. */
int		 config_server_line(const struct config *, const char *name);
/* A listener mode as the config writes it: starttls, tls, plain. */
const char	*config_mode_name(enum listen_mode);
/* An OpenSSL TLS version as the config writes it: TLSv1.2, ... */
const char	*config_tls_name(int version);
/* One key of the key table, for documentation checks and `check`. */
struct config_key_info {
	const char	*section;	/* server, provider, account, user,
					   listener */
	const char	*name;
	const char	*def;		/* NULL: no default in the table */
	int		 reload;	/* 1: a reload applies a change */
	int		 required;
	int		 repeat;	/* may be given more than once */
	int		 secret;	/* never shown */
};
/* Key i of the table into *ki; -1 past the last. */
int		 config_key_at(size_t i, struct config_key_info *ki);
/*
 * A reload: the [server] keys that need a restart keep in next the values
 * they have in cur. For each one that changed, one line "PATH:LINE:
 * [server] KEY: changed; a restart is needed to apply it (keeping the
 * running value)" is appended to *report (malloc'd; NULL if none).
 * Returns the number of such keys, -1 when out of memory.
 */
int		 config_keep_restart(struct config *next,
		    const struct config *cur, char **report);
/* Lookups by name; NULL if absent. */
struct cfg_user	*config_user(const struct config *, const char *name);
struct cfg_account *config_account(const struct config *, const char *name);
/*
 * The auth = none user whose networks hold the client address sa; NULL if
 * there is none. Validation made sure there is at most one.
 */
struct cfg_user	*config_noauth_user(const struct config *,
		    const struct sockaddr *sa);
/*
 * 1 if account a may send as addr: its email or one of its send_as,
 * compared case-insensitively over the whole address; else 0 (also for
 * the null sender "").
 */
int		 config_sender_owned(const struct cfg_account *a,
		    const char *addr);
/*
 * What the token manager needs for account a (for oauth_account_add): the
 * strings point into a, which must outlive oc.
 */
void		 config_oauth_account(const struct cfg_account *a,
		    struct oauth_account_cfg *oc);
/*
 * The token manager's settings from cf (for oauth_new); seal_key is NULL
 * or the STORE_KEY_LEN bytes read from token_key_file.
 */
void		 config_oauth_opts(const struct config *cf,
		    const unsigned char *seal_key, struct oauth_opts *oo);

#endif
