/*
 * Private to reports/: helpers shared by its files. Nothing outside
 * reports/ includes this file.
 */
#ifndef LLMCAP_REP_INTERNAL_H
#define LLMCAP_REP_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "reports/report.h"

/* The profile as a cJSON tree (numbers as exact raw text); NULL on OOM.
 * The caller owns it (cJSON_Delete). */
cJSON *rep_profile_cjson(const struct probe_profile *p);

/* Human text stays within this many columns where it can be wrapped. */
#define REP_TEXT_WIDTH 100
/* rep_kv: indent of the key, width the key is padded to. */
#define REP_KV_INDENT 2
#define REP_KV_KEY_WIDTH 18

/* Display width of s in UTF-8 code points (continuation bytes are not
 * counted; invalid bytes count one each). */
size_t rep_utf8_width(const char *s);

/* Copies at most n code points of s into dst (size dstlen, always
 * NUL-terminated, never splitting a UTF-8 sequence), replacing control
 * characters with '?' and ending with "..." when s was cut. Returns dst. */
char *rep_clip(char *dst, size_t dstlen, const char *s, size_t n);

/* Writes text word-wrapped to REP_TEXT_WIDTH: the first line starts with
 * first_prefix (already counted in columns by the caller as prefix_cols),
 * later lines with indent spaces. '\n' in text starts a new line; control
 * characters print as '?'. Words longer than a line are not broken. */
void rep_wrap(FILE *out, const char *first_prefix, size_t prefix_cols,
	      size_t indent, const char *text);

/* rep_table_print with every line indented by indent spaces. */
void rep_table_print_indent(const struct rep_table *t, FILE *out, int indent);

/* One llmcap.plan/1 object as a cJSON tree (caller owns it); NULL on OOM. */
cJSON *rep_plan_cjson(const struct rep_plan *r);

struct mdb_model;
struct sim_pred;
/* "8.0B", "30.5B-A3.4B": total (and active) parameters of a model. */
char *rep_model_params(char *b, size_t n, const struct mdb_model *m);
/* "gpu", "split 46/80", "ssd (16% hit)". */
char *rep_pred_place(char *b, size_t n, const struct sim_pred *p);

#endif
