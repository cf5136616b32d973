/* reports: `llmcap models` — the model catalog as text and JSON
 * (llmcap.models/1). Counts come from the caller; nothing is computed here
 * beyond formatting and the difference to the published figure. */
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

static void add_int_pos(cJSON *o, const char *k, int v)
{
	if (v > 0)
		cJSON_AddNumberToObject(o, k, v);
}

static cJSON *model_json(const struct mdb_model *m, const struct mdb_params *p)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", m->id);
	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddStringToObject(o, "family", m->family);
	cJSON_AddStringToObject(o, "arch", m->arch);
	cJSON_AddStringToObject(o, "source", m->source);
	cJSON_AddStringToObject(o, "file", m->file);
	cJSON_AddNumberToObject(o, "total_params", p->total);
	cJSON_AddNumberToObject(o, "active_params", p->active);
	num_or_null(o, "published_params", m->published_params);
	num_or_null(o, "published_active_params", m->published_active_params);
	if (m->published_active_no_embd)
		cJSON_AddBoolToObject(o, "published_active_excludes_embedding", 1);
	if (m->published_source[0])
		cJSON_AddStringToObject(o, "published_source", m->published_source);
	if (m->published_mismatch[0])
		cJSON_AddStringToObject(o, "published_mismatch", m->published_mismatch);
	cJSON *pp = cJSON_AddObjectToObject(o, "params");
	if (pp) {
		cJSON_AddNumberToObject(pp, "embedding", p->embed);
		cJSON_AddNumberToObject(pp, "output", p->output);
		cJSON_AddNumberToObject(pp, "attention", p->attn);
		cJSON_AddNumberToObject(pp, "dense_ffn", p->dense_ffn);
		cJSON_AddNumberToObject(pp, "experts", p->experts);
		cJSON_AddNumberToObject(pp, "shared_experts", p->shared);
		cJSON_AddNumberToObject(pp, "router", p->router);
		cJSON_AddNumberToObject(pp, "norms", p->norms);
	}
	cJSON_AddNumberToObject(o, "layers", m->n_layer);
	cJSON_AddNumberToObject(o, "hidden", m->hidden);
	cJSON_AddNumberToObject(o, "heads", m->n_head);
	cJSON_AddNumberToObject(o, "kv_heads", m->n_head_kv);
	cJSON_AddNumberToObject(o, "head_dim", m->head_dim);
	cJSON_AddNumberToObject(o, "ffn", m->ffn);
	cJSON_AddNumberToObject(o, "vocab", m->vocab);
	cJSON_AddBoolToObject(o, "tied_embeddings", m->tied_embd);
	cJSON_AddNumberToObject(o, "context", (double)m->context);
	num_or_null(o, "rope_theta", m->rope_theta);
	cJSON_AddStringToObject(o, "attention", mdb_attn_kind_name(m->attn));
	cJSON_AddBoolToObject(o, "qkv_bias", m->qkv_bias);
	cJSON_AddBoolToObject(o, "qk_norm", m->qk_norm);
	cJSON_AddBoolToObject(o, "attn_gate", m->attn_gate);
	add_int_pos(o, "sliding_window", m->sliding_window);
	cJSON_AddStringToObject(o, "layer_kinds", m->layer_kinds);
	if (m->moe.n_experts > 1) {
		cJSON *e = cJSON_AddObjectToObject(o, "moe");
		if (e) {
			cJSON_AddNumberToObject(e, "experts", m->moe.n_experts);
			cJSON_AddNumberToObject(e, "experts_per_token", m->moe.experts_per_token);
			cJSON_AddNumberToObject(e, "shared_experts", m->moe.n_shared_experts);
			cJSON_AddNumberToObject(e, "expert_ffn", m->moe.expert_ffn);
			if (m->moe.n_shared_experts)
				cJSON_AddNumberToObject(e, "shared_ffn", m->moe.shared_ffn);
			cJSON_AddNumberToObject(e, "first_k_dense", m->moe.first_k_dense);
			cJSON_AddNumberToObject(e, "moe_every", m->moe.moe_every);
			cJSON *dl = cJSON_AddArrayToObject(e, "moe_layers");
			for (int i = 0; dl && i < m->n_layer; i++)
				cJSON_AddItemToArray(dl, cJSON_CreateBool(mdb_model_layer_is_moe(m, i)));
		}
	}
	if (m->attn == MDB_ATTN_MLA) {
		cJSON *a = cJSON_AddObjectToObject(o, "mla");
		if (a) {
			cJSON_AddNumberToObject(a, "q_lora_rank", m->mla.q_lora_rank);
			cJSON_AddNumberToObject(a, "kv_lora_rank", m->mla.kv_lora_rank);
			cJSON_AddNumberToObject(a, "qk_nope_head_dim", m->mla.qk_nope_head_dim);
			cJSON_AddNumberToObject(a, "qk_rope_head_dim", m->mla.qk_rope_head_dim);
			cJSON_AddNumberToObject(a, "v_head_dim", m->mla.v_head_dim);
		}
	}
	if (m->lin.kind != MDB_LINEAR_NONE) {
		cJSON *l = cJSON_AddObjectToObject(o, "linear");
		if (l) {
			cJSON_AddStringToObject(l, "kind", mdb_linear_kind_name(m->lin.kind));
			add_int_pos(l, "k_heads", m->lin.k_heads);
			add_int_pos(l, "k_head_dim", m->lin.k_head_dim);
			cJSON_AddNumberToObject(l, "v_heads", m->lin.v_heads);
			cJSON_AddNumberToObject(l, "v_head_dim", m->lin.v_head_dim);
			add_int_pos(l, "state_size", m->lin.state_size);
			add_int_pos(l, "groups", m->lin.groups);
			cJSON_AddNumberToObject(l, "conv_kernel", m->lin.conv_kernel);
		}
	}
	return o;
}

