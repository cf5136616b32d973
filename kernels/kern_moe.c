/*
 * kernels: the mixture-of-experts FFN of a layer, as llama.cpp's
 * build_moe_ffn computes it for Mixtral (llama architecture with experts)
 * and Qwen3-MoE (softmax gating, norm_w):
 *
 *   probs   = softmax(Wrouter h)                    (n_expert per token)
 *   sel     = the n_used largest probs, best first
 *   w_j     = probs[sel_j] / max(sum_j probs[sel_j], 2^-14)  (x w_scale)
 *   out     = sum_j w_j * Wdown_j (silu(Wgate_j h) * Wup_j h)   (j in slot order)
 *
 * Tokens are routed one by one, then grouped by expert: each chosen
 * expert's matrices are read once per batch for all the tokens that chose
 * it (gathered into a contiguous block, quantized once, one matrix product
 * per matrix), and its outputs are scattered back to (token, slot). A
 * decode step is the same with one token: n_used experts of one row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kern_internal.h"

void kern_moe_route(const float *logits, int n_expert, int k, float *probs, int *sel, float *w,
		    float w_scale)
{
	memcpy(probs, logits, sizeof *probs * (size_t)n_expert);
	kern_softmax(probs, n_expert);
	/* top k by selection: the largest first, ties to the lower index */
	for (int j = 0; j < k; j++) {
		int best = -1;
		for (int e = 0; e < n_expert; e++) {
			int taken = 0;
			for (int i = 0; i < j && !taken; i++)
				taken = sel[i] == e;
			if (!taken && (best < 0 || probs[e] > probs[best]))
				best = e;
		}
		sel[j] = best;
	}
	double sum = 0;
	for (int j = 0; j < k; j++)
		sum += probs[sel[j]];
	const float s = fmaxf((float)sum, 6.103515625e-5f);
	for (int j = 0; j < k; j++) {
		w[j] = probs[sel[j]] / s;
		if (w_scale != 0.0f && w_scale != 1.0f)
			w[j] *= w_scale;
	}
}

/* Bytes of quantized activations for n rows of cols values against a
 * matrix of any type, in any form its products read (rows of Q8_0, Q8_1
 * or Q8_K, or packed records of 32 or 256 values): layers may mix types. */
static size_t act_bytes(int64_t cols, int64_t n)
{
	const size_t qa = (size_t)(cols / 32 + 1) * sizeof(struct kern_qa);
	const size_t qk = (size_t)(cols / QK_K + 1) * sizeof(struct kern_qk);
	return (size_t)n * (qa > qk ? qa : qk);
}

struct kern_moe_buf {
	int max_tok;
	float *logits, *probs;       /* (max_tok, n_expert) */
	int *sel;                    /* (max_tok, n_used) */
	float *w;                    /* (max_tok, n_used) */
	int *count, *start;          /* (n_expert + 1) */
	int *order;                  /* (max_tok * n_used): token * n_used + slot, by expert */
	float *xg, *yg;              /* (max_tok, n_embd) gathered rows, expert outputs */
	float *gate, *up;            /* (max_tok, n_ff) */
	float *eo;                   /* (max_tok, n_used, n_embd) per-slot outputs */
	void *act;                   /* quantized activations */
};

void kern_moe_buf_free(struct kern_moe_buf *b)
{
	if (!b)
		return;
	free(b->logits);
	free(b->probs);
	free(b->sel);
	free(b->w);
	free(b->count);
	free(b->start);
	free(b->order);
	free(b->xg);
	free(b->yg);
	free(b->gate);
	free(b->up);
	free(b->eo);
	free(b->act);
	free(b);
}

int kern_moe_buf_new(struct kern_moe_buf **out, const struct kern_moe *moe, int max_tok)
{
	struct kern_moe_buf *b = calloc(1, sizeof *b);
	if (!b)
		return -2;
	const size_t T = (size_t)max_tok, K = (size_t)moe->n_used, E = (size_t)moe->n_embd,
		     F = (size_t)moe->n_ff, X = (size_t)moe->n_expert;
	b->max_tok = max_tok;
	b->logits = malloc(sizeof(float) * T * X);
	b->probs = malloc(sizeof(float) * T * X);
	b->sel = malloc(sizeof(int) * T * K);
	b->w = malloc(sizeof(float) * T * K);
	b->count = malloc(sizeof(int) * (X + 1));
	b->start = malloc(sizeof(int) * (X + 1));
	b->order = malloc(sizeof(int) * T * K);
	b->xg = malloc(sizeof(float) * T * E);
	b->yg = malloc(sizeof(float) * T * E);
	b->gate = malloc(sizeof(float) * T * F);
	b->up = malloc(sizeof(float) * T * F);
	b->eo = malloc(sizeof(float) * T * K * E);
	const int64_t wide = moe->n_ff > moe->n_embd ? moe->n_ff : moe->n_embd;
	b->act = malloc(act_bytes(wide, max_tok));
	if (!b->logits || !b->probs || !b->sel || !b->w || !b->count || !b->start || !b->order ||
	    !b->xg || !b->yg || !b->gate || !b->up || !b->eo || !b->act) {
		kern_moe_buf_free(b);
		return -2;
	}
	*out = b;
	return 0;
}

