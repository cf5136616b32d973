/*
 * kernels: the llama-family forward pass over a mmapped GGUF file, as
 * llama.cpp's llm_build_llama / qwen2 / qwen3 graphs compute it:
 *
 *   x = token_embd[token]
 *   per layer: h = rmsnorm(x) * attn_norm
 *              q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)
 *              (qwen3: per-head rmsnorm of q and k) ; RoPE(q, k)
 *              x += Wo attention(q, KV cache + k, v)
 *              h = rmsnorm(x) * ffn_norm
 *              x += Wdown (silu(Wgate h) * Wup h)
 *   logits = Woutput (rmsnorm(x) * output_norm)
 *
 * MoE models (Mixtral: "llama" with expert_count; "qwen3moe": qwen3's
 * attention) replace the FFN of every layer by kern_moe_ffn (kern_moe.c):
 * softmax router, top-k experts, renormalised weights.
 *
 * Activations are quantized once per input and shared by the matrices
 * that read it (q/k/v, gate/up).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/kern_internal.h"
#include "model_db/gguf.h"

#define MAX_BATCH 128
#define MAX_THREADS 64

struct layer {
	const float *attn_norm, *ffn_norm;         /* (n_embd) */
	const float *bq, *bk, *bv;                 /* qwen2 biases or NULL */
	const float *q_norm, *k_norm;              /* qwen3 (head_dim) or NULL */
	struct kern_mat wq;                        /* (n_head * head_dim, n_embd) */
	struct kern_mat wk, wv;                    /* (n_head_kv * head_dim, n_embd) */
	struct kern_mat wo;                        /* (n_embd, n_head * head_dim) */
	struct kern_mat wg, wu;                    /* (n_ff, n_embd) */
	struct kern_mat wd;                        /* (n_embd, n_ff) */
	struct kern_moe moe;                       /* n_expert 0: the dense FFN above */
	struct kern_kv kv;                         /* (n_ctx, n_head_kv, head_dim) x 2 */
};

struct kern_model {
	struct kern_model_cfg cfg;
	const struct kern_table *t;
	void *map;
	size_t map_len;
	struct mdb_gguf *g;
	struct kern_mat tok_embd;                  /* (n_vocab, n_embd) */
	struct kern_mat output;                    /* (n_vocab, n_embd) */
	const float *out_norm;                     /* (n_embd) */
	struct layer *L;                           /* n_layer */
	int n_past;
	/* activations, max_batch rows each */
	float *x, *xn;                             /* (B, n_embd) */
	float *q, *k, *v, *att;                    /* (B, n_head * hd), (B, n_kv * hd) x 2, (B, n_head * hd) */
	float *o;                                  /* (B, n_embd) */
	float *gate, *up;                          /* (B, n_ff) */
	float *scratch;                            /* (MAX_THREADS, 4, n_ctx) attention scores */
	uint8_t *act;                              /* quantized activations */
	size_t act_size;
	const float *act_src;                      /* what act holds: source rows and form */
	int act_form, act_rows;
	int packed;                                /* kern_mat_pack tried on every matrix */
	struct kern_moe_buf *moe_buf;              /* MoE models: routing and expert buffers */
};

/* ---- opening ---------------------------------------------------------- */

static int64_t find_key(const struct mdb_gguf *g, const char *arch, const char *suffix)
{
	char key[160];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	return mdb_gguf_find(g, key);
}

static int get_int(const struct mdb_gguf *g, const char *arch, const char *suffix, int64_t def,
		   int64_t *v, char *err, size_t errlen)
{
	int64_t i = find_key(g, arch, suffix);
	if (i < 0) {
		if (def < 0) {
			if (err)
				snprintf(err, errlen, "GGUF key %s.%s is missing; the file is not a complete "
					 "%s model", arch, suffix, arch);
			return -2;
		}
		*v = def;
		return 0;
	}
	if (mdb_gguf_kv_int(g, i, v) != 0) {
		/* some files store per-layer arrays (head_count_kv): take element 0 */
		enum mdb_gguf_vtype et;
		uint64_t n;
		if (mdb_gguf_kv_arr(g, i, &et, &n) == 0 && n > 0 && mdb_gguf_arr_int(g, i, 0, v) == 0)
			return 0;
		if (err)
			snprintf(err, errlen, "GGUF key %s.%s is not an integer", arch, suffix);
		return -2;
	}
	return 0;
}

static double get_float(const struct mdb_gguf *g, const char *arch, const char *suffix, double def)
{
	int64_t i = find_key(g, arch, suffix);
	double v;
	if (i < 0 || mdb_gguf_kv_float(g, i, &v) != 0)
		return def;
	return v;
}

