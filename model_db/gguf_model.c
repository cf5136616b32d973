/* model_db/gguf_model: the model a GGUF file holds (struct mdb_model),
 * derived from its header, so `llmcap inspect FILE.gguf` and the planner
 * can describe a model file the catalog does not know.
 *
 * The {arch}.* metadata keys (llama.cpp's names, gguf-py constants.py)
 * give the shape; the tensor list fills in what the keys leave out: tied
 * embeddings (no output.weight), q/k/v and output biases, q/k norms, the
 * vocabulary (token_embd.weight), which layers are MoE (ffn_gate_inp),
 * Mamba (ssm_in) or attention, and expert / shared-expert sizes. The
 * fields mean what model_db/hf_config.c makes of the same model's
 * config.json, so both importers agree. Everything read is untrusted:
 * every number is range-checked before use, and errors name the file,
 * the GGUF key or tensor, and the fix. The result is written as a catalog
 * object (llmcap.models/1) and run through mdb_model_parse, so it passes
 * the very checks a catalog entry does. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"

#define BIG 100000000
#define FIX "re-convert the model with a current llama.cpp (convert_hf_to_gguf.py), " \
	"or describe it from its config.json (llmcap inspect config.json)"

enum g_kind {
	G_LLAMA, G_QWEN2, G_QWEN2MOE, G_QWEN3, G_QWEN3MOE, G_GEMMA2, G_GEMMA3, G_PHI3,
	G_DEEPSEEK2, G_GPT_OSS, G_GRANITE_HYBRID,
};

static const struct g_arch {
	const char *name;          /* general.architecture */
	enum g_kind kind;
	const char *family;        /* as hf_config.c names it */
	const char *hf_arch;       /* the transformers class */
	double rope_theta;         /* when rope.freq_base is absent; NAN: no RoPE */
	int norms;                 /* hidden-sized norms per layer */
} g_archs[] = {
	{"llama", G_LLAMA, "llama", "LlamaForCausalLM", 10000, 2},
	{"qwen2", G_QWEN2, "qwen2", "Qwen2ForCausalLM", 10000, 2},
	{"qwen2moe", G_QWEN2MOE, "qwen2moe", "Qwen2MoeForCausalLM", 10000, 2},
	{"qwen3", G_QWEN3, "qwen3", "Qwen3ForCausalLM", 10000, 2},
	{"qwen3moe", G_QWEN3MOE, "qwen3moe", "Qwen3MoeForCausalLM", 10000, 2},
	{"gemma2", G_GEMMA2, "gemma2", "Gemma2ForCausalLM", 10000, 4},
	{"gemma3", G_GEMMA3, "gemma3", "Gemma3ForCausalLM", 1e6, 4},
	{"phi3", G_PHI3, "phi3", "Phi3ForCausalLM", 10000, 2},
	{"deepseek2", G_DEEPSEEK2, "deepseek", "DeepseekV3ForCausalLM", 10000, 2},
	{"gpt-oss", G_GPT_OSS, "gpt-oss", "GptOssForCausalLM", 150000, 2},
	{"granitehybrid", G_GRANITE_HYBRID, "granitehybrid", "GraniteMoeHybridForCausalLM", NAN, 2},
};
#define N_ARCHS (sizeof g_archs / sizeof g_archs[0])

const char *mdb_gguf_supported_archs(void)
{
	return "llama (also Mistral, Mixtral), qwen2, qwen2moe, qwen3, qwen3moe, gemma2, gemma3, "
	       "phi3 (also Phi-4), deepseek2 (DeepSeek-V2/V3, Kimi K2), gpt-oss, granitehybrid";
}

struct gx {
	const struct mdb_gguf *g;
	const char *file;
	char arch[64];             /* general.architecture */
	char *err;
	size_t errlen;
	const struct mdb_gguf_tensor **by_name; /* sorted by name, for tfind */
	int64_t n_t;
};

__attribute__((format(printf, 3, 4)))
static int gfail(struct gx *c, const char *what, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->file, what, msg);
	return -2;
}

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* "GGUF key 'llama.block_count'" for {arch}suffix into buf; returns the
 * key's index or -1. key gets the bare key. */
static int64_t kfind(struct gx *c, const char *suffix, char *key, size_t kn, char *what,
		     size_t wn)
{
	snprintf(key, kn, "%s%s", c->arch, suffix);
	snprintf(what, wn, "GGUF key '%s'", key);
	return mdb_gguf_find(c->g, key);
}

