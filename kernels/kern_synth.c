/* kernels: a synthetic llama-family GGUF file — random weights of a
 * catalog model's shape in one tensor type, F32 norms (and biases, q/k
 * norms, MoE routers), and the minimal tokenizer metadata llama.cpp needs
 * to load it — so that models which are not on disk can be run by
 * llmcap's forward pass and by llama.cpp on exactly the same bytes.
 * Architectures as llama.cpp names them: llama (dense, or Mixtral-style
 * experts), qwen2, qwen3, qwen3moe. Layout: ggml's docs/gguf.md, version 3. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "model_db/model.h"

#define ALIGN 32

struct gw {
	FILE *f;
	int err;
};

static void w_bytes(struct gw *w, const void *p, size_t n)
{
	if (!w->err && n && fwrite(p, 1, n, w->f) != n)
		w->err = errno ? errno : EIO;
}
static void w_u32(struct gw *w, uint32_t v) { w_bytes(w, &v, 4); }
static void w_u64(struct gw *w, uint64_t v) { w_bytes(w, &v, 8); }
static void w_str(struct gw *w, const char *s)
{
	w_u64(w, strlen(s));
	w_bytes(w, s, strlen(s));
}
static void kv_str(struct gw *w, const char *k, const char *v)
{
	w_str(w, k);
	w_u32(w, 8);
	w_str(w, v);
}
static void kv_u32(struct gw *w, const char *k, uint32_t v)
{
	w_str(w, k);
	w_u32(w, 4);
	w_u32(w, v);
}
static void kv_f32(struct gw *w, const char *k, float v)
{
	w_str(w, k);
	w_u32(w, 6);
	w_bytes(w, &v, 4);
}

enum tkind { T_MAT, T_NORM, T_BIAS, T_ROUTER };

struct tinfo {
	char name[64];
	int type;
	enum tkind kind;
	int64_t ne0, ne1, ne2;       /* ne1 = ne2 = 1 for vectors */
	uint64_t offset, bytes;
};

/* llama_ftype of a file whose 2-D tensors are all of type t. */
static uint32_t ftype_of(int t)
{
	switch (t) {
	case QT_F32: return 0;
	case QT_F16: return 1;
	case QT_Q4_0: return 2;
	case QT_Q4_1: return 3;
	case QT_Q8_0: return 7;
	case QT_Q5_0: return 8;
	case QT_Q4_K: return 15;
	case QT_Q5_K: return 17;
	case QT_Q6_K: return 18;
	case QT_BF16: return 32;
	default: return 0;
	}
}

/* The GGUF architecture llama.cpp runs m's shape as, or NULL with err set:
 * "llama" (dense, or Mixtral-style experts), "qwen2" (q/k/v biases),
 * "qwen3" (q/k norms), "qwen3moe" (q/k norms and experts). */
static const char *synth_arch(const struct mdb_model *m, char *err, size_t errlen)
{
	if (m->attn != MDB_ATTN_GQA && m->attn != MDB_ATTN_MHA) {
		snprintf(err, errlen, "%s is not a plain llama-family model (its attention is %s); "
			 "synthetic files are written for grouped-query models (llama, mistral, "
			 "mixtral, qwen2, qwen3, qwen3moe shapes)", m->id, mdb_attn_kind_name(m->attn));
		return NULL;
	}
	const int moe = mdb_model_is_moe(m);
	if (m->attn_gate || m->o_bias || (m->qkv_bias && m->qk_norm) || (m->qkv_bias && moe)) {
		snprintf(err, errlen, "%s has parts no llama, qwen2, qwen3 or qwen3moe layer has (an "
			 "attention gate, an output bias, or q/k/v biases with %s); synthetic files are "
			 "written for those shapes", m->id, moe ? "experts" : "q/k norms");
		return NULL;
	}
	if (moe) {
		const struct mdb_moe *e = &m->moe;
		int all = e->first_k_dense == 0 && e->moe_every <= 1;
		for (int l = 0; l < m->n_layer && l < MDB_MAX_LAYERS && all; l++)
			all = !e->dense_layers[l];
		if (e->n_shared_experts > 0 || e->expert_bias || !all || e->expert_ffn <= 0 ||
		    e->experts_per_token < 1 || e->experts_per_token > e->n_experts || e->n_experts > 512) {
			snprintf(err, errlen, "%s's experts are not Mixtral's or Qwen3-MoE's kind (shared "
				 "experts, expert biases, dense layers between MoE layers, or more than 512 "
				 "experts); synthetic MoE files have routed experts in every layer", m->id);
			return NULL;
		}
	}
	if (m->qk_norm)
		return moe ? "qwen3moe" : "qwen3";
	return m->qkv_bias ? "qwen2" : "llama";
}