/* Y (n x w->rows, row stride w->rows) = X (n x w->cols, contiguous) W^T,
 * X quantized into act first (float weights read X itself). */
static void product(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		    const float *X, int n, float *Y, void *act)
{
	const void *xq = X;
	if (kern_act_type(w->type) != QT_F32) {
		kern_act_quantize(t, pool, w, X, w->cols, n, act, NULL, 0);
		xq = act;
	}
	kern_matmul_q(t, pool, w, xq, n, Y, w->rows, NULL, 0);
}

/* gate and up of one expert over the same rows: one pool run when both
 * are packed alike. */
static void product2(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *g,
		     const struct kern_mat *u, const float *X, int n, float *G, float *U, void *act)
{
	const void *xq = X;
	if (kern_act_type(g->type) != QT_F32) {
		kern_act_quantize(t, pool, g, X, g->cols, n, act, NULL, 0);
		xq = act;
	}
	const struct kern_mat *ws[2] = {g, u};
	float *const ys[2] = {G, U};
	const int64_t ld[2] = {g->rows, u->rows};
	if (kern_use_packed(t, u) == kern_use_packed(t, g) &&
	    kern_matmul_q_shared(t, pool, 2, ws, xq, n, ys, ld) == 0)
		return;
	kern_matmul_q(t, pool, g, xq, n, G, g->rows, NULL, 0);
	if (kern_use_packed(t, u) != kern_use_packed(t, g) && xq != X)
		kern_act_quantize(t, pool, u, X, u->cols, n, act, NULL, 0);
	kern_matmul_q(t, pool, u, xq, n, U, u->rows, NULL, 0);
}

struct glu_task {
	const struct kern_table *t;
	float *gate;
	const float *up;
	int64_t n;
};

static void glu_run(void *arg, int ith, int nth)
{
	const struct glu_task *s = arg;
	const int64_t per = ((s->n + nth - 1) / nth + 15) & ~(int64_t)15;
	const int64_t i0 = per * ith < s->n ? per * ith : s->n, i1 = i0 + per < s->n ? i0 + per : s->n;
	if (i1 > i0)
		s->t->swiglu(s->gate + i0, s->gate + i0, s->up + i0, i1 - i0);
}

int kern_moe_ffn(const struct kern_table *t, struct kern_pool *pool, const struct kern_moe *moe,
		 struct kern_moe_buf *b, const float *X, int n, float *Y)
{
	if (n < 1 || n > b->max_tok)
		return -1;
	const int X_ = moe->n_expert, K = moe->n_used;
	const int64_t E = moe->n_embd, F = moe->n_ff;
	/* route every token */
	product(t, pool, &moe->router, X, n, b->logits, b->act);
	for (int i = 0; i < n; i++)
		kern_moe_route(b->logits + (size_t)i * X_, X_, K, b->probs + (size_t)i * X_, b->sel + i * K,
			       b->w + i * K, moe->w_scale);
	/* group (token, slot) pairs by expert */
	memset(b->count, 0, sizeof(int) * (size_t)(X_ + 1));
	for (int i = 0; i < n * K; i++)
		b->count[b->sel[i]]++;
	b->start[0] = 0;
	for (int e = 0; e < X_; e++)
		b->start[e + 1] = b->start[e] + b->count[e];
	for (int e = 0; e < X_; e++)
		b->count[e] = 0;
	for (int i = 0; i < n * K; i++) {
		const int e = b->sel[i];
		b->order[b->start[e] + b->count[e]++] = i;
	}
	/* each chosen expert once, over all its tokens */
	for (int e = 0; e < X_; e++) {
		const int c = b->count[e];
		if (!c)
			continue;
		const int *ord = b->order + b->start[e];
		for (int r = 0; r < c; r++)
			memcpy(b->xg + r * E, X + (ord[r] / K) * E, sizeof(float) * (size_t)E);
		product2(t, pool, &moe->gate[e], &moe->up[e], b->xg, c, b->gate, b->up, b->act);
		struct glu_task g = {t, b->gate, b->up, (int64_t)c * F};
		if (c * F >= 4096)
			kern_pool_run(pool, glu_run, &g);
		else
			glu_run(&g, 0, 1);
		product(t, pool, &moe->down[e], b->gate, c, b->yg, b->act);
		for (int r = 0; r < c; r++)
			memcpy(b->eo + (size_t)ord[r] * E, b->yg + r * E, sizeof(float) * (size_t)E);
	}
	/* weighted sum in slot order, as llama.cpp adds its views */
	for (int i = 0; i < n; i++) {
		float *y = Y + i * E;
		const float *w = b->w + i * K;
		const float *eo = b->eo + (size_t)i * K * E;
		for (int64_t c = 0; c < E; c++)
			y[c] = eo[c] * w[0];
		for (int j = 1; j < K; j++)
			for (int64_t c = 0; c < E; c++)
				y[c] += eo[j * E + c] * w[j];
	}
	return 0;
}
