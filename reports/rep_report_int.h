/*
 * Private to the report files of reports/ (rep_report*.c): what the
 * Markdown, HTML and JSON renderings share.
 */
#ifndef LLMCAP_REP_REPORT_INT_H
#define LLMCAP_REP_REPORT_INT_H

#include <stddef.h>

#include "reports/report.h"

/* One figure of the machine as shown: value with its unit, where it came
 * from ("measured", "reported", "spec", ...) and how, when known. */
struct rep_fig {
	char name[64];
	char value[128];
	char src[16];
	char how[200];
};
#define REP_MAX_FIGS 48
/* The machine's figures in display order; returns how many (<= max). */
int rep_report_figs(const struct hw_spec *h, struct rep_fig *f, int max);

/* Best rows that fit, in rank order, at most r->max_fit_rows (0: all);
 * idx receives indexes into r->fit->rows. Returns how many. */
int rep_report_fit_rows(const struct rep_report *r, int *idx, int max);

/* Buy rows shown in md/html per model. */
#define REP_BUY_ROWS 12
/* Ordinal context values of all top models' curves, ascending, unique
 * (at most max); returns how many. */
int rep_report_ctx_union(const struct rep_report *r, long long *v, int max);
/* The largest context window of the top models' predictions. */
long long rep_report_max_ctx(const struct rep_report *r);
/* The roofline points' phase name: "decode" / "prefill". */
const char *rep_report_phase(const struct rep_roof_pt *p);

#endif