int kern_write_synth_gguf(const char *path, const struct mdb_model *m, int type, int n_layer,
			  uint64_t seed, char *err, size_t errlen)
{
	if (!kern_type_supported(type)) {
		snprintf(err, errlen, "tensor type %d has no kernels; use Q4_0, Q8_0, Q4_K, Q6_K or F16",
			 type);
		return -2;
	}
	const char *arch = synth_arch(m, err, errlen);
	if (!arch)
		return -2;
	const int moe = mdb_model_is_moe(m), qwen3moe = !strcmp(arch, "qwen3moe");
	if (n_layer <= 0 || n_layer > m->n_layer)
		n_layer = m->n_layer;
	int blck, bpb;
	const int64_t FE = moe ? m->moe.expert_ffn : 0, NX = moe ? m->moe.n_experts : 0;
	if (kern_type_block(type, &blck, &bpb) != 0 || m->hidden % blck || (moe ? FE : m->ffn) % blck ||
	    (moe ? FE : m->ffn) <= 0 || (m->n_head * m->head_dim) % blck) {
		snprintf(err, errlen, "%s's widths are not multiples of the type's block", m->id);
		return -2;
	}
	int64_t H = m->hidden, F = m->ffn, QD = (int64_t)m->n_head * m->head_dim,
		KD = (int64_t)m->n_head_kv * m->head_dim, V = m->vocab, HD = m->head_dim;
	/* the FFN size llama.cpp reads: Mixtral's experts are
	 * feed_forward_length wide; qwen3moe keeps the config's dense size */
	const int64_t F_key = !moe ? F : qwen3moe && F > 0 ? F : FE;
	const int per_layer = 6 + (moe ? 4 : 3) + (m->qkv_bias ? 3 : 0) + (m->qk_norm ? 2 : 0);
	int nt = 2 + (m->tied_embd ? 0 : 1) + per_layer * n_layer;
	struct tinfo *ti = calloc((size_t)nt, sizeof *ti);
	if (!ti) {
		snprintf(err, errlen, "out of memory");
		return -3;
	}
	int k = 0;
#define T(nm, ty, kd, a, b, c) (snprintf(ti[k].name, sizeof ti[k].name, "%s", nm), ti[k].type = (ty), \
				ti[k].kind = (kd), ti[k].ne0 = (a), ti[k].ne1 = (b), ti[k].ne2 = (c), k++)
	T("token_embd.weight", type, T_MAT, H, V, 1);
	T("output_norm.weight", QT_F32, T_NORM, H, 1, 1);
	if (!m->tied_embd)
		T("output.weight", type, T_MAT, H, V, 1);
	for (int l = 0; l < n_layer; l++) {
		char n[64];
#define L(s, ty, kd, a, b, c) (snprintf(n, sizeof n, "blk.%d." s, l), T(n, ty, kd, a, b, c))
		L("attn_norm.weight", QT_F32, T_NORM, H, 1, 1);
		L("attn_q.weight", type, T_MAT, H, QD, 1);
		L("attn_k.weight", type, T_MAT, H, KD, 1);
		L("attn_v.weight", type, T_MAT, H, KD, 1);
		if (m->qkv_bias) {
			L("attn_q.bias", QT_F32, T_BIAS, QD, 1, 1);
			L("attn_k.bias", QT_F32, T_BIAS, KD, 1, 1);
			L("attn_v.bias", QT_F32, T_BIAS, KD, 1, 1);
		}
		if (m->qk_norm) {
			L("attn_q_norm.weight", QT_F32, T_NORM, HD, 1, 1);
			L("attn_k_norm.weight", QT_F32, T_NORM, HD, 1, 1);
		}
		L("attn_output.weight", type, T_MAT, QD, H, 1);
		L("ffn_norm.weight", QT_F32, T_NORM, H, 1, 1);
		if (moe) {
			L("ffn_gate_inp.weight", QT_F32, T_ROUTER, H, NX, 1);
			L("ffn_gate_exps.weight", type, T_MAT, H, FE, NX);
			L("ffn_up_exps.weight", type, T_MAT, H, FE, NX);
			L("ffn_down_exps.weight", type, T_MAT, FE, H, NX);
		} else {
			L("ffn_gate.weight", type, T_MAT, H, F, 1);
			L("ffn_up.weight", type, T_MAT, H, F, 1);
			L("ffn_down.weight", type, T_MAT, F, H, 1);
		}
#undef L
	}
