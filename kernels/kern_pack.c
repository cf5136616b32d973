/*
 * kernels: packed weights for the register-blocked products (layout in
 * kern_internal.h) and the activations those products read.
 *
 * Packing is a byte interleave of 16 rows, 4 bytes at a time, with each
 * group's F16 scales moved apart from its quants: the values themselves
 * are unchanged, so a packed product computes the same integer block dots
 * as the row dot kernels and differs from them only in float summation
 * order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernels/kern_internal.h"

#define HUGE_PAGE ((size_t)2 << 20)

int kern_mat_packable(const struct kern_table *t, int type)
{
	if (type < 0 || type >= QT_COUNT || !t->gemm[type] || !t->qact[type])
		return 0;
	if (!(type == QT_Q4_0 || type == QT_Q4_1 || type == QT_Q8_0 || kern_pack_is_k(type)))
		return 0;
	/* the names are the backends' static strings */
	return t->gemm_isa[type] == t->dot_isa[type];
}

struct pack_task {
	const struct kern_mat *m;
	uint8_t *dst;
	int64_t nb, ng;
	size_t gb;
};

/* Row r's block of a k-quant into the group's block: quants at qs,
 * scales at sc (layout in kern_internal.h). */
static void pack_k(int type, const uint8_t *src, int r, uint8_t *qs, uint8_t *sc)
{
	uint16_t *d = (uint16_t *)sc;
	if (type == QT_Q4_K) {
		const struct block_q4_K *x = (const struct block_q4_K *)src;
		uint8_t s8[8], m8[8];
		kern_k4_scales(x->scales, s8, m8);
		d[r] = x->d;
		d[KERN_PACK_ROWS + r] = x->dmin;
		for (int j = 0; j < 8; j++) {
			sc[64 + 16 * j + r] = s8[j];
			sc[192 + 32 * (j / 2) + 2 * r + j % 2] = m8[j];
		}
		for (int c = 0; c < 32; c++)
			memcpy(qs + 64 * c + 4 * r, x->qs + 4 * c, 4);
		return;
	}
	const struct block_q6_K *x = (const struct block_q6_K *)src;
	d[r] = x->d;
	for (int j = 0; j < 16; j++)
		sc[32 + 16 * j + r] = (uint8_t)x->scales[j];
	for (int c = 0; c < 32; c++)
		memcpy(qs + 64 * c + 4 * r, x->ql + 4 * c, 4);
	for (int c = 0; c < 16; c++)
		memcpy(qs + 2048 + 64 * c + 4 * r, x->qh + 4 * c, 4);
}

/* Group g of m into dst (gb bytes). */
static void pack_group(const struct kern_mat *m, int64_t nb, int64_t g, uint8_t *dst, size_t gb)
{
	const int type = m->type;
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const int chunks = (int)(qsb / 64);
	int bsz = 0, bblk = 0;
	kern_type_block(type, &bblk, &bsz);
	memset(dst, 0, gb);
	for (int r = 0; r < KERN_PACK_ROWS; r++) {
		const int64_t row = g * KERN_PACK_ROWS + r;
		if (row >= m->rows)
			break;
		const uint8_t *src = (const uint8_t *)m->data + (size_t)row * m->row_bytes;
		for (int64_t b = 0; b < nb; b++) {
			uint8_t *qs = dst + b * qsb;
			uint16_t *sc = (uint16_t *)(dst + nb * qsb + b * scb);
			const uint8_t *q;
			if (kern_pack_is_k(type)) {
				pack_k(type, src + (size_t)b * (size_t)bsz, r, qs, (uint8_t *)sc);
				continue;
			}
			if (type == QT_Q4_0) {
				const struct block_q4_0 *x = (const struct block_q4_0 *)src + b;
				sc[r] = x->d;
				q = x->qs;
			} else if (type == QT_Q4_1) {
				const struct block_q4_1 *x = (const struct block_q4_1 *)src + b;
				sc[r] = x->d;
				sc[KERN_PACK_ROWS + r] = x->m;
				q = x->qs;
			} else {
				const struct block_q8_0 *x = (const struct block_q8_0 *)src + b;
				sc[r] = x->d;
				q = (const uint8_t *)x->qs;
			}
			for (int c = 0; c < chunks; c++)
				memcpy(qs + 64 * c + 4 * r, q + 4 * c, 4);
		}
	}
}

static void pack_run(void *arg, int ith, int nth)
{
	const struct pack_task *p = arg;
	for (int64_t g = ith; g < p->ng; g += nth)
		pack_group(p->m, p->nb, g, p->dst + (size_t)g * p->gb, p->gb);
}

