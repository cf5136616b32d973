/*
 * reports: what `llmcap inspect` read from a GGUF file, as text for people
 * and as one JSON object (llmcap.gguf/1). Figures come from the model_db
 * reader; nothing is computed here but bits per weight.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "reports/report.h"

#define TEXT_TENSORS 40   /* tensors listed in text; JSON has all */
#define VALUE_COLS 60     /* a metadata value in text, code points */
#define JSON_STR_MAX 256  /* a string value in JSON, bytes */

/* Copies at most max bytes of s (length len) into a malloc'd string with
 * NUL, control characters and bytes that are not valid UTF-8 as '?'. */
static char *clean(const char *s, size_t len, size_t max, int *cut)
{
	size_t n = len < max ? len : max;
	if (cut)
		*cut = len > max;
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	size_t i = 0, o = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2
			: (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		int ok = k > 0 && i + k <= n;
		for (size_t j = 1; ok && j < k; j++)
			ok = ((unsigned char)s[i + j] & 0xc0) == 0x80;
		if (!ok || (k == 1 && (c < 0x20 || c == 0x7f))) {
			d[o++] = '?';
			i++;
			continue;
		}
		memcpy(d + o, s + i, k);
		o += k;
		i += k;
	}
	d[o] = 0;
	return d;
}

static double bpw(uint64_t bytes, uint64_t params)
{
	return params ? (double)bytes * 8.0 / (double)params : NAN;
}

static char *shape(char *buf, size_t n, const struct mdb_gguf_tensor *t)
{
	size_t o = 0;
	buf[0] = 0;
	for (uint32_t d = 0; d < t->n_dims && o < n; d++)
		o += (size_t)snprintf(buf + o, n - o, "%s%" PRIu64, d ? " x " : "", t->dims[d]);
	return buf;
}

/* A scalar metadata value as short text into buf. */
static void value_text(const struct mdb_gguf *g, int64_t i, char *buf, size_t n)
{
	enum mdb_gguf_vtype t = mdb_gguf_kv_type(g, i), et;
	int64_t iv;
	uint64_t uv, count;
	double dv;
	int b;
	size_t len;
	const char *s;
	if (t == MDB_GGUF_STRING && (s = mdb_gguf_kv_str(g, i, &len))) {
		int cut;
		char *c = clean(s, len, VALUE_COLS * 4, &cut);
		if (c) {
			char clip[VALUE_COLS * 4 + 8];
			rep_clip(clip, sizeof clip, c, VALUE_COLS);
			snprintf(buf, n, "%s%s", clip, cut && !strstr(clip, "...") ? "..." : "");
			free(c);
		} else {
			snprintf(buf, n, "?");
		}
	} else if (mdb_gguf_kv_arr(g, i, &et, &count) == 0) {
		snprintf(buf, n, "[%s x %" PRIu64 "]", mdb_gguf_vtype_name(et), count);
	} else if (mdb_gguf_kv_bool(g, i, &b) == 0) {
		snprintf(buf, n, "%s", b ? "true" : "false");
	} else if (t == MDB_GGUF_FLOAT32 || t == MDB_GGUF_FLOAT64) {
		mdb_gguf_kv_float(g, i, &dv);
		snprintf(buf, n, "%g", dv);
	} else if (mdb_gguf_kv_int(g, i, &iv) == 0) {
		snprintf(buf, n, "%" PRId64, iv);
	} else if (mdb_gguf_kv_uint(g, i, &uv) == 0) {
		snprintf(buf, n, "%" PRIu64, uv);
	} else {
		snprintf(buf, n, "?");
	}
}

static const char *int_or_unknown(char *buf, size_t n, int64_t v)
{
	if (v < 0)
		snprintf(buf, n, "unknown");
	else
		snprintf(buf, n, "%" PRId64, v);
	return buf;
}

