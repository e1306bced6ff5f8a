/*
 * smtp_cmd: splits a client command line into verb and arguments, and parses
 * the MAIL FROM / RCPT TO path. Pure functions, no I/O.
 */
#ifndef PROXY_SMTP_CMD_H
#define PROXY_SMTP_CMD_H

#include <stddef.h>

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_HELO, SMTP_EHLO, SMTP_STARTTLS, SMTP_AUTH, SMTP_MAIL, SMTP_RCPT,
	SMTP_DATA, SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN,
	SMTP_HELP, SMTP_BDAT,
	SMTP_NVERBS
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	const char	*args;	/* points into the line, after the verb and
				   the spaces that follow it; "" if none */
	size_t		 argslen;
};

/* Longest address accepted in a path (RFC 5321 4.5.3.1.3: 256 octets). */
#define SMTP_PATH_MAX	256

/*
 * Split a command line (terminator already removed) into verb and args.
 * The verb is matched case-insensitively and must be followed by a space or
 * the end of the line; trailing spaces are dropped from args. Unknown verbs
 * give SMTP_UNKNOWN. Returns 0, or -1 if the line holds a NUL byte or other
 * control characters except tab.
 */
int	smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *);

/* Name of a verb for logs ("MAIL"), "UNKNOWN" for SMTP_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb);

/*
 * Parse "FROM:<addr> params" (kw "FROM") or "TO:<addr> params" (kw "TO").
 * The keyword is case-insensitive; one optional space after the colon is
 * tolerated (many devices send "MAIL FROM: <a@b>"). The address is copied
 * without brackets into addr (NUL-terminated); "<>" gives "" and is allowed
 * only when allow_null. *params points at the ESMTP parameters after the
 * path and the spaces that follow it ("" if none). Returns 0, or -1 on a
 * syntax error (missing brackets, spaces or controls inside the path, an
 * address longer than SMTP_PATH_MAX or addrsize-1).
 */
int	smtp_parse_path(const char *args, size_t len, const char *kw,
	    int allow_null, char *addr, size_t addrsize, const char **params);

#endif
