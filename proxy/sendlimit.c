/*
 * sendlimit: sending windows and limits. See sendlimit.h.
 */
#include <string.h>

#include "proxy/sendlimit.h"

const char *const sendlimit_names[LIMITS] = {
	"max_messages_per_minute", "max_messages_per_day",
	"max_recipients_per_day", "max_recipients_per_message",
};

/* A message the provider accepted at now, with rcpts recipients. */
void
sendwin_add(struct sendwin *w, time_t now, unsigned long rcpts)
{
	size_t s = (size_t)(now % SENDWIN_MINUTE_SLOTS);
	time_t h = now / SENDWIN_HOUR;
	size_t hs = (size_t)(h % SENDWIN_DAY_SLOTS);

	if (w->sec[s] != now) {
		w->sec[s] = now;
		w->sec_msgs[s] = 0;
	}
	w->sec_msgs[s]++;
	if (w->hour[hs] != h) {
		w->hour[hs] = h;
		w->hour_msgs[hs] = w->hour_rcpts[hs] = 0;
	}
	w->hour_msgs[hs]++;
	w->hour_rcpts[hs] += rcpts;
}

unsigned long
sendwin_minute(const struct sendwin *w, time_t now)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < SENDWIN_MINUTE_SLOTS; i++)
		if (w->sec[i] > now - SENDWIN_MINUTE_SLOTS && w->sec[i] <= now)
			n += w->sec_msgs[i];
	return n;
}

/* Slot i counts in the 24 hours that end with now's hour. */
static int
in_day(const struct sendwin *w, size_t i, time_t now)
{
	time_t h = now / SENDWIN_HOUR;

	return w->hour[i] > h - SENDWIN_DAY_SLOTS && w->hour[i] <= h;
}

/* Sum of the slots of counts that are in the day. */
static unsigned long
day_sum(const struct sendwin *w, const unsigned long *counts, time_t now)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < SENDWIN_DAY_SLOTS; i++)
		if (in_day(w, i, now))
			n += counts[i];
	return n;
}

unsigned long
sendwin_day_msgs(const struct sendwin *w, time_t now)
{
	return day_sum(w, w->hour_msgs, now);
}

unsigned long
sendwin_day_rcpts(const struct sendwin *w, time_t now)
{
	return day_sum(w, w->hour_rcpts, now);
}

/* Put back one hour slot read from disk (ignored when out of the day). */
void
sendwin_restore(struct sendwin *w, time_t now, time_t hour,
    unsigned long msgs, unsigned long rcpts)
{
	time_t h = now / SENDWIN_HOUR;
	size_t s;

	if (hour <= h - SENDWIN_DAY_SLOTS || hour > h)
		return;
	s = (size_t)(hour % SENDWIN_DAY_SLOTS);
	w->hour[s] = hour;
	w->hour_msgs[s] = msgs;
	w->hour_rcpts[s] = rcpts;
}

/* The configured value of limit l in lim (0: none). */
long
sendlimit_value(const struct cfg_limits *lim, enum sendlimit l)
{
	switch (l) {
	case LIMIT_MSGS_MINUTE:
		return lim->msgs_minute;
	case LIMIT_MSGS_DAY:
		return lim->msgs_day;
	case LIMIT_RCPTS_DAY:
		return lim->rcpts_day;
	case LIMIT_RCPTS_MSG:
		return lim->rcpts_msg;
	default:
		return 0;
	}
}

/* A new message (MAIL) would cross a limit of lim over win at now. */
enum sendlimit
sendlimit_mail(const struct cfg_limits *lim, const struct sendwin *win,
    time_t now)
{
	if (lim->msgs_minute > 0 &&
	    sendwin_minute(win, now) >= (unsigned long)lim->msgs_minute)
		return LIMIT_MSGS_MINUTE;
	if (lim->msgs_day > 0 &&
	    sendwin_day_msgs(win, now) >= (unsigned long)lim->msgs_day)
		return LIMIT_MSGS_DAY;
	if (lim->rcpts_day > 0 &&
	    sendwin_day_rcpts(win, now) >= (unsigned long)lim->rcpts_day)
		return LIMIT_RCPTS_DAY;
	return LIMIT_NONE;
}

/*
 * One more recipient, after sent of this message's, would cross a limit.
 */
enum sendlimit
sendlimit_rcpt(const struct cfg_limits *lim, const struct sendwin *win,
    time_t now, unsigned long sent)
{
	if (lim->rcpts_msg > 0 && sent >= (unsigned long)lim->rcpts_msg)
		return LIMIT_RCPTS_MSG;
	if (lim->rcpts_day > 0 && sendwin_day_rcpts(win, now) + sent >=
	    (unsigned long)lim->rcpts_day)
		return LIMIT_RCPTS_DAY;
	return LIMIT_NONE;
}
