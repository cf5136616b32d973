/* model_db/model_json: the model catalog (llmcap.models/1) — the built-in
 * one compiled from model_db/data/models.json and the user's additions —
 * parsed with strict validation: every error names the file, the entry and
 * the field, and the fix. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "model_db/model.h"

extern const char mdb_data_models[];
extern const unsigned long mdb_data_models_len;

#define MAX_FILE_BYTES (8u << 20)

struct ctx {
	const char *file;
	char entry[80];
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return -2;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: model %s: field '%s': %s", c->file, c->entry, field, msg);
	return -2;
}

static const char *const known_fields[] = {
	"id", "name", "family", "arch", "source", "published_params", "published_active_params",
	"published_precision", "published_source", "published_active_excludes_embedding", "published_mismatch", "layers", "hidden", "heads", "kv_heads",
	"head_dim", "ffn", "vocab", "tied_embeddings", "context", "rope_theta", "attention",
	"qkv_bias", "o_bias", "qk_norm", "attn_gate", "norms_per_layer", "sliding_window",
	"layer_pattern", "moe", "mla", "linear", "notes", NULL,
};
static const char *const moe_fields[] = {
	"experts", "experts_per_token", "shared_experts", "expert_ffn", "shared_ffn",
	"first_k_dense", "moe_every", "expert_bias", "dense_layers", NULL,
};
static const char *const mla_fields[] = {
	"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", NULL,
};
static const char *const lin_fields[] = {
	"kind", "k_heads", "k_head_dim", "v_heads", "v_head_dim", "state_size", "groups",
	"conv_kernel", NULL,
};

static int check_known(struct ctx *c, const cJSON *o, const char *prefix, const char *const *names)
{
	for (const cJSON *it = o->child; it; it = it->next) {
		int ok = 0;
		for (int i = 0; names[i]; i++)
			ok |= it->string && !strcmp(it->string, names[i]);
		if (!ok) {
			char f[96];
			snprintf(f, sizeof f, "%s%s", prefix, it->string ? it->string : "?");
			return fail(c, f, "unknown field (misspelt? see model_db/model.h)");
		}
	}
	return 0;
}

/* Integer field in [lo, hi]; absent: *dst = def unless required. */
static int get_int(struct ctx *c, const cJSON *o, const char *prefix, const char *name,
		   int required, long long lo, long long hi, long long def, long long *dst)
{
	char f[96];
	snprintf(f, sizeof f, "%s%s", prefix, name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return fail(c, f, "missing (required)");
		*dst = def;
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return fail(c, f, "must be a number");
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return fail(c, f, "must be a whole number, got %g", d);
	if (d < (double)lo || d > (double)hi)
		return fail(c, f, "%.0f out of range [%lld, %lld]", d, lo, hi);
	*dst = (long long)d;
	return 0;
}

static int get_i(struct ctx *c, const cJSON *o, const char *prefix, const char *name,
		 int required, int lo, int hi, int def, int *dst)
{
	long long v;
	int rc = get_int(c, o, prefix, name, required, lo, hi, def, &v);
	if (rc == 0)
		*dst = (int)v;
	return rc;
}

static int get_bool(struct ctx *c, const cJSON *o, const char *name, int *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		*dst = 0;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return fail(c, name, "must be true or false");
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int get_num(struct ctx *c, const cJSON *o, const char *name, double lo, double hi,
		   double *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		*dst = NAN;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return fail(c, name, "must be a number");
	if (v->valuedouble < lo || v->valuedouble > hi)
		return fail(c, name, "%g out of range [%g, %g]", v->valuedouble, lo, hi);
	*dst = v->valuedouble;
	return 0;
}

static int get_str(struct ctx *c, const cJSON *o, const char *name, int required, char *dst,
		   size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	dst[0] = 0;
	if (!v || cJSON_IsNull(v))
		return required ? fail(c, name, "missing (required)") : 0;
	if (!cJSON_IsString(v))
		return fail(c, name, "must be a string");
	size_t len = strlen(v->valuestring);
	if (required && len == 0)
		return fail(c, name, "must not be empty");
	if (len >= n)
		return fail(c, name, "longer than %zu characters", n - 1);
	memcpy(dst, v->valuestring, len + 1);
	return 0;
}

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)
#define BIG 100000000

static int parse_moe(struct ctx *c, const cJSON *o, struct mdb_model *m)
{
	struct mdb_moe *e = &m->moe;
	if (!cJSON_IsObject(o))
		return fail(c, "moe", "must be an object");
	TRY(check_known(c, o, "moe.", moe_fields));
	TRY(get_i(c, o, "moe.", "experts", 1, 2, 4096, 0, &e->n_experts));
	TRY(get_i(c, o, "moe.", "experts_per_token", 1, 1, 4096, 0, &e->experts_per_token));
	TRY(get_i(c, o, "moe.", "shared_experts", 0, 0, 64, 0, &e->n_shared_experts));
	TRY(get_i(c, o, "moe.", "expert_ffn", 1, 1, BIG, 0, &e->expert_ffn));
	TRY(get_i(c, o, "moe.", "shared_ffn", 0, 1, BIG, e->expert_ffn, &e->shared_ffn));
	TRY(get_i(c, o, "moe.", "first_k_dense", 0, 0, MDB_MAX_LAYERS, 0, &e->first_k_dense));
	TRY(get_i(c, o, "moe.", "moe_every", 0, 1, MDB_MAX_LAYERS, 1, &e->moe_every));
	const cJSON *eb = cJSON_GetObjectItemCaseSensitive(o, "expert_bias");
	if (eb && !cJSON_IsBool(eb))
		return fail(c, "moe.expert_bias", "must be true or false");
	e->expert_bias = eb && cJSON_IsTrue(eb);
	if (e->experts_per_token > e->n_experts)
		return fail(c, "moe.experts_per_token", "%d is more than moe.experts (%d)",
			    e->experts_per_token, e->n_experts);
	if (e->first_k_dense >= m->n_layer)
		return fail(c, "moe.first_k_dense", "%d leaves no MoE layer of %d", e->first_k_dense,
			    m->n_layer);
	const cJSON *dl = cJSON_GetObjectItemCaseSensitive(o, "dense_layers");
	if (dl && !cJSON_IsNull(dl)) {
		if (!cJSON_IsArray(dl))
			return fail(c, "moe.dense_layers", "must be an array of layer indices");
		for (const cJSON *it = dl->child; it; it = it->next) {
			if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble)
			    || it->valuedouble < 0 || it->valuedouble >= m->n_layer)
				return fail(c, "moe.dense_layers", "entries must be layer indices in [0, %d)",
					    m->n_layer);
			e->dense_layers[(int)it->valuedouble] = 1;
		}
	}
	if (e->shared_ffn <= 0)
		e->shared_ffn = e->expert_ffn;
	return 0;
}

