/*
 * control: `status` and `reload`, the client side of the daemon's control
 * socket (proxy/control.h): one request line, one JSON reply.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "proxy/control.h"

/* Exit statuses of status and reload. */
#define CTL_HEALTHY	0
#define CTL_DEGRADED	1
#define CTL_APPLIED	0
#define CTL_REFUSED	1
#define CTL_UNREACHABLE	2
/* s to wait for the daemon's answer (a reload of a large file). */
#define CTL_WAIT	60

/* Read all of fd until EOF, within CTL_WAIT s. NULL after saying why. */
static char *
read_reply(int fd, const char *path, size_t *len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t end = time(NULL) + CTL_WAIT;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	while (buf != NULL) {
		if (poll(&pfd, 1, 1000) == 0) {
			if (time(NULL) < end)
				continue;
			fprintf(stderr, "authrelay: %s: no answer within %d s\n",
			    path, CTL_WAIT);
			break;
		}
		if (n + 1 == cap) {
			if (cap >= CONTROL_REPLY_MAX ||
			    (nb = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if ((r = read(fd, buf + n, cap - n - 1)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0 && n > 0) {
				buf[n] = '\0';
				*len = n;
				return buf;
			}
			fprintf(stderr, "authrelay: %s: the daemon closed "
			    "without an answer\n", path);
			break;
		}
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

/*
 * Ask the daemon of cfg; its JSON answer, or NULL after saying why (the
 * daemon is then not running, or not reachable by us).
 */
static json_t *
ask(const char *path, const char *sock, const char *request)
{
	struct sockaddr_un sa;
	json_error_t jerr;
	json_t *reply = NULL;
	char line[CONTROL_REQUEST_MAX], *text;
	size_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "authrelay: cannot reach the daemon at %s: %s "
		    "(is it running with %s?)\n", sock, strerror(errno),
		    path);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	snprintf(line, sizeof(line), "%s\n", request);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) == -1) {
		fprintf(stderr, "authrelay: %s: %s\n", sock,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	text = read_reply(fd, sock, &len);
	close(fd);
	if (text == NULL)
		return NULL;
	if ((reply = json_loadb(text, len, 0, &jerr)) == NULL ||
	    !json_is_object(reply))
		fprintf(stderr, "authrelay: %s: the daemon's answer is not a "
		    "JSON object\n", sock);
	else if (json_object_get(reply, "error") != NULL) {
		fprintf(stderr, "authrelay: the daemon says: %s\n",
		    json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		reply = NULL;
	}
	free(text);
	return reply;
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static long long
num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "2026-12-07 23:59:59 UTC", or "never" for 0. */
static const char *
when(json_t *o, const char *key, char *buf, size_t size)
{
	long long t = num(o, key);

	if (t == 0)
		return "never";
	cli_format_time((time_t)t, buf, size);
	return buf;
}

static void
print_account(const char *path, json_t *a)
{
	json_t *c = json_object_get(a, "credential");
	json_t *k = json_object_get(a, "connections");
	json_t *m = json_object_get(a, "messages");
	json_t *snd = json_object_get(a, "sending");
	json_t *lim = json_object_get(snd, "limits");
	const char *state = str(c, "state");
	char t1[CLI_TIME_MAX], t2[CLI_TIME_MAX];

	printf("  %s <%s> provider=%s grant=%s\n", str(a, "name"),
	    str(a, "email"), str(a, "provider"), str(a, "grant"));
	if (strcmp(state, "valid") == 0)
		printf("    credential: access token valid until %s\n",
		    when(c, "expires", t1, sizeof(t1)));
	else if (strcmp(state, "needs-authorize") == 0)
		printf("    credential: NEEDS AUTHORIZE: %s\n"
		    "                run: authrelay -c %s authorize %s\n",
		    str(c, "reason"), path, str(a, "name"));
	else if (strcmp(state, "failing") == 0)
		printf("    credential: FAILING: no access token\n");
	else
		printf("    credential: no access token cached (one is asked "
		    "for when needed)\n");
	printf("    last refresh: %s%s%s\n", when(c, "last_refresh", t2,
	    sizeof(t2)), num(c, "last_refresh") != 0 ? ": " : "",
	    str(c, "last_result"));
	printf("    provider connections: %lld busy, %lld idle, %lld sessions "
	    "waiting (max %lld)\n", num(k, "busy"), num(k, "idle"),
	    num(k, "waiting"), num(k, "max"));
	printf("    messages since start: %lld relayed, %lld failed\n",
	    num(m, "relayed"), num(m, "failed"));
	printf("    sent: %lld in the last minute, %lld messages and %lld "
	    "recipients in 24 h\n", num(snd, "messages_last_minute"),
	    num(snd, "messages_last_day"), num(snd, "recipients_last_day"));
	printf("    limits (0: none): %lld a minute, %lld messages and %lld "
	    "recipients a day, %lld recipients a message\n",
	    num(lim, "max_messages_per_minute"),
	    num(lim, "max_messages_per_day"),
	    num(lim, "max_recipients_per_day"),
	    num(lim, "max_recipients_per_message"));
}

static void
print_status(const char *path, json_t *st)
{
	json_t *r = json_object_get(st, "last_reload"), *v, *line;
	char t[CLI_TIME_MAX];
	long long up = num(st, "uptime");
	size_t i;

	printf("authrelay %s, pid %lld, up %lldd %02lld:%02lld:%02lld, "
	    "generation %lld, %lld sessions\n", str(st, "version"),
	    num(st, "pid"), up / 86400, up / 3600 % 24, up / 60 % 60,
	    up % 60, num(st, "generation"), num(st, "sessions"));
	if (num(r, "at") == 0)
		printf("last reload: none\n");
	else
		printf("last reload: %s, %s\n", when(r, "at", t, sizeof(t)),
		    str(r, "result"));
	json_array_foreach(json_object_get(r, "report"), i, line)
		printf("  %s\n", json_string_value(line));
	printf("listeners:\n");
	json_array_foreach(json_object_get(st, "listeners"), i, v)
		printf("  %-20s %-24s %-8s %lld sessions\n", str(v, "name"),
		    str(v, "address"), str(v, "mode"), num(v, "sessions"));
	printf("accounts:\n");
	json_array_foreach(json_object_get(st, "accounts"), i, v)
		print_account(path, v);
	printf("health: %s\n", json_is_true(json_object_get(st,
	    "healthy")) ? "healthy" : "DEGRADED (an account cannot get a "
	    "token)");
}

int
cli_status(const char *path, const char *sock, int json)
{
	json_t *st;
	int r;

	if ((st = ask(path, sock, "status")) == NULL)
		return CTL_UNREACHABLE;
	r = json_is_true(json_object_get(st, "healthy")) ? CTL_HEALTHY :
	    CTL_DEGRADED;
	if (json) {
		json_dumpf(st, stdout, JSON_COMPACT);
		printf("\n");
	} else
		print_status(path, st);
	json_decref(st);
	return r;
}

int
cli_reload(const char *path, const char *sock)
{
	json_t *rep, *line;
	int applied;
	size_t i;

	if ((rep = ask(path, sock, "reload")) == NULL)
		return CTL_UNREACHABLE;
	applied = strcmp(str(rep, "result"), "applied") == 0;
	if (applied)
		printf("reload applied: generation %lld\n",
		    num(rep, "generation"));
	else
		fprintf(stderr, "reload refused: the daemon keeps its running "
		    "configuration (generation %lld)\n",
		    num(rep, "generation"));
	/* FILE:LINE: first on the line, as check prints them. */
	json_array_foreach(json_object_get(rep, "report"), i, line)
		fprintf(applied ? stdout : stderr, "%s\n",
		    json_string_value(line));
	json_decref(rep);
	return applied ? CTL_APPLIED : CTL_REFUSED;
}
