/*
 * mock_http: the mock provider's HTTPS OAuth2 token endpoint. One request
 * per connection (HTTP/1.1, Connection: close), Content-Length bodies only,
 * at most MOCK_HTTP_MAX bytes. Routes and grant types are tables, so new
 * endpoints and grants (device flow, PKCE, JWT) are new rows.
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

#define HTTP_BODY_MAX		2048	/* one response body */
#define HTTP_HEADERS_MAX	512	/* a response's extra header lines */
#define HTTP_FORM_MAX		32	/* parameters in one form body */
#define HTTP_LINGER_SECS	1	/* draining an unread request */
#define HTTP_LINGER_BYTES	(1024 * 1024)

#define GOOGLE_SCOPE		"https://mail.google.com/"

struct http_req {
	char		 method[16];
	char		 path[256];
	const char	*content_type;	/* into head, or NULL */
	long		 content_length;	/* -1: none */
	int		 expect_continue;
	int		 chunked;
	struct mock_dbuf head;		/* request line and headers, NULs */
	struct mock_dbuf body;
};

struct http_resp {
	int		 status;
	char		 headers[HTTP_HEADERS_MAX];	/* "Name: v\r\n"... */
	char		 body[HTTP_BODY_MAX];		/* JSON */
};

struct form {
	size_t		 n;
	char		*name[HTTP_FORM_MAX];
	char		*value[HTTP_FORM_MAX];
};

typedef void	route_fn(struct mock_conn *, struct http_req *,
		    struct http_resp *);
typedef void	grant_fn(struct mock_conn *, struct form *, struct http_resp *);

static route_fn	route_token;
static grant_fn	grant_refresh_token;

static const struct route {
	const char	*method;
	const char	*path;
	route_fn	*fn;
} routes[] = {
	{ "POST", "/token", route_token },
};

static const struct grant {
	const char	*grant_type;
	grant_fn	*fn;
} grants[] = {
	{ "refresh_token", grant_refresh_token },
};

static const char *
status_text(int status)
{

	switch (status) {
	case 100: return ("Continue");
	case 200: return ("OK");
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

/* Set an OAuth2 error response. */
static void
resp_error(struct http_resp *r, int status, const char *error,
    const char *description)
{

	r->status = status;
	snprintf(r->body, sizeof(r->body),
	    "{\"error\":\"%s\",\"error_description\":\"%s\"}", error,
	    description);
}

/* Send the response; Connection: close always. 0 / -1. */
static int
resp_send(struct mock_conn *c, const struct http_resp *r)
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

static void
form_free(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->value[i]);
	}
	f->n = 0;
}

/* The value of a form parameter, or NULL. */
static const char *
form_get(const struct form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return (f->value[i]);
	return (NULL);
}

/*
 * Parse an application/x-www-form-urlencoded body. A parameter given twice
 * is an error (RFC 6749 3.1). 0 / -1.
 */
static int
form_parse(struct form *f, const char *s, size_t n)
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
		if (f->n == HTTP_FORM_MAX)
			goto fail;
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if ((f->name[f->n] = url_decode(s, (size_t)(eq - s))) == NULL)
			goto fail;
		f->value[f->n] = eq == amp ? url_decode("", 0) :
		    url_decode(eq + 1, (size_t)(amp - eq - 1));
		f->n++;
		if (f->value[f->n - 1] == NULL ||
		    form_get(f, f->name[f->n - 1]) != f->value[f->n - 1])
			goto fail;
		s = amp + 1;
	}
	return (0);

fail:
	form_free(f);
	return (-1);
}

/* Whether the client_id / client_secret match the configured ones. */
static int
client_ok(const struct form *f)
{
	const char *v;

	if (mock_opts.client_id != NULL &&
	    ((v = form_get(f, "client_id")) == NULL ||
	    strcmp(v, mock_opts.client_id) != 0))
		return (0);
	if (mock_opts.client_secret != NULL &&
	    ((v = form_get(f, "client_secret")) == NULL ||
	    strcmp(v, mock_opts.client_secret) != 0))
		return (0);
	return (1);
}

/* grant_type=refresh_token: a new access token for the one refresh token. */
static void
grant_refresh_token(struct mock_conn *c, struct form *f, struct http_resp *r)
{
	char token[MOCK_TOKEN_MAX];
	const char *rt;

	(void)c;

	if ((rt = form_get(f, "refresh_token")) == NULL) {
		resp_error(r, 400, "invalid_request",
		    "Missing required parameter: refresh_token");
		return;
	}
	if (strcmp(rt, mock_opts.refresh_token) != 0) {
		resp_error(r, 400, "invalid_grant",
		    "Token has been expired or revoked.");
		return;
	}
	if (mock_token_issue(token, sizeof(token), mock_opts.token_ttl) == -1) {
		resp_error(r, 500, "internal_failure", "Cannot issue a token.");
		return;
	}
	r->status = 200;
	snprintf(r->body, sizeof(r->body), "{\"access_token\":\"%s\","
	    "\"expires_in\":%ld,\"scope\":\"" GOOGLE_SCOPE "\","
	    "\"token_type\":\"Bearer\"}", token, mock_opts.token_ttl);
}

