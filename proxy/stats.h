/*
 * stats: the counters and histograms behind the metrics (metrics.h), kept
 * where the things they count live: a listener's in struct listener, an
 * account's in struct relay_account (both long-lived, so counters survive
 * reloads), the daemon's in struct session_env. Plain numbers touched on
 * the one loop: no locking. Labels are bounded by design: listeners,
 * accounts and users come from the config, every other label from the
 * enums here; never a client address.
 */
#ifndef PROXY_STATS_H
#define PROXY_STATS_H

#include <stddef.h>

#include "proxy/sendlimit.h"

#define STATS_LIMITS	LIMITS		/* sendlimit.h's kinds */

/* Histogram buckets, in seconds (upper bounds; +Inf is implied). */
#define STATS_BUCKETS	12
extern const double	stats_bounds[STATS_BUCKETS];

struct stats_hist {
	unsigned long long	 b[STATS_BUCKETS];	/* not cumulative */
	unsigned long long	 count;
	double			 sum;
};

/* Add one observation of v seconds. */
void	stats_hist_add(struct stats_hist *, double v);

/* Why a listener turned a connection away before SMTP. */
enum stats_refusal {
	REFUSED_MAX_CONNECTIONS,	/* max_connections */
	REFUSED_PER_IP,			/* max_connections_per_ip */
	REFUSED_NETWORKS,		/* the listener's networks */
	REFUSED_PROXY,			/* PROXY header missing, bad, or from
					   outside proxy_networks */
	REFUSED_KINDS
};
extern const char *const stats_refusal_names[REFUSED_KINDS];

/* Why a client's TLS handshake failed. */
enum stats_tls_failure {
	TLSFAIL_TIMEOUT,		/* tls_handshake_timeout */
	TLSFAIL_CLOSED,			/* the client went away */
	TLSFAIL_PROTOCOL,		/* a TLS error */
	TLSFAIL_KINDS
};
extern const char *const stats_tls_failure_names[TLSFAIL_KINDS];

struct stats_listener {
	unsigned long long	 connections;
	unsigned long long	 refused[REFUSED_KINDS];
	unsigned long long	 tls_failures[TLSFAIL_KINDS];
};

/* How an AUTH ended. */
enum stats_auth {
	AUTH_OK,			/* password right, provider ready */
	AUTH_BAD_PASSWORD,
	AUTH_UNKNOWN_USER,		/* or an auth = none user */
	AUTH_NETWORK,			/* right password, wrong network */
	AUTH_BUSY,			/* penalty table or queue full */
	AUTH_PROVIDER,			/* no provider connection: 454/451 */
	AUTH_ABORTED,			/* "*", or undecodable */
	AUTH_KINDS
};
extern const char *const stats_auth_names[AUTH_KINDS];

enum stats_mech { MECH_PLAIN, MECH_LOGIN, MECHS };
extern const char *const stats_mech_names[MECHS];

/* What became of a message (at the end of DATA). */
enum stats_msg {
	MSG_RELAYED,			/* the provider said 2xx */
	MSG_REJECTED,			/* 5xx, the provider's or ours */
	MSG_FAILED,			/* 4xx, or the provider lost */
	MSG_KINDS
};
extern const char *const stats_msg_names[MSG_KINDS];

struct stats_account {
	unsigned long long	 messages[MSG_KINDS];
	unsigned long long	 recipients[MSG_KINDS];	/* of those messages */
	unsigned long long	 bytes[MSG_KINDS];	/* message content */
	unsigned long long	 replies[6];	/* provider replies by first
						   digit, 0: none of 1-5 */
	struct stats_hist	 slot_wait;	/* waiting for a connection */
	struct stats_hist	 data_reply;	/* end of DATA to the reply */
	unsigned long long	 limit_hits[2][STATS_LIMITS];	/* sending
						   limits reached: the
						   account's, a user's */
};

/* A user's counters (metrics_per_user) and, when the user has sending
   limits, its window (sendlimit.h); found by name. */
struct stats_user {
	struct stats_user	*next;		/* hash chain */
	unsigned long long	 auth_ok, auth_failed;
	unsigned long long	 messages[MSG_KINDS];
	struct sendwin		*win;		/* NULL until needed */
	char			 name[];
};

#define STATS_USERS_MAX		100000	/* users counted (the config's
					   limit) */
#define STATS_USER_BUCKETS	4096

/* The daemon's own. */
struct stats {
	unsigned long long	 auth[MECHS][AUTH_KINDS];
	unsigned long long	 reloads[2];	/* refused, applied */
	struct stats_user	*users[STATS_USER_BUCKETS];
	size_t			 nusers;
};

/* The counters of user name, made at first use; NULL beyond
   STATS_USERS_MAX or out of memory. */
struct stats_user *stats_user(struct stats *, const char *name);
/* The counters of user name if it has any yet; NULL if not. */
const struct stats_user *stats_user_find(const struct stats *,
		    const char *name);
/* Free the per-user counters. */
void	stats_free(struct stats *);

#endif
