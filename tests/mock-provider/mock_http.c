/*
 * mock_http: the mock provider's HTTPS server for the OAuth2 endpoints
 * (mock_oauth.c). One request per connection (HTTP/1.1, Connection: close),
 * Content-Length bodies only, at most MOCK_HTTP_MAX bytes. Routes are a
 * table of rows; grant types are a table in mock_oauth.c. Besides the
 * plain paths (/token, /authorize, /devicecode, /device), the providers'
 * own paths map to the same routes, so a preset whose host alone is
 * overridden still works: /TENANT/oauth2/v2.0/{token,authorize,devicecode}
 * (Microsoft) and /o/oauth2/auth (Google's authorize).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/mock-provider/mock.h"

#define HTTP_LINGER_SECS	1	/* draining an unread request */
#define HTTP_LINGER_BYTES	(1024 * 1024)
#define MS_PATH_MID		"/oauth2/v2.0/"	/* /TENANT/oauth2/v2.0/X */

static const struct route {
	const char	*method;
	const char	*path;
	mock_route_fn	*fn;
} routes[] = {
	{ "POST", "/token",		mock_oauth_token },
	{ "GET",  "/authorize",		mock_oauth_authorize },
	{ "POST", "/devicecode",	mock_oauth_devicecode },
	{ "GET",  "/device",		mock_oauth_device },
};

/* Providers' own paths that are not of the /TENANT/oauth2/v2.0/ form. */
static const struct alias {
	const char	*path;
	const char	*route;
} aliases[] = {
	{ "/o/oauth2/auth",	"/authorize" },		/* Google */
	{ "/o/oauth2/v2/auth",	"/authorize" },
};

static const char *
status_text(int status)
{

	switch (status) {
	case 100: return ("Continue");
	case 200: return ("OK");
	case 302: return ("Found");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 411: return ("Length Required");
	case 413: return ("Content Too Large");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	default: return ("Unknown");
	}
}

/*
 * Set a JSON response; the object's reference is taken. 0 / -1 (too big:
 * a 500 is set instead).
 */
int
mock_resp_json(struct mock_http_resp *r, int status, json_t *j)
{
	size_t n;

	n = j != NULL ? json_dumpb(j, r->body, sizeof(r->body) - 1,
	    JSON_COMPACT) : 0;
	json_decref(j);
	if (n == 0 || n >= sizeof(r->body)) {
		r->status = 500;
		snprintf(r->body, sizeof(r->body), "{\"error\":"
		    "\"server_error\",\"error_description\":"
		    "\"mock: response too large\"}");
		return (-1);
	}
	r->body[n] = '\0';
	r->status = status;
	return (0);
}

/* Set a JSON error response {"error":E,"error_description":D}. */
void
mock_resp_error(struct mock_http_resp *r, int status, const char *error,
    const char *description)
{

	(void)mock_resp_json(r, status, json_pack("{s:s, s:s}", "error", error,
	    "error_description", description));
}

/*
 * Set an OAuth error response in the current --style's shape: microsoft
 * adds "error_codes":[code] and prefixes the description with
 * "AADSTS<code>: " when code is not 0.
 */
void
mock_resp_oauth_error(struct mock_http_resp *r, int status,
    const char *error, long code, const char *description)
{
	char desc[512];

	if (mock_opts.style != MOCK_STYLE_MICROSOFT || code == 0) {
		mock_resp_error(r, status, error, description);
		return;
	}
	snprintf(desc, sizeof(desc), "AADSTS%ld: %s Trace ID: "
	    "00000000-0000-0000-0000-000000000000", code, description);
	(void)mock_resp_json(r, status, json_pack("{s:s, s:s, s:[I]}",
	    "error", error, "error_description", desc, "error_codes",
	    (json_int_t)code));
}

/* Add "Name: value\r\n" to the response headers. 0 / -1 (no room). */
int
mock_resp_header(struct mock_http_resp *r, const char *name,
    const char *value)
{
	size_t have = strlen(r->headers);
	int n;

	n = snprintf(r->headers + have, sizeof(r->headers) - have,
	    "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(r->headers) - have) {
		r->headers[have] = '\0';
		return (-1);
	}
	return (0);
}

/*
 * Whether url names this endpoint's path as the client may know it:
 * https://HOST:PORT + path with HOST the listen address, 127.0.0.1 or
 * localhost.
 */
int
mock_http_self_url(const char *url, const char *path)
{
	const char *hosts[] = { mock_opts.http_host, "127.0.0.1", "localhost" };
	char want[MOCK_URL_MAX];
	size_t i;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(want, sizeof(want), "https://%s:%u%s", hosts[i],
		    mock_opts.http_port, path);
		if (strcmp(url, want) == 0)
			return (1);
	}
	return (0);
}

/* Send the response; Connection: close always. 0 / -1. */
static int
resp_send(struct mock_conn *c, const struct mock_http_resp *r)
{

	return (mock_conn_printf(c, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-cache, no-store, max-age=0, must-revalidate\r\n"
	    "Pragma: no-cache\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n%s", r->status, status_text(r->status), strlen(r->body),
	    r->headers, r->body));
}

