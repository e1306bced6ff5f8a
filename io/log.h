/*
 * log: one line per event on stderr, "LEVEL SID message key=value ...".
 * The session id comes first so one grep follows a session. Callers never
 * pass secrets: passwords, tokens and AUTH payloads are not arguments here.
 */
#ifndef IO_LOG_H
#define IO_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Lines below this level are dropped (default LOG_INFO). */
void	log_set_level(enum log_level);
/* Prefix every line with a UTC timestamp (default on; off under journald). */
void	log_set_timestamps(int);
/* Log one line for session sid (0: not about a session). */
void	log_msg(enum log_level, uint64_t sid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(sid, ...)	log_msg(LOG_DEBUG, (sid), __VA_ARGS__)
#define log_info(sid, ...)	log_msg(LOG_INFO, (sid), __VA_ARGS__)
#define log_warn(sid, ...)	log_msg(LOG_WARN, (sid), __VA_ARGS__)
#define log_err(sid, ...)	log_msg(LOG_ERR, (sid), __VA_ARGS__)

#endif