static int parse_mla(struct ctx *c, const cJSON *o, struct mdb_model *m)
{
	struct mdb_mla *a = &m->mla;
	if (!cJSON_IsObject(o))
		return fail(c, "mla", "must be an object");
	TRY(check_known(c, o, "mla.", mla_fields));
	TRY(get_i(c, o, "mla.", "q_lora_rank", 0, 0, BIG, 0, &a->q_lora_rank));
	TRY(get_i(c, o, "mla.", "kv_lora_rank", 1, 1, BIG, 0, &a->kv_lora_rank));
	TRY(get_i(c, o, "mla.", "qk_nope_head_dim", 1, 1, 65536, 0, &a->qk_nope_head_dim));
	TRY(get_i(c, o, "mla.", "qk_rope_head_dim", 1, 1, 65536, 0, &a->qk_rope_head_dim));
	TRY(get_i(c, o, "mla.", "v_head_dim", 1, 1, 65536, 0, &a->v_head_dim));
	return 0;
}

static int parse_linear(struct ctx *c, const cJSON *o, struct mdb_model *m)
{
	struct mdb_linear *l = &m->lin;
	char kind[32];
	if (!cJSON_IsObject(o))
		return fail(c, "linear", "must be an object");
	TRY(check_known(c, o, "linear.", lin_fields));
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
	if (!cJSON_IsString(k))
		return fail(c, "linear.kind", "must be \"gated_deltanet\" or \"mamba2\"");
	snprintf(kind, sizeof kind, "%s", k->valuestring);
	if (!strcmp(kind, "gated_deltanet"))
		l->kind = MDB_LINEAR_GATED_DELTANET;
	else if (!strcmp(kind, "mamba2"))
		l->kind = MDB_LINEAR_MAMBA2;
	else
		return fail(c, "linear.kind", "\"%s\" is not \"gated_deltanet\" or \"mamba2\"", kind);
	int deltanet = l->kind == MDB_LINEAR_GATED_DELTANET;
	TRY(get_i(c, o, "linear.", "k_heads", deltanet, 1, 65536, 0, &l->k_heads));
	TRY(get_i(c, o, "linear.", "k_head_dim", deltanet, 1, 65536, 0, &l->k_head_dim));
	TRY(get_i(c, o, "linear.", "v_heads", 1, 1, 65536, 0, &l->v_heads));
	TRY(get_i(c, o, "linear.", "v_head_dim", 1, 1, 65536, 0, &l->v_head_dim));
	TRY(get_i(c, o, "linear.", "state_size", !deltanet, 1, 65536, l->k_head_dim, &l->state_size));
	TRY(get_i(c, o, "linear.", "groups", !deltanet, 1, 65536, 0, &l->groups));
	TRY(get_i(c, o, "linear.", "conv_kernel", 1, 1, 64, 0, &l->conv_kernel));
	if (deltanet && l->v_heads % l->k_heads)
		return fail(c, "linear.v_heads", "%d is not a multiple of linear.k_heads (%d)",
			    l->v_heads, l->k_heads);
	if (!deltanet && l->v_heads % l->groups)
		return fail(c, "linear.groups", "%d does not divide linear.v_heads (%d)", l->groups,
			    l->v_heads);
	return 0;
}