char *rep_models_json(const struct mdb_model *models, const struct mdb_params *params, int n,
		      int pretty)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "schema", MDB_MODELS_SCHEMA);
	cJSON *arr = cJSON_AddArrayToObject(root, "models");
	for (int i = 0; arr && i < n; i++) {
		cJSON *o = model_json(&models[i], &params[i]);
		if (!o) {
			cJSON_Delete(root);
			return NULL;
		}
		cJSON_AddItemToArray(arr, o);
	}
	char *s = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/* "8.03B", "135M", "1.03T" */
static char *fmt_params(char *buf, size_t n, double v)
{
	if (!isfinite(v))
		snprintf(buf, n, "-");
	else if (v >= 0.9995e12)
		snprintf(buf, n, "%.3gT", v / 1e12);
	else if (v >= 0.9995e9)
		snprintf(buf, n, "%.3gB", v / 1e9);
	else
		snprintf(buf, n, "%.3gM", v / 1e6);
	return buf;
}

static void fmt_diff(char *buf, size_t n, double computed, double pub)
{
	if (!isfinite(pub) || pub <= 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%+.1f%%", 100.0 * (computed / pub - 1));
}

void rep_models_text(const struct mdb_model *models, const struct mdb_params *params, int n,
		     FILE *out)
{
	static const char *const hdr[] = {"id", "name", "params", "active", "layers", "context",
		"attention", "MoE", "published", "diff", "published active", "diff"};
	struct rep_table *t = rep_table_new(12, hdr);
	if (!t)
		return;
	for (int c = 2; c < 12; c++)
		if (c != 6 && c != 7)
			rep_table_align(t, c, REP_RIGHT);
	for (int i = 0; i < n; i++) {
		const struct mdb_model *m = &models[i];
		const struct mdb_params *p = &params[i];
		char tot[16], act[16], pub[16], pact[16], d1[16], d2[16], moe[48], attn[40], ctx[32];
		fmt_params(tot, sizeof tot, p->total);
		fmt_params(act, sizeof act, p->active);
		fmt_params(pub, sizeof pub, m->published_params);
		fmt_params(pact, sizeof pact, m->published_active_params);
		fmt_diff(d1, sizeof d1, p->total, m->published_params);
		double a = m->published_active_no_embd ? p->active - p->embed : p->active;
		fmt_diff(d2, sizeof d2, a, m->published_active_params);
		if (m->moe.n_experts > 1)
			snprintf(moe, sizeof moe, "%d/%d%s", m->moe.experts_per_token, m->moe.n_experts,
				 m->moe.n_shared_experts ? " +shared" : "");
		else
			snprintf(moe, sizeof moe, "-");
		if (m->attn == MDB_ATTN_HYBRID)
			snprintf(attn, sizeof attn, "hybrid %s",
				 m->lin.kind == MDB_LINEAR_MAMBA2 ? "mamba2" : "deltanet");
		else if (m->attn == MDB_ATTN_SLIDING)
			snprintf(attn, sizeof attn, "sliding %d", m->sliding_window);
		else
			snprintf(attn, sizeof attn, "%s", mdb_attn_kind_name(m->attn));
		if (m->context >= 1024 && m->context % 1024 == 0)
			snprintf(ctx, sizeof ctx, "%lldK", (long long)(m->context / 1024));
		else
			snprintf(ctx, sizeof ctx, "%lld", (long long)m->context);
		char layers[16];
		snprintf(layers, sizeof layers, "%d", m->n_layer);
		const char *row[] = {m->id, m->name, tot, mdb_model_is_moe(m) ? act : "=", layers, ctx,
			attn, moe, pub, d1, pact, d2};
		rep_table_add(t, row);
	}
	rep_table_print(t, out);
	rep_table_delete(t);
	fprintf(out, "\nParameters are computed from each model's architecture (config.json); "
		"'published' is the model card's figure.\n");
}
