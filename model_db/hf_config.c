/* model_db/hf_config: a Hugging Face config.json imported as a model
 * (struct mdb_model), so `llmcap inspect config.json` and the planner can
 * use a model the catalog does not hold.
 *
 * The config's keys are read with the names transformers gives them (and
 * its documented per-model defaults where a key is absent); every error
 * names the file, the config.json key and the fix. The result is then
 * written as a catalog object (llmcap.models/1) and run through the
 * catalog's own parser, mdb_model_parse, so an imported model passes the
 * very consistency checks a catalog entry does. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model_db/model.h"

#define BIG 100000000

enum hf_kind {
	HF_LLAMA, HF_MISTRAL, HF_MIXTRAL, HF_QWEN2, HF_QWEN2_MOE, HF_QWEN3, HF_QWEN3_MOE,
	HF_DEEPSEEK_V3, HF_GEMMA2, HF_GEMMA3, HF_PHI3, HF_GPT_OSS, HF_QWEN3_NEXT,
	HF_GRANITE_HYBRID,
};

static const struct hf_type {
	const char *model_type;
	enum hf_kind kind;
	const char *family;
	const char *arch;          /* architectures[0] when the config has none */
} hf_types[] = {
	{"llama", HF_LLAMA, "llama", "LlamaForCausalLM"},
	{"mistral", HF_MISTRAL, "mistral", "MistralForCausalLM"},
	{"mixtral", HF_MIXTRAL, "mixtral", "MixtralForCausalLM"},
	{"qwen2", HF_QWEN2, "qwen2", "Qwen2ForCausalLM"},
	{"qwen2_moe", HF_QWEN2_MOE, "qwen2moe", "Qwen2MoeForCausalLM"},
	{"qwen3", HF_QWEN3, "qwen3", "Qwen3ForCausalLM"},
	{"qwen3_moe", HF_QWEN3_MOE, "qwen3moe", "Qwen3MoeForCausalLM"},
	{"deepseek_v3", HF_DEEPSEEK_V3, "deepseek", "DeepseekV3ForCausalLM"},
	{"gemma2", HF_GEMMA2, "gemma2", "Gemma2ForCausalLM"},
	{"gemma3", HF_GEMMA3, "gemma3", "Gemma3ForConditionalGeneration"},
	{"gemma3_text", HF_GEMMA3, "gemma3", "Gemma3ForCausalLM"},
	{"phi3", HF_PHI3, "phi3", "Phi3ForCausalLM"},
	{"gpt_oss", HF_GPT_OSS, "gpt-oss", "GptOssForCausalLM"},
	{"qwen3_next", HF_QWEN3_NEXT, "qwen3next", "Qwen3NextForCausalLM"},
	{"granitemoehybrid", HF_GRANITE_HYBRID, "granitehybrid", "GraniteMoeHybridForCausalLM"},
};
#define N_TYPES (sizeof hf_types / sizeof hf_types[0])

const char *mdb_hf_supported_types(void)
{
	return "llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, qwen3_next, "
	       "deepseek_v3, gemma2, gemma3, gemma3_text, phi3, gpt_oss, granitemoehybrid";
}

struct hctx {
	const char *file;
	const char *prefix;   /* "" or "text_config." */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int hfail(struct hctx *c, const char *field, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return -2;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: config.json field '%s%s': %s", c->file, c->prefix,
		 field, msg);
	return -2;
}

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* Integer key in [lo, hi]. Absent or null: *dst = def, or an error when
 * required. */
static int hget_int(struct hctx *c, const cJSON *o, const char *name, int required,
		    long long lo, long long hi, long long def, long long *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return hfail(c, name, "missing (required); add it from the model's "
				     "config.json");
		*dst = def;
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return hfail(c, name, "must be a number, not %s",
			     cJSON_IsString(v) ? "a string" : cJSON_IsBool(v) ? "a boolean"
			     : cJSON_IsArray(v) ? "an array" : "an object");
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return hfail(c, name, "must be a whole number, got %g", d);
	if (d < (double)lo || d > (double)hi)
		return hfail(c, name, "%.0f is out of range [%lld, %lld]", d, lo, hi);
	*dst = (long long)d;
	return 0;
}

static int hget_i(struct hctx *c, const cJSON *o, const char *name, int required, int lo,
		  int hi, int def, int *dst)
{
	long long v;
	TRY(hget_int(c, o, name, required, lo, hi, def, &v));
	*dst = (int)v;
	return 0;
}