static int parse_obj(struct ctx *c, const cJSON *o, struct mdb_model *m)
{
	long long v;
	memset(m, 0, sizeof *m);
	snprintf(m->file, sizeof m->file, "%s", c->file);
	if (!cJSON_IsObject(o))
		return fail(c, "(entry)", "must be a JSON object");
	const cJSON *idv = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (cJSON_IsString(idv)) {
		char tmp[sizeof c->entry];
		snprintf(tmp, sizeof tmp, "%.12s '%.60s'", c->entry, idv->valuestring);
		memcpy(c->entry, tmp, sizeof tmp);
	}
	TRY(check_known(c, o, "", known_fields));
	TRY(get_str(c, o, "id", 1, m->id, sizeof m->id));
	for (const char *p = m->id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return fail(c, "id", "'%s' may hold only letters, digits, '.', '_' and '-'", m->id);
	TRY(get_str(c, o, "name", 1, m->name, sizeof m->name));
	TRY(get_str(c, o, "family", 1, m->family, sizeof m->family));
	TRY(get_str(c, o, "arch", 1, m->arch, sizeof m->arch));
	TRY(get_str(c, o, "source", 1, m->source, sizeof m->source));
	TRY(get_str(c, o, "published_source", 0, m->published_source, sizeof m->published_source));
	TRY(get_str(c, o, "published_mismatch", 0, m->published_mismatch, sizeof m->published_mismatch));
	TRY(get_num(c, o, "published_params", 1e6, 1e14, &m->published_params));
	TRY(get_num(c, o, "published_active_params", 1e6, 1e14, &m->published_active_params));
	TRY(get_num(c, o, "published_precision", 1, 1e13, &m->published_precision));
	TRY(get_bool(c, o, "published_active_excludes_embedding", &m->published_active_no_embd));
	if (isfinite(m->published_params) && !m->published_source[0])
		return fail(c, "published_source", "missing: say where published_params comes from");
	TRY(get_i(c, o, "", "layers", 1, 1, MDB_MAX_LAYERS, 0, &m->n_layer));
	TRY(get_i(c, o, "", "hidden", 1, 1, 1 << 20, 0, &m->hidden));
	TRY(get_i(c, o, "", "heads", 1, 1, 4096, 0, &m->n_head));
	TRY(get_i(c, o, "", "kv_heads", 0, 1, 4096, m->n_head, &m->n_head_kv));
	TRY(get_i(c, o, "", "head_dim", 0, 1, 65536, 0, &m->head_dim));
	TRY(get_i(c, o, "", "ffn", 1, 0, BIG, 0, &m->ffn));
	TRY(get_i(c, o, "", "vocab", 1, 1, BIG, 0, &m->vocab));
	TRY(get_bool(c, o, "tied_embeddings", &m->tied_embd));
	TRY(get_int(c, o, "", "context", 1, 1, 1ll << 40, 0, &v));
	m->context = v;
	TRY(get_num(c, o, "rope_theta", 1, 1e12, &m->rope_theta));
	TRY(get_bool(c, o, "qkv_bias", &m->qkv_bias));
	TRY(get_bool(c, o, "o_bias", &m->o_bias));
	TRY(get_bool(c, o, "qk_norm", &m->qk_norm));
	TRY(get_bool(c, o, "attn_gate", &m->attn_gate));
	TRY(get_i(c, o, "", "norms_per_layer", 0, 0, 16, 2, &m->norms_per_layer));
	TRY(get_i(c, o, "", "sliding_window", 0, 1, 1 << 30, 0, &m->sliding_window));

	if (m->n_head_kv > m->n_head || m->n_head % m->n_head_kv)
		return fail(c, "kv_heads", "%d must divide heads (%d)", m->n_head_kv, m->n_head);
	if (!m->head_dim) {
		if (m->hidden % m->n_head)
			return fail(c, "head_dim", "missing, and hidden (%d) is not a multiple of heads (%d)",
				    m->hidden, m->n_head);
		m->head_dim = m->hidden / m->n_head;
	}

	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "attention");
	if (!cJSON_IsString(a))
		return fail(c, "attention", "missing or not a string: one of mha, gqa, mla, sliding, hybrid");
	static const char *const kinds[] = {"mha", "gqa", "mla", "sliding", "hybrid"};
	int ak = -1;
	for (int i = 0; i < 5; i++)
		if (!strcmp(a->valuestring, kinds[i]))
			ak = i;
	if (ak < 0)
		return fail(c, "attention", "\"%.40s\" is not one of mha, gqa, mla, sliding, hybrid",
			    a->valuestring);
	m->attn = (enum mdb_attn_kind)ak;

	/* layer pattern: repeated to fill the layers */
	const cJSON *lp = cJSON_GetObjectItemCaseSensitive(o, "layer_pattern");
	const char *pat = "G";
	if (lp && !cJSON_IsNull(lp)) {
		if (!cJSON_IsString(lp) || !lp->valuestring[0])
			return fail(c, "layer_pattern", "must be a non-empty string of G, S, D, M");
		pat = lp->valuestring;
		if (strlen(pat) > (size_t)m->n_layer)
			return fail(c, "layer_pattern", "longer (%zu) than layers (%d)", strlen(pat),
				    m->n_layer);
		for (const char *p = pat; *p; p++)
			if (!strchr("GSDM", *p))
				return fail(c, "layer_pattern", "'%c' is not G (global), S (sliding), "
					    "D (Gated DeltaNet) or M (Mamba-2)", *p);
	}
	size_t pl = strlen(pat);
	for (int i = 0; i < m->n_layer; i++)
		m->layer_kinds[i] = pat[(size_t)i % pl];
	m->layer_kinds[m->n_layer] = 0;
	int n_s = mdb_model_count_layers(m, MDB_LAYER_SLIDING);
	int n_lin = mdb_model_count_layers(m, MDB_LAYER_DELTANET)
		+ mdb_model_count_layers(m, MDB_LAYER_MAMBA2);

	const cJSON *mo = cJSON_GetObjectItemCaseSensitive(o, "moe");
	if (mo && !cJSON_IsNull(mo))
		TRY(parse_moe(c, mo, m));
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(o, "mla");
	if (ml && !cJSON_IsNull(ml))
		TRY(parse_mla(c, ml, m));
	const cJSON *li = cJSON_GetObjectItemCaseSensitive(o, "linear");
	if (li && !cJSON_IsNull(li))
		TRY(parse_linear(c, li, m));

	/* consistency */
	if (n_s && !m->sliding_window)
		return fail(c, "sliding_window", "missing: layer_pattern has sliding (S) layers");
	if (!n_s && m->sliding_window && m->attn != MDB_ATTN_SLIDING)
		return fail(c, "layer_pattern", "has no S layer but sliding_window is set");
	if (n_lin && !m->lin.kind)
		return fail(c, "linear", "missing: layer_pattern has linear-attention (D/M) layers");
	if (m->lin.kind && !n_lin)
		return fail(c, "layer_pattern", "has no D or M layer but a linear block is given");
	if ((mdb_model_count_layers(m, MDB_LAYER_DELTANET) && m->lin.kind != MDB_LINEAR_GATED_DELTANET)
	    || (mdb_model_count_layers(m, MDB_LAYER_MAMBA2) && m->lin.kind != MDB_LINEAR_MAMBA2))
		return fail(c, "layer_pattern", "layer kinds do not match linear.kind");
	switch (m->attn) {
	case MDB_ATTN_MHA:
		if (m->n_head_kv != m->n_head)
			return fail(c, "attention", "mha needs kv_heads == heads (%d != %d); use gqa",
				    m->n_head_kv, m->n_head);
		/* fall through */
	case MDB_ATTN_GQA:
		if (m->attn == MDB_ATTN_GQA && m->n_head_kv == m->n_head)
			return fail(c, "attention", "gqa needs kv_heads < heads; use mha");
		if (n_s || n_lin)
			return fail(c, "attention", "layer_pattern has S/D/M layers; use sliding or hybrid");
		break;
	case MDB_ATTN_MLA:
		if (!m->mla.kv_lora_rank)
			return fail(c, "mla", "missing: attention is mla");
		break;
	case MDB_ATTN_SLIDING:
		if (!m->sliding_window)
			return fail(c, "sliding_window", "missing: attention is sliding");
		if (n_lin)
			return fail(c, "attention", "layer_pattern has D/M layers; use hybrid");
		break;
	case MDB_ATTN_HYBRID:
		if (!n_lin)
			return fail(c, "attention", "hybrid needs D or M layers in layer_pattern");
		break;
	}
	if (m->attn != MDB_ATTN_MLA && m->mla.kv_lora_rank)
		return fail(c, "mla", "given but attention is %s", mdb_attn_kind_name(m->attn));
	if (m->attn != MDB_ATTN_MLA && m->attn != MDB_ATTN_HYBRID
	    && !m->attn_gate && m->head_dim * m->n_head != m->hidden && !cJSON_GetObjectItem(o, "head_dim"))
		return fail(c, "head_dim", "hidden (%d) != heads (%d) x head_dim (%d)", m->hidden,
			    m->n_head, m->head_dim);
	if (!mdb_model_is_moe(m) && m->ffn <= 0)
		return fail(c, "ffn", "must be > 0 for a dense model");
	int n_dense = 0;
	for (int i = 0; i < m->n_layer; i++)
		n_dense += !mdb_model_layer_is_moe(m, i);
	if (mdb_model_is_moe(m) && n_dense && m->ffn <= 0)
		return fail(c, "ffn", "must be > 0: %d layers have a dense FFN", n_dense);
	if (!mdb_model_is_moe(m) && isfinite(m->published_active_params))
		return fail(c, "published_active_params", "given for a dense model");
	return 0;
}

