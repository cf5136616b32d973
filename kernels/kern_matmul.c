/*
 * kernels: matrix-vector and matrix-matrix products over a quantized
 * weight matrix, split over the pool by weight rows (each thread a
 * contiguous range, so both cores stream disjoint halves of the weights).
 * A packed matrix (kern_mat_pack) goes through the backend's gemm tile
 * (16 rows x up to 8 tokens), prefill's whole pairs of panels through
 * the batch product where the table has one (AMX); any other matrix
 * through the row dot kernel.
 */
#include <stdio.h>
#include <string.h>

#include "kernels/kern_internal.h"

/* Weight rows per tile and tokens per tile in kern_matmul: a tile of
 * weight rows (16 x 4096 Q8_0 = 68 KiB) stays in L1/L2 while a tile of
 * quantized tokens (64 x 4096 Q8_0 = 272 KiB) stays in L2. */
#define TILE_ROWS 16
#define TILE_TOKENS 64

int kern_mat_init(struct kern_mat *m, int type, int64_t rows, int64_t cols, const void *data,
		  char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (!kern_type_supported(type)) {
		if (err) {
			const struct mdb_qtraits *q = mdb_qtype(type);
			snprintf(err, errlen, "matrix of type %s: llmcap's kernels support "
				 "Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32",
				 q ? q->name : "unknown");
		}
		return -1;
	}
	size_t rb = kern_row_bytes(type, cols);
	if (rows <= 0 || cols <= 0 || rb == 0) {
		if (err)
			snprintf(err, errlen, "matrix %lld x %lld of type %s: columns must be a positive "
				 "multiple of the block size", (long long)rows, (long long)cols,
				 mdb_qtype(type)->name);
		return -1;
	}
	m->type = type;
	m->rows = rows;
	m->cols = cols;
	m->row_bytes = rb;
	m->data = data;
	return 0;
}

static int check(const struct kern_table *t, const struct kern_mat *w, char *err, size_t errlen)
{
	if (!w || !w->data || !kern_type_supported(w->type) || w->row_bytes == 0) {
		if (err)
			snprintf(err, errlen, "matrix product: matrix not initialized (kern_mat_init)");
		return -1;
	}
	if (!t->dot[w->type]) {
		if (err)
			snprintf(err, errlen, "matrix product: no dot kernel for %s in this table",
				 mdb_qtype(w->type)->name);
		return -1;
	}
	return 0;
}

/* Rows [r0, r1) of thread ith of nth, in multiples of 4 rows. */
static void split_rows(int64_t rows, int ith, int nth, int64_t *r0, int64_t *r1)
{
	int64_t per = (rows + nth - 1) / nth;
	per = (per + 3) & ~(int64_t)3;
	*r0 = per * ith < rows ? per * ith : rows;
	*r1 = *r0 + per < rows ? *r0 + per : rows;
}

/* ---- packed products -------------------------------------------------- */

/* Weights of the row groups one call covers in kern_matmul: they stay in
 * L2 while every panel of tokens passes over them. */
#define PACK_CHUNK_BYTES (64 * 1024)

#define PK_MAX_MATS 3

/* Up to PK_MAX_MATS packed matrices of one type and width reading the
 * same activations. */
struct pk_task {
	int n;
	const struct kern_mat *w[PK_MAX_MATS];
	float *Y[PK_MAX_MATS];
	int64_t ldy[PK_MAX_MATS];
	kern_gemm_fn gemm;
	kern_gemm_fn batch;  /* NULL: every panel through gemm */
	const uint8_t *a;    /* activation records */
	int64_t n_tok;
};

/* Row groups [g0, g1) of thread ith of nth. */
static void split_groups(int64_t ng, int ith, int nth, int64_t *g0, int64_t *g1)
{
	*g0 = ng * ith / nth;
	*g1 = ng * (ith + 1) / nth;
}

