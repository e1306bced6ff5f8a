/*
 * check_docs: the key table of proxy/config.c (config_key_at) against what
 * is written about it. In authrelay.ini(5), each section's part (from its
 * ".Ss [SECTION ...]" line to the next .Ss or .Sh) documents its keys as
 * ".It Cm KEY" entries of its top-level list; each entry has one line
 * "Reload: applied." or "Reload: needs a restart.", shows the default the
 * table has, says "Required." for a required key, "May be given more than
 * once." for a repeatable one and "takes no comment" for a secret one. The
 * example config shows every key under its section, as "key =", ";key ="
 * or "#key =". Each test lists every key that fails, with its section.
 * The unit tests run from the repository root.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"
#include "tests/unit/suites.h"

#define MAN_PATH	"docs/authrelay.ini.5"
#define EXAMPLE_PATH	"etc/authrelay.ini.example"
#define DOC_FILE_MAX	262144	/* either file */
#define DOC_KEYS_MAX	256	/* entries documented in the page */
#define DOC_NAME_MAX	64	/* a key or section name, NUL included */
#define DOC_REPORT_MAX	3072	/* under Check's 4 KiB message limit */

#define RELOAD_APPLIED	"Reload: applied."
#define RELOAD_RESTART	"Reload: needs a restart."
#define REQUIRED_TEXT	"Required"
#define REPEAT_TEXT	"May be given more than once."
#define SECRET_TEXT	"takes no comment"

/* One ".It Cm KEY" entry of a section's top-level list. */
struct doc_key {
	char		 sect[DOC_NAME_MAX];
	char		 name[DOC_NAME_MAX];
	int		 line;
	const char	*start, *end;	/* its text, in the page */
	int		 nreload;	/* "Reload: ..." lines in it */
	int		 reload;	/* 1: applied, 0: needs a restart */
};

/* A key line of the example, under its section. */
struct ex_key {
	char		 sect[DOC_NAME_MAX];
	char		 name[DOC_NAME_MAX];
};

/* Problems found by one test, shown all at once. */
struct report {
	char	 text[DOC_REPORT_MAX];
	size_t	 len;
	int	 n;
};

static char		 man[DOC_FILE_MAX], example[DOC_FILE_MAX];
static struct doc_key	 docs[DOC_KEYS_MAX];
static size_t		 ndocs;
static struct ex_key	 exkeys[DOC_KEYS_MAX * 4];
static size_t		 nexkeys;

static void
problem(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->n++ > 0 && r->len < sizeof(r->text) - 1)
		r->text[r->len++] = '\n';
	if (r->len >= sizeof(r->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < sizeof(r->text) - r->len ? (size_t)n :
		    sizeof(r->text) - r->len - 1;
}

static void
report_done(const struct report *r)
{
	ck_assert_msg(r->n == 0, "%d problem(s):\n%s%s", r->n, r->text,
	    r->len >= sizeof(r->text) - 1 ? "\n..." : "");
}

static void
read_file(const char *path, char *buf, size_t size)
{
	FILE *f;
	size_t n;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the repository "
	    "root)", path);
	n = fread(buf, 1, size - 1, f);
	ck_assert_msg(feof(f), "%s is over %zu bytes", path, size - 1);
	fclose(f);
	buf[n] = '\0';
}

/* Does line (up to its newline) start with word w, then blank or end? */
static int
is_macro(const char *line, const char *w)
{
	size_t n = strlen(w);

	return strncmp(line, w, n) == 0 &&
	    (line[n] == ' ' || line[n] == '\n' || line[n] == '\0');
}

/* Copy a run of [a-z0-9_] from s into out; its length (0: none). */
static size_t
word(const char *s, char out[DOC_NAME_MAX])
{
	size_t n = 0;

	while ((islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
	    s[n] == '_') && n < DOC_NAME_MAX - 1) {
		out[n] = s[n];
		n++;
	}
	out[n] = '\0';
	return n;
}

/* ".Ss [kind ...]": kind into sect; "" for any other subsection. */
static void
ss_section(const char *line, char sect[DOC_NAME_MAX])
{
	const char *s = line + strlen(".Ss");

	sect[0] = '\0';
	while (*s == ' ' || *s == '"')
		s++;
	if (*s == '[')
		word(s + 1, sect);
}

static void
entry_end(struct doc_key *cur, const char *end)
{
	if (cur != NULL && cur->end == NULL)
		cur->end = end;
}

/*
 * The page's key entries into docs[]. A top-level .It in a section's part
 * that is not ".It Cm KEY" is a problem: the page's layout has drifted
 * from what this test reads.
 */
