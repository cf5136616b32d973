/*
 * reports: plain text tables.
 *
 *   kernel  1 thread GB/s  all cores GB/s
 *   ------  -------------  --------------
 *   read             12.1            41.2
 *
 * Columns are padded to their widest cell in UTF-8 code points and
 * separated by two spaces; no line ends in blanks. Tabs, newlines and other control
 * characters in cells print as a space ('\t') or '?' so one row stays one
 * line.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/rep_internal.h"
#include "reports/report.h"

#define REP_COL_GAP 2

struct rep_table {
	int ncols;
	char **headers;          /* (ncols) owned, never NULL */
	enum rep_align *align;   /* (ncols) */
	int nrows, cap;
	char **cells;            /* (cap, ncols) owned; NULL prints "-" */
};

size_t rep_utf8_width(const char *s)
{
	size_t w = 0;
	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			w++;
	return w;
}

/* A copy of s made fit for one table line. NULL on OOM. */
static char *cell_dup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		return NULL;
	for (unsigned char *p = (unsigned char *)d; *p; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return d;
}

struct rep_table *rep_table_new(int ncols, const char *const *headers)
{
	if (ncols <= 0)
		return NULL;
	struct rep_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc((size_t)ncols, sizeof *t->headers);
	t->align = calloc((size_t)ncols, sizeof *t->align);
	if (!t->headers || !t->align)
		goto out_free;
	for (int c = 0; c < ncols; c++) {
		t->headers[c] = cell_dup(headers && headers[c] ? headers[c] : "");
		if (!t->headers[c])
			goto out_free;
	}
	return t;
out_free:
	rep_table_delete(t);
	return NULL;
}

void rep_table_align(struct rep_table *t, int col, enum rep_align a)
{
	if (!t || col < 0 || col >= t->ncols)
		return;
	t->align[col] = a == REP_RIGHT ? REP_RIGHT : REP_LEFT;
}

/* Room for one more row. 0 or -1. */
static int table_grow(struct rep_table *t)
{
	if (t->nrows < t->cap)
		return 0;
	int cap = t->cap ? t->cap * 2 : 8;
	if (cap <= t->cap || (size_t)cap > SIZE_MAX / sizeof(char *) / (size_t)t->ncols)
		return -1;
	char **cells = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *cells);
	if (!cells)
		return -1;
	t->cells = cells;
	t->cap = cap;
	return 0;
}

int rep_table_add(struct rep_table *t, const char *const *cells)
{
	if (!t || table_grow(t) != 0)
		return -1;
	char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
	for (int c = 0; c < t->ncols; c++) {
		row[c] = NULL;
		if (cells && cells[c] && !(row[c] = cell_dup(cells[c]))) {
			while (c-- > 0)
				free(row[c]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

/* Fields beyond the last column stay in the last cell (their tabs print
 * as spaces); missing fields are NULL cells. */
int rep_table_addf(struct rep_table *t, const char *fmt, ...)
{
	if (!t || !fmt)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char *s = malloc((size_t)n + 1);
	const char **cells = calloc((size_t)t->ncols, sizeof *cells);
	int rc = -1;
	if (!s || !cells)
		goto out;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	char *p = s;
	for (int c = 0; c < t->ncols && p; c++) {
		cells[c] = p;
		if (c == t->ncols - 1)
			break;
		p = strchr(p, '\t');
		if (p)
			*p++ = '\0';
	}
	rc = rep_table_add(t, cells);
out:
	free(cells);
	free(s);
	return rc;
}

/* Blanks are held back until something visible follows them, so that no
 * line ends in blanks. */
struct line {
	FILE *out;
	size_t pending;
};

static void put_text(struct line *l, const char *s)
{
	if (!*s)
		return;
	while (l->pending) {
		fputc(' ', l->out);
		l->pending--;
	}
	fputs(s, l->out);
}

static void put_cell(struct line *l, const char *s, size_t width, enum rep_align a)
{
	size_t w = rep_utf8_width(s);
	size_t pad = width > w ? width - w : 0;
	if (a == REP_RIGHT)
		l->pending += pad;
	put_text(l, s);
	if (a == REP_LEFT)
		l->pending += pad;
}

void rep_table_print_indent(const struct rep_table *t, FILE *out, int indent)
{
	if (!t || !out)
		return;
	size_t *width = calloc((size_t)t->ncols, sizeof *width);
	if (!width)
		return;
	for (int c = 0; c < t->ncols; c++) {
		width[c] = rep_utf8_width(t->headers[c]);
		for (int r = 0; r < t->nrows; r++) {
			const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
			size_t w = s ? rep_utf8_width(s) : 1;
			if (w > width[c])
				width[c] = w;
		}
	}
	char *rule = NULL;
	size_t maxw = 0;
	for (int c = 0; c < t->ncols; c++)
		if (width[c] > maxw)
			maxw = width[c];
	rule = malloc(maxw + 1);
	if (!rule) {
		free(width);
		return;
	}
	/* header, rule, rows */
	for (int r = -2; r < t->nrows; r++) {
		struct line l = {out, indent > 0 ? (size_t)indent : 0};
		for (int c = 0; c < t->ncols; c++) {
			if (c > 0)
				l.pending += REP_COL_GAP;
			if (r == -1) {
				memset(rule, '-', width[c]);
				rule[width[c]] = '\0';
				put_text(&l, rule);
				continue;
			}
			const char *s = r == -2 ? t->headers[c]
				: t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
			put_cell(&l, s ? s : "-", width[c], t->align[c]);
		}
		fputc('\n', out);
	}
	free(rule);
	free(width);
}

void rep_table_print(const struct rep_table *t, FILE *out)
{
	rep_table_print_indent(t, out, 0);
}

void rep_table_delete(struct rep_table *t)
{
	if (!t)
		return;
	if (t->headers)
		for (int c = 0; c < t->ncols; c++)
			free(t->headers[c]);
	for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->align);
	free(t->cells);
	free(t);
}