/* POST /token: count it, then dispatch on grant_type. */
static void
route_token(struct mock_conn *c, struct http_req *q, struct http_resp *r)
{
	struct form f = { .n = 0 };
	const char *gt = NULL;
	size_t i = 0, n = sizeof(grants) / sizeof(grants[0]);

	mock_counter_bump(MOCK_CNT_TOKEN_REQUESTS);
	if (q->content_type == NULL || strncasecmp(q->content_type,
	    "application/x-www-form-urlencoded",
	    strlen("application/x-www-form-urlencoded")) != 0) {
		resp_error(r, 400, "invalid_request",
		    "Content-Type must be application/x-www-form-urlencoded.");
		goto done;
	}
	if (form_parse(&f, q->body.p != NULL ? q->body.p : "",
	    q->body.len) == -1) {
		resp_error(r, 400, "invalid_request",
		    "Malformed or repeated parameter.");
		goto done;
	}
	if ((gt = form_get(&f, "grant_type")) == NULL) {
		resp_error(r, 400, "invalid_request",
		    "Missing required parameter: grant_type");
		goto done;
	}
	for (i = 0; i < n; i++)
		if (strcmp(gt, grants[i].grant_type) == 0)
			break;
	if (i == n) {
		resp_error(r, 400, "unsupported_grant_type",
		    "Invalid grant_type.");
		goto done;
	}
	if (!client_ok(&f)) {
		resp_error(r, 401, "invalid_client", "Unauthorized");
		goto done;
	}
	grants[i].fn(c, &f, r);

done:
	mock_log("http conn=%lu POST /token grant_type=%s status=%d", c->id,
	    gt != NULL && i < n ? gt : "-", r->status);
	form_free(&f);
}

/*
 * Parse the request line and headers in q->head (NUL-terminated, the
 * blank line cut off). 0, or -1 with r set.
 */
static int
parse_head(struct http_req *q, struct http_resp *r)
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
	if ((v = strchr(sp1 + 1, '?')) != NULL)
		*v = '\0';
	if (strlen(sp1 + 1) >= sizeof(q->path))
		goto bad;
	strcpy(q->path, sp1 + 1);

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
	resp_error(r, 400, "invalid_request", "Malformed HTTP request.");
	return (-1);
}

/*
 * Read the head (up to the blank line) and the body. 0, or -1 with r set
 * (r->status 0: the connection failed, send nothing).
 */
static int
read_request(struct mock_conn *c, struct http_req *q, struct http_resp *r)
{
	char buf[4096], *hend;
	size_t hlen, have;
	ssize_t n;

	for (;;) {
		if ((hend = strstr(q->head.p != NULL ? q->head.p : "",
		    "\r\n\r\n")) != NULL)
			break;
		if (q->head.len >= MOCK_HTTP_MAX) {
			resp_error(r, 431, "invalid_request",
			    "Request too large.");
			return (-1);
		}
		if ((n = mock_conn_read(c, buf, sizeof(buf))) <= 0)
			return (-1);
		/* A NUL in the head would hide the rest from strstr. */
		if (memchr(buf, '\0', (size_t)n) != NULL) {
			resp_error(r, 400, "invalid_request", "NUL in head.");
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
		resp_error(r, 411, "invalid_request",
		    "Content-Length required.");
		return (-1);
	}
	if (q->content_length == -1)
		q->content_length = 0;
	if ((size_t)q->content_length > MOCK_HTTP_MAX - hlen) {
		resp_error(r, 413, "invalid_request", "Request too large.");
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

/* Serve one HTTPS connection to the token endpoint, then free it. */
void
mock_http_serve(struct mock_conn *c, SSL_CTX *ctx)
{
	struct http_req q;
	struct http_resp r;
	size_t i, n = sizeof(routes) / sizeof(routes[0]);
	int path_known = 0;

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
	for (i = 0; i < n; i++) {
		if (strcmp(q.path, routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(q.method, routes[i].method) == 0)
			break;
	}
	if (i < n) {
		routes[i].fn(c, &q, &r);
	} else if (path_known) {
		resp_error(&r, 405, "invalid_request", "Method not allowed.");
		snprintf(r.headers, sizeof(r.headers), "Allow: POST\r\n");
		mock_log("http conn=%lu %s %s status=405", c->id, q.method,
		    q.path);
	} else {
		resp_error(&r, 404, "not_found", "No such endpoint.");
		mock_log("http conn=%lu %s %s status=404", c->id, q.method,
		    q.path);
	}
	(void)resp_send(c, &r);

done:
	mock_dbuf_free(&q.head);
	mock_dbuf_free(&q.body);
	mock_conn_free(c);
}