static int hget_bool(struct hctx *c, const cJSON *o, const char *name, int def, int *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		*dst = def;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return hfail(c, name, "must be true or false");
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int hget_num(struct hctx *c, const cJSON *o, const char *name, double lo, double hi,
		    double def, double *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v)) {
		*dst = def;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return hfail(c, name, "must be a number");
	if (v->valuedouble < lo || v->valuedouble > hi)
		return hfail(c, name, "%g is out of range [%g, %g]", v->valuedouble, lo, hi);
	*dst = v->valuedouble;
	return 0;
}

/* The model's id from where it was read: "DIR/NAME/config.json" gives
 * NAME, "x/NAME.json" gives NAME; only [A-Za-z0-9._-] kept. */
static void id_from_origin(const char *origin, char *id, size_t n)
{
	const char *end = origin + strlen(origin);
	const char *base = strrchr(origin, '/');
	base = base ? base + 1 : origin;
	if (!strcmp(base, "config.json") && base > origin + 1) {
		end = base - 1;
		const char *p = end;
		while (p > origin && p[-1] != '/')
			p--;
		base = p;
	} else {
		size_t l = (size_t)(end - base);
		if (l > 5 && !strcmp(end - 5, ".json"))
			end -= 5;
	}
	size_t k = 0;
	for (const char *p = base; p < end && k + 1 < n; p++)
		if (isalnum((unsigned char)*p) || strchr("._-", *p))
			id[k++] = *p;
	if (!k)
		snprintf(id, n, "hf-model");
	else
		id[k] = 0;
}

/* The layer_types names a model type uses, with the layer kind of each
 * (transformers: sliding/full for most, linear_attention for Qwen3-Next's
 * Gated DeltaNet, mamba/attention for GraniteMoeHybrid). */
struct layer_name {
	const char *name;
	char kind;
};

static const struct layer_name attn_names[] = {
	{"full_attention", MDB_LAYER_GLOBAL}, {"sliding_attention", MDB_LAYER_SLIDING}, {NULL, 0}};
static const struct layer_name next_names[] = {
	{"full_attention", MDB_LAYER_GLOBAL}, {"linear_attention", MDB_LAYER_DELTANET}, {NULL, 0}};
static const struct layer_name granite_names[] = {
	{"attention", MDB_LAYER_GLOBAL}, {"mamba", MDB_LAYER_MAMBA2}, {NULL, 0}};

static int layer_types(struct hctx *c, const cJSON *arr, int n_layer, char *kinds,
		       const struct layer_name *names)
{
	char list[96];
	size_t k = 0;
	list[0] = 0;
	for (const struct layer_name *ln = names; ln->name && k < sizeof list; ln++)
		k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", ln->name);
	if (!cJSON_IsArray(arr))
		return hfail(c, "layer_types", "must be an array of strings (%s)", list);
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		if (i >= n_layer)
			return hfail(c, "layer_types", "has more entries than num_hidden_layers (%d)",
				     n_layer);
		if (!cJSON_IsString(it))
			return hfail(c, "layer_types", "entry %d must be a string", i);
		const struct layer_name *ln = names;
		while (ln->name && strcmp(it->valuestring, ln->name))
			ln++;
		if (!ln->name)
			return hfail(c, "layer_types", "entry %d \"%.40s\" is not supported; "
				     "supported: %s", i, it->valuestring, list);
		kinds[i] = ln->kind;
	}
	if (i != n_layer)
		return hfail(c, "layer_types", "has %d entries, num_hidden_layers is %d", i, n_layer);
	return 0;
}

/* The config (cfg: the root, or Gemma 3's text_config) into m; the caller
 * validates through the catalog parser. */