static int bad_type(struct gx *c, const char *what, int64_t i, const char *want)
{
	enum mdb_gguf_vtype t = mdb_gguf_kv_type(c->g, i), et;
	uint64_t n;
	if (t == MDB_GGUF_ARRAY && mdb_gguf_kv_arr(c->g, i, &et, &n) == 0)
		return gfail(c, what, "is an array of %llu %s, not %s; %s", (unsigned long long)n,
			     mdb_gguf_vtype_name(et), want, FIX);
	return gfail(c, what, "is %s, not %s; %s", mdb_gguf_vtype_name(t), want, FIX);
}

/* An integer key in [lo, hi]; absent: def, or an error when required. */
static int get_int(struct gx *c, const char *suffix, int required, int64_t lo, int64_t hi,
		   int64_t def, int64_t *dst)
{
	char key[160], what[200];
	int64_t i = kfind(c, suffix, key, sizeof key, what, sizeof what), v;
	if (i < 0) {
		if (required)
			return gfail(c, what, "missing (a %s model needs it); %s", c->arch, FIX);
		*dst = def;
		return 0;
	}
	if (mdb_gguf_kv_int(c->g, i, &v) != 0)
		return bad_type(c, what, i, "an integer");
	if (v < lo || v > hi)
		return gfail(c, what, "%lld is out of range [%lld, %lld]; the header is damaged or "
			     "not from a model llmcap knows; %s", (long long)v, (long long)lo,
			     (long long)hi, FIX);
	*dst = v;
	return 0;
}

/* A per-layer integer key: one number for every layer, or an array of
 * n_layer numbers (head_count_kv of hybrids, ...). Absent: def. */
static int get_layers(struct gx *c, const char *suffix, int required, int64_t lo, int64_t hi,
		      int64_t def, int n_layer, int64_t *v)
{
	char key[160], what[200];
	int64_t i = kfind(c, suffix, key, sizeof key, what, sizeof what), x;
	enum mdb_gguf_vtype et;
	uint64_t cnt;
	if (i < 0 || mdb_gguf_kv_arr(c->g, i, &et, &cnt) != 0) {
		TRY(get_int(c, suffix, required, lo, hi, def, &x));
		for (int l = 0; l < n_layer; l++)
			v[l] = x;
		return 0;
	}
	if (cnt != (uint64_t)n_layer)
		return gfail(c, what, "has %llu per-layer values, block_count is %d; %s",
			     (unsigned long long)cnt, n_layer, FIX);
	for (int l = 0; l < n_layer; l++) {
		if (mdb_gguf_arr_int(c->g, i, (uint64_t)l, &x) != 0)
			return gfail(c, what, "is an array of %s, not of integers; %s",
				     mdb_gguf_vtype_name(et), FIX);
		if (x < lo || x > hi)
			return gfail(c, what, "layer %d: %lld is out of range [%lld, %lld]; %s", l,
				     (long long)x, (long long)lo, (long long)hi, FIX);
		v[l] = x;
	}
	return 0;
}

static int get_float(struct gx *c, const char *suffix, double lo, double hi, double def,
		     double *dst)
{
	char key[160], what[200];
	int64_t i = kfind(c, suffix, key, sizeof key, what, sizeof what);
	double v;
	if (i < 0) {
		*dst = def;
		return 0;
	}
	if (mdb_gguf_kv_float(c->g, i, &v) != 0)
		return bad_type(c, what, i, "a number");
	if (!isfinite(v) || v < lo || v > hi)
		return gfail(c, what, "%g is out of range [%g, %g]; %s", v, lo, hi, FIX);
	*dst = v;
	return 0;
}

/* ---- tensors ------------------------------------------------------------ */
static int cmp_tensor(const void *a, const void *b)
{
	return strcmp((*(const struct mdb_gguf_tensor *const *)a)->name,
		      (*(const struct mdb_gguf_tensor *const *)b)->name);
}