static void
parse_man(struct report *r)
{
	char sect[DOC_NAME_MAX] = "", *s = man, *nl;
	struct doc_key *cur = NULL;
	int lineno = 0, depth = 0;

	ndocs = 0;
	read_file(MAN_PATH, man, sizeof(man));
	for (; *s != '\0'; s = nl + 1) {
		lineno++;
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		if (is_macro(s, ".Sh") || is_macro(s, ".Ss")) {
			entry_end(cur, s);
			cur = NULL;
			depth = 0;
			if (is_macro(s, ".Ss"))
				ss_section(s, sect);
			else
				sect[0] = '\0';
		} else if (sect[0] == '\0') {
			;	/* not a section's part */
		} else if (is_macro(s, ".Bl")) {
			depth++;
		} else if (is_macro(s, ".El")) {
			if (depth == 1) {
				entry_end(cur, s);
				cur = NULL;
			}
			depth--;
		} else if (is_macro(s, ".It") && depth == 1) {
			entry_end(cur, s);
			cur = NULL;
			if (!is_macro(s + strlen(".It "), "Cm") ||
			    word(s + strlen(".It Cm "), docs[ndocs].name) == 0) {
				problem(r, "%s:%d: [%s]: a top-level .It that is "
				    "not \".It Cm KEY\"", MAN_PATH, lineno, sect);
				continue;
			}
			ck_assert_uint_lt(ndocs, DOC_KEYS_MAX);
			cur = &docs[ndocs++];
			snprintf(cur->sect, sizeof(cur->sect), "%s", sect);
			cur->line = lineno;
			cur->start = *nl == '\0' ? nl : nl + 1;
			cur->end = NULL;
			cur->nreload = 0;
			cur->reload = -1;
		} else if (cur != NULL && depth == 1 &&
		    (strncmp(s, RELOAD_APPLIED "\n", strlen(RELOAD_APPLIED) + 1)
		    == 0 || strncmp(s, RELOAD_RESTART "\n",
		    strlen(RELOAD_RESTART) + 1) == 0)) {
			cur->nreload++;
			cur->reload = s[strlen("Reload: ")] == 'a';
		}
		if (*nl == '\0')
			break;
	}
	entry_end(cur, s + strlen(s));
}

/* The entry of key name in section sect; NULL if there is none. */
static const struct doc_key *
doc_find(const char *sect, const char *name, int *count)
{
	const struct doc_key *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < ndocs; i++)
		if (strcmp(docs[i].sect, sect) == 0 &&
		    strcmp(docs[i].name, name) == 0) {
			if (found == NULL)
				found = &docs[i];
			(*count)++;
		}
	return found;
}

/* Is text in the entry d? */
static int
in_entry(const struct doc_key *d, const char *text)
{
	return memmem(d->start, (size_t)(d->end - d->start), text,
	    strlen(text)) != NULL;
}

/* Every key of the table has one entry in its section. */
START_TEST(test_docs_table_documented)
{
	struct config_key_info ki;
	struct report r = { .n = 0 };
	size_t i;
	int count;

	parse_man(&r);
	for (i = 0; config_key_at(i, &ki) == 0; i++) {
		doc_find(ki.section, ki.name, &count);
		if (count == 0)
			problem(&r, "[%s] %s: in the key table but not "
			    "documented (.It Cm %s) in the [%s] part of %s",
			    ki.section, ki.name, ki.name, ki.section, MAN_PATH);
		else if (count > 1)
			problem(&r, "[%s] %s: documented %d times in %s",
			    ki.section, ki.name, count, MAN_PATH);
	}
	ck_assert_uint_gt(i, 0);
	report_done(&r);
}
END_TEST

/* Every key the page documents is in the table, for that section. */
START_TEST(test_docs_documented_in_table)
{
	struct config_key_info ki;
	struct report r = { .n = 0 };
	size_t i, j;
	int known;

	parse_man(&r);
	ck_assert_uint_gt(ndocs, 0);
	for (j = 0; j < ndocs; j++) {
		known = 0;
		for (i = 0; config_key_at(i, &ki) == 0 && !known; i++)
			known = strcmp(ki.section, docs[j].sect) == 0 &&
			    strcmp(ki.name, docs[j].name) == 0;
		if (!known)
			problem(&r, "[%s] %s: documented in %s (line %d) but "
			    "not in the key table", docs[j].sect, docs[j].name,
			    MAN_PATH, docs[j].line);
	}
	report_done(&r);
}
END_TEST