static int read_config(struct hctx *c, const struct hf_type *t, const cJSON *root,
		       const cJSON *cfg, struct mdb_model *m, int *head_dim_given)
{
	enum hf_kind k = t->kind;
	int gemma3 = k == HF_GEMMA3;
	int moe_mixtral = k == HF_MIXTRAL || k == HF_GPT_OSS;
	int next = k == HF_QWEN3_NEXT, granite = k == HF_GRANITE_HYBRID;
	long long v;

	TRY(hget_i(c, cfg, "num_hidden_layers", 1, 1, MDB_MAX_LAYERS, 0, &m->n_layer));
	TRY(hget_i(c, cfg, "hidden_size", 1, 1, 1 << 20, 0, &m->hidden));
	/* Gemma3TextConfig defaults (transformers) where the nested config omits them */
	TRY(hget_i(c, cfg, "num_attention_heads", !gemma3, 1, 4096, 8, &m->n_head));
	TRY(hget_i(c, cfg, "num_key_value_heads", 0, 1, 4096, gemma3 ? 4 : m->n_head,
		   &m->n_head_kv));
	if (m->n_head_kv > m->n_head || m->n_head % m->n_head_kv)
		return hfail(c, "num_key_value_heads", "%d must divide num_attention_heads (%d)",
			     m->n_head_kv, m->n_head);
	const cJSON *hd = cJSON_GetObjectItemCaseSensitive(cfg, "head_dim");
	*head_dim_given = (hd && !cJSON_IsNull(hd)) || gemma3;
	TRY(hget_i(c, cfg, "head_dim", 0, 1, 65536, gemma3 ? 256 : 0, &m->head_dim));
	if (!m->head_dim && k != HF_DEEPSEEK_V3) {
		if (m->hidden % m->n_head)
			return hfail(c, "head_dim", "missing, and hidden_size (%d) is not a multiple "
				     "of num_attention_heads (%d); add head_dim", m->hidden, m->n_head);
		m->head_dim = m->hidden / m->n_head;
	}
	/* GraniteMoeHybridConfig's default intermediate_size is 11008 */
	TRY(hget_i(c, cfg, "intermediate_size", !moe_mixtral && k != HF_QWEN3_MOE && !next
		   && !granite, 1, BIG, granite ? 11008 : 0, &m->ffn));
	TRY(hget_i(c, cfg, "vocab_size", !gemma3, 1, BIG, 262208, &m->vocab));
	const cJSON *tie_src = cJSON_GetObjectItemCaseSensitive(cfg, "tie_word_embeddings") ? cfg
		: root;
	TRY(hget_bool(c, tie_src, "tie_word_embeddings", k == HF_GEMMA2 || gemma3, &m->tied_embd));
	TRY(hget_int(c, cfg, "max_position_embeddings", !gemma3, 1, 1ll << 40, 131072, &v));
	m->context = v;

	double theta_def;
	switch (k) {
	case HF_MIXTRAL: case HF_GEMMA3: theta_def = 1e6; break;
	case HF_GPT_OSS: theta_def = 150000; break;
	default: theta_def = 10000; break;
	}
	/* GraniteMoeHybrid: attention layers use RoPE only when
	 * position_embedding_type is "rope" (Granite 4.0-H: "nope") */
	int nope = 0;
	if (granite) {
		const cJSON *pe = cJSON_GetObjectItemCaseSensitive(cfg, "position_embedding_type");
		if (pe && !cJSON_IsNull(pe) && !cJSON_IsString(pe))
			return hfail(c, "position_embedding_type", "must be a string (\"rope\" or "
				     "\"nope\") or null");
		nope = !cJSON_IsString(pe) || strcmp(pe->valuestring, "rope") != 0;
	}
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cfg, "rope_parameters");
	if (nope) {
		m->rope_theta = NAN;
	} else if (!cJSON_GetObjectItemCaseSensitive(cfg, "rope_theta") && cJSON_IsObject(rp)) {
		const char *save = c->prefix;
		c->prefix = cfg == root ? "rope_parameters." : "text_config.rope_parameters.";
		int rc = hget_num(c, rp, "rope_theta", 1, 1e12, theta_def, &m->rope_theta);
		c->prefix = save;
		TRY(rc);
	} else {
		TRY(hget_num(c, cfg, "rope_theta", 1, 1e12, theta_def, &m->rope_theta));
	}

	/* biases and norms */
	int ab = 0;
	TRY(hget_bool(c, cfg, "attention_bias", k == HF_GPT_OSS, &ab));
	switch (k) {
	case HF_QWEN2: case HF_QWEN2_MOE:
		m->qkv_bias = 1;             /* q, k, v carry biases, o none (Qwen2Attention) */
		break;
	case HF_LLAMA: case HF_QWEN3: case HF_QWEN3_MOE: case HF_GPT_OSS: case HF_QWEN3_NEXT:
	case HF_GRANITE_HYBRID:
		m->qkv_bias = m->o_bias = ab;
		break;
	default:
		break;
	}
	m->qk_norm = k == HF_QWEN3 || k == HF_QWEN3_MOE || next || gemma3;
	m->attn_gate = next;              /* q_proj also yields the output gate */
	m->norms_per_layer = k == HF_GEMMA2 || gemma3 ? 4 : 2;

	/* layer pattern */
	int n = m->n_layer;
	memset(m->layer_kinds, MDB_LAYER_GLOBAL, (size_t)n);
	m->layer_kinds[n] = 0;
	const cJSON *lt = cJSON_GetObjectItemCaseSensitive(cfg, "layer_types");
	int window = 0;
	TRY(hget_i(c, cfg, "sliding_window", 0, 1, 1 << 30,
		   k == HF_GEMMA2 ? 4096 : gemma3 ? 4096 : 0, &window));
	if (lt && !cJSON_IsNull(lt)) {
		TRY(layer_types(c, lt, n, m->layer_kinds, next ? next_names
				: granite ? granite_names : attn_names));
	} else if (next) {
		int every;                    /* Qwen3NextConfig: every 4th layer is full */
		TRY(hget_i(c, cfg, "full_attention_interval", 0, 1, MDB_MAX_LAYERS, 4, &every));
		for (int i = 0; i < n; i++)
			m->layer_kinds[i] = (i + 1) % every ? MDB_LAYER_DELTANET : MDB_LAYER_GLOBAL;
	} else if (granite) {             /* no layer_types: every layer is Mamba */
		memset(m->layer_kinds, MDB_LAYER_MAMBA2, (size_t)n);
	} else if (k == HF_GEMMA2 || k == HF_GPT_OSS) {
		for (int i = 0; i < n; i++)   /* even layers slide, odd ones are global */
			m->layer_kinds[i] = (i + 1) % 2 ? MDB_LAYER_SLIDING : MDB_LAYER_GLOBAL;
	} else if (gemma3) {
		int pat;
		TRY(hget_i(c, cfg, "sliding_window_pattern", 0, 1, MDB_MAX_LAYERS, 6, &pat));
		for (int i = 0; i < n; i++)
			m->layer_kinds[i] = (i + 1) % pat ? MDB_LAYER_SLIDING : MDB_LAYER_GLOBAL;
	} else if (k == HF_QWEN2 || k == HF_QWEN2_MOE || k == HF_QWEN3 || k == HF_QWEN3_MOE) {
		int use = 0, from = n;
		TRY(hget_bool(c, cfg, "use_sliding_window", 0, &use));
		if (use) {
			TRY(hget_i(c, cfg, "max_window_layers", 0, 0, MDB_MAX_LAYERS, n, &from));
			for (int i = from; i < n; i++)
				m->layer_kinds[i] = MDB_LAYER_SLIDING;
		}
	} else if (k == HF_MISTRAL || k == HF_MIXTRAL || k == HF_PHI3) {
		if (window) /* every layer slides; null means none */
			memset(m->layer_kinds, MDB_LAYER_SLIDING, (size_t)n);
	}
	/* A window at least the context long is global attention in effect
	 * (Phi-3.5-mini: 262144 over 131072; Qwen2.5: 131072 with it off). */
	int n_s = mdb_model_count_layers(m, MDB_LAYER_SLIDING);
	if (n_s && window && window >= m->context) {
		memset(m->layer_kinds, MDB_LAYER_GLOBAL, (size_t)n);
		n_s = 0;
	}
	if (n_s && !window)
		return hfail(c, "sliding_window", "missing or null but %d layers slide; give the "
			     "window in tokens", n_s);
	m->sliding_window = n_s ? window : 0;

	/* mixture of experts */
	struct mdb_moe *e = &m->moe;
	e->moe_every = 1;
	switch (k) {
	case HF_MIXTRAL: case HF_GPT_OSS:
		TRY(hget_i(c, cfg, "num_local_experts", 1, 2, 4096, 0, &e->n_experts));
		if (k == HF_GPT_OSS && !cJSON_GetObjectItemCaseSensitive(cfg, "num_experts_per_tok"))
			TRY(hget_i(c, cfg, "experts_per_token", 1, 1, 4096, 0, &e->experts_per_token));
		else
			TRY(hget_i(c, cfg, "num_experts_per_tok", 1, 1, 4096, 0, &e->experts_per_token));
		e->expert_ffn = m->ffn;       /* intermediate_size is one expert's */
		e->expert_bias = k == HF_GPT_OSS;
		m->ffn = 0;
		break;
	case HF_QWEN2_MOE: case HF_QWEN3_MOE: case HF_QWEN3_NEXT: {
		TRY(hget_i(c, cfg, "num_experts", 1, 2, 4096, 0, &e->n_experts));
		TRY(hget_i(c, cfg, "num_experts_per_tok", 1, 1, 4096, 0, &e->experts_per_token));
		TRY(hget_i(c, cfg, "moe_intermediate_size", 1, 1, BIG, 0, &e->expert_ffn));
		TRY(hget_i(c, cfg, "decoder_sparse_step", 0, 1, MDB_MAX_LAYERS, 1, &e->moe_every));
		if (k == HF_QWEN2_MOE || next) {
			TRY(hget_i(c, cfg, "shared_expert_intermediate_size", 0, 0, BIG, 0,
				   &e->shared_ffn));
			e->n_shared_experts = e->shared_ffn > 0;
		}
		const cJSON *ml = cJSON_GetObjectItemCaseSensitive(cfg, "mlp_only_layers");
		if (ml && !cJSON_IsNull(ml)) {
			if (!cJSON_IsArray(ml))
				return hfail(c, "mlp_only_layers", "must be an array of layer indices");
			for (const cJSON *it = ml->child; it; it = it->next) {
				if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble)
				    || it->valuedouble < 0 || it->valuedouble >= n)
					return hfail(c, "mlp_only_layers", "entries must be layer indices "
						     "in [0, %d)", n);
				e->dense_layers[(int)it->valuedouble] = 1;
			}
		}
		break;
	}
	case HF_DEEPSEEK_V3: {
		int freq = 1;
		TRY(hget_i(c, cfg, "n_routed_experts", 1, 2, 4096, 0, &e->n_experts));
		TRY(hget_i(c, cfg, "num_experts_per_tok", 1, 1, 4096, 0, &e->experts_per_token));
		TRY(hget_i(c, cfg, "moe_intermediate_size", 1, 1, BIG, 0, &e->expert_ffn));
		TRY(hget_i(c, cfg, "n_shared_experts", 0, 0, 64, 0, &e->n_shared_experts));
		TRY(hget_i(c, cfg, "first_k_dense_replace", 0, 0, MDB_MAX_LAYERS, 0,
			   &e->first_k_dense));
		TRY(hget_i(c, cfg, "moe_layer_freq", 0, 1, MDB_MAX_LAYERS, 1, &freq));
		if (freq != 1)
			return hfail(c, "moe_layer_freq", "%d is not supported (only 1: every layer "
				     "after first_k_dense_replace is MoE)", freq);
		struct mdb_mla *a = &m->mla;
		TRY(hget_i(c, cfg, "q_lora_rank", 0, 1, BIG, 0, &a->q_lora_rank));
		TRY(hget_i(c, cfg, "kv_lora_rank", 1, 1, BIG, 0, &a->kv_lora_rank));
		TRY(hget_i(c, cfg, "qk_nope_head_dim", 1, 1, 65536, 0, &a->qk_nope_head_dim));
		TRY(hget_i(c, cfg, "qk_rope_head_dim", 1, 1, 65536, 0, &a->qk_rope_head_dim));
		TRY(hget_i(c, cfg, "v_head_dim", 1, 1, 65536, 0, &a->v_head_dim));
		m->attn = MDB_ATTN_MLA;
		m->head_dim = 0;              /* MLA: the catalog's derived figure */
		*head_dim_given = 0;
		break;
	}
	case HF_GRANITE_HYBRID: {
		/* GraniteMoeHybrid: every layer has the shared MLP
		 * (shared_intermediate_size); with num_local_experts > 0 routed
		 * experts of intermediate_size beside it. Defaults: transformers'. */
		int shared;
		TRY(hget_i(c, cfg, "num_local_experts", 0, 0, 4096, 8, &e->n_experts));
		TRY(hget_i(c, cfg, "shared_intermediate_size", 0, 1, BIG, 1024, &shared));
		if (e->n_experts == 1)
			return hfail(c, "num_local_experts", "1 is not supported (0: dense, or at "
				     "least 2 experts)");
		if (!e->n_experts) {
			m->ffn = shared;      /* dense: the shared MLP is the FFN */
			break;
		}
		TRY(hget_i(c, cfg, "num_experts_per_tok", 0, 1, 4096, 2, &e->experts_per_token));
		e->expert_ffn = m->ffn;
		e->n_shared_experts = 1;
		e->shared_ffn = shared;
		m->ffn = 0;
		break;
	}
	default:
		break;
	}
	if (e->n_experts) {
		const char *fe = k == HF_DEEPSEEK_V3 ? "n_routed_experts"
			: moe_mixtral || granite ? "num_local_experts" : "num_experts";
		if (e->experts_per_token > e->n_experts)
			return hfail(c, k == HF_GPT_OSS && !cJSON_GetObjectItemCaseSensitive(cfg,
				     "num_experts_per_tok") ? "experts_per_token" : "num_experts_per_tok",
				     "%d is more than %s (%d)", e->experts_per_token, fe, e->n_experts);
		if (e->first_k_dense >= n)
			return hfail(c, "first_k_dense_replace", "%d leaves no MoE layer of %d",
				     e->first_k_dense, n);
		int n_moe = 0;
		for (int i = 0; i < n; i++)
			n_moe += mdb_model_layer_is_moe(m, i);
		if (n_moe < n && m->ffn <= 0)
			return hfail(c, "intermediate_size", "missing: %d layers have a dense FFN",
				     n - n_moe);
	}
	/* linear-attention / recurrent layers */
	struct mdb_linear *l = &m->lin;
	int n_d = mdb_model_count_layers(m, MDB_LAYER_DELTANET);
	int n_m = mdb_model_count_layers(m, MDB_LAYER_MAMBA2);
	if (n_d) {                        /* Qwen3NextConfig defaults */
		l->kind = MDB_LINEAR_GATED_DELTANET;
		TRY(hget_i(c, cfg, "linear_num_key_heads", 0, 1, 65536, 16, &l->k_heads));
		TRY(hget_i(c, cfg, "linear_key_head_dim", 0, 1, 65536, 128, &l->k_head_dim));
		TRY(hget_i(c, cfg, "linear_num_value_heads", 0, 1, 65536, 32, &l->v_heads));
		TRY(hget_i(c, cfg, "linear_value_head_dim", 0, 1, 65536, 128, &l->v_head_dim));
		TRY(hget_i(c, cfg, "linear_conv_kernel_dim", 0, 1, 64, 4, &l->conv_kernel));
		l->state_size = l->k_head_dim;
		if (l->v_heads % l->k_heads)
			return hfail(c, "linear_num_value_heads", "%d is not a multiple of "
				     "linear_num_key_heads (%d)", l->v_heads, l->k_heads);
	}
	if (n_m) {                        /* GraniteMoeHybridConfig defaults */
		int expand, conv_bias, proj_bias;
		TRY(hget_i(c, cfg, "mamba_expand", 0, 1, 64, 2, &expand));
		TRY(hget_i(c, cfg, "mamba_n_heads", 0, 1, 65536, 128, &l->v_heads));
		TRY(hget_i(c, cfg, "mamba_d_state", 0, 1, 65536, 256, &l->state_size));
		TRY(hget_i(c, cfg, "mamba_n_groups", 0, 1, 65536, 1, &l->groups));
		TRY(hget_i(c, cfg, "mamba_d_conv", 0, 1, 64, 4, &l->conv_kernel));
		TRY(hget_bool(c, cfg, "mamba_conv_bias", 1, &conv_bias));
		TRY(hget_bool(c, cfg, "mamba_proj_bias", 0, &proj_bias));
		long long inner = (long long)expand * m->hidden;
		if (inner % l->v_heads)
			return hfail(c, "mamba_n_heads", "%d does not divide mamba_expand x "
				     "hidden_size (%lld)", l->v_heads, inner);
		const cJSON *dh = cJSON_GetObjectItemCaseSensitive(cfg, "mamba_d_head");
		if (cJSON_IsString(dh) && !strcmp(dh->valuestring, "auto"))
			dh = NULL;
		TRY(hget_i(c, dh ? cfg : NULL, "mamba_d_head", 0, 1, 65536,
			   (int)(inner / l->v_heads), &l->v_head_dim));
		if ((long long)l->v_head_dim * l->v_heads != inner)
			return hfail(c, "mamba_d_head", "%d x mamba_n_heads (%d) is not mamba_expand x "
				     "hidden_size (%lld)", l->v_head_dim, l->v_heads, inner);
		if (l->v_heads % l->groups)
			return hfail(c, "mamba_n_groups", "%d does not divide mamba_n_heads (%d)",
				     l->groups, l->v_heads);
		if (!conv_bias || proj_bias)
			return hfail(c, conv_bias ? "mamba_proj_bias" : "mamba_conv_bias",
				     "%s is not supported (llmcap counts Mamba-2 with a conv1d bias and "
				     "no in/out projection bias, as Granite 4.0 has)",
				     conv_bias ? "true" : "false");
		l->kind = MDB_LINEAR_MAMBA2;
	}
	if (m->attn != MDB_ATTN_MLA) {
		if (n_d || n_m)
			m->attn = MDB_ATTN_HYBRID;
		else if (n_s)
			m->attn = MDB_ATTN_SLIDING;
		else
			m->attn = m->n_head_kv == m->n_head ? MDB_ATTN_MHA : MDB_ATTN_GQA;
	}
	return 0;
}

