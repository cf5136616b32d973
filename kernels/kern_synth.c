/* kernels: a synthetic llama-architecture GGUF file — random weights of a
 * catalog model's shape in one tensor type, F32 norms, and the minimal
 * tokenizer metadata llama.cpp needs to load it — so that models which
 * are not on disk can be run by llmcap's forward pass and by llama.cpp on
 * exactly the same bytes. Layout: ggml's docs/gguf.md, version 3. */
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

struct tinfo {
	char name[64];
	int type;
	int64_t ne0, ne1;            /* ne1 = 1 for vectors */
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

int kern_write_synth_gguf(const char *path, const struct mdb_model *m, int type, int n_layer,
			  uint64_t seed, char *err, size_t errlen)
{
	if (!kern_type_supported(type)) {
		snprintf(err, errlen, "tensor type %d has no kernels; use Q4_0, Q8_0, Q4_K, Q6_K or F16",
			 type);
		return -2;
	}
	if (m->attn != MDB_ATTN_GQA && m->attn != MDB_ATTN_MHA) {
		snprintf(err, errlen, "%s is not a plain llama-family model (its attention is %s); "
			 "synthetic files are written for dense grouped-query models", m->id,
			 mdb_attn_kind_name(m->attn));
		return -2;
	}
	if (mdb_model_is_moe(m) || m->qkv_bias || m->qk_norm || m->attn_gate) {
		snprintf(err, errlen, "%s has parts the llama architecture lacks (experts, biases or "
			 "q/k norms); synthetic files are written for llama-shaped models", m->id);
		return -2;
	}
	if (n_layer <= 0 || n_layer > m->n_layer)
		n_layer = m->n_layer;
	int blck, bpb;
	if (kern_type_block(type, &blck, &bpb) != 0 || m->hidden % blck || m->ffn % blck ||
	    (m->n_head * m->head_dim) % blck) {
		snprintf(err, errlen, "%s's widths are not multiples of the type's block", m->id);
		return -2;
	}
	int64_t H = m->hidden, F = m->ffn, QD = (int64_t)m->n_head * m->head_dim,
		KD = (int64_t)m->n_head_kv * m->head_dim, V = m->vocab;
	int nt = 2 + (m->tied_embd ? 0 : 1) + 9 * n_layer;
	struct tinfo *ti = calloc((size_t)nt, sizeof *ti);
	if (!ti) {
		snprintf(err, errlen, "out of memory");
		return -3;
	}
	int k = 0;
#define T(nm, ty, a, b) (snprintf(ti[k].name, sizeof ti[k].name, "%s", nm), ti[k].type = (ty), \
			  ti[k].ne0 = (a), ti[k].ne1 = (b), k++)
	T("token_embd.weight", type, H, V);
	T("output_norm.weight", QT_F32, H, 1);
	if (!m->tied_embd)
		T("output.weight", type, H, V);
	for (int l = 0; l < n_layer; l++) {
		char n[64];
#define L(s, ty, a, b) (snprintf(n, sizeof n, "blk.%d." s, l), T(n, ty, a, b))
		L("attn_norm.weight", QT_F32, H, 1);
		L("attn_q.weight", type, H, QD);
		L("attn_k.weight", type, H, KD);
		L("attn_v.weight", type, H, KD);
		L("attn_output.weight", type, QD, H);
		L("ffn_norm.weight", QT_F32, H, 1);
		L("ffn_gate.weight", type, H, F);
		L("ffn_up.weight", type, H, F);
		L("ffn_down.weight", type, F, H);
#undef L
	}
#undef T
	uint64_t off = 0;
	for (int i = 0; i < nt; i++) {
		ti[i].offset = off;
		ti[i].bytes = kern_row_bytes(ti[i].type, ti[i].ne0) * (uint64_t)ti[i].ne1;
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
	w_u64(&w, 21);                   /* metadata pairs written below */
	char name[160];
	snprintf(name, sizeof name, "llmcap synthetic %s (%d of %d layers, random weights)", m->id,
		 n_layer, m->n_layer);
	kv_str(&w, "general.architecture", "llama");
	kv_str(&w, "general.name", name);
	kv_u32(&w, "general.file_type", ftype_of(type));
	kv_u32(&w, "general.alignment", ALIGN);
	kv_u32(&w, "llama.context_length", (uint32_t)(m->context > 0 && m->context < (1 << 30) ? m->context : 4096));
	kv_u32(&w, "llama.embedding_length", (uint32_t)H);
	kv_u32(&w, "llama.block_count", (uint32_t)n_layer);
	kv_u32(&w, "llama.feed_forward_length", (uint32_t)F);
	kv_u32(&w, "llama.attention.head_count", (uint32_t)m->n_head);
	kv_u32(&w, "llama.attention.head_count_kv", (uint32_t)m->n_head_kv);
	kv_u32(&w, "llama.attention.key_length", (uint32_t)m->head_dim);
	kv_u32(&w, "llama.attention.value_length", (uint32_t)m->head_dim);
	kv_u32(&w, "llama.rope.dimension_count", (uint32_t)m->head_dim);
	kv_f32(&w, "llama.rope.freq_base", (float)(isfinite(m->rope_theta) ? m->rope_theta : 10000.0));
	kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	kv_u32(&w, "llama.vocab_size", (uint32_t)V);
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
		int dims = ti[i].ne1 > 1 ? 2 : 1;
		w_u32(&w, (uint32_t)dims);
		w_u64(&w, (uint64_t)ti[i].ne0);
		if (dims == 2)
			w_u64(&w, (uint64_t)ti[i].ne1);
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
		for (int64_t r = 0; r < ti[i].ne1 && !w.err; r++) {
			if (ti[i].ne1 == 1 && ti[i].type == QT_F32) {
				float *v = (float *)row;
				for (int64_t j = 0; j < ti[i].ne0; j++) {
					s ^= s << 13, s ^= s >> 7, s ^= s << 17;
					v[j] = 0.9f + 0.2f * (float)(s >> 40) / (float)(1 << 24);
				}
			} else if (kern_random_row(ti[i].type, ti[i].ne0, &s, row) != 0) {
				w.err = EINVAL;
				break;
			}
			w_bytes(&w, row, rb);
		}
		w_bytes(&w, zeros, (size_t)((ALIGN - rb * (uint64_t)ti[i].ne1 % ALIGN) % ALIGN));
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