__attribute__((format(printf, 2, 3)))
static const struct mdb_gguf_tensor *tfind(const struct gx *c, const char *fmt, ...)
{
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	int64_t lo = 0, hi = c->n_t;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->by_name[mid]->name, name);
		if (r == 0)
			return c->by_name[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* dims[d] of a tensor as an int in [1, BIG], or 0. */
static int tdim(const struct mdb_gguf_tensor *t, unsigned d)
{
	if (!t || d >= t->n_dims || t->dims[d] < 1 || t->dims[d] > BIG)
		return 0;
	return (int)t->dims[d];
}

/* ---- the model ---------------------------------------------------------- */
/* The one value every attention layer shares (layers where attn[l]);
 * -2 when they differ. */
static int common_value(struct gx *c, const char *suffix, const int64_t *v, const char *kinds,
			int n, int64_t *out)
{
	int first = -1;
	*out = v[0];                      /* no attention layer: the first layer's */
	for (int l = 0; l < n; l++) {
		if (kinds[l] == MDB_LAYER_MAMBA2)
			continue;
		if (first < 0) {
			first = l;
			*out = v[l];
		} else if (v[l] != *out) {
			char what[200];
			snprintf(what, sizeof what, "GGUF key '%s%s'", c->arch, suffix);
			return gfail(c, what, "differs between layers (layer %d: %lld, layer %d: %lld); "
				     "llmcap describes models whose attention layers share one shape",
				     first, (long long)*out, l, (long long)v[l]);
		}
	}
	return 0;
}

/* general.name as printable UTF-8 (other bytes '?') into buf. */
static void clean_name(const char *s, size_t len, char *buf, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t k = ch < 0x80 ? 1 : (ch & 0xe0) == 0xc0 && ch >= 0xc2 ? 2
			: (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 && ch <= 0xf4 ? 4 : 0;
		int ok = k > 0 && i + k <= len;
		for (size_t j = 1; ok && j < k; j++)
			ok = ((unsigned char)s[i + j] & 0xc0) == 0x80;
		if (!ok || (k == 1 && (ch < 0x20 || ch == 0x7f))) {
			buf[o++] = '?';
			i++;
			continue;
		}
		memcpy(buf + o, s + i, k);
		o += k;
		i += k;
	}
	buf[o] = 0;
}

/* The id from the file name: "dir/Model-7B.Q4_K_M.gguf" gives
 * "Model-7B.Q4_K_M"; only [A-Za-z0-9._-] kept. */
static void id_from_origin(const char *origin, char *id, size_t n)
{
	const char *base = strrchr(origin, '/');
	base = base ? base + 1 : origin;
	size_t l = strlen(base);
	if (l > 5 && !strcasecmp(base + l - 5, ".gguf"))
		l -= 5;
	size_t k = 0;
	for (size_t i = 0; i < l && k + 1 < n; i++)
		if (isalnum((unsigned char)base[i]) || strchr("._-", base[i]))
			id[k++] = base[i];
	id[k] = 0;
	if (!k)
		snprintf(id, n, "gguf-model");
}

static int str_contains_ci(const struct mdb_gguf *g, const char *key, const char *needle)
{
	size_t len, nl = strlen(needle);
	const char *s = mdb_gguf_kv_str(g, mdb_gguf_find(g, key), &len);
	for (size_t i = 0; s && i + nl <= len; i++)
		if (!strncasecmp(s + i, needle, nl))
			return 1;
	return 0;
}

/* split.count of a model cut into parts (gguf-split); 1 otherwise. */
static int64_t split_count(const struct mdb_gguf *g)
{
	int64_t v;
	if (mdb_gguf_kv_int(g, mdb_gguf_find(g, "split.count"), &v) != 0 || v < 1)
		return 1;
	return v;
}

/* The dense FFN size from layer l's tensors: ffn_up (phi3: gate and up
 * fused) or, for Granite's dense shared MLP, ffn_up_shexp. 0: none. */
static int dense_ffn_from_tensors(const struct gx *c, int l, int fused)
{
	int up = tdim(tfind(c, "blk.%d.ffn_up.weight", l), 1);
	if (up)
		return fused ? up / 2 : up;
	return tdim(tfind(c, "blk.%d.ffn_up_shexp.weight", l), 1);
}

static int derive(struct gx *c, const struct g_arch *t, struct mdb_model *m)
{
	const struct mdb_gguf *g = c->g;
	enum g_kind k = t->kind;
	int hybrid = k == G_GRANITE_HYBRID, mla = k == G_DEEPSEEK2;
	int64_t v;
	char key[160], what[200];
	/* per-layer scratch */
	int64_t heads[MDB_MAX_LAYERS], kvh[MDB_MAX_LAYERS], ffns[MDB_MAX_LAYERS];

	TRY(get_int(c, ".block_count", 1, 1, MDB_MAX_LAYERS, 0, &v));
	int n = m->n_layer = (int)v;
	TRY(get_int(c, ".embedding_length", 1, 1, 1 << 20, 0, &v));
	m->hidden = (int)v;

	/* layer kinds first: hybrids mark recurrent layers with 0 KV heads */
	TRY(get_layers(c, ".attention.head_count", 1, 0, 4096, 0, n, heads));
	TRY(get_layers(c, ".attention.head_count_kv", 0, 0, 4096, -1, n, kvh));
	memset(m->layer_kinds, MDB_LAYER_GLOBAL, (size_t)n);
	m->layer_kinds[n] = 0;
	if (hybrid)
		for (int l = 0; l < n; l++) {
			int ssm = tfind(c, "blk.%d.ssm_in.weight", l) != NULL;
			int att = tfind(c, "blk.%d.attn_q.weight", l) != NULL;
			if (ssm || (!att && kvh[l] == 0))
				m->layer_kinds[l] = MDB_LAYER_MAMBA2;
		}
	int la = 0;                       /* the first attention layer */
	while (la < n - 1 && m->layer_kinds[la] == MDB_LAYER_MAMBA2)
		la++;

	/* heads */
	int64_t nh = 0, nkv = 0;
	TRY(common_value(c, ".attention.head_count", heads, m->layer_kinds, n, &nh));
	for (int l = 0; l < n; l++)
		if (kvh[l] < 0)
			kvh[l] = heads[l];
	TRY(common_value(c, ".attention.head_count_kv", kvh, m->layer_kinds, n, &nkv));
	kfind(c, ".attention.head_count", key, sizeof key, what, sizeof what);
	if (nh <= 0)
		return gfail(c, what, "is 0: an attention layer needs at least one head; the header "
			     "is damaged; %s", FIX);
	kfind(c, ".attention.head_count_kv", key, sizeof key, what, sizeof what);
	if (mla || mdb_model_count_layers(m, MDB_LAYER_MAMBA2) == n) {
		nkv = nh;                 /* MLA: written as 1 (MQA form) or as head_count;
					   * no attention layer: unused */
	} else {
		if (nkv <= 0)
			return gfail(c, what, "is 0 for an attention layer; the header is damaged; %s",
				     FIX);
		if (nkv > nh || nh % nkv)
			return gfail(c, what, "%lld does not divide head_count (%lld); the header is "
				     "inconsistent; %s", (long long)nkv, (long long)nh, FIX);
	}
	m->n_head = (int)nh;
	m->n_head_kv = (int)nkv;

	/* head size */
	int64_t kl, vl;
	TRY(get_int(c, ".attention.key_length", 0, 1, 65536, 0, &kl));
	TRY(get_int(c, ".attention.value_length", 0, 1, 65536, 0, &vl));
	if (!mla) {
		if (kl && vl && kl != vl) {
			kfind(c, ".attention.value_length", key, sizeof key, what, sizeof what);
			return gfail(c, what, "%lld differs from key_length (%lld): llmcap models one "
				     "head size for keys and values", (long long)vl, (long long)kl);
		}
		if (!kl)
			kl = vl;
		if (!kl) {
			if (m->hidden % m->n_head) {
				kfind(c, ".attention.key_length", key, sizeof key, what, sizeof what);
				return gfail(c, what, "missing, and embedding_length (%d) is not a "
					     "multiple of head_count (%d); %s", m->hidden, m->n_head, FIX);
			}
			kl = m->hidden / m->n_head;
		}
		m->head_dim = (int)kl;
	}

	/* vocabulary and embeddings */
	const struct mdb_gguf_tensor *te = tfind(c, "token_embd.weight");
	if (te) {
		if (te->n_dims != 2 || te->dims[0] != (uint64_t)m->hidden || !tdim(te, 1))
			return gfail(c, "tensor 'token_embd.weight'", "shape %llu x %llu (%u dims) is "
				     "not embedding_length (%d) x vocabulary; the file is damaged",
				     (unsigned long long)te->dims[0], (unsigned long long)te->dims[1],
				     te->n_dims, m->hidden);
		m->vocab = tdim(te, 1);
	} else {
		enum mdb_gguf_vtype et;
		uint64_t cnt;
		if (mdb_gguf_kv_arr(g, mdb_gguf_find(g, "tokenizer.ggml.tokens"), &et, &cnt) == 0
		    && cnt >= 1 && cnt <= BIG) {
			m->vocab = (int)cnt;
		} else {
			TRY(get_int(c, ".vocab_size", 0, 1, BIG, 0, &v));
			if (!v)
				return gfail(c, "tensor 'token_embd.weight'", "missing, and neither "
					     "tokenizer.ggml.tokens nor %s.vocab_size gives the vocabulary; "
					     "%s", c->arch, FIX);
			m->vocab = (int)v;
		}
	}
	/* tied: no output head. A part of a split model may hold neither the
	 * head nor the final norm written beside it: then the family's usual */
	m->tied_embd = tfind(c, "output.weight") == NULL;
	if (m->tied_embd && split_count(g) > 1 && !tfind(c, "output_norm.weight"))
		m->tied_embd = k == G_GEMMA2 || k == G_GEMMA3 || k == G_GRANITE_HYBRID;
	TRY(get_int(c, ".context_length", 1, 1, 1ll << 40, 0, &v));
	m->context = v;
	TRY(get_float(c, ".rope.freq_base", 1, 1e12, t->rope_theta, &m->rope_theta));

	/* biases and norms, from the first attention layer's tensors */
	m->qkv_bias = tfind(c, "blk.%d.attn_q.bias", la) || tfind(c, "blk.%d.attn_qkv.bias", la);
	m->o_bias = tfind(c, "blk.%d.attn_output.bias", la) != NULL;
	m->qk_norm = tfind(c, "blk.%d.attn_q_norm.weight", la) != NULL;
	m->norms_per_layer = t->norms;

	/* sliding window */
	int64_t window;
	TRY(get_int(c, ".attention.sliding_window", 0, 0, 1 << 30,
		    k == G_GEMMA2 || k == G_GEMMA3 ? 4096 : 0, &window));
	if (k == G_GEMMA2 || k == G_GPT_OSS) {
		for (int l = 0; l < n; l++)   /* even layers slide, odd ones are global */
			m->layer_kinds[l] = l % 2 ? MDB_LAYER_GLOBAL : MDB_LAYER_SLIDING;
	} else if (k == G_GEMMA3) {
		int64_t pi = kfind(c, ".attention.sliding_window_pattern", key, sizeof key, what,
				   sizeof what), pat = 6, x;
		enum mdb_gguf_vtype et;
		uint64_t cnt;
		if (pi >= 0 && mdb_gguf_kv_arr(g, pi, &et, &cnt) == 0) {
			if (cnt != (uint64_t)n)
				return gfail(c, what, "has %llu entries, block_count is %d; %s",
					     (unsigned long long)cnt, n, FIX);
			for (int l = 0; l < n; l++) {
				if (mdb_gguf_arr_int(g, pi, (uint64_t)l, &x) != 0)
					return gfail(c, what, "must be booleans (true: the layer slides); "
						     "%s", FIX);
				m->layer_kinds[l] = x ? MDB_LAYER_SLIDING : MDB_LAYER_GLOBAL;
			}
		} else {
			TRY(get_int(c, ".attention.sliding_window_pattern", 0, 1, MDB_MAX_LAYERS, 6,
				    &pat));
			for (int l = 0; l < n; l++)   /* every pat-th layer is global */
				m->layer_kinds[l] = (l + 1) % pat ? MDB_LAYER_SLIDING : MDB_LAYER_GLOBAL;
		}
	} else if ((k == G_LLAMA || k == G_PHI3) && window > 0) {
		memset(m->layer_kinds, MDB_LAYER_SLIDING, (size_t)n);  /* Mistral, Phi-3 */
	}
	int n_s = mdb_model_count_layers(m, MDB_LAYER_SLIDING);
	if (n_s && window >= m->context) {  /* a window the context long is global attention */
		for (int l = 0; l < n; l++)
			if (m->layer_kinds[l] == MDB_LAYER_SLIDING)
				m->layer_kinds[l] = MDB_LAYER_GLOBAL;
		n_s = 0;
	}
	if (n_s && window <= 0) {
		kfind(c, ".attention.sliding_window", key, sizeof key, what, sizeof what);
		return gfail(c, what, "missing or 0 but %d layers of a %s model slide; %s", n_s,
			     c->arch, FIX);
	}
	m->sliding_window = n_s ? (int)window : 0;

	/* feed-forward and mixture of experts */
	TRY(get_layers(c, ".feed_forward_length", 0, 0, BIG, 0, n, ffns));
	int64_t ne, used = 0;
	TRY(get_int(c, ".expert_count", 0, 0, 4096, 0, &ne));
	struct mdb_moe *e = &m->moe;
	e->moe_every = 1;
	char is_moe[MDB_MAX_LAYERS] = {0};
	int first_moe = -1;
	if (ne >= 2) {
		TRY(get_int(c, ".expert_used_count", 1, 1, 4096, 0, &used));
		if (used > ne) {
			kfind(c, ".expert_used_count", key, sizeof key, what, sizeof what);
			return gfail(c, what, "%lld is more than expert_count (%lld); %s",
				     (long long)used, (long long)ne, FIX);
		}
		e->n_experts = (int)ne;
		e->experts_per_token = (int)used;
		/* which layers are MoE: a layer's own tensors say (a router, or a
		 * dense FFN); a layer with neither in this file (a header without
		 * tensors, or one part of a split model) follows the keys */
		TRY(get_int(c, ".leading_dense_block_count", 0, 0, MDB_MAX_LAYERS, 0, &v));
		int lead = (int)v;
		TRY(get_int(c, ".interleave_moe_layer_step", 0, 1, MDB_MAX_LAYERS, 1, &v));
		int every = (int)v;
		for (int l = 0; l < n; l++) {
			if (tfind(c, "blk.%d.ffn_gate_inp.weight", l))
				is_moe[l] = 1;
			else if (tfind(c, "blk.%d.ffn_up.weight", l) || tfind(c, "blk.%d.ffn_down.weight", l))
				is_moe[l] = 0;
			else
				is_moe[l] = l >= lead && (l + 1) % every == 0;
		}
		while (e->first_k_dense < n && !is_moe[e->first_k_dense])
			e->first_k_dense++;
		for (int l = e->first_k_dense; l < n; l++)
			e->dense_layers[l] = !is_moe[l];
		if (e->first_k_dense >= n) {
			kfind(c, ".leading_dense_block_count", key, sizeof key, what, sizeof what);
			return gfail(c, what, "%d (with interleave_moe_layer_step %d and no router "
				     "tensor) leaves no MoE layer of %d although expert_count is %lld; %s",
				     lead, every, n, (long long)ne, FIX);
		}
		first_moe = e->first_k_dense;
		/* one expert's FFN: the key, else the expert tensors, else (Mixtral)
		 * feed_forward_length */
		TRY(get_int(c, ".expert_feed_forward_length", 0, 1, BIG, 0, &v));
		if (!v)
			v = tdim(tfind(c, "blk.%d.ffn_up_exps.weight", first_moe), 1);
		if (!v && k == G_LLAMA)
			v = ffns[first_moe];
		if (!v) {
			kfind(c, ".expert_feed_forward_length", key, sizeof key, what, sizeof what);
			return gfail(c, what, "missing, and no blk.%d.ffn_up_exps.weight tensor gives "
				     "the experts' FFN size; %s", first_moe, FIX);
		}
		e->expert_ffn = (int)v;
		e->expert_bias = tfind(c, "blk.%d.ffn_up_exps.bias", first_moe) != NULL;
		/* shared experts: llama.cpp stores them as one wide FFN */
		int64_t nsh, shf;
		TRY(get_int(c, ".expert_shared_count", 0, 0, 64, 0, &nsh));
		TRY(get_int(c, ".expert_shared_feed_forward_length", 0, 0, BIG, 0, &shf));
		int wide = tdim(tfind(c, "blk.%d.ffn_up_shexp.weight", first_moe), 1);
		if (wide) {
			if (nsh < 1 || wide % nsh)
				nsh = 1;
			e->n_shared_experts = (int)nsh;
			e->shared_ffn = wide / (int)nsh;
		} else if (shf > 0) {
			e->n_shared_experts = nsh > 0 ? (int)nsh : 1;
			e->shared_ffn = (int)shf;
		} else if (nsh > 0) {
			e->n_shared_experts = (int)nsh;
			e->shared_ffn = e->expert_ffn;
		}
	}
	/* the dense FFN: feed_forward_length (one size for all layers), else the
	 * tensors of the first dense layer */
	int64_t f = 0;
	int first_dense = -1;
	for (int l = 0; l < n; l++) {
		if (is_moe[l])
			continue;
		if (first_dense < 0)
			first_dense = l;
		if (!ffns[l])
			continue;
		if (f && ffns[l] != f) {
			kfind(c, ".feed_forward_length", key, sizeof key, what, sizeof what);
			return gfail(c, what, "differs between layers (%lld and %lld): llmcap "
				     "describes one dense FFN size", (long long)f, (long long)ffns[l]);
		}
		f = ffns[l];
	}
	if (!f && first_dense >= 0)
		f = dense_ffn_from_tensors(c, first_dense, k == G_PHI3);
	if (!f && first_dense >= 0 && hybrid && ne < 2) {
		TRY(get_int(c, ".expert_shared_feed_forward_length", 0, 0, BIG, 0, &v));
		f = v;                        /* Granite's dense "shared MLP" */
	}
	if (first_dense >= 0 && !f) {
		kfind(c, ".feed_forward_length", key, sizeof key, what, sizeof what);
		return gfail(c, what, "missing, and layer %d has no ffn_up tensor to give the "
			     "FFN size; %s", first_dense, FIX);
	}
	if (first_dense < 0)              /* Mixtral, gpt-oss: the size is the experts' */
		f = k == G_LLAMA || k == G_GPT_OSS ? 0 : ffns[0];
	m->ffn = (int)f;

	/* multi-head latent attention */
	if (mla) {
		struct mdb_mla *a = &m->mla;
		int64_t q, kv, rope, klm, vlm;
		TRY(get_int(c, ".attention.kv_lora_rank", 1, 1, BIG, 0, &kv));
		TRY(get_int(c, ".attention.q_lora_rank", 0, 0, BIG, 0, &q));
		if (!q)
			q = tdim(tfind(c, "blk.%d.attn_q_a.weight", la), 1);
		TRY(get_int(c, ".rope.dimension_count", 1, 1, 65536, 0, &rope));
		/* current converters write the MQA form in key_length/value_length
		 * and the per-head sizes in *_mla; older ones only the latter's
		 * values, in key_length/value_length */
		TRY(get_int(c, ".attention.key_length_mla", 0, 1, 65536, 0, &klm));
		TRY(get_int(c, ".attention.value_length_mla", 0, 1, 65536, 0, &vlm));
		const char *ksuf = klm ? ".attention.key_length_mla" : ".attention.key_length";
		if (!klm)
			TRY(get_int(c, ".attention.key_length", 1, 1, 65536, 0, &klm));
		if (!vlm)
			TRY(get_int(c, ".attention.value_length", 1, 1, 65536, 0, &vlm));
		if (klm <= rope) {
			kfind(c, ksuf, key, sizeof key, what, sizeof what);
			return gfail(c, what, "%lld leaves no room beside rope.dimension_count (%lld) "
				     "for the non-rotary part of the query/key heads; %s",
				     (long long)klm, (long long)rope, FIX);
		}
		a->q_lora_rank = (int)q;
		a->kv_lora_rank = (int)kv;
		a->qk_rope_head_dim = (int)rope;
		a->qk_nope_head_dim = (int)(klm - rope);
		a->v_head_dim = (int)vlm;
		m->attn = MDB_ATTN_MLA;
	}

	/* Mamba-2 layers */
	if (mdb_model_count_layers(m, MDB_LAYER_MAMBA2)) {
		struct mdb_linear *l = &m->lin;
		int64_t conv, inner, state, heads_ssm, groups;
		TRY(get_int(c, ".ssm.conv_kernel", 1, 1, 64, 0, &conv));
		TRY(get_int(c, ".ssm.inner_size", 1, 1, BIG, 0, &inner));
		TRY(get_int(c, ".ssm.state_size", 1, 1, 65536, 0, &state));
		TRY(get_int(c, ".ssm.time_step_rank", 1, 1, 65536, 0, &heads_ssm));
		TRY(get_int(c, ".ssm.group_count", 0, 1, 65536, 1, &groups));
		if (inner % heads_ssm) {
			kfind(c, ".ssm.inner_size", key, sizeof key, what, sizeof what);
			return gfail(c, what, "%lld is not a multiple of ssm.time_step_rank (%lld "
				     "heads); %s", (long long)inner, (long long)heads_ssm, FIX);
		}
		if (heads_ssm % groups) {
			kfind(c, ".ssm.group_count", key, sizeof key, what, sizeof what);
			return gfail(c, what, "%lld does not divide ssm.time_step_rank (%lld); %s",
				     (long long)groups, (long long)heads_ssm, FIX);
		}
		l->kind = MDB_LINEAR_MAMBA2;
		l->v_heads = (int)heads_ssm;
		l->v_head_dim = (int)(inner / heads_ssm);
		l->state_size = (int)state;
		l->groups = (int)groups;
		l->conv_kernel = (int)conv;
		m->attn = MDB_ATTN_HYBRID;
	} else if (!mla) {
		m->attn = n_s ? MDB_ATTN_SLIDING
			: m->n_head_kv == m->n_head ? MDB_ATTN_MHA : MDB_ATTN_GQA;
	}

	/* names */
	snprintf(m->family, sizeof m->family, "%s", t->family);
	snprintf(m->arch, sizeof m->arch, "%s", t->hf_arch);
	if (k == G_LLAMA && mdb_model_is_moe(m)) {
		snprintf(m->family, sizeof m->family, "mixtral");
		snprintf(m->arch, sizeof m->arch, "MixtralForCausalLM");
	} else if (k == G_LLAMA && (str_contains_ci(g, "general.name", "mistral")
				    || str_contains_ci(g, "general.basename", "mistral"))) {
		snprintf(m->family, sizeof m->family, "mistral");
		snprintf(m->arch, sizeof m->arch, "MistralForCausalLM");
	} else if (k == G_DEEPSEEK2) {
		TRY(get_int(c, ".expert_gating_func", 0, 0, 16, 0, &v));
		if (v != 2 && !tfind(c, "blk.%d.exp_probs_b.bias", first_moe < 0 ? 0 : first_moe))
			snprintf(m->arch, sizeof m->arch, "DeepseekV2ForCausalLM"); /* softmax router */
	}
	return 0;
}

/* m as a catalog (llmcap.models/1) object for mdb_model_parse. */
static cJSON *as_catalog(const struct mdb_model *m)
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
	if (m->attn != MDB_ATTN_MLA)
		cJSON_AddNumberToObject(o, "head_dim", m->head_dim);
	else if (m->hidden % m->n_head)  /* MLA: hidden / heads, as the catalog derives it */
		cJSON_AddNumberToObject(o, "head_dim", m->mla.qk_nope_head_dim
					+ m->mla.qk_rope_head_dim);
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
	if (m->lin.kind != MDB_LINEAR_NONE) {
		const struct mdb_linear *l = &m->lin;
		cJSON *li = cJSON_AddObjectToObject(o, "linear");
		if (!li)
			goto oom;
		cJSON_AddStringToObject(li, "kind", mdb_linear_kind_name(l->kind));
		cJSON_AddNumberToObject(li, "v_heads", l->v_heads);
		cJSON_AddNumberToObject(li, "v_head_dim", l->v_head_dim);
		cJSON_AddNumberToObject(li, "state_size", l->state_size);
		cJSON_AddNumberToObject(li, "groups", l->groups);
		cJSON_AddNumberToObject(li, "conv_kernel", l->conv_kernel);
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

static int import(struct gx *c, const char *origin, struct mdb_model *out)
{
	const struct mdb_gguf *g = c->g;
	int64_t part;
	if (mdb_gguf_kv_int(g, mdb_gguf_find(g, "split.no"), &part) == 0 && part > 0
	    && mdb_gguf_find(g, "general.architecture") < 0)
		return gfail(c, "GGUF key 'split.no'", "this is part %lld of %lld of a split model, "
			     "and only the first part describes the model; inspect the first part "
			     "(the file named ...-00001-of-%05lld.gguf)", (long long)part + 1,
			     (long long)split_count(g), (long long)split_count(g));
	int64_t ai = mdb_gguf_find(g, "general.architecture");
	size_t len = 0;
	const char *a = ai >= 0 ? mdb_gguf_kv_str(g, ai, &len) : NULL;
	if (ai < 0)
		return gfail(c, "GGUF key 'general.architecture'", "missing: the file does not say "
			     "which model it holds; supported: %s; %s", mdb_gguf_supported_archs(), FIX);
	if (!a)
		return bad_type(c, "GGUF key 'general.architecture'", ai, "a string");
	clean_name(a, len < 60 ? len : 60, c->arch, sizeof c->arch);
	const struct g_arch *t = NULL;
	for (size_t i = 0; i < N_ARCHS; i++)
		if (len == strlen(g_archs[i].name) && !memcmp(a, g_archs[i].name, len))
			t = &g_archs[i];
	if (!t)
		return gfail(c, "GGUF key 'general.architecture'", "architecture '%s'%s is not "
			     "supported; supported: %s; for another model, inspect its config.json "
			     "or add it to the catalog (llmcap models)", c->arch, len > 60 ? "..." : "",
			     mdb_gguf_supported_archs());

	/* tensors sorted by name for tfind */
	c->n_t = mdb_gguf_tensor_count(g);
	c->by_name = malloc((size_t)(c->n_t > 0 ? c->n_t : 1) * sizeof *c->by_name);
	if (!c->by_name) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return -1;
	}
	for (int64_t i = 0; i < c->n_t; i++)
		c->by_name[i] = mdb_gguf_tensor(g, i);
	qsort(c->by_name, (size_t)c->n_t, sizeof *c->by_name, cmp_tensor);

	struct mdb_model *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return -1;
	}
	id_from_origin(origin, m->id, sizeof m->id);
	size_t nl = 0;
	const char *nm = mdb_gguf_kv_str(g, mdb_gguf_find(g, "general.name"), &nl);
	if (nm && nl)
		clean_name(nm, nl, m->name, sizeof m->name);
	if (!m->name[0])
		snprintf(m->name, sizeof m->name, "%s", m->id);
	snprintf(m->source, sizeof m->source, "GGUF header");
	int rc = derive(c, t, m);
	if (rc) {
		free(m);
		return rc;
	}
	cJSON *cat = as_catalog(m);
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
		snprintf(c->err, c->errlen, "%s: the model derived from the GGUF header fails the "
			 "catalog's checks (%s); the header is inconsistent; %s", c->file, inner, FIX);
		return rc < 0 && rc != -2 ? rc : -2;
	}
	snprintf(out->file, sizeof out->file, "%s", origin);
	return 0;
}

int mdb_model_from_gguf(const struct mdb_gguf *g, const char *origin, struct mdb_model *out,
			char *err, size_t errlen)
{
	char dummy[8];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = 0;
	if (!origin || !*origin)
		origin = "model.gguf";
	struct gx c = {g, origin, "", err, errlen, NULL, 0};
	if (!g) {
		snprintf(err, errlen, "%s: no GGUF header was read; open the file first", origin);
		return -2;
	}
	int rc = import(&c, origin, out);
	free(c.by_name);
	return rc;
}