#undef T
	uint64_t off = 0;
	for (int i = 0; i < nt; i++) {
		ti[i].offset = off;
		ti[i].bytes = kern_row_bytes(ti[i].type, ti[i].ne0) * (uint64_t)ti[i].ne1 * (uint64_t)ti[i].ne2;
		off += (ti[i].bytes + ALIGN - 1) / ALIGN * ALIGN;
	}

	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
	struct gw w = {fopen(tmp, "wb"), 0};
	if (!w.f) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		free(ti);
		return -1;
	}
	/* header and metadata */
	w_bytes(&w, "GGUF", 4);
	w_u32(&w, 3);
	w_u64(&w, (uint64_t)nt);
	w_u64(&w, 21 + (moe ? 2 : 0) + (qwen3moe ? 1 : 0)); /* metadata pairs written below */
	char name[160], key[96];
	snprintf(name, sizeof name, "llmcap synthetic %s (%d of %d layers, random weights)", m->id,
		 n_layer, m->n_layer);
#define K(s) (snprintf(key, sizeof key, "%s.%s", arch, s), key)
	kv_str(&w, "general.architecture", arch);
	kv_str(&w, "general.name", name);
	kv_u32(&w, "general.file_type", ftype_of(type));
	kv_u32(&w, "general.alignment", ALIGN);
	kv_u32(&w, K("context_length"), (uint32_t)(m->context > 0 && m->context < (1 << 30) ? m->context : 4096));
	kv_u32(&w, K("embedding_length"), (uint32_t)H);
	kv_u32(&w, K("block_count"), (uint32_t)n_layer);
	kv_u32(&w, K("feed_forward_length"), (uint32_t)F_key);
	kv_u32(&w, K("attention.head_count"), (uint32_t)m->n_head);
	kv_u32(&w, K("attention.head_count_kv"), (uint32_t)m->n_head_kv);
	kv_u32(&w, K("attention.key_length"), (uint32_t)m->head_dim);
	kv_u32(&w, K("attention.value_length"), (uint32_t)m->head_dim);
	kv_u32(&w, K("rope.dimension_count"), (uint32_t)m->head_dim);
	kv_f32(&w, K("rope.freq_base"), (float)(isfinite(m->rope_theta) ? m->rope_theta : 10000.0));
	kv_f32(&w, K("attention.layer_norm_rms_epsilon"), 1e-5f);
	kv_u32(&w, K("vocab_size"), (uint32_t)V);
	if (moe) {
		kv_u32(&w, K("expert_count"), (uint32_t)NX);
		kv_u32(&w, K("expert_used_count"), (uint32_t)m->moe.experts_per_token);
	}
	if (qwen3moe)
		kv_u32(&w, K("expert_feed_forward_length"), (uint32_t)FE);