void rep_gguf_text(const struct mdb_gguf *g, const char *path, FILE *out)
{
	char a[64], b[64], c[400];
	struct mdb_gguf_summary s;
	mdb_gguf_summary(g, &s);

	rep_section(out, "GGUF file");
	char *p = clean(path, strlen(path), 1024, NULL);
	rep_kv(out, "file", "%s", p ? p : "?");
	free(p);
	rep_kv(out, "version", "%u", mdb_gguf_version(g));
	rep_kv(out, "alignment", "%u bytes", mdb_gguf_alignment(g));
	rep_kv(out, "file size", "%s (%" PRIu64 " bytes)",
	       rep_fmt_bytes(a, sizeof a, mdb_gguf_file_size(g)), mdb_gguf_file_size(g));
	rep_kv(out, "header", "%" PRIu64 " bytes (metadata, tensor infos, padding)",
	       mdb_gguf_data_offset(g));
	rep_kv(out, "tensor data", "%s (%" PRIu64 " bytes)",
	       rep_fmt_bytes(a, sizeof a, mdb_gguf_data_size(g)), mdb_gguf_data_size(g));
	rep_kv(out, "tensors", "%" PRId64, mdb_gguf_tensor_count(g));
	rep_kv(out, "parameters", "%" PRIu64 " (%s M)", mdb_gguf_total_params(g),
	       rep_fmt_num(b, sizeof b, (double)mdb_gguf_total_params(g) / 1e6, 1));
	rep_kv(out, "metadata keys", "%" PRId64, mdb_gguf_kv_count(g));

	rep_section(out, "Architecture");
	p = clean(s.architecture, strlen(s.architecture), 64, NULL);
	rep_kv(out, "architecture", "%s", p && *p ? p : "unknown");
	free(p);
	p = clean(s.name, strlen(s.name), 128, NULL);
	rep_kv(out, "name", "%s", p && *p ? p : "unknown");
	free(p);
	rep_kv(out, "file type", "%s", int_or_unknown(a, sizeof a, s.file_type));
	rep_kv(out, "layers", "%s", int_or_unknown(a, sizeof a, s.block_count));
	rep_kv(out, "embedding", "%s", int_or_unknown(a, sizeof a, s.embedding_length));
	rep_kv(out, "feed-forward", "%s", int_or_unknown(a, sizeof a, s.feed_forward_length));
	rep_kv(out, "attention heads", "%s", int_or_unknown(a, sizeof a, s.head_count));
	rep_kv(out, "KV heads", "%s", int_or_unknown(a, sizeof a, s.head_count_kv));
	rep_kv(out, "key length", "%s", int_or_unknown(a, sizeof a, s.key_length));
	rep_kv(out, "context length", "%s", int_or_unknown(a, sizeof a, s.context_length));
	rep_kv(out, "rope freq base", "%s", rep_fmt_num(a, sizeof a, s.rope_freq_base, 0));
	rep_kv(out, "experts", "%s", int_or_unknown(a, sizeof a, s.expert_count));
	rep_kv(out, "experts used", "%s", int_or_unknown(a, sizeof a, s.expert_used_count));
	rep_kv(out, "vocabulary", "%s", int_or_unknown(a, sizeof a, s.vocab_size));

	struct mdb_gguf_type_total tt[64];
	int nt = mdb_gguf_type_totals(g, tt, 64);
	if (nt > 64)
		nt = 64;
	rep_section(out, "Tensor types");
	static const char *const th[] = {"type", "tensors", "parameters", "bytes", "bits/weight"};
	struct rep_table *t = rep_table_new(5, th);
	if (t) {
		for (int k = 1; k < 5; k++)
			rep_table_align(t, k, REP_RIGHT);
		for (int k = 0; k < nt; k++)
			rep_table_addf(t, "%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s", tt[k].name,
				       tt[k].tensors, tt[k].params, tt[k].bytes,
				       rep_fmt_num(a, sizeof a, bpw(tt[k].bytes, tt[k].params), 2));
		rep_table_addf(t, "total\t%" PRId64 "\t%" PRIu64 "\t%" PRIu64 "\t%s",
			       mdb_gguf_tensor_count(g), mdb_gguf_total_params(g),
			       mdb_gguf_total_bytes(g),
			       rep_fmt_num(a, sizeof a, bpw(mdb_gguf_total_bytes(g),
							    mdb_gguf_total_params(g)), 2));
		rep_table_print_indent(t, out, REP_KV_INDENT);
		rep_table_delete(t);
	}

	int64_t n = mdb_gguf_tensor_count(g);
	if (n > TEXT_TENSORS) {
		snprintf(c, sizeof c, "Tensors (the first %d of %" PRId64 "; %" PRId64
			 " left out, all in --json)", TEXT_TENSORS, n, n - TEXT_TENSORS);
		rep_section(out, c);
	} else {
		rep_section(out, "Tensors");
	}
	static const char *const tn[] = {"name", "type", "shape", "bytes"};
	t = rep_table_new(4, tn);
	if (t) {
		rep_table_align(t, 3, REP_RIGHT);
		for (int64_t i = 0; i < n && i < TEXT_TENSORS; i++) {
			const struct mdb_gguf_tensor *x = mdb_gguf_tensor(g, i);
			char *nm = clean(x->name, strlen(x->name), 200, NULL);
			char dims[128];
			rep_table_addf(t, "%s\t%s\t%s\t%" PRIu64, nm ? nm : "?",
				       mdb_gguf_type_name(x->type), shape(dims, sizeof dims, x), x->bytes);
			free(nm);
		}
		rep_table_print_indent(t, out, REP_KV_INDENT);
		rep_table_delete(t);
	}

	rep_section(out, "Metadata");
	static const char *const mh[] = {"key", "type", "value"};
	t = rep_table_new(3, mh);
	if (t) {
		for (int64_t i = 0; i < mdb_gguf_kv_count(g); i++) {
			const char *k = mdb_gguf_kv_key(g, i);
			char *kc = clean(k, strlen(k), 200, NULL);
			value_text(g, i, c, sizeof c);
			rep_table_addf(t, "%s\t%s\t%s", kc ? kc : "?",
				       mdb_gguf_vtype_name(mdb_gguf_kv_type(g, i)), c);
			free(kc);
		}
		rep_table_print_indent(t, out, REP_KV_INDENT);
		rep_table_delete(t);
	}
}