static const struct mdb_gguf_tensor *find_tensor(const struct mdb_gguf *g, const char *name)
{
	for (int64_t i = 0; i < mdb_gguf_tensor_count(g); i++) {
		const struct mdb_gguf_tensor *t = mdb_gguf_tensor(g, i);
		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

static const void *tensor_data(const struct kern_model *m, const struct mdb_gguf_tensor *t)
{
	return (const uint8_t *)m->map + mdb_gguf_data_offset(m->g) + t->offset;
}

/* An F32 vector of n values; NULL with err set (optional: NULL, no error
 * when absent). */
static const float *get_vec(struct kern_model *m, const char *name, int64_t n, int optional,
			    int *rc, char *err, size_t errlen)
{
	const struct mdb_gguf_tensor *t = find_tensor(m->g, name);
	if (!t) {
		if (!optional) {
			if (err)
				snprintf(err, errlen, "tensor %s is missing from the GGUF file", name);
			*rc = -2;
		}
		return NULL;
	}
	if (t->type != QT_F32 || t->n_elements != (uint64_t)n) {
		if (err)
			snprintf(err, errlen, "tensor %s: %s of %llu values, expected F32 of %lld", name,
				 mdb_gguf_type_name(t->type) ? mdb_gguf_type_name(t->type) : "unknown type",
				 (unsigned long long)t->n_elements, (long long)n);
		*rc = -2;
		return NULL;
	}
	return tensor_data(m, t);
}

static int get_mat(struct kern_model *m, const char *name, int64_t rows, int64_t cols,
		   struct kern_mat *out, int optional, char *err, size_t errlen)
{
	const struct mdb_gguf_tensor *t = find_tensor(m->g, name);
	if (!t) {
		if (optional)
			return 1;
		if (err)
			snprintf(err, errlen, "tensor %s is missing from the GGUF file", name);
		return -2;
	}
	if (t->n_dims != 2 || t->dims[0] != (uint64_t)cols || t->dims[1] != (uint64_t)rows) {
		if (err)
			snprintf(err, errlen, "tensor %s has shape [%llu, %llu] (%u dims), expected [%lld, %lld]",
				 name, (unsigned long long)t->dims[0], (unsigned long long)t->dims[1],
				 t->n_dims, (long long)cols, (long long)rows);
		return -2;
	}
	char e2[200];
	if (kern_mat_init(out, (int)t->type, rows, cols, tensor_data(m, t), e2, sizeof e2) != 0) {
		if (err)
			snprintf(err, errlen, "tensor %s: %s", name, e2);
		return -2;
	}
	return 0;
}

/* n_expert matrices of rows x cols, the slices of the 3-D tensor name
 * ([cols, rows, n_expert] in GGUF order), into a new array *out. */
static int get_experts(struct kern_model *m, const char *name, int n_expert, int64_t rows, int64_t cols,
		       struct kern_mat **out, char *err, size_t errlen)
{
	const struct mdb_gguf_tensor *t = find_tensor(m->g, name);
	if (!t) {
		if (err)
			snprintf(err, errlen, "tensor %s is missing from the GGUF file (a MoE layer needs "
				 "ffn_gate_inp and ffn_{gate,up,down}_exps)", name);
		return -2;
	}
	if (t->n_dims != 3 || t->dims[0] != (uint64_t)cols || t->dims[1] != (uint64_t)rows ||
	    t->dims[2] != (uint64_t)n_expert) {
		if (err)
			snprintf(err, errlen, "tensor %s has shape [%llu, %llu, %llu] (%u dims), expected "
				 "[%lld, %lld, %d] (columns, rows, experts)", name,
				 (unsigned long long)t->dims[0], (unsigned long long)t->dims[1],
				 (unsigned long long)(t->n_dims > 2 ? t->dims[2] : 1), t->n_dims,
				 (long long)cols, (long long)rows, n_expert);
		return -2;
	}
	struct kern_mat *ws = calloc((size_t)n_expert, sizeof *ws);
	if (!ws) {
		if (err)
			snprintf(err, errlen, "out of memory");
		return -3;
	}
	char e2[200];
	const uint8_t *base = tensor_data(m, t);
	for (int e = 0; e < n_expert; e++) {
		if (kern_mat_init(&ws[e], (int)t->type, rows, cols, NULL, e2, sizeof e2) != 0) {
			if (err)
				snprintf(err, errlen, "tensor %s: %s", name, e2);
			free(ws);
			return -2;
		}
		ws[e].data = base + (size_t)e * (size_t)rows * ws[e].row_bytes;
	}
	*out = ws;
	return 0;
}

static int read_config(struct kern_model *m, char *err, size_t errlen)
{
	struct kern_model_cfg *c = &m->cfg;
	const struct mdb_gguf *g = m->g;
	int64_t i = mdb_gguf_find(g, "general.architecture");
	size_t len = 0;
	const char *a = i >= 0 ? mdb_gguf_kv_str(g, i, &len) : NULL;
	if (!a || len == 0 || len >= sizeof c->arch) {
		if (err)
			snprintf(err, errlen, "GGUF key general.architecture is missing");
		return -2;
	}
	memcpy(c->arch, a, len);
	c->arch[len] = 0;
	if (!strcmp(c->arch, "llama") || !strcmp(c->arch, "mistral")) {
		c->rope_mode = KERN_ROPE_NORM;
	} else if (!strcmp(c->arch, "qwen2") || !strcmp(c->arch, "qwen3") ||
		   !strcmp(c->arch, "qwen3moe")) {
		c->rope_mode = KERN_ROPE_NEOX;
	} else {
		if (err)
			snprintf(err, errlen, "architecture %s is not supported by llmcap's forward pass "
				 "(llama, mistral, qwen2, qwen3, qwen3moe; Mixtral as llama)", c->arch);
		return -2;
	}
	const int qwen3moe = !strcmp(c->arch, "qwen3moe");
	int64_t v[6];
	int rc;
	int64_t ne, nu, fe;
	if ((rc = get_int(g, c->arch, "block_count", -1, &v[0], err, errlen)) ||
	    (rc = get_int(g, c->arch, "embedding_length", -1, &v[1], err, errlen)) ||
	    (rc = get_int(g, c->arch, "feed_forward_length", qwen3moe ? 0 : -1, &v[2], err, errlen)) ||
	    (rc = get_int(g, c->arch, "attention.head_count", -1, &v[3], err, errlen)) ||
	    (rc = get_int(g, c->arch, "expert_count", qwen3moe ? -1 : 0, &ne, err, errlen)) ||
	    (rc = get_int(g, c->arch, "expert_used_count", ne > 0 ? -1 : 0, &nu, err, errlen)) ||
	    (rc = get_int(g, c->arch, "expert_feed_forward_length", 0, &fe, err, errlen)))
		return rc;
	if (ne < 0 || ne > 512 || (ne > 0 && (nu < 1 || nu > ne || nu > 64)) ||
	    (ne == 0 && qwen3moe) || fe < 0 || fe > (1 << 22)) {
		if (err)
			snprintf(err, errlen, "unsupported %s experts: %lld, %lld used per token, expert "
				 "FFN %lld (1..512 experts, 1..64 used, at most all)", c->arch, (long long)ne,
				 (long long)nu, (long long)fe);
		return -2;
	}
	/* llama.cpp: Mixtral's experts are feed_forward_length wide; qwen3moe's
	 * expert_feed_forward_length, else feed_forward_length / used */
	if (ne > 0 && !qwen3moe)
		fe = v[2];
	else if (ne > 0 && fe == 0)
		fe = nu > 0 ? v[2] / nu : 0;
	if (v[2] == 0)
		v[2] = fe;
	if (ne > 0 && (fe <= 0 || fe > (1 << 22))) {
		if (err)
			snprintf(err, errlen, "GGUF key %s.expert_feed_forward_length is missing or 0 and "
				 "no feed_forward_length gives the experts' FFN size", c->arch);
		return -2;
	}
	c->n_expert = (int)ne;
	c->n_expert_used = ne > 0 ? (int)nu : 0;
	c->n_ff_exp = ne > 0 ? (int)fe : 0;
	c->expert_weights_scale = ne > 0 ? (float)get_float(g, c->arch, "expert_weights_scale", 0.0) : 0.0f;
	if ((rc = get_int(g, c->arch, "attention.head_count_kv", v[3], &v[4], err, errlen)))
		return rc;
	if (v[3] <= 0 || v[1] <= 0 || v[0] <= 0 || v[2] <= 0 || v[4] <= 0 || v[3] % v[4] ||
	    v[0] > 4096 || v[1] > (1 << 20) || v[2] > (1 << 22) || v[3] > 4096) {
		if (err)
			snprintf(err, errlen, "implausible %s shape: %lld layers, width %lld, FFN %lld, "
				 "%lld heads, %lld KV heads", c->arch, (long long)v[0], (long long)v[1],
				 (long long)v[2], (long long)v[3], (long long)v[4]);
		return -2;
	}
	if ((rc = get_int(g, c->arch, "attention.key_length", v[1] / v[3], &v[5], err, errlen)))
		return rc;
	c->n_layer = (int)v[0];
	c->n_embd = (int)v[1];
	c->n_ff = (int)v[2];
	c->n_head = (int)v[3];
	c->n_head_kv = (int)v[4];
	c->head_dim = (int)v[5];
	int64_t rot;
	if ((rc = get_int(g, c->arch, "rope.dimension_count", c->head_dim, &rot, err, errlen)))
		return rc;
	c->n_rot = (int)rot;
	if (c->head_dim <= 0 || c->head_dim > 1024 || c->n_rot <= 0 || c->n_rot > c->head_dim || c->n_rot % 2) {
		if (err)
			snprintf(err, errlen, "unsupported head size %d / rotary dims %d (at most 1024, even)",
				 c->head_dim, c->n_rot);
		return -2;
	}
	c->eps = (float)get_float(g, c->arch, "attention.layer_norm_rms_epsilon", 1e-5);
	c->rope_base = (float)get_float(g, c->arch, "rope.freq_base", 10000.0);
	return 0;
}

void kern_model_close(struct kern_model *m)
{
	if (!m)
		return;
	if (m->L) {
		for (int l = 0; l < m->cfg.n_layer; l++) {
			struct layer *L = &m->L[l];
			free(L->kv.k);
			free(L->kv.v);
			struct kern_mat *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
			for (int k = 0; k < 7; k++)
				kern_mat_unpack(ws[k]);
			kern_mat_unpack(&L->moe.router);
			struct kern_mat *ex[3] = {L->moe.gate, L->moe.up, L->moe.down};
			for (int k = 0; k < 3; k++) {
				for (int e = 0; ex[k] && e < L->moe.n_expert; e++)
					kern_mat_unpack(&ex[k][e]);
				free(ex[k]);
			}
		}
		free(m->L);
	}
	kern_moe_buf_free(m->moe_buf);
	kern_mat_unpack(&m->output);
	free(m->x);
	free(m->xn);
	free(m->q);
	free(m->k);
	free(m->v);
	free(m->att);
	free(m->o);
	free(m->gate);
	free(m->up);
	free(m->scratch);
	free(m->act);
	if (m->g)
		mdb_gguf_close(m->g);
	if (m->map)
		munmap(m->map, m->map_len);
	free(m);
}

static float *alloc_f(size_t n)
{
	return malloc(n * sizeof(float));
}

int kern_model_open(struct kern_model **out, const char *path, const struct kern_table *t,
		    int n_ctx, int kv_type, char *err, size_t errlen)
{
	int rc = -2;
	struct kern_model *m = calloc(1, sizeof *m);
	if (!m) {
		if (err)
			snprintf(err, errlen, "out of memory");
		return -3;
	}
	m->t = t;
	if (n_ctx <= 0 || (kv_type != QT_F16 && kv_type != QT_F32)) {
		if (err)
			snprintf(err, errlen, "context %d must be positive and the KV type F16 or F32", n_ctx);
		rc = -1;
		goto fail;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		if (err)
			snprintf(err, errlen, "%s: not a regular non-empty file; give the path of a .gguf file",
				 path);
		close(fd);
		rc = -1;
		goto fail;
	}
	m->map_len = (size_t)st.st_size;
	m->map = mmap(NULL, m->map_len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		if (err)
			snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		rc = -1;
		goto fail;
	}
	if ((rc = mdb_gguf_open_mem(&m->g, m->map, m->map_len, path, err, errlen)) != 0) {
		rc = rc == -1 ? -1 : -2;
		goto fail;
	}
	rc = -2;
	if (read_config(m, err, errlen))
		goto fail;
	struct kern_model_cfg *c = &m->cfg;
	c->n_ctx = n_ctx;
	c->kv_type = kv_type;
	c->max_batch = MAX_BATCH;
	const struct mdb_gguf_tensor *te = find_tensor(m->g, "token_embd.weight");
	if (!te || te->n_dims != 2 || te->dims[0] != (uint64_t)c->n_embd || te->dims[1] == 0 ||
	    te->dims[1] > (1u << 24)) {
		if (err)
			snprintf(err, errlen, te ? "tensor token_embd.weight: shape is not [%d, vocab]"
						 : "tensor token_embd.weight is missing from the GGUF file", c->n_embd);
		goto fail;
	}
	c->n_vocab = (int)te->dims[1];
	if (get_mat(m, "token_embd.weight", c->n_vocab, c->n_embd, &m->tok_embd, 0, err, errlen))
		goto fail;
	int r = get_mat(m, "output.weight", c->n_vocab, c->n_embd, &m->output, 1, err, errlen);
	if (r < 0)
		goto fail;
	c->tied = r == 1;
	if (c->tied)
		m->output = m->tok_embd;
	int vrc = 0;
	m->out_norm = get_vec(m, "output_norm.weight", c->n_embd, 0, &vrc, err, errlen);
	if (vrc)
		goto fail;
	m->L = calloc((size_t)c->n_layer, sizeof *m->L);
	if (!m->L)
		goto nomem;
	const int64_t qd = (int64_t)c->n_head * c->head_dim, kd = (int64_t)c->n_head_kv * c->head_dim;
	const int is_qwen3 = !strcmp(c->arch, "qwen3") || !strcmp(c->arch, "qwen3moe");
	uint64_t wbytes = m->output.row_bytes * (uint64_t)m->output.rows;
	for (int l = 0; l < c->n_layer; l++) {
		struct layer *L = &m->L[l];
		char name[96];
#define NAME(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
		if (!(L->attn_norm = get_vec(m, NAME("attn_norm.weight"), c->n_embd, 0, &vrc, err, errlen)) ||
		    !(L->ffn_norm = get_vec(m, NAME("ffn_norm.weight"), c->n_embd, 0, &vrc, err, errlen)))
			goto fail;
		L->bq = get_vec(m, NAME("attn_q.bias"), qd, 1, &vrc, err, errlen);
		L->bk = get_vec(m, NAME("attn_k.bias"), kd, 1, &vrc, err, errlen);
		L->bv = get_vec(m, NAME("attn_v.bias"), kd, 1, &vrc, err, errlen);
		if (is_qwen3) {
			L->q_norm = get_vec(m, NAME("attn_q_norm.weight"), c->head_dim, 0, &vrc, err, errlen);
			L->k_norm = get_vec(m, NAME("attn_k_norm.weight"), c->head_dim, 0, &vrc, err, errlen);
		}
		if (vrc)
			goto fail;
		if (get_mat(m, NAME("attn_q.weight"), qd, c->n_embd, &L->wq, 0, err, errlen) ||
		    get_mat(m, NAME("attn_k.weight"), kd, c->n_embd, &L->wk, 0, err, errlen) ||
		    get_mat(m, NAME("attn_v.weight"), kd, c->n_embd, &L->wv, 0, err, errlen) ||
		    get_mat(m, NAME("attn_output.weight"), c->n_embd, qd, &L->wo, 0, err, errlen))
			goto fail;
		if (c->n_expert > 0) {
			struct kern_moe *e = &L->moe;
			e->n_expert = c->n_expert;
			e->n_used = c->n_expert_used;
			e->n_embd = c->n_embd;
			e->n_ff = c->n_ff_exp;
			e->w_scale = c->expert_weights_scale;
			if (get_mat(m, NAME("ffn_gate_inp.weight"), c->n_expert, c->n_embd, &e->router, 0, err,
				    errlen))
				goto fail;
			int xrc;
			if ((xrc = get_experts(m, NAME("ffn_gate_exps.weight"), c->n_expert, c->n_ff_exp,
					       c->n_embd, &e->gate, err, errlen)) ||
			    (xrc = get_experts(m, NAME("ffn_up_exps.weight"), c->n_expert, c->n_ff_exp,
					       c->n_embd, &e->up, err, errlen)) ||
			    (xrc = get_experts(m, NAME("ffn_down_exps.weight"), c->n_expert, c->n_embd,
					       c->n_ff_exp, &e->down, err, errlen))) {
				rc = xrc;
				goto fail;
			}
			uint64_t eb = 0;
			const struct kern_mat *ex[3] = {e->gate, e->up, e->down};
			for (int k = 0; k < 3; k++)
				eb += ex[k][0].row_bytes * (uint64_t)ex[k][0].rows;
			wbytes += e->router.row_bytes * (uint64_t)e->router.rows + eb * (uint64_t)e->n_used;
			c->expert_bytes += eb * (uint64_t)e->n_expert;
		} else {
			if (get_mat(m, NAME("ffn_gate.weight"), c->n_ff, c->n_embd, &L->wg, 0, err, errlen) ||
			    get_mat(m, NAME("ffn_up.weight"), c->n_ff, c->n_embd, &L->wu, 0, err, errlen) ||
			    get_mat(m, NAME("ffn_down.weight"), c->n_embd, c->n_ff, &L->wd, 0, err, errlen))
				goto fail;
			const struct kern_mat *fs[3] = {&L->wg, &L->wu, &L->wd};
			for (int k = 0; k < 3; k++)
				wbytes += fs[k]->row_bytes * (uint64_t)fs[k]->rows;
		}
#undef NAME
		const struct kern_mat *ws[4] = {&L->wq, &L->wk, &L->wv, &L->wo};
		for (int k = 0; k < 4; k++)
			wbytes += ws[k]->row_bytes * (uint64_t)ws[k]->rows;
		const size_t esz = kv_type == QT_F16 ? 2 : 4;
		L->kv = (struct kern_kv){kv_type, n_ctx, c->n_head_kv, c->head_dim, NULL, NULL};
		L->kv.k = malloc(esz * (size_t)n_ctx * (size_t)kd);
		L->kv.v = malloc(esz * (size_t)n_ctx * (size_t)kd);
		if (!L->kv.k || !L->kv.v)
			goto nomem;
	}
	c->weight_bytes = wbytes;
	const size_t B = MAX_BATCH;
	m->x = alloc_f(B * (size_t)c->n_embd);
	m->xn = alloc_f(B * (size_t)c->n_embd);
	m->o = alloc_f(B * (size_t)c->n_embd);
	m->q = alloc_f(B * (size_t)qd);
	m->att = alloc_f(B * (size_t)qd);
	m->k = alloc_f(B * (size_t)kd);
	m->v = alloc_f(B * (size_t)kd);
	m->gate = alloc_f(B * (size_t)c->n_ff);
	m->up = alloc_f(B * (size_t)c->n_ff);
	m->scratch = alloc_f((size_t)MAX_THREADS * 4 * (size_t)n_ctx);
	int64_t maxc = c->n_embd > c->n_ff ? c->n_embd : c->n_ff;
	if (qd > maxc)
		maxc = qd;
	maxc = (maxc + QK_K - 1) / QK_K * QK_K;
	/* the largest activation form: packed records (40 bytes per 32, 324
	 * per 256) */
	m->act_size = B * (size_t)(maxc / QK_K) * sizeof(struct kern_qk);
	if (B * (size_t)(maxc / 32) * sizeof(struct kern_qa) > m->act_size)
		m->act_size = B * (size_t)(maxc / 32) * sizeof(struct kern_qa);
	if (B * kern_row_bytes(QT_Q8_K, maxc) > m->act_size)
		m->act_size = B * kern_row_bytes(QT_Q8_K, maxc);
	m->act = malloc(m->act_size);
	if (c->n_expert > 0 && kern_moe_buf_new(&m->moe_buf, &m->L[0].moe, MAX_BATCH) != 0)
		goto nomem;
	if (!m->x || !m->xn || !m->o || !m->q || !m->att || !m->k || !m->v || !m->gate || !m->up ||
	    !m->scratch || !m->act)
		goto nomem;
	*out = m;
	return 0;
nomem:
	if (err)
		snprintf(err, errlen, "out of memory for the KV cache and buffers (context %d)", n_ctx);
	rc = -3;
fail:
	kern_model_close(m);
	return rc;
}

const struct kern_model_cfg *kern_model_config(const struct kern_model *m)
{
	return &m->cfg;
}

int kern_model_n_past(const struct kern_model *m)
{
	return m->n_past;
}

void kern_model_reset(struct kern_model *m)
{
	m->n_past = 0;
}

void kern_model_weights(const struct kern_model *m, struct kern_mat *tok_embd, struct kern_mat *output,
			const float **out_norm)
{
	*tok_embd = m->tok_embd;
	*output = m->output;
	*out_norm = m->out_norm;
}

void kern_model_layer_weights(const struct kern_model *m, int layer, struct kern_layer_weights *out)
{
	const struct layer *L = &m->L[layer];
	*out = (struct kern_layer_weights){
		L->attn_norm, L->ffn_norm, L->bq, L->bk, L->bv, L->q_norm, L->k_norm,
		L->wq, L->wk, L->wv, L->wo, L->wg, L->wu, L->wd,
	};
}

/* ---- evaluation ------------------------------------------------------- */

/* n rows of X (cols floats each) as the activations W reads: quantized
 * once, shared by the matrices reading the same input in the same form
 * (the activation type for row dots; for packed products the records of
 * the weight type). */
static const void *acts(struct kern_model *m, struct kern_pool *pool, const struct kern_mat *w,
			const float *X, int n)
{
	const int at = kern_act_type(w->type);
	if (at == QT_F32)
		return X;
	const int form = kern_use_packed(m->t, w) ? QT_COUNT + w->type : at;
	if (m->act_src == X && m->act_form == form && m->act_rows == n)
		return m->act;
	kern_act_quantize(m->t, pool, w, X, w->cols, n, m->act, NULL, 0);
	m->act_src = X;
	m->act_form = form;
	m->act_rows = n;
	return m->act;
}

/* Packs every matrix the products read (not token_embd, of which only
 * rows are looked up), once, on the first evaluation: a model opened only
 * to read its weights (kern_model_weights) never pays for it. A matrix
 * that cannot be packed (no packed kernels, out of memory) stays on the
 * row dot kernels. */
static void pack_all(struct kern_model *m, struct kern_pool *pool)
{
	m->packed = 1;
	for (int l = 0; l < m->cfg.n_layer; l++) {
		struct layer *L = &m->L[l];
		struct kern_mat *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
		for (int k = 0; k < 7; k++)
			if (ws[k]->data)
				kern_mat_pack(m->t, ws[k], pool, NULL, 0);
		struct kern_mat *ex[3] = {L->moe.gate, L->moe.up, L->moe.down};
		for (int k = 0; k < 3; k++)
			for (int e = 0; ex[k] && e < L->moe.n_expert; e++)
				kern_mat_pack(m->t, &ex[k][e], pool, NULL, 0);
		kern_mat_pack(m->t, &L->moe.router, pool, NULL, 0);
	}
	kern_mat_pack(m->t, &m->output, pool, NULL, 0);
}

static void acts_invalidate(struct kern_model *m)
{
	m->act_src = NULL;
}

/* Y (n x w->rows) = X (n x w->cols) W^T */
static void proj(struct kern_model *m, struct kern_pool *pool, const struct kern_mat *w,
		 const float *X, int n, float *Y)
{
	const void *xq = acts(m, pool, w, X, n);
	if (n == 1)
		kern_matvec_q(m->t, pool, w, xq, Y, NULL, 0);
	else
		kern_matmul_q(m->t, pool, w, xq, n, Y, w->rows, NULL, 0);
}

/* Y[i] = X W[i]^T for n matrices reading the same input: one pool run
 * when they are packed alike, else one product each. */
static void proj_shared(struct kern_model *m, struct kern_pool *pool, int n, const struct kern_mat *const *w,
			const float *X, int n_tok, float *const *Y)
{
	const void *xq = acts(m, pool, w[0], X, n_tok);
	int64_t ld[3];
	for (int i = 0; i < n; i++)
		ld[i] = w[i]->rows;
	if (kern_matmul_q_shared(m->t, pool, n, w, xq, n_tok, Y, ld) == 0)
		return;
	for (int i = 0; i < n; i++)
		proj(m, pool, w[i], X, n_tok, Y[i]);
}

struct attn_task {
	struct kern_model *m;
	const struct kern_kv *kv;
	int n, p0;
	int per;             /* query heads per item: a KV head's group, or part of it */
};

/* Items: (token, heads [h, h + per)), the heads of one KV head together
 * (kern_attention_gqa reads each K and V row once for them). */
static void attn_run(void *arg, int ith, int nth)
{
	const struct attn_task *a = arg;
	const struct kern_model_cfg *c = &a->m->cfg;
	const int64_t qd = (int64_t)c->n_head * c->head_dim;
	float *scratch = a->m->scratch + (size_t)(ith % MAX_THREADS) * 4 * (size_t)c->n_ctx;
	const int per_tok = (c->n_head + a->per - 1) / a->per;
	for (int item = ith; item < a->n * per_tok; item += nth) {
		const int i = item / per_tok, h = item % per_tok * a->per;
		const int h1 = h + a->per < c->n_head ? h + a->per : c->n_head;
		kern_attention_gqa(a->m->t, a->kv, c->n_head, a->m->q + i * qd, a->p0 + i + 1, a->m->att + i * qd,
				   scratch, h, h1);
	}
}

struct swiglu_task {
	const struct kern_table *t;
	float *gate;
	const float *up;
	int64_t n;
};

/* gate = silu(gate) * up, each thread a contiguous part (multiples of 16). */
static void swiglu_run(void *arg, int ith, int nth)
{
	const struct swiglu_task *s = arg;
	const int64_t per = ((s->n + nth - 1) / nth + 15) & ~(int64_t)15;
	const int64_t i0 = per * ith < s->n ? per * ith : s->n, i1 = i0 + per < s->n ? i0 + per : s->n;
	if (i1 > i0)
		s->t->swiglu(s->gate + i0, s->gate + i0, s->up + i0, i1 - i0);
}

static void add_rows(float *y, const float *b, int n, int64_t len)
{
	for (int i = 0; i < n; i++)
		for (int64_t j = 0; j < len; j++)
			y[i * len + j] += b[j];
}

/* One micro-batch of n <= MAX_BATCH tokens at positions n_past.. */
static void eval_batch(struct kern_model *m, struct kern_pool *pool, const int32_t *tok, int n,
		       float *logits, int all_logits)
{
	const struct kern_model_cfg *c = &m->cfg;
	const int64_t E = c->n_embd, qd = (int64_t)c->n_head * c->head_dim;
	const int64_t kd = (int64_t)c->n_head_kv * c->head_dim;
	const int p0 = m->n_past;
	for (int i = 0; i < n; i++)
		m->t->to_float[m->tok_embd.type]((const uint8_t *)m->tok_embd.data +
						 (size_t)tok[i] * m->tok_embd.row_bytes, m->x + i * E, E);
	for (int l = 0; l < c->n_layer; l++) {
		struct layer *L = &m->L[l];
		acts_invalidate(m);
		for (int i = 0; i < n; i++)
			kern_rmsnorm(m->xn + i * E, m->x + i * E, L->attn_norm, E, c->eps);
		const struct kern_mat *qkv[3] = {&L->wq, &L->wk, &L->wv};
		float *const qkv_out[3] = {m->q, m->k, m->v};
		proj_shared(m, pool, 3, qkv, m->xn, n, qkv_out);
		if (L->bq)
			add_rows(m->q, L->bq, n, qd);
		if (L->bk)
			add_rows(m->k, L->bk, n, kd);
		if (L->bv)
			add_rows(m->v, L->bv, n, kd);
		for (int i = 0; i < n; i++) {
			float *qi = m->q + i * qd, *ki = m->k + i * kd;
			if (L->q_norm)
				for (int h = 0; h < c->n_head; h++)
					kern_rmsnorm(qi + h * c->head_dim, qi + h * c->head_dim, L->q_norm,
						     c->head_dim, c->eps);
			if (L->k_norm)
				for (int h = 0; h < c->n_head_kv; h++)
					kern_rmsnorm(ki + h * c->head_dim, ki + h * c->head_dim, L->k_norm,
						     c->head_dim, c->eps);
			kern_rope(qi, c->n_head, c->head_dim, c->n_rot, p0 + i, c->rope_base, c->rope_mode);
			kern_rope(ki, c->n_head_kv, c->head_dim, c->n_rot, p0 + i, c->rope_base, c->rope_mode);
			kern_kv_store(&L->kv, p0 + i, ki, m->v + i * kd);
		}
		/* a group per item, split when there are fewer items than threads */
		const int group = c->n_head / c->n_head_kv, nth = kern_pool_threads(pool);
		int per = group;
		if (n * c->n_head_kv < nth) {
			const int parts = (nth + n * c->n_head_kv - 1) / (n * c->n_head_kv);
			per = (group + parts - 1) / parts;
		}
		struct attn_task at = {m, &L->kv, n, p0, per};
		kern_pool_run(pool, attn_run, &at);
		acts_invalidate(m);
		proj(m, pool, &L->wo, m->att, n, m->o);
		for (int64_t j = 0; j < n * E; j++)
			m->x[j] += m->o[j];
		acts_invalidate(m);
		for (int i = 0; i < n; i++)
			kern_rmsnorm(m->xn + i * E, m->x + i * E, L->ffn_norm, E, c->eps);
		if (L->moe.n_expert > 0) {
			kern_moe_ffn(m->t, pool, &L->moe, m->moe_buf, m->xn, n, m->o);
		} else {
			const struct kern_mat *gu[2] = {&L->wg, &L->wu};
			float *const gu_out[2] = {m->gate, m->up};
			proj_shared(m, pool, 2, gu, m->xn, n, gu_out);
			struct swiglu_task sw = {m->t, m->gate, m->up, (int64_t)n * c->n_ff};
			kern_pool_run(pool, swiglu_run, &sw);
			acts_invalidate(m);
			proj(m, pool, &L->wd, m->gate, n, m->o);
		}
		for (int64_t j = 0; j < n * E; j++)
			m->x[j] += m->o[j];
	}
	m->n_past += n;
	if (!logits)
		return;
	acts_invalidate(m);
	const int first = all_logits ? 0 : n - 1, cnt = n - first;
	for (int i = first; i < n; i++)
		kern_rmsnorm(m->xn + i * E, m->x + i * E, m->out_norm, E, c->eps);
	proj(m, pool, &m->output, m->xn + first * E, cnt, logits);
	acts_invalidate(m);
}

int kern_model_eval(struct kern_model *m, struct kern_pool *pool, const int32_t *tokens,
		    int n_tok, int all_logits, float *logits, char *err, size_t errlen)
{
	const struct kern_model_cfg *c = &m->cfg;
	if (n_tok <= 0 || m->n_past + n_tok > c->n_ctx) {
		if (err)
			snprintf(err, errlen, "%d tokens after %d do not fit the context of %d; "
				 "open the model with a larger context", n_tok, m->n_past, c->n_ctx);
		return -1;
	}
	for (int i = 0; i < n_tok; i++) {
		if (tokens[i] < 0 || tokens[i] >= c->n_vocab) {
			if (err)
				snprintf(err, errlen, "token %d at %d is outside the vocabulary (0..%d)",
					 tokens[i], i, c->n_vocab - 1);
			return -1;
		}
	}
	if (!m->packed)
		pack_all(m, pool);
	for (int b = 0; b < n_tok; b += MAX_BATCH) {
		const int n = n_tok - b < MAX_BATCH ? n_tok - b : MAX_BATCH;
		const int last = b + n == n_tok;
		float *lg = NULL;
		if (logits && all_logits)
			lg = logits + (size_t)b * (size_t)c->n_vocab;
		else if (logits && last)
			lg = logits;
		eval_batch(m, pool, tokens + b, n, lg, all_logits);
	}
	return 0;
}

int kern_model_time(struct kern_model *m, struct kern_pool *pool, int prompt, int gen, int runs,
		    double *prefill_tps, double *decode_tps, char *err, size_t errlen)
{
	int n_vocab = m->cfg.n_vocab, n_tok = prompt > 16 ? prompt : 16;
	if (runs < 1 || prompt < 0 || gen < 0 || prompt + gen < 1 || n_vocab < 4) {
		if (err)
			snprintf(err, errlen, "nothing to time: give runs >= 1 and prompt + gen >= 1");
		return -1;
	}
	int32_t *toks = malloc(sizeof *toks * (size_t)n_tok);
	float *lg = malloc(sizeof *lg * (size_t)n_vocab);
	if (!toks || !lg) {
		free(toks);
		free(lg);
		if (err)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t s = 12345;
	for (int i = 0; i < n_tok; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		toks[i] = (int32_t)(3 + s % (uint64_t)(n_vocab - 3));
	}
	/* warm-up: fault the weights in, start the threads; logits every
	 * step, as sampling needs them (the output head is part of a token) */
	kern_model_reset(m);
	int rc = kern_model_eval(m, pool, toks, prompt < 16 && prompt > 0 ? prompt : 16, 0, lg, err, errlen);
	for (int i = 0; rc == 0 && i < 2; i++)
		rc = kern_model_eval(m, pool, toks + i, 1, 0, lg, err, errlen);
	for (int k = 0; rc == 0 && k < runs; k++) {
		kern_model_reset(m);
		double t0 = kern_now();
		if (prompt > 0)
			rc = kern_model_eval(m, pool, toks, prompt, 0, lg, err, errlen);
		double t1 = kern_now();
		for (int i = 0; rc == 0 && i < gen; i++)
			rc = kern_model_eval(m, pool, toks + (i % n_tok), 1, 0, lg, err, errlen);
		double t2 = kern_now();
		prefill_tps[k] = prompt > 0 ? prompt / (t1 - t0) : NAN;
		decode_tps[k] = gen > 0 ? gen / (t2 - t1) : NAN;
	}
	free(toks);
	free(lg);
	return rc;
}
