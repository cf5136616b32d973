/* reports: `llmcap quants` — the quantization catalog as text and JSON
 * (llmcap.quants/1). Figures come from model_db; nothing is computed here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"

static void num_or_null(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static double r4(double v) { return isfinite(v) ? round(v * 1e4) / 1e4 : v; }
static double r3(double v) { return isfinite(v) ? round(v * 1e3) / 1e3 : v; }

static const char *type_name(int id)
{
	const struct mdb_qtraits *t = mdb_qtype(id);
	return t ? t->name : "?";
}

static int add_types(cJSON *root)
{
	cJSON *a = cJSON_AddArrayToObject(root, "tensor_types");
	if (!a)
		return -1;
	for (int id = 0; id < QT_COUNT; id++) {
		const struct mdb_qtraits *t = mdb_qtype(id);
		if (!t)
			continue;
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o))
			return -1;
		cJSON_AddStringToObject(o, "name", t->name);
		cJSON_AddNumberToObject(o, "ggml_id", t->id);
		cJSON_AddNumberToObject(o, "block_weights", t->blck);
		cJSON_AddNumberToObject(o, "block_bytes", t->bytes);
		cJSON_AddNumberToObject(o, "bits_per_weight", mdb_qtype_bpw(id));
		cJSON_AddBoolToObject(o, "quantized", t->quantized);
		cJSON_AddStringToObject(o, "layout", t->layout);
		cJSON_AddStringToObject(o, "source", t->source);
	}
	return 0;
}

static int add_mixes(cJSON *root, const double *bpw, const double *gib)
{
	cJSON *a = cJSON_AddArrayToObject(root, "file_mixes");
	if (!a)
		return -1;
	int n;
	const struct mdb_qmix *m = mdb_qmixes(&n);
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o))
			return -1;
		cJSON_AddStringToObject(o, "name", m[i].name);
		cJSON_AddNumberToObject(o, "llama_ftype", m[i].ftype);
		cJSON_AddStringToObject(o, "base_type", type_name(m[i].base));
		cJSON_AddStringToObject(o, "rules", m[i].rules);
		cJSON_AddStringToObject(o, "source", m[i].source);
		num_or_null(o, "typical_bpw", r4(bpw ? bpw[i] : NAN));
		num_or_null(o, "typical_gib", r3(gib ? gib[i] : NAN));
		cJSON *q = cJSON_AddObjectToObject(o, "quality");
		if (!q)
			return -1;
		num_or_null(q, "perplexity_increase", m[i].ppl_delta);
		str_or_null(q, "reference_model", m[i].ref_model);
		num_or_null(q, "reference_size_gib", m[i].ref_size_gib);
		cJSON_AddStringToObject(q, "source", m[i].quality_source);
		num_or_null(q, "kl_divergence", m[i].kld);
		num_or_null(q, "kl_divergence_size_gib", m[i].kld_size_gib);
		cJSON_AddBoolToObject(q, "kl_divergence_imatrix", m[i].kld_imatrix);
		cJSON_AddStringToObject(q, "kl_divergence_source", m[i].kld_source);
	}
	return 0;
}

static int add_formats(cJSON *root)
{
	cJSON *a = cJSON_AddArrayToObject(root, "other_formats");
	if (!a)
		return -1;
	int n;
	const struct mdb_qformat *f = mdb_qformats(&n);
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o))
			return -1;
		cJSON_AddStringToObject(o, "name", f[i].name);
		cJSON_AddStringToObject(o, "family", f[i].family);
		cJSON_AddNumberToObject(o, "bits", f[i].bits);
		cJSON_AddNumberToObject(o, "group_size", f[i].group);
		cJSON_AddNumberToObject(o, "scale_bits", f[i].scale_bits);
		cJSON_AddNumberToObject(o, "zero_bits", f[i].zero_bits);
		cJSON_AddNumberToObject(o, "bits_per_weight", f[i].bpw);
		cJSON_AddStringToObject(o, "layout", f[i].layout);
		cJSON_AddStringToObject(o, "source", f[i].source);
	}
	return 0;
}

static int add_kv(cJSON *root)
{
	cJSON *a = cJSON_AddArrayToObject(root, "kv_cache_types");
	if (!a)
		return -1;
	int n;
	const struct mdb_kvtype *k = mdb_kvtypes(&n);
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o))
			return -1;
		cJSON_AddStringToObject(o, "name", k[i].name);
		cJSON_AddStringToObject(o, "ggml_type", type_name(k[i].type));
		cJSON_AddNumberToObject(o, "bytes_per_element", mdb_kv_bytes_per_elem(k[i].name));
		cJSON_AddStringToObject(o, "source", k[i].source);
	}
	return 0;
}

char *rep_quants_json(const double *mix_bpw, const double *mix_gib, const char *shape, int pretty)
{
	cJSON *root = cJSON_CreateObject();
	char *s = NULL;
	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "schema", "llmcap.quants/1");
	if (shape)
		cJSON_AddStringToObject(root, "typical_shape", shape);
	if (add_types(root) || add_mixes(root, mix_bpw, mix_gib) || add_formats(root) || add_kv(root))
		goto out;
	s = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return s;
}

/* Index of the first format before i with the same source, or i. */
static int fmt_first(const struct mdb_qformat *f, int i)
{
	for (int h = 0; h < i; h++)
		if (f[h].source == f[i].source)
			return h;
	return i;
}