/* ---- JSON ------------------------------------------------------------- */
static void add_int(cJSON *o, const char *k, int64_t v)
{
	if (v >= 0)
		cJSON_AddNumberToObject(o, k, (double)v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_str(cJSON *o, const char *k, const char *s, size_t len, size_t max)
{
	int cut = 0;
	char *c = clean(s, len, max, &cut);
	cJSON_AddStringToObject(o, k, c ? c : "");
	free(c);
	if (cut)
		cJSON_AddBoolToObject(o, "truncated", 1);
}

static void add_value(const struct mdb_gguf *g, int64_t i, cJSON *o)
{
	enum mdb_gguf_vtype t = mdb_gguf_kv_type(g, i), et;
	int64_t iv;
	uint64_t uv, count;
	double dv;
	int b;
	size_t len;
	const char *s;
	if (t == MDB_GGUF_STRING && (s = mdb_gguf_kv_str(g, i, &len))) {
		add_str(o, "value", s, len, JSON_STR_MAX);
	} else if (mdb_gguf_kv_arr(g, i, &et, &count) == 0) {
		cJSON_AddStringToObject(o, "element_type", mdb_gguf_vtype_name(et));
		cJSON_AddNumberToObject(o, "count", (double)count);
	} else if (mdb_gguf_kv_bool(g, i, &b) == 0) {
		cJSON_AddBoolToObject(o, "value", b);
	} else if (t == MDB_GGUF_FLOAT32 || t == MDB_GGUF_FLOAT64) {
		mdb_gguf_kv_float(g, i, &dv);
		if (isfinite(dv))
			cJSON_AddNumberToObject(o, "value", dv);
		else
			cJSON_AddNullToObject(o, "value");
	} else if (mdb_gguf_kv_int(g, i, &iv) == 0) {
		cJSON_AddNumberToObject(o, "value", (double)iv);
	} else if (mdb_gguf_kv_uint(g, i, &uv) == 0) {
		cJSON_AddNumberToObject(o, "value", (double)uv);
	}
}

char *rep_gguf_json(const struct mdb_gguf *g, const char *path, int pretty)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	struct mdb_gguf_summary s;
	mdb_gguf_summary(g, &s);
	cJSON_AddStringToObject(o, "schema", "llmcap.gguf/1");
	add_str(o, "file", path, strlen(path), 4096);
	cJSON_AddNumberToObject(o, "version", mdb_gguf_version(g));
	cJSON_AddNumberToObject(o, "alignment", mdb_gguf_alignment(g));
	cJSON_AddNumberToObject(o, "file_size", (double)mdb_gguf_file_size(g));
	cJSON_AddNumberToObject(o, "data_offset", (double)mdb_gguf_data_offset(g));
	cJSON_AddNumberToObject(o, "data_size", (double)mdb_gguf_data_size(g));
	cJSON_AddNumberToObject(o, "tensor_count", (double)mdb_gguf_tensor_count(g));
	cJSON_AddNumberToObject(o, "parameters", (double)mdb_gguf_total_params(g));
	cJSON_AddNumberToObject(o, "tensor_bytes", (double)mdb_gguf_total_bytes(g));
	cJSON_AddNumberToObject(o, "metadata_count", (double)mdb_gguf_kv_count(g));

	cJSON *a = cJSON_AddObjectToObject(o, "architecture");
	if (a) {
		if (s.architecture[0])
			add_str(a, "architecture", s.architecture, strlen(s.architecture), 64);
		else
			cJSON_AddNullToObject(a, "architecture");
		if (s.name[0])
			add_str(a, "name", s.name, strlen(s.name), 128);
		else
			cJSON_AddNullToObject(a, "name");
		add_int(a, "file_type", s.file_type);
		add_int(a, "block_count", s.block_count);
		add_int(a, "embedding_length", s.embedding_length);
		add_int(a, "feed_forward_length", s.feed_forward_length);
		add_int(a, "head_count", s.head_count);
		add_int(a, "head_count_kv", s.head_count_kv);
		add_int(a, "key_length", s.key_length);
		add_int(a, "context_length", s.context_length);
		if (isfinite(s.rope_freq_base))
			cJSON_AddNumberToObject(a, "rope_freq_base", s.rope_freq_base);
		else
			cJSON_AddNullToObject(a, "rope_freq_base");
		add_int(a, "expert_count", s.expert_count);
		add_int(a, "expert_used_count", s.expert_used_count);
		add_int(a, "vocab_size", s.vocab_size);
	}

	struct mdb_gguf_type_total tt[64];
	int nt = mdb_gguf_type_totals(g, tt, 64);
	cJSON *types = cJSON_AddArrayToObject(o, "types");
	for (int k = 0; types && k < nt && k < 64; k++) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		cJSON_AddStringToObject(e, "type", tt[k].name);
		cJSON_AddNumberToObject(e, "tensors", (double)tt[k].tensors);
		cJSON_AddNumberToObject(e, "parameters", (double)tt[k].params);
		cJSON_AddNumberToObject(e, "bytes", (double)tt[k].bytes);
		cJSON_AddNumberToObject(e, "bits_per_weight",
					round(bpw(tt[k].bytes, tt[k].params) * 1e4) / 1e4);
		cJSON_AddItemToArray(types, e);
	}

	cJSON *tensors = cJSON_AddArrayToObject(o, "tensors");
	for (int64_t i = 0; tensors && i < mdb_gguf_tensor_count(g); i++) {
		const struct mdb_gguf_tensor *x = mdb_gguf_tensor(g, i);
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		add_str(e, "name", x->name, strlen(x->name), 1024);
		cJSON_AddStringToObject(e, "type", mdb_gguf_type_name(x->type));
		cJSON *sh = cJSON_AddArrayToObject(e, "shape");
		for (uint32_t d = 0; sh && d < x->n_dims; d++)
			cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)x->dims[d]));
		cJSON_AddNumberToObject(e, "offset", (double)x->offset);
		cJSON_AddNumberToObject(e, "bytes", (double)x->bytes);
		cJSON_AddItemToArray(tensors, e);
	}

	cJSON *md = cJSON_AddArrayToObject(o, "metadata");
	for (int64_t i = 0; md && i < mdb_gguf_kv_count(g); i++) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		const char *k = mdb_gguf_kv_key(g, i);
		add_str(e, "key", k, strlen(k), 1024);
		cJSON_AddStringToObject(e, "type", mdb_gguf_vtype_name(mdb_gguf_kv_type(g, i)));
		add_value(g, i, e);
		cJSON_AddItemToArray(md, e);
	}

	char *text = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}