int mdb_model_parse(const char *text, size_t len, const char *file, struct mdb_model *m,
		    char *err, size_t errlen)
{
	struct ctx c = {file ? file : "(input)", "#1", err, errlen};
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "%s: not valid JSON (near byte %ld)", c.file,
				 cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - text) : 0L);
		return -2;
	}
	int rc = parse_obj(&c, root, m);
	cJSON_Delete(root);
	return rc;
}

static int push(struct mdb_models *c, const struct mdb_model *m)
{
	struct mdb_model *old = (struct mdb_model *)mdb_models_find(c, m->id);
	if (old) {
		*old = *m;
		return 0;
	}
	struct mdb_model *v = realloc(c->v, (size_t)(c->n + 1) * sizeof *v);
	if (!v)
		return -1;
	c->v = v;
	c->v[c->n++] = *m;
	return 0;
}

int mdb_models_parse(struct mdb_models *cat, const char *text, size_t len, const char *file,
		     char *err, size_t errlen)
{
	struct ctx c = {file ? file : "(input)", "#1", err, errlen};
	cJSON *root = cJSON_ParseWithLength(text, len);
	int rc = 0;
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "%s: not valid JSON", c.file);
		return -2;
	}
	struct mdb_model *m = malloc(sizeof *m);
	if (!m) {
		rc = -1;
		goto out;
	}
	const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (!models) { /* a single model object */
		rc = parse_obj(&c, root, m);
		if (!rc)
			rc = push(cat, m);
		goto out;
	}
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, MDB_MODELS_SCHEMA)) {
		snprintf(c.entry, sizeof c.entry, "(file)");
		rc = fail(&c, "schema", "must be \"%s\"", MDB_MODELS_SCHEMA);
		goto out;
	}
	if (!cJSON_IsArray(models)) {
		snprintf(c.entry, sizeof c.entry, "(file)");
		rc = fail(&c, "models", "must be an array of model objects");
		goto out;
	}
	int i = 0;
	struct mdb_models seen = {0, NULL};
	for (const cJSON *it = models->child; it; it = it->next, i++) {
		snprintf(c.entry, sizeof c.entry, "#%d", i + 1);
		rc = parse_obj(&c, it, m);
		if (!rc && mdb_models_find(&seen, m->id))
			rc = fail(&c, "id", "'%s' appears twice in this file", m->id);
		if (!rc)
			rc = push(&seen, m);
		if (!rc)
			rc = push(cat, m);
		if (rc)
			break;
	}
	mdb_models_free(&seen);
