/*
 * smtp_cmd: splits a client command line into verb and arguments, and parses
 * the MAIL FROM / RCPT TO path. Pure functions, no I/O. See smtp_cmd.h.
 */
#include <string.h>
#include <strings.h>

#include "proxy/smtp_cmd.h"

/* Longest verb in the table below ("STARTTLS"). */
#define SMTP_VERB_MAX	8

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} smtp_verbs[] = {
	{ "HELO",	SMTP_HELO },
	{ "EHLO",	SMTP_EHLO },
	{ "STARTTLS",	SMTP_STARTTLS },
	{ "AUTH",	SMTP_AUTH },
	{ "MAIL",	SMTP_MAIL },
	{ "RCPT",	SMTP_RCPT },
	{ "DATA",	SMTP_DATA },
	{ "RSET",	SMTP_RSET },
	{ "NOOP",	SMTP_NOOP },
	{ "QUIT",	SMTP_QUIT },
	{ "VRFY",	SMTP_VRFY },
	{ "EXPN",	SMTP_EXPN },
	{ "HELP",	SMTP_HELP },
	{ "BDAT",	SMTP_BDAT },
};
#define SMTP_NVERBTAB	(sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

/* Control characters: C0 and DEL. Bytes >= 0x80 (UTF-8) are not. */
static int
smtp_iscntrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Split a command line (terminator already removed) into verb and args.
 * The verb is matched case-insensitively and must be followed by a space or
 * the end of the line; trailing spaces are dropped from args. Unknown verbs
 * give SMTP_UNKNOWN. Returns 0, or -1 if the line holds a NUL byte or other
 * control characters except tab.
 */
int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t i, vlen;

	cmd->verb = SMTP_UNKNOWN;
	cmd->args = "";
	cmd->argslen = 0;

	for (i = 0; i < len; i++)
		if (smtp_iscntrl((unsigned char)line[i]) && line[i] != '\t')
			return -1;

	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	if (vlen <= SMTP_VERB_MAX)
		for (i = 0; i < SMTP_NVERBTAB; i++)
			if (strlen(smtp_verbs[i].name) == vlen &&
			    strncasecmp(line, smtp_verbs[i].name, vlen) == 0) {
				cmd->verb = smtp_verbs[i].verb;
				break;
			}

	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	while (len > i && line[len - 1] == ' ')
		len--;
	if (len > i) {
		cmd->args = line + i;
		cmd->argslen = len - i;
	}
	return 0;
}

/* Name of a verb for logs ("MAIL"), "UNKNOWN" for SMTP_UNKNOWN. */
const char *
smtp_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < SMTP_NVERBTAB; i++)
		if (smtp_verbs[i].verb == verb)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}

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
int
smtp_parse_path(const char *args, size_t len, const char *kw, int allow_null,
    char *addr, size_t addrsize, const char **params)
{
	size_t kwlen = strlen(kw);
	size_t i, start, alen;

	*params = "";
	if (addrsize > 0)
		addr[0] = '\0';

	if (len < kwlen + 1 || strncasecmp(args, kw, kwlen) != 0 ||
	    args[kwlen] != ':')
		return -1;
	i = kwlen + 1;
	if (i < len && args[i] == ' ')
		i++;
	if (i >= len || args[i] != '<')
		return -1;
	start = ++i;
	for (; i < len && args[i] != '>'; i++)
		if (args[i] == ' ' || args[i] == '<' ||
		    smtp_iscntrl((unsigned char)args[i]))
			return -1;
	if (i >= len)
		return -1;
	alen = i - start;
	if (alen == 0 && !allow_null)
		return -1;
	if (alen > SMTP_PATH_MAX || alen >= addrsize)
		return -1;

	/* After the path: the end, or spaces and then the parameters. */
	i++;
	if (i < len && args[i] != ' ')
		return -1;
	while (i < len && args[i] == ' ')
		i++;

	memcpy(addr, args + start, alen);
	addr[alen] = '\0';
	/* Not "": it runs to args + len, NUL-terminated only if args is. */
	if (i < len)
		*params = args + i;
	return 0;
}