/* Each entry says once what a reload does, and the table agrees. */
START_TEST(test_docs_reload)
{
	struct config_key_info ki;
	const struct doc_key *d;
	struct report r = { .n = 0 };
	size_t i;
	int count;

	parse_man(&r);
	for (i = 0; config_key_at(i, &ki) == 0; i++) {
		if ((d = doc_find(ki.section, ki.name, &count)) == NULL)
			continue;	/* test_docs_table_documented */
		if (d->nreload != 1)
			problem(&r, "[%s] %s: %d lines \"%s\" or \"%s\" in its "
			    "entry (%s line %d); want one", ki.section,
			    ki.name, d->nreload, RELOAD_APPLIED, RELOAD_RESTART,
			    MAN_PATH, d->line);
		else if (d->reload != ki.reload)
			problem(&r, "[%s] %s: the page says \"%s\", the key "
			    "table says %s", ki.section, ki.name,
			    d->reload ? RELOAD_APPLIED : RELOAD_RESTART,
			    ki.reload ? "a reload applies it" :
			    "it needs a restart (K_RESTART)");
	}
	report_done(&r);
}
END_TEST

/* Each entry shows the table's default, and says required, repeat, secret. */
START_TEST(test_docs_details)
{
	struct config_key_info ki;
	const struct doc_key *d;
	struct report r = { .n = 0 };
	size_t i;
	int count;

	parse_man(&r);
	for (i = 0; config_key_at(i, &ki) == 0; i++) {
		if ((d = doc_find(ki.section, ki.name, &count)) == NULL)
			continue;
		if (ki.def != NULL && !in_entry(d, ki.def))
			problem(&r, "[%s] %s: the default \"%s\" of the key "
			    "table is not in its entry", ki.section, ki.name,
			    ki.def);
		if (ki.required && !in_entry(d, REQUIRED_TEXT))
			problem(&r, "[%s] %s: required, and its entry does "
			    "not say \"%s\"", ki.section, ki.name,
			    REQUIRED_TEXT);
		if (ki.repeat && !in_entry(d, REPEAT_TEXT))
			problem(&r, "[%s] %s: repeatable, and its entry does "
			    "not say \"%s\"", ki.section, ki.name, REPEAT_TEXT);
		if (!ki.repeat && in_entry(d, REPEAT_TEXT))
			problem(&r, "[%s] %s: its entry says \"%s\", the key "
			    "table does not", ki.section, ki.name, REPEAT_TEXT);
		if (ki.secret && !in_entry(d, SECRET_TEXT))
			problem(&r, "[%s] %s: secret, and its entry does not "
			    "say its line \"%s\"", ki.section, ki.name,
			    SECRET_TEXT);
	}
	report_done(&r);
}
END_TEST

/*
 * The example's key lines with their sections: "[kind ...]" starts a
 * section, "key =", ";key =" and "#key =" (no blank after the ';' or '#')
 * are key lines; other comments are prose.
 */
static void
parse_example(void)
{
	char sect[DOC_NAME_MAX] = "", name[DOC_NAME_MAX], *s = example, *nl;
	const char *k, *e;

	nexkeys = 0;
	read_file(EXAMPLE_PATH, example, sizeof(example));
	for (; *s != '\0'; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		if (*s == '[') {
			word(s + 1, sect);
		} else {
			k = *s == ';' || *s == '#' ? s + 1 : s;
			e = k + word(k, name);
			while (*e == ' ' || *e == '\t')
				e++;
			if (e > k && *e == '=' && sect[0] != '\0') {
				ck_assert_uint_lt(nexkeys,
				    sizeof(exkeys) / sizeof(exkeys[0]));
				snprintf(exkeys[nexkeys].sect,
				    sizeof(exkeys[0].sect), "%s", sect);
				snprintf(exkeys[nexkeys].name,
				    sizeof(exkeys[0].name), "%s", name);
				nexkeys++;
			}
		}
		if (*nl == '\0')
			break;
	}
}

/* The example shows every key of the table under its section. */
START_TEST(test_docs_example)
{
	struct config_key_info ki;
	struct report r = { .n = 0 };
	size_t i, j;

	parse_example();
	ck_assert_uint_gt(nexkeys, 0);
	for (i = 0; config_key_at(i, &ki) == 0; i++) {
		for (j = 0; j < nexkeys; j++)
			if (strcmp(exkeys[j].sect, ki.section) == 0 &&
			    strcmp(exkeys[j].name, ki.name) == 0)
				break;
		if (j == nexkeys)
			problem(&r, "[%s] %s: not in %s under a [%s] section "
			    "(as \"%s =\", \";%s =\" or \"#%s =\")",
			    ki.section, ki.name, EXAMPLE_PATH, ki.section,
			    ki.name, ki.name, ki.name);
	}
	report_done(&r);
}
END_TEST

Suite *
docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");

	tcase_add_test(tc, test_docs_table_documented);
	tcase_add_test(tc, test_docs_documented_in_table);
	tcase_add_test(tc, test_docs_reload);
	tcase_add_test(tc, test_docs_details);
	tcase_add_test(tc, test_docs_example);
	suite_add_tcase(s, tc);
	return s;
}