#undef K
	/* tokenizer: SentencePiece-style ids (unk 0, bos 1, eos 2), the 256
	 * byte tokens llama.cpp looks up, then plain tokens */
	kv_str(&w, "tokenizer.ggml.model", "llama");
	w_str(&w, "tokenizer.ggml.tokens");
	w_u32(&w, 9);
	w_u32(&w, 8);
	w_u64(&w, (uint64_t)V);
	for (int64_t i = 0; i < V; i++) {
		char tok[32];
		if (i == 0)
			snprintf(tok, sizeof tok, "<unk>");
		else if (i == 1)
			snprintf(tok, sizeof tok, "<s>");
		else if (i == 2)
			snprintf(tok, sizeof tok, "</s>");
		else if (i < 3 + 256)
			snprintf(tok, sizeof tok, "<0x%02X>", (unsigned)(i - 3));
		else
			snprintf(tok, sizeof tok, "t%lld", (long long)i);
		w_str(&w, tok);
	}
	w_str(&w, "tokenizer.ggml.token_type");
	w_u32(&w, 9);
	w_u32(&w, 5);
	w_u64(&w, (uint64_t)V);
	for (int64_t i = 0; i < V; i++) {
		int32_t ty = i == 0 ? 2 : i < 3 ? 3 : i < 3 + 256 ? 6 : 1;
		w_bytes(&w, &ty, 4);
	}
	w_str(&w, "tokenizer.ggml.scores");
	w_u32(&w, 9);
	w_u32(&w, 6);
	w_u64(&w, (uint64_t)V);
	for (int64_t i = 0; i < V; i++) {
		float sc = -(float)i;
		w_bytes(&w, &sc, 4);
	}
	kv_u32(&w, "tokenizer.ggml.bos_token_id", 1);
	/* tensor infos */
	for (int i = 0; i < nt; i++) {
		w_str(&w, ti[i].name);
		int dims = ti[i].ne2 > 1 ? 3 : ti[i].ne1 > 1 ? 2 : 1;
		w_u32(&w, (uint32_t)dims);
		w_u64(&w, (uint64_t)ti[i].ne0);
		if (dims >= 2)
			w_u64(&w, (uint64_t)ti[i].ne1);
		if (dims == 3)
			w_u64(&w, (uint64_t)ti[i].ne2);
		w_u32(&w, (uint32_t)ti[i].type);
		w_u64(&w, ti[i].offset);
	}
	long pos = ftell(w.f);
	static const char zeros[ALIGN];
	if (pos < 0)
		w.err = EIO;
	else
		w_bytes(&w, zeros, (size_t)((ALIGN - pos % ALIGN) % ALIGN));
	/* data */
	size_t rowb_max = 0;
	for (int i = 0; i < nt; i++)
		if (kern_row_bytes(ti[i].type, ti[i].ne0) > rowb_max)
			rowb_max = kern_row_bytes(ti[i].type, ti[i].ne0);
	unsigned char *row = malloc(rowb_max ? rowb_max : 1);
	if (!row)
		w.err = ENOMEM;
	uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < nt && !w.err; i++) {
		size_t rb = kern_row_bytes(ti[i].type, ti[i].ne0);
		const int64_t rows = ti[i].ne1 * ti[i].ne2;
		/* norms near 1, biases in [-0.5, 0.5), a router in +-3/sqrt(width)
		 * (logits of a few units: several experts share a token) */
		const float lo = ti[i].kind == T_NORM ? 0.9f : ti[i].kind == T_BIAS ? -0.5f
			       : -3.0f / sqrtf((float)ti[i].ne0);
		const float span = ti[i].kind == T_NORM ? 0.2f : -2.0f * lo;
		for (int64_t r = 0; r < rows && !w.err; r++) {
			if (ti[i].kind != T_MAT) {
				float *v = (float *)row;
				for (int64_t j = 0; j < ti[i].ne0; j++) {
					s ^= s << 13, s ^= s >> 7, s ^= s << 17;
					v[j] = lo + span * (float)(s >> 40) / (float)(1 << 24);
				}
			} else if (kern_random_row(ti[i].type, ti[i].ne0, &s, row) != 0) {
				w.err = EINVAL;
				break;
			}
			w_bytes(&w, row, rb);
		}
		w_bytes(&w, zeros, (size_t)((ALIGN - ti[i].bytes % ALIGN) % ALIGN));
	}
	free(row);
	free(ti);
	if (fflush(w.f) != 0 && !w.err)
		w.err = errno ? errno : EIO;
	if (fclose(w.f) != 0 && !w.err)
		w.err = errno ? errno : EIO;
	if (!w.err && rename(tmp, path) != 0)
		w.err = errno;
	if (w.err) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(w.err));
		return -1;
	}
	return 0;
}