static void pk_one(const struct pk_task *k, const struct kern_mat *w, float *Y, int64_t ldy, int ith,
		   int nth)
{
	const int64_t nb = w->cols / kern_pack_blk(w->type), ng = kern_pack_groups(w->rows);
	const int64_t rb = kern_pack_rec_bytes(w->type);
	const size_t gb = kern_pack_group_bytes(w->type, nb);
	int64_t g0, g1;
	split_groups(ng, ith, nth, &g0, &g1);
	if (k->n_tok == 1) {
		if (g1 > g0)
			k->gemm(nb, (const uint8_t *)w->packed + (size_t)g0 * gb, g1 - g0, k->a, 1,
				Y + g0 * KERN_PACK_ROWS, 0, w->rows - g0 * KERN_PACK_ROWS);
		return;
	}
	/* whole pairs of panels through the batch product, which blocks its
	 * groups and tokens itself; the panels left over (a partial one, an
	 * odd full one) through the panel tile */
	int64_t t0 = 0;
	if (k->batch && k->n_tok >= KERN_PACK_BATCH) {
		t0 = k->n_tok / KERN_PACK_BATCH * KERN_PACK_BATCH;
		if (g1 > g0)
			k->batch(nb, (const uint8_t *)w->packed + (size_t)g0 * gb, g1 - g0, k->a, (int)t0,
				 Y + g0 * KERN_PACK_ROWS, ldy, w->rows - g0 * KERN_PACK_ROWS);
	}
	int64_t gc = (int64_t)(PACK_CHUNK_BYTES / gb);
	if (gc < 1)
		gc = 1;
	for (int64_t g = g0; g < g1 && t0 < k->n_tok; g += gc) {
		const int64_t n = g + gc < g1 ? gc : g1 - g;
		const uint8_t *wg = (const uint8_t *)w->packed + (size_t)g * gb;
		for (int64_t p0 = t0; p0 < k->n_tok; p0 += KERN_PACK_TOKENS) {
			const int nt = (int)(k->n_tok - p0 < KERN_PACK_TOKENS ? k->n_tok - p0 : KERN_PACK_TOKENS);
			k->gemm(nb, wg, n, k->a + (size_t)(p0 * nb * rb), nt, Y + p0 * ldy + g * KERN_PACK_ROWS,
				ldy, w->rows - g * KERN_PACK_ROWS);
		}
	}
}

static void pk_run(void *arg, int ith, int nth)
{
	const struct pk_task *k = arg;
	for (int i = 0; i < k->n; i++)
		pk_one(k, k->w[i], k->Y[i], k->ldy[i], ith, nth);
}

int kern_matmul_q_shared(const struct kern_table *t, struct kern_pool *pool, int n,
			 const struct kern_mat *const *w, const void *xq, int64_t n_tok, float *const *Y,
			 const int64_t *ldy)
{
	if (n < 1 || n > PK_MAX_MATS || n_tok < 1 || !xq)
		return -1;
	struct pk_task k = {.n = n, .gemm = t->gemm[w[0]->type], .batch = t->gemm_batch[w[0]->type],
			    .a = (const uint8_t *)xq, .n_tok = n_tok};
	for (int i = 0; i < n; i++) {
		if (!kern_use_packed(t, w[i]) || w[i]->type != w[0]->type || w[i]->cols != w[0]->cols ||
		    (n_tok > 1 && ldy[i] < w[i]->rows))
			return -1;
		k.w[i] = w[i];
		k.Y[i] = Y[i];
		k.ldy[i] = ldy[i];
	}
	kern_pool_run(pool, pk_run, &k);
	return 0;
}

/* ---- row dot products ------------------------------------------------- */

struct mv_task {
	const struct kern_mat *w;
	kern_dot_fn dot;
	const void *xq;
	float *y;
};

static void mv_run(void *arg, int ith, int nth)
{
	const struct mv_task *t = arg;
	int64_t r0, r1;
	split_rows(t->w->rows, ith, nth, &r0, &r1);
	const uint8_t *base = t->w->data;
	const size_t rb = t->w->row_bytes;
	for (int64_t r = r0; r < r1; r++)
		t->y[r] = t->dot(t->w->cols, base + (size_t)r * rb, t->xq);
}

int kern_matvec_q(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		  const void *xq, float *y, char *err, size_t errlen)
{
	if (check(t, w, err, errlen))
		return -1;
	if (kern_use_packed(t, w)) {
		const struct kern_mat *ws[1] = {w};
		float *ys[1] = {y};
		const int64_t ld[1] = {w->rows};
		return kern_matmul_q_shared(t, pool, 1, ws, xq, 1, ys, ld);
	}
	struct mv_task task = {w, t->dot[w->type], xq, y};
	kern_pool_run(pool, mv_run, &task);
	return 0;
}