/* Read and drop what the client still sends, so close() sends no RST. */
static void
http_linger(struct mock_conn *c)
{
	struct timeval tv = { .tv_sec = HTTP_LINGER_SECS, .tv_usec = 0 };
	char buf[4096];
	size_t total = 0;
	ssize_t r;

	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < HTTP_LINGER_BYTES &&
	    (r = mock_conn_read(c, buf, sizeof(buf))) > 0)
		total += (size_t)r;
}

/* One %XX digit's value, or -1. */
static int
hexval(int ch)
{

	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* Percent-encode s (all but RFC 3986 unreserved) into a new string. */
char *
mock_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;
	size_t n = strlen(s);

	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(3 * n + 1)) == NULL)
		return (NULL);
	for (o = out; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL) {
			*o++ = *s;
		} else {
			*o++ = '%';
			*o++ = hex[(unsigned char)*s >> 4];
			*o++ = hex[(unsigned char)*s & 15];
		}
	}
	*o = '\0';
	return (out);
}

/* URL-decode n bytes into a new string; NULL on bad escapes or a NUL. */
static char *
url_decode(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if ((out = malloc(n + 1)) == NULL)
		return (NULL);
	for (i = 0, o = out; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				goto fail;
			if ((hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				goto fail;
			if ((*o++ = (char)(hi << 4 | lo)) == '\0')
				goto fail;
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return (out);

fail:
	free(out);
	return (NULL);
}

/* Free the names and values; f is then empty. */
void
mock_form_free(struct mock_form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->value[i]);
	}
	f->n = 0;
}

/* The value of a form parameter, or NULL. */
const char *
mock_form_get(const struct mock_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return (f->value[i]);
	return (NULL);
}

/*
 * Parse an application/x-www-form-urlencoded string. A parameter given
 * twice is an error (RFC 6749 3.1). 0 / -1 (f is then empty).
 */
int
mock_form_parse(struct mock_form *f, const char *s, size_t n)
{
	const char *end = s + n, *amp, *eq;

	f->n = 0;
	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp == s) {
			s++;
			continue;
		}
		if (f->n == MOCK_FORM_MAX)
			goto fail;
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if ((f->name[f->n] = url_decode(s, (size_t)(eq - s))) == NULL)
			goto fail;
		f->value[f->n] = eq == amp ? url_decode("", 0) :
		    url_decode(eq + 1, (size_t)(amp - eq - 1));
		f->n++;
		if (f->value[f->n - 1] == NULL ||
		    mock_form_get(f, f->name[f->n - 1]) != f->value[f->n - 1])
			goto fail;
		s = amp + 1;
	}
	return (0);

fail:
	mock_form_free(f);
	return (-1);
}

/* The route path a request path maps to, or NULL. */
static const char *
route_of(const char *path)
{
	const char *p, *mid;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			return (routes[i].path);
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(path, aliases[i].path) == 0)
			return (aliases[i].route);
	/* /TENANT/oauth2/v2.0/X, TENANT one non-empty segment. */
	if (path[0] != '/' || (mid = strchr(path + 1, '/')) == NULL ||
	    mid == path + 1 || strncmp(mid, MS_PATH_MID,
	    strlen(MS_PATH_MID)) != 0)
		return (NULL);
	p = mid + strlen(MS_PATH_MID) - 1;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(p, routes[i].path) == 0 &&
		    strcmp(p, "/device") != 0)
			return (routes[i].path);
	return (NULL);
}

/*
 * Parse the request line and headers in q->head (NUL-terminated, the
 * blank line cut off). 0, or -1 with r set.
 */
static int
parse_head(struct mock_http_req *q, struct mock_http_resp *r)
{
	char *line, *next, *colon, *v, *sp1, *sp2, *end;
	long cl;

	line = q->head.p;
	if ((next = strchr(line, '\n')) != NULL)
		*next++ = '\0';
	if ((end = strchr(line, '\r')) != NULL)
		*end = '\0';
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    (size_t)(sp1 - line) >= sizeof(q->method) ||
	    (strcmp(sp2 + 1, "HTTP/1.1") != 0 &&
	    strcmp(sp2 + 1, "HTTP/1.0") != 0))
		goto bad;
	memcpy(q->method, line, (size_t)(sp1 - line));
	q->method[sp1 - line] = '\0';
	*sp2 = '\0';
	q->query = "";
	if ((v = strchr(sp1 + 1, '?')) != NULL) {
		*v = '\0';
		q->query = v + 1;
	}
	if (strlen(sp1 + 1) >= sizeof(q->path))
		goto bad;
	strcpy(q->path, sp1 + 1);
	q->route = route_of(q->path);

	for (line = next; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((end = strchr(line, '\r')) != NULL)
			*end = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			goto bad;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v); end > v &&
		    (end[-1] == ' ' || end[-1] == '\t'); end--)
			end[-1] = '\0';
		if (strcasecmp(line, "Content-Length") == 0) {
			if (!isdigit((unsigned char)*v))
				goto bad;
			errno = 0;
			cl = strtol(v, &end, 10);
			if (errno != 0 || *end != '\0' ||
			    (q->content_length != -1 &&
			    q->content_length != cl))
				goto bad;
			q->content_length = cl;
		} else if (strcasecmp(line, "Content-Type") == 0) {
			q->content_type = v;
		} else if (strcasecmp(line, "Expect") == 0) {
			q->expect_continue = strcasecmp(v, "100-continue") == 0;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			q->chunked = 1;
		}
	}
	return (0);