out:
	free(m);
	cJSON_Delete(root);
	return rc;
}

void mdb_models_free(struct mdb_models *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

const struct mdb_model *mdb_models_find(const struct mdb_models *c, const char *id)
{
	for (int i = 0; id && i < c->n; i++)
		if (!strcasecmp(c->v[i].id, id))
			return &c->v[i];
	return NULL;
}

int mdb_models_user_dir(char *buf, size_t n)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (x && x[0] == '/')
		snprintf(buf, n, "%s/llmcap/models", x);
	else if (home && *home)
		snprintf(buf, n, "%s/.config/llmcap/models", home);
	else
		return -1;
	return 0;
}

int mdb_models_load_builtin(struct mdb_models *c, char *err, size_t errlen)
{
	c->n = 0;
	c->v = NULL;
	return mdb_models_parse(c, mdb_data_models, mdb_data_models_len, "builtin models.json", err,
				errlen);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mdb_models_load(struct mdb_models *c, const char *dir, char *err, size_t errlen)
{
	char def[4096];
	int rc = mdb_models_load_builtin(c, err, errlen);
	if (rc)
		return rc;
	if (!dir) {
		if (mdb_models_user_dir(def, sizeof def) != 0)
			return 0;
		dir = def;
	}
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* no user additions */
	char **names = NULL;
	int nn = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] == '.')
			continue;
		char **t = realloc(names, (size_t)(nn + 1) * sizeof *t);
		if (!t || !(t[nn] = strdup(de->d_name))) {
			free(t ? t : names);
			names = NULL;
			nn = 0;
			closedir(d);
			snprintf(err, errlen, "%s: out of memory", dir);
			return -1;
		}
		names = t;
		nn++;
	}
	closedir(d);
	qsort(names, (size_t)nn, sizeof *names, cmp_names);
	for (int i = 0; i < nn && rc == 0; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		char *buf = malloc(MAX_FILE_BYTES + 1);
		size_t got = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, f) : 0;
		fclose(f);
		if (!buf) {
			rc = -1;
			break;
		}
		if (got > MAX_FILE_BYTES) {
			snprintf(err, errlen, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
			rc = -2;
		} else {
			rc = mdb_models_parse(c, buf, got, path, err, errlen);
		}
		free(buf);
	}
	for (int i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}
