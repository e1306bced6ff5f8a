/*
 * sendlimit: sending limits that protect a mailbox from being throttled or
 * blocked by its provider (Exchange Online: 30 messages a minute, 10,000
 * recipients a day, 500 a message; Google Workspace: 2,000 messages and
 * 10,000 recipients a day, 100 recipients a message over SMTP). A window
 * counts what an account (or a user) sent: messages over the last 60
 * seconds (one-second slots), messages and recipients over the last 24
 * hours (one-hour slots). A message counts when the provider accepted it,
 * with the recipients it accepted; limits are checked at MAIL and RCPT,
 * before anything goes to the provider.
 */
#ifndef PROXY_SENDLIMIT_H
#define PROXY_SENDLIMIT_H

#include <time.h>

#include "proxy/config.h"

#define SENDWIN_MINUTE_SLOTS	60	/* one-second slots */
#define SENDWIN_DAY_SLOTS	24	/* one-hour slots */
#define SENDWIN_HOUR		3600

struct sendwin {
	time_t		 sec[SENDWIN_MINUTE_SLOTS];	/* the second each
							   slot counts */
	unsigned	 sec_msgs[SENDWIN_MINUTE_SLOTS];
	time_t		 hour[SENDWIN_DAY_SLOTS];	/* the hour (epoch /
							   3600) each slot
							   counts */
	unsigned long	 hour_msgs[SENDWIN_DAY_SLOTS];
	unsigned long	 hour_rcpts[SENDWIN_DAY_SLOTS];
};

/* Which limit a message or a recipient would cross. */
enum sendlimit {
	LIMIT_NONE = -1,
	LIMIT_MSGS_MINUTE,	/* max_messages_per_minute */
	LIMIT_MSGS_DAY,		/* max_messages_per_day */
	LIMIT_RCPTS_DAY,	/* max_recipients_per_day */
	LIMIT_RCPTS_MSG,	/* max_recipients_per_message */
	LIMITS
};
extern const char *const sendlimit_names[LIMITS];

/* A message the provider accepted at now, with rcpts recipients. */
void		 sendwin_add(struct sendwin *, time_t now, unsigned long rcpts);
/* Messages in the last minute; messages and recipients in 24 hours. */
unsigned long	 sendwin_minute(const struct sendwin *, time_t now);
unsigned long	 sendwin_day_msgs(const struct sendwin *, time_t now);
unsigned long	 sendwin_day_rcpts(const struct sendwin *, time_t now);
/* Put back one hour slot read from disk (ignored when out of the day). */
void		 sendwin_restore(struct sendwin *, time_t now, time_t hour,
		    unsigned long msgs, unsigned long rcpts);

/* A new message (MAIL) would cross a limit of lim over win at now. */
enum sendlimit	 sendlimit_mail(const struct cfg_limits *lim,
		    const struct sendwin *win, time_t now);
/*
 * One more recipient, after sent of this message's, would cross a limit.
 */
enum sendlimit	 sendlimit_rcpt(const struct cfg_limits *lim,
		    const struct sendwin *win, time_t now, unsigned long sent);
/* The configured value of limit l in lim (0: none). */
long		 sendlimit_value(const struct cfg_limits *lim,
		    enum sendlimit l);

#endif