int kern_mat_pack(const struct kern_table *t, struct kern_mat *m, struct kern_pool *pool, char *err,
		  size_t errlen)
{
	if (!m->data || !kern_mat_packable(t, m->type))
		return 1;
	if (m->packed)
		return 0;
	const int64_t nb = m->cols / kern_pack_blk(m->type), ng = kern_pack_groups(m->rows);
	const size_t gb = kern_pack_group_bytes(m->type, nb);
	/* large copies on 2 MiB boundaries and asked for transparent huge
	 * pages: decode streams every byte once per token, and 4 KiB pages
	 * would add a TLB miss every 4 KiB */
	const size_t bytes = gb * (size_t)ng;
	void *mem = NULL;
	if (bytes >= HUGE_PAGE) {
		const size_t len = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		if (posix_memalign(&mem, HUGE_PAGE, len) == 0) {
#ifdef MADV_HUGEPAGE
			madvise(mem, len, MADV_HUGEPAGE);
#endif
		} else {
			mem = NULL;
		}
	} else {
		mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	}
	uint8_t *dst = mem;
	if (!dst) {
		if (err)
			snprintf(err, errlen, "out of memory for a packed copy of %zu bytes", bytes);
		return -2;
	}
	struct pack_task p = {m, dst, nb, ng, gb};
	kern_pool_run(pool, pack_run, &p);
	m->packed = dst;
	return 0;
}

void kern_mat_unpack(struct kern_mat *m)
{
	free(m->packed);
	m->packed = NULL;
}

/* ---- activations ------------------------------------------------------ */

size_t kern_matmul_work_size(const struct kern_mat *w, int64_t n_tok)
{
	const int at = kern_act_type(w->type);
	if (at < 0 || at == QT_F32)
		return 0;
	const size_t rows = (size_t)n_tok * kern_row_bytes(at, w->cols);
	const size_t recs = (size_t)n_tok * (size_t)(w->cols / kern_pack_blk(w->type)) *
			    (size_t)kern_pack_rec_bytes(w->type);
	return w->packed && recs > rows ? recs : rows;
}

struct act_task {
	const struct kern_table *t;
	const struct kern_mat *w;
	const float *X;
	int64_t ldx, n_tok;
	void *dst;
	int at, packed;
};

/* Token i's records: panel i / 8, slot i % 8 of the panel's nt. */
static void act_packed_one(const struct act_task *a, int64_t i)
{
	const int type = a->w->type;
	const int64_t nb = a->w->cols / kern_pack_blk(type), rb = kern_pack_rec_bytes(type);
	const int64_t p0 = i / KERN_PACK_TOKENS * KERN_PACK_TOKENS;
	const int64_t nt = a->n_tok - p0 < KERN_PACK_TOKENS ? a->n_tok - p0 : KERN_PACK_TOKENS;
	uint8_t *panel = (uint8_t *)a->dst + (size_t)(p0 * nb * rb);
	a->t->qact[type](a->X + i * a->ldx, a->w->cols, panel + (size_t)((i - p0) * rb), nt);
}

static void act_run(void *arg, int ith, int nth)
{
	const struct act_task *a = arg;
	for (int64_t i = ith; i < a->n_tok; i += nth) {
		if (a->packed)
			act_packed_one(a, i);
		else
			a->t->quantize[a->at](a->X + i * a->ldx,
					      (uint8_t *)a->dst + (size_t)i * kern_row_bytes(a->at, a->w->cols),
					      a->w->cols);
	}
}

int kern_act_quantize(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		      const float *X, int64_t ldx, int64_t n_tok, void *dst, char *err, size_t errlen)
{
	const int at = kern_act_type(w->type);
	if (at < 0 || n_tok <= 0 || ldx < w->cols) {
		if (err)
			snprintf(err, errlen, "quantize activations: bad matrix or shape");
		return -1;
	}
	if (at == QT_F32)
		return 0;
	const int pk = kern_use_packed(t, w);
	if (!dst || (!pk && !t->quantize[at])) {
		if (err)
			snprintf(err, errlen, "quantize activations: %s",
				 dst ? "no activation quantizer" : "work buffer missing");
		return -1;
	}
	struct act_task a = {t, w, X, ldx, n_tok, dst, at, pk};
	if (n_tok == 1)
		act_run(&a, 0, 1);
	else
		kern_pool_run(pool, act_run, &a);
	return 0;
}