/* m as a catalog (llmcap.models/1) object for mdb_model_parse. */
static cJSON *as_catalog(const struct mdb_model *m, int head_dim_given)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", m->id);
	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddStringToObject(o, "family", m->family);
	cJSON_AddStringToObject(o, "arch", m->arch);
	cJSON_AddStringToObject(o, "source", m->source);
	cJSON_AddNumberToObject(o, "layers", m->n_layer);
	cJSON_AddNumberToObject(o, "hidden", m->hidden);
	cJSON_AddNumberToObject(o, "heads", m->n_head);
	cJSON_AddNumberToObject(o, "kv_heads", m->n_head_kv);
	if (m->head_dim && (head_dim_given || m->head_dim * m->n_head == m->hidden))
		cJSON_AddNumberToObject(o, "head_dim", m->head_dim);
	cJSON_AddNumberToObject(o, "ffn", m->ffn);
	cJSON_AddNumberToObject(o, "vocab", m->vocab);
	cJSON_AddBoolToObject(o, "tied_embeddings", m->tied_embd);
	cJSON_AddNumberToObject(o, "context", (double)m->context);
	if (isfinite(m->rope_theta))
		cJSON_AddNumberToObject(o, "rope_theta", m->rope_theta);
	cJSON_AddStringToObject(o, "attention", mdb_attn_kind_name(m->attn));
	cJSON_AddBoolToObject(o, "qkv_bias", m->qkv_bias);
	cJSON_AddBoolToObject(o, "o_bias", m->o_bias);
	cJSON_AddBoolToObject(o, "qk_norm", m->qk_norm);
	cJSON_AddBoolToObject(o, "attn_gate", m->attn_gate);
	cJSON_AddNumberToObject(o, "norms_per_layer", m->norms_per_layer);
	if (m->sliding_window)
		cJSON_AddNumberToObject(o, "sliding_window", m->sliding_window);
	cJSON_AddStringToObject(o, "layer_pattern", m->layer_kinds);
	if (m->moe.n_experts) {
		const struct mdb_moe *e = &m->moe;
		cJSON *mo = cJSON_AddObjectToObject(o, "moe");
		if (!mo)
			goto oom;
		cJSON_AddNumberToObject(mo, "experts", e->n_experts);
		cJSON_AddNumberToObject(mo, "experts_per_token", e->experts_per_token);
		cJSON_AddNumberToObject(mo, "shared_experts", e->n_shared_experts);
		cJSON_AddNumberToObject(mo, "expert_ffn", e->expert_ffn);
		if (e->shared_ffn > 0)
			cJSON_AddNumberToObject(mo, "shared_ffn", e->shared_ffn);
		cJSON_AddNumberToObject(mo, "first_k_dense", e->first_k_dense);
		cJSON_AddNumberToObject(mo, "moe_every", e->moe_every);
		cJSON_AddBoolToObject(mo, "expert_bias", e->expert_bias);
		cJSON *dl = cJSON_AddArrayToObject(mo, "dense_layers");
		if (!dl)
			goto oom;
		for (int i = 0; i < m->n_layer; i++)
			if (e->dense_layers[i])
				cJSON_AddItemToArray(dl, cJSON_CreateNumber(i));
	}
	if (m->lin.kind != MDB_LINEAR_NONE) {
		const struct mdb_linear *l = &m->lin;
		cJSON *li = cJSON_AddObjectToObject(o, "linear");
		if (!li)
			goto oom;
		cJSON_AddStringToObject(li, "kind", mdb_linear_kind_name(l->kind));
		if (l->kind == MDB_LINEAR_GATED_DELTANET) {
			cJSON_AddNumberToObject(li, "k_heads", l->k_heads);
			cJSON_AddNumberToObject(li, "k_head_dim", l->k_head_dim);
		} else {
			cJSON_AddNumberToObject(li, "state_size", l->state_size);
			cJSON_AddNumberToObject(li, "groups", l->groups);
		}
		cJSON_AddNumberToObject(li, "v_heads", l->v_heads);
		cJSON_AddNumberToObject(li, "v_head_dim", l->v_head_dim);
		cJSON_AddNumberToObject(li, "conv_kernel", l->conv_kernel);
	}
	if (m->attn == MDB_ATTN_MLA) {
		cJSON *a = cJSON_AddObjectToObject(o, "mla");
		if (!a)
			goto oom;
		cJSON_AddNumberToObject(a, "q_lora_rank", m->mla.q_lora_rank);
		cJSON_AddNumberToObject(a, "kv_lora_rank", m->mla.kv_lora_rank);
		cJSON_AddNumberToObject(a, "qk_nope_head_dim", m->mla.qk_nope_head_dim);
		cJSON_AddNumberToObject(a, "qk_rope_head_dim", m->mla.qk_rope_head_dim);
		cJSON_AddNumberToObject(a, "v_head_dim", m->mla.v_head_dim);
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

static int import(struct hctx *c, const cJSON *root, const char *origin, struct mdb_model *out)
{
	if (!cJSON_IsObject(root))
		return hfail(c, "(top level)", "must be a JSON object (a Hugging Face config.json)");
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
	const cJSON *ar = cJSON_GetObjectItemCaseSensitive(root, "architectures");
	const char *arch0 = NULL;
	if (ar && !cJSON_IsNull(ar)) {
		if (!cJSON_IsArray(ar) || (ar->child && !cJSON_IsString(ar->child)))
			return hfail(c, "architectures", "must be an array of class names");
		if (ar->child)
			arch0 = ar->child->valuestring;
	}
	if (!mt || cJSON_IsNull(mt))
		return hfail(c, "model_type", "missing; supported: %s%s%s%s",
			     mdb_hf_supported_types(), arch0 ? " (architectures says '" : "",
			     arch0 ? arch0 : "", arch0 ? "')" : "");
	if (!cJSON_IsString(mt))
		return hfail(c, "model_type", "must be a string; supported: %s",
			     mdb_hf_supported_types());
	const struct hf_type *t = NULL;
	for (size_t i = 0; i < N_TYPES; i++)
		if (!strcmp(mt->valuestring, hf_types[i].model_type))
			t = &hf_types[i];
	if (!t)
		return hfail(c, "model_type", "model_type '%.60s'%s%.60s%s is not supported; "
			     "supported: %s", mt->valuestring, arch0 ? " (architectures '" : "",
			     arch0 ? arch0 : "", arch0 ? "')" : "", mdb_hf_supported_types());

	struct mdb_model *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return -1;
	}
	const cJSON *cfg = root;
	if (t->kind == HF_GEMMA3 && !strcmp(t->model_type, "gemma3")) {
		cfg = cJSON_GetObjectItemCaseSensitive(root, "text_config");
		if (!cJSON_IsObject(cfg)) {
			free(m);
			return hfail(c, "text_config", "missing or not an object: a gemma3 config "
				     "nests the language model there");
		}
		c->prefix = "text_config.";
	}
	id_from_origin(origin, m->id, sizeof m->id);
	snprintf(m->name, sizeof m->name, "%s", m->id);
	snprintf(m->family, sizeof m->family, "%s", t->family);
	snprintf(m->arch, sizeof m->arch, "%.63s", arch0 && *arch0 ? arch0 : t->arch);
	snprintf(m->source, sizeof m->source, "%s", origin);
	int hd_given = 0;
	int rc = read_config(c, t, root, cfg, m, &hd_given);
	c->prefix = "";
	if (rc) {
		free(m);
		return rc;
	}
	cJSON *cat = as_catalog(m, hd_given);
	char *text = cat ? cJSON_PrintUnformatted(cat) : NULL;
	cJSON_Delete(cat);
	free(m);
	if (!text) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return -1;
	}
	char inner[768];
	rc = mdb_model_parse(text, strlen(text), origin, out, inner, sizeof inner);
	free(text);
	if (rc) {
		snprintf(c->err, c->errlen, "%s: the imported model fails the catalog's checks "
			 "(%s); check the config.json fields behind it", c->file, inner);
		return rc < 0 ? rc : -2;
	}
	snprintf(out->file, sizeof out->file, "%s", origin);
	return 0;
}

int mdb_model_from_hf_config(const char *text, size_t len, const char *origin,
			     struct mdb_model *out, char *err, size_t errlen)
{
	char dummy[8];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = 0;
	if (!origin || !*origin)
		origin = "config.json";
	struct hctx c = {origin, "", err, errlen};
	if (!text) {
		snprintf(err, errlen, "%s: no text", origin);
		return -2;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root) {
		const char *ep = cJSON_GetErrorPtr();
		long at = ep && ep >= text && ep <= text + len ? (long)(ep - text) : 0L;
		snprintf(err, errlen, "%s: not valid JSON (near byte %ld); give a Hugging Face "
			 "config.json", origin, at);
		return -2;
	}
	int rc = import(&c, root, origin, out);
	cJSON_Delete(root);
	return rc;
}