bad:
	mock_resp_error(r, 400, "invalid_request", "Malformed HTTP request.");
	return (-1);
}

/*
 * Read the head (up to the blank line) and the body. 0, or -1 with r set
 * (r->status 0: the connection failed, send nothing).
 */
static int
read_request(struct mock_conn *c, struct mock_http_req *q,
    struct mock_http_resp *r)
{
	char buf[4096], *hend;
	size_t hlen, have;
	ssize_t n;

	for (;;) {
		if ((hend = strstr(q->head.p != NULL ? q->head.p : "",
		    "\r\n\r\n")) != NULL)
			break;
		if (q->head.len >= MOCK_HTTP_MAX) {
			mock_resp_error(r, 431, "invalid_request",
			    "Request too large.");
			return (-1);
		}
		if ((n = mock_conn_read(c, buf, sizeof(buf))) <= 0)
			return (-1);
		/* A NUL in the head would hide the rest from strstr. */
		if (memchr(buf, '\0', (size_t)n) != NULL) {
			mock_resp_error(r, 400, "invalid_request",
			    "NUL in head.");
			return (-1);
		}
		if (mock_dbuf_add(&q->head, buf, (size_t)n) == -1)
			return (-1);
	}
	hlen = (size_t)(hend - q->head.p) + 4;
	if (mock_dbuf_add(&q->body, q->head.p + hlen, q->head.len - hlen) == -1)
		return (-1);
	hend[2] = '\0';
	q->head.len = hlen - 2;
	if (parse_head(q, r) == -1)
		return (-1);

	if (q->chunked || (q->content_length == -1 &&
	    strcmp(q->method, "POST") == 0)) {
		mock_resp_error(r, 411, "invalid_request",
		    "Content-Length required.");
		return (-1);
	}
	if (q->content_length == -1)
		q->content_length = 0;
	if ((size_t)q->content_length > MOCK_HTTP_MAX - hlen) {
		mock_resp_error(r, 413, "invalid_request",
		    "Request too large.");
		return (-1);
	}
	if (q->body.len < (size_t)q->content_length && q->expect_continue &&
	    mock_conn_printf(c, "HTTP/1.1 100 Continue\r\n\r\n") == -1)
		return (-1);
	while ((have = q->body.len) < (size_t)q->content_length) {
		n = mock_conn_read(c, buf, (size_t)q->content_length - have <
		    sizeof(buf) ? (size_t)q->content_length - have :
		    sizeof(buf));
		if (n <= 0)
			return (-1);
		if (mock_dbuf_add(&q->body, buf, (size_t)n) == -1)
			return (-1);
	}
	/* Pipelined extra bytes after the body are ignored. */
	q->body.len = (size_t)q->content_length;
	return (0);
}

/* Serve one HTTPS connection to the OAuth endpoints, then free it. */
void
mock_http_serve(struct mock_conn *c, SSL_CTX *ctx)
{
	struct mock_http_req q;
	struct mock_http_resp r;
	size_t i, n = sizeof(routes) / sizeof(routes[0]);
	const char *allow = NULL;

	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	q.content_length = -1;

	if (mock_conn_starttls(c, ctx) == -1) {
		mock_log("http conn=%lu tls handshake failed", c->id);
		goto done;
	}
	if (read_request(c, &q, &r) == -1) {
		if (r.status != 0) {
			mock_log("http conn=%lu bad request status=%d", c->id,
			    r.status);
			(void)resp_send(c, &r);
			http_linger(c);
		}
		goto done;
	}
	for (i = 0; q.route != NULL && i < n; i++) {
		if (strcmp(q.route, routes[i].path) != 0)
			continue;
		allow = routes[i].method;
		if (strcmp(q.method, routes[i].method) == 0)
			break;
	}
	if (q.route != NULL && i < n) {
		routes[i].fn(c, &q, &r);
	} else if (allow != NULL) {
		mock_resp_error(&r, 405, "invalid_request",
		    "Method not allowed.");
		(void)mock_resp_header(&r, "Allow", allow);
		mock_log("http conn=%lu %s %s status=405", c->id, q.method,
		    q.path);
	} else {
		mock_resp_error(&r, 404, "not_found", "No such endpoint.");
		mock_log("http conn=%lu %s %s status=404", c->id, q.method,
		    q.path);
	}
	if (r.drop) {
		/* A dropped connection: no response, no close_notify. */
		c->abort = 1;
		goto done;
	}
	if (r.status != 0)
		(void)resp_send(c, &r);

done:
	mock_dbuf_free(&q.head);
	mock_dbuf_free(&q.body);
	mock_conn_free(c);
}