/* Distinct sources among f[0..n). */
static int fmt_distinct(const struct mdb_qformat *f, int n)
{
	int k = 0;
	for (int j = 0; j < n; j++)
		k += fmt_first(f, j) == j;
	return k;
}

/* The footnote number (from 0) of format i: one per distinct source. */
static int fmt_note(const struct mdb_qformat *f, int i)
{
	return fmt_distinct(f, fmt_first(f, i));
}

/* Text: each table has a "src" column naming a footnote. */
void rep_quants_text(const double *mix_bpw, const double *mix_gib, const char *shape, FILE *out)
{
	char a[32], b[32], c[32];

	rep_section(out, "Tensor types (GGUF / ggml)");
	static const char *const th[] = {"type", "ggml id", "block", "bytes", "bits/weight", "src"};
	struct rep_table *t = rep_table_new(6, th);
	if (t) {
		for (int i = 1; i < 5; i++)
			rep_table_align(t, i, REP_RIGHT);
		for (int id = 0; id < QT_COUNT; id++) {
			const struct mdb_qtraits *q = mdb_qtype(id);
			if (q)
				rep_table_addf(t, "%s\t%d\t%d\t%d\t%g\t[1]", q->name, q->id, q->blck,
					       q->bytes, mdb_qtype_bpw(id));
		}
		rep_table_print(t, out);
		rep_table_delete(t);
	}

	fprintf(out, "\n");
	rep_section(out, "llama.cpp file mixes");
	if (shape)
		fprintf(out, "typical bpw and size: %s\n", shape);
	fprintf(out, "quality against F16: perplexity increase [3] on the reference model, and mean KL\n"
		"divergence on Llama-3-8B [4] (* measured with an imatrix)\n");
	static const char *const mh[] = {"mix", "base", "bpw", "GiB", "+ppl", "reference", "KLD",
					 "src"};
	t = rep_table_new(8, mh);
	if (t) {
		for (int i = 2; i < 5; i++)
			rep_table_align(t, i, REP_RIGHT);
		rep_table_align(t, 6, REP_RIGHT);
		int n;
		const struct mdb_qmix *m = mdb_qmixes(&n);
		for (int i = 0; i < n; i++) {
			const char *ref = isfinite(m[i].kld) ? "-" : "no published figure found";
			char refbuf[96];
			if (m[i].ref_model) {
				if (isfinite(m[i].ref_size_gib))
					snprintf(refbuf, sizeof refbuf, "%s (%.2f GiB)", m[i].ref_model,
						 m[i].ref_size_gib);
				else
					snprintf(refbuf, sizeof refbuf, "%s", m[i].ref_model);
				ref = refbuf;
			}
			char kld[32] = "-";
			if (isfinite(m[i].kld))
				snprintf(kld, sizeof kld, "%.4f%s", m[i].kld, m[i].kld_imatrix ? "*" : "");
			rep_table_addf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t[2]%s%s", m[i].name,
				       mdb_qtype(m[i].base)->name,
				       rep_fmt_num(a, sizeof a, mix_bpw ? mix_bpw[i] : NAN, 3),
				       rep_fmt_num(b, sizeof b, mix_gib ? mix_gib[i] : NAN, 2),
				       isfinite(m[i].ppl_delta) ?
					       (snprintf(c, sizeof c, "%+.4f", m[i].ppl_delta), c) : "-",
				       ref, kld, m[i].ref_model ? " [3]" : "", isfinite(m[i].kld) ? " [4]" : "");
		}
		rep_table_print(t, out);
		rep_table_delete(t);
	}

	fprintf(out, "\n");
	rep_section(out, "Other weight formats");
	static const char *const fh[] = {"format", "bits", "group", "bits/weight", "layout", "src"};
	t = rep_table_new(6, fh);
	if (t) {
		for (int i = 1; i < 4; i++)
			rep_table_align(t, i, REP_RIGHT);
		int n;
		const struct mdb_qformat *f = mdb_qformats(&n);
		for (int i = 0; i < n; i++) {
			char src[24];
			snprintf(src, sizeof src, "[%d]", 5 + fmt_note(f, i));
			snprintf(a, sizeof a, f[i].group ? "%d" : "tensor", f[i].group);
			rep_table_addf(t, "%s\t%d\t%s\t%g\t%s\t%s", f[i].name, f[i].bits, a, f[i].bpw,
				       f[i].layout, src);
		}
		rep_table_print(t, out);
		rep_table_delete(t);
	}

	fprintf(out, "\n");
	rep_section(out, "KV-cache types");
	static const char *const kh[] = {"type", "bytes/element", "src"};
	t = rep_table_new(3, kh);
	int nf;
	const struct mdb_qformat *f = mdb_qformats(&nf);
	int kv_note = 5 + fmt_distinct(f, nf);
	if (t) {
		rep_table_align(t, 1, REP_RIGHT);
		int n;
		const struct mdb_kvtype *k = mdb_kvtypes(&n);
		for (int i = 0; i < n; i++)
			rep_table_addf(t, "%s\t%g\t[%d]", k[i].name, mdb_kv_bytes_per_elem(k[i].name),
				       kv_note);
		rep_table_print(t, out);
		rep_table_delete(t);
	}

	fprintf(out, "\nSources\n");
	int n;
	const struct mdb_qmix *m = mdb_qmixes(&n);
	const struct mdb_kvtype *k = mdb_kvtypes(&n);
	char key[24];
	rep_wrap(out, "  [1] ", 6, 6, mdb_qtype(QT_Q4_0)->source);
	rep_wrap(out, "  [2] ", 6, 6, m[0].source);
	rep_wrap(out, "  [3] ", 6, 6, mdb_qmix_by_name("Q4_K_M")->quality_source);
	rep_wrap(out, "  [4] ", 6, 6, mdb_qmix_by_name("Q4_K_M")->kld_source);
	for (int i = 0; i < nf; i++) {
		if (fmt_first(f, i) != i)
			continue;   /* each source once */
		snprintf(key, sizeof key, "  [%d] ", 5 + fmt_note(f, i));
		rep_wrap(out, key, strlen(key), 6, f[i].source);
	}
	snprintf(key, sizeof key, "  [%d] ", kv_note);
	rep_wrap(out, key, strlen(key), 6, k[0].source);
}