int kern_matvec(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		const float *x, float *y, void *work, char *err, size_t errlen)
{
	if (check(t, w, err, errlen))
		return -1;
	if (kern_act_type(w->type) == QT_F32)
		return kern_matvec_q(t, pool, w, x, y, err, errlen);
	if (kern_act_quantize(t, NULL, w, x, w->cols, 1, work, err, errlen))
		return -1;
	return kern_matvec_q(t, pool, w, work, y, err, errlen);
}

struct mm_task {
	const struct kern_table *t;
	const struct kern_mat *w;
	const float *X;
	int64_t ldx, n_tok, ldy;
	float *Y;
	void *work;          /* quantized rows of X, or NULL for float weights */
	size_t act_bytes;    /* bytes of one quantized row */
};

static void mm_run(void *arg, int ith, int nth)
{
	const struct mm_task *m = arg;
	const kern_dot_fn dot = m->t->dot[m->w->type];
	const uint8_t *base = m->w->data;
	const size_t rb = m->w->row_bytes;
	int64_t r0, r1;
	split_rows(m->w->rows, ith, nth, &r0, &r1);
	for (int64_t t0 = 0; t0 < m->n_tok; t0 += TILE_TOKENS) {
		const int64_t t1 = t0 + TILE_TOKENS < m->n_tok ? t0 + TILE_TOKENS : m->n_tok;
		for (int64_t rr = r0; rr < r1; rr += TILE_ROWS) {
			const int64_t re = rr + TILE_ROWS < r1 ? rr + TILE_ROWS : r1;
			for (int64_t i = t0; i < t1; i++) {
				const void *a = m->work ? (const void *)((const uint8_t *)m->work + (size_t)i * m->act_bytes)
							: (const void *)(m->X + i * m->ldx);
				float *yi = m->Y + i * m->ldy;
				for (int64_t r = rr; r < re; r++)
					yi[r] = dot(m->w->cols, base + (size_t)r * rb, a);
			}
		}
	}
}

int kern_matmul(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		const float *X, int64_t ldx, int64_t n_tok, float *Y, int64_t ldy, void *work,
		char *err, size_t errlen)
{
	if (check(t, w, err, errlen))
		return -1;
	if (n_tok <= 0 || ldx < w->cols || ldy < w->rows) {
		if (err)
			snprintf(err, errlen, "matmul: bad shape (n_tok %lld, ldx %lld < cols %lld or "
				 "ldy %lld < rows %lld)", (long long)n_tok, (long long)ldx,
				 (long long)w->cols, (long long)ldy, (long long)w->rows);
		return -1;
	}
	const int at = kern_act_type(w->type);
	if (at == QT_F32) {
		struct mm_task m = {t, w, X, ldx, n_tok, ldy, Y, NULL, 0};
		kern_pool_run(pool, mm_run, &m);
		return 0;
	}
	if (kern_act_quantize(t, pool, w, X, ldx, n_tok, work, err, errlen))
		return -1;
	return kern_matmul_q(t, pool, w, work, n_tok, Y, ldy, err, errlen);
}

int kern_matmul_q(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		  const void *Xq, int64_t n_tok, float *Y, int64_t ldy, char *err, size_t errlen)
{
	if (check(t, w, err, errlen))
		return -1;
	if (n_tok <= 0 || ldy < w->rows || !Xq) {
		if (err)
			snprintf(err, errlen, "matmul: bad shape (n_tok %lld, ldy %lld < rows %lld)",
				 (long long)n_tok, (long long)ldy, (long long)w->rows);
		return -1;
	}
	const int at = kern_act_type(w->type);
	if (kern_use_packed(t, w)) {
		const struct kern_mat *ws[1] = {w};
		float *ys[1] = {Y};
		const int64_t ld[1] = {ldy};
		return kern_matmul_q_shared(t, pool, 1, ws, Xq, n_tok, ys, ld);
	}
	struct mm_task m = {t, w, NULL, w->cols, n_tok, ldy, Y, NULL, 0};
	if (at == QT_F32) {
		m.X = Xq;
	} else {
		m.work = (void *)Xq;
		m.act_bytes = kern_row_bytes(at, w->cols);
	}
	kern_pool_run(pool, mm_run, &m);
	return 0;
}
