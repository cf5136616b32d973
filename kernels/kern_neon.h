/*
 * kernels: private to kern_neon.c and kern_neon_dotprod.c. The NEON
 * integer products, written once and compiled twice:
 *
 *  - dp = 0 in kern_neon.c (any AArch64 CPU): each group of 4 byte
 *    products summed by SMULL / SMULL2 (int8 x int8 to int16), one
 *    pairwise add (ADDP) and one pairwise add-accumulate into int32
 *    (SADALP);
 *  - dp = 1 in kern_neon_dotprod.c, built for armv8.2-a+dotprod and run
 *    only where the CPU reports the dot-product instructions
 *    (KERN_F_NEONDOT): one SDOT (vdotq_s32) does the same.
 *
 * Both give the exact integer block dots of the generic kernels; the
 * float scaling follows the generic code (the k-quants bit for bit), the
 * 32-weight types differ from it only in float summation order.
 */
#ifndef LLMCAP_KERN_NEON_H
#define LLMCAP_KERN_NEON_H

#include <arm_neon.h>
#include <string.h>

#include "kernels/kern_internal.h"

#define NEON_INLINE static inline __attribute__((always_inline))

static inline float neon_h2f(uint16_t h)
{
	__fp16 f;
	memcpy(&f, &h, 2);
	return (float)f;
}

/* 4 F16 values to float. */
NEON_INLINE float32x4_t neon_load_f16x4(const uint16_t *p)
{
	return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

/* acc[i] += sum_{j < 4} a[4i + j] * b[4i + j], signed bytes. Without SDOT
 * two neighbouring products are added in int16: |sum| <= 2 x 128 x 127,
 * as one side is always a quantized activation (-127..127). */
NEON_INLINE int32x4_t neon_idot(const int dp, int32x4_t acc, int8x16_t a, int8x16_t b)
{
#if defined(__ARM_FEATURE_DOTPROD)
	if (dp)
		return vdotq_s32(acc, a, b);
#endif
	const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
	const int16x8_t hi = vmull_high_s8(a, b);
	return vpadalq_s16(acc, vpaddq_s16(lo, hi));
}

/* The 32 4-bit values of 16 bytes: low nibbles (weights 0..15), high
 * nibbles (16..31), as 0..15. */
NEON_INLINE void neon_nibbles(const uint8_t *qs, int8x16_t *lo, int8x16_t *hi)
{
	const uint8x16_t q = vld1q_u8(qs);
	*lo = vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F)));
	*hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
}

/* Byte j = 0x10 where bit j of the 16 bits h is set. */
NEON_INLINE int8x16_t neon_bits16(uint32_t h)
{
	const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
	const uint8x16_t b = vcombine_u8(vdup_n_u8((uint8_t)h), vdup_n_u8((uint8_t)(h >> 8)));
	return vreinterpretq_s8_u8(vandq_u8(vtstq_u8(b, bit), vdupq_n_u8(0x10)));
}

/* ---- 32-weight blocks ------------------------------------------------- */

/* The integer dot of one weight block of type (Q4_0 with Q8_0
 * activations, Q4_1 with Q8_1, Q5_0 and Q8_0 with Q8_0) as 4 int32 partial
 * sums; q8: the activation block's 32 quants. */
NEON_INLINE int32x4_t neon_block32(const int dp, const int type, const void *blk, const int8_t *q8)
{
	int8x16_t lo, hi;
	if (type == QT_Q4_0) {
		neon_nibbles(((const struct block_q4_0 *)blk)->qs, &lo, &hi);
		lo = vsubq_s8(lo, vdupq_n_s8(8));
		hi = vsubq_s8(hi, vdupq_n_s8(8));
	} else if (type == QT_Q4_1) {
		neon_nibbles(((const struct block_q4_1 *)blk)->qs, &lo, &hi);
	} else if (type == QT_Q5_0) {
		const struct block_q5_0 *x = blk;
		uint32_t qh;
		memcpy(&qh, x->qh, 4);
		neon_nibbles(x->qs, &lo, &hi);
		lo = vsubq_s8(vorrq_s8(lo, neon_bits16(qh)), vdupq_n_s8(16));
		hi = vsubq_s8(vorrq_s8(hi, neon_bits16(qh >> 16)), vdupq_n_s8(16));
	} else {
		const struct block_q8_0 *x = blk;
		lo = vld1q_s8(x->qs);
		hi = vld1q_s8(x->qs + 16);
	}
	const int32x4_t p = neon_idot(dp, vdupq_n_s32(0), lo, vld1q_s8(q8));
	return neon_idot(dp, p, hi, vld1q_s8(q8 + 16));
}

/* d_w x d_a of a 32-weight block and its activation block: d leads both. */
NEON_INLINE float neon_block_scale(const uint8_t *xb, const uint8_t *yb)
{
	uint16_t dw, da;
	memcpy(&dw, xb, 2);
	memcpy(&da, yb, 2);
	return neon_h2f(dw) * neon_h2f(da);
}

/* Row dot of a 32-weight type: sum over blocks of d_w d_a x (block dot),
 * plus m x s per block for Q4_1; two accumulators, blocks in pairs. */
NEON_INLINE float neon_dot32(const int dp, const int type, int64_t n, const void *w, const void *a)
{
	const size_t wsz = type == QT_Q4_0 ? sizeof(struct block_q4_0)
			 : type == QT_Q4_1 ? sizeof(struct block_q4_1)
			 : type == QT_Q5_0 ? sizeof(struct block_q5_0) : sizeof(struct block_q8_0);
	const size_t asz = type == QT_Q4_1 ? sizeof(struct block_q8_1) : sizeof(struct block_q8_0);
	const size_t aqs = type == QT_Q4_1 ? offsetof(struct block_q8_1, qs) : offsetof(struct block_q8_0, qs);
	const uint8_t *x = w, *y = a;
	const int64_t nb = n / 32;
	float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
	float summ = 0;
	for (int64_t i = 0; i < nb; i += 2) {
		const uint8_t *x0 = x + (size_t)i * wsz, *y0 = y + (size_t)i * asz;
		const int32x4_t p0 = neon_block32(dp, type, x0, (const int8_t *)(y0 + aqs));
		acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(p0), neon_block_scale(x0, y0));
		if (type == QT_Q4_1)
			summ += neon_h2f(((const struct block_q4_1 *)x0)->m) *
				neon_h2f(((const struct block_q8_1 *)y0)->s);
		if (i + 1 == nb)
			break;
		const uint8_t *x1 = x0 + wsz, *y1 = y0 + asz;
		const int32x4_t p1 = neon_block32(dp, type, x1, (const int8_t *)(y1 + aqs));
		acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(p1), neon_block_scale(x1, y1));
		if (type == QT_Q4_1)
			summ += neon_h2f(((const struct block_q4_1 *)x1)->m) *
				neon_h2f(((const struct block_q8_1 *)y1)->s);
	}
	return vaddvq_f32(vaddq_f32(acc0, acc1)) + summ;
}

/* ---- k-quants (Q8_K activations) ---------------------------------------- */

/* Q4_K / Q5_K: d x sum_j sc_j (q . a)_j - dmin x sum_j m_j (sum of a in
 * sub-block j, from bsums), times the activations' d, as the generic
 * kernels (same integers, same float expression). */
NEON_INLINE float neon_dot_q45_K(const int dp, const int type, int64_t n, const void *w, const void *a)
{
	const struct block_q8_K *y = a;
	const uint8x16_t m4 = vdupq_n_u8(0x0F), one = vdupq_n_u8(1);
	const size_t wsz = type == QT_Q4_K ? sizeof(struct block_q4_K) : sizeof(struct block_q5_K);
	float s = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *xb = (const uint8_t *)w + (size_t)i * wsz;
		const struct block_q4_K *x4 = (const void *)xb;
		const struct block_q5_K *x5 = (const void *)xb;
		const uint8_t *scales = type == QT_Q4_K ? x4->scales : x5->scales;
		const uint8_t *qs = type == QT_Q4_K ? x4->qs : x5->qs;
		uint8_t sc[8], mn[8];
		kern_k4_scales(scales, sc, mn);
		/* bsums in pairs: the sums of each sub-block of 32, times the mins */
		const int16x8_t bs = vpaddq_s16(vld1q_s16(y[i].bsums), vld1q_s16(y[i].bsums + 8));
		const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
		const int32x4_t pm = vmlal_high_s16(vmull_s16(vget_low_s16(bs), vget_low_s16(mins)), bs, mins);
		uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
		if (type == QT_Q5_K) {
			h0 = vld1q_u8(x5->qh);
			h1 = vld1q_u8(x5->qh + 16);
		}
		int32x4_t sumi = vdupq_n_s32(0);
		for (int p = 0; p < 4; p++) {
			/* sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles) */
			const uint8x16_t qa = vld1q_u8(qs + 32 * p), qb = vld1q_u8(qs + 32 * p + 16);
			uint8x16_t la = vandq_u8(qa, m4), lb = vandq_u8(qb, m4);
			uint8x16_t ha = vshrq_n_u8(qa, 4), hb = vshrq_n_u8(qb, 4);
			if (type == QT_Q5_K) {
				/* bit 2p of qh[l] is the fifth bit of weight l of sub-block 2p,
				 * bit 2p + 1 that of sub-block 2p + 1 */
				la = vorrq_u8(la, vshlq_n_u8(vandq_u8(h0, one), 4));
				lb = vorrq_u8(lb, vshlq_n_u8(vandq_u8(h1, one), 4));
				ha = vorrq_u8(ha, vshlq_n_u8(vandq_u8(vshrq_n_u8(h0, 1), one), 4));
				hb = vorrq_u8(hb, vshlq_n_u8(vandq_u8(vshrq_n_u8(h1, 1), one), 4));
				h0 = vshrq_n_u8(h0, 2);
				h1 = vshrq_n_u8(h1, 2);
			}
			const int8_t *q8 = y[i].qs + 64 * p;
			int32x4_t lo = neon_idot(dp, vdupq_n_s32(0), vreinterpretq_s8_u8(la), vld1q_s8(q8));
			lo = neon_idot(dp, lo, vreinterpretq_s8_u8(lb), vld1q_s8(q8 + 16));
			int32x4_t hi = neon_idot(dp, vdupq_n_s32(0), vreinterpretq_s8_u8(ha), vld1q_s8(q8 + 32));
			hi = neon_idot(dp, hi, vreinterpretq_s8_u8(hb), vld1q_s8(q8 + 48));
			sumi = vmlaq_n_s32(sumi, lo, sc[2 * p]);
			sumi = vmlaq_n_s32(sumi, hi, sc[2 * p + 1]);
		}
		const uint16_t d = type == QT_Q4_K ? x4->d : x5->d, dmin = type == QT_Q4_K ? x4->dmin : x5->dmin;
		s += y[i].d * (neon_h2f(d) * (float)vaddvq_s32(sumi) - neon_h2f(dmin) * (float)vaddvq_s32(pm));
	}
	return s;
}

/* Q6_K: in each half of 128 weights, group k of 16 (scale sc[k]) has its
 * low 4 bits in ql[16 (k % 4) ..] (low nibbles for k < 4, high ones
 * after) and its high 2 bits in qh[16 (k % 2) ..] at shift 2 (k / 2); the
 * quants minus 32 are dotted with the activations as signed bytes. */
NEON_INLINE float neon_dot_q6_K(const int dp, int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
	const int8x16_t m32 = vdupq_n_s8(32);
	float s = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int32x4_t sumi = vdupq_n_s32(0);
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
			const int8_t *sc = x[i].scales + 8 * h;
			const int8_t *q8 = y[i].qs + 128 * h;
			const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16);
			const uint8x16_t l2 = vld1q_u8(ql + 32), l3 = vld1q_u8(ql + 48);
			const uint8x16_t g0 = vld1q_u8(qh), g1 = vld1q_u8(qh + 16);
			const uint8x16_t q[8] = {
				vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(g0, 4), m30)),
				vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(g1, 4), m30)),
				vorrq_u8(vandq_u8(l2, m4), vandq_u8(vshlq_n_u8(g0, 2), m30)),
				vorrq_u8(vandq_u8(l3, m4), vandq_u8(vshlq_n_u8(g1, 2), m30)),
				vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(g0, m30)),
				vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(g1, m30)),
				vorrq_u8(vshrq_n_u8(l2, 4), vandq_u8(vshrq_n_u8(g0, 2), m30)),
				vorrq_u8(vshrq_n_u8(l3, 4), vandq_u8(vshrq_n_u8(g1, 2), m30)),
			};
			for (int k = 0; k < 8; k++) {
				const int8x16_t qk = vsubq_s8(vreinterpretq_s8_u8(q[k]), m32);
				const int32x4_t p = neon_idot(dp, vdupq_n_s32(0), qk, vld1q_s8(q8 + 16 * k));
				sumi = vmlaq_n_s32(sumi, p, sc[k]);
			}
		}
		s += neon_h2f(x[i].d) * y[i].d * (float)vaddvq_s32(sumi);
	}
	return s;
}

/* ---- packed products (layout: kern_internal.h) ------------------------ */

/* 4 bytes of an activation record in every int32 lane. */
NEON_INLINE int8x16_t neon_bcast4(const int8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/* The 16 sums of one row group (4 rows per vector) to y[0..nrows). */
NEON_INLINE void neon_store_rows(const float32x4_t f[4], float *y, int64_t nrows)
{
#pragma GCC unroll 4
	for (int h = 0; h < 4; h++) {
		const int64_t left = nrows - 4 * h;
		if (left <= 0)
			break;
		if (left >= 4) {
			vst1q_f32(y + 4 * h, f[h]);
		} else {
			float tmp[4];
			vst1q_f32(tmp, f[h]);
			memcpy(y + 4 * h, tmp, (size_t)left * sizeof(float));
		}
	}
}

/* One packed row group (16 rows: 4 vectors of 4 rows, one int32 lane per
 * row) by T (1 or 2) tokens, records nt apart per block, over nb blocks.
 * Chunk c of a block holds, per row, weights 4c..4c+3 (Q8_0), or those in
 * its low nibbles and 16 + 4c.. in its high ones (Q4_0 / Q4_1, unsigned
 * 0..15): each vector is dotted with the token's 4 matching quants
 * broadcast. Q4_0 adds c = -8 x sum(a) for the nibbles' offset. The
 * block's integer dot is then scaled by d_w x d_a in float (plus m x s
 * for Q4_1). */
NEON_INLINE void neon_tile(const int dp, const int type, const int T, int64_t nb, const uint8_t *w,
			   const struct kern_qa *a, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const int chunks = (int)(qsb / 64);
	const uint8x16_t m4 = vdupq_n_u8(0x0F);
	float32x4_t f[4][2];
#pragma GCC unroll 4
	for (int h = 0; h < 4; h++)
#pragma GCC unroll 2
		for (int t = 0; t < T; t++)
			f[h][t] = vdupq_n_f32(0.0f);
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qa *ab = a + b * nt;
		const uint8_t *q = w + b * qsb;
		int32x4_t acc[4][2];
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++)
#pragma GCC unroll 2
			for (int t = 0; t < T; t++)
				acc[h][t] = vdupq_n_s32(type == QT_Q4_0 ? ab[t].c : 0);
#pragma GCC unroll 8
		for (int c = 0; c < chunks; c++) {
			if (type == QT_Q8_0) {
				int8x16_t av[2];
#pragma GCC unroll 2
				for (int t = 0; t < T; t++)
					av[t] = neon_bcast4(ab[t].qs + 4 * c);
#pragma GCC unroll 4
				for (int h = 0; h < 4; h++) {
					const int8x16_t wv = vld1q_s8((const int8_t *)(q + 64 * c + 16 * h));
#pragma GCC unroll 2
					for (int t = 0; t < T; t++)
						acc[h][t] = neon_idot(dp, acc[h][t], wv, av[t]);
				}
			} else {
				int8x16_t alo[2], ahi[2];
#pragma GCC unroll 2
				for (int t = 0; t < T; t++) {
					alo[t] = neon_bcast4(ab[t].qs + 4 * c);
					ahi[t] = neon_bcast4(ab[t].qs + 16 + 4 * c);
				}
#pragma GCC unroll 4
				for (int h = 0; h < 4; h++) {
					const uint8x16_t raw = vld1q_u8(q + 64 * c + 16 * h);
					const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(raw, m4));
					const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(raw, 4));
#pragma GCC unroll 2
					for (int t = 0; t < T; t++)
						acc[h][t] = neon_idot(dp, neon_idot(dp, acc[h][t], lo, alo[t]), hi, ahi[t]);
				}
			}
		}
		const uint16_t *sc = (const uint16_t *)(w + nb * qsb + b * scb);
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++) {
			const float32x4_t dw = neon_load_f16x4(sc + 4 * h);
#pragma GCC unroll 2
			for (int t = 0; t < T; t++) {
				f[h][t] = vfmaq_f32(f[h][t], vcvtq_f32_s32(acc[h][t]), vmulq_n_f32(dw, ab[t].d));
				if (type == QT_Q4_1)
					f[h][t] = vfmaq_n_f32(f[h][t], neon_load_f16x4(sc + KERN_PACK_ROWS + 4 * h),
							      ab[t].s);
			}
		}
	}
#pragma GCC unroll 4
	for (int h = 0; h < 4; h++) {
		const int64_t left = nrows - 4 * h;
		if (left <= 0)
			break;
#pragma GCC unroll 2
		for (int t = 0; t < T; t++) {
			float *yt = y + t * ldy + 4 * h;
			if (left >= 4) {
				vst1q_f32(yt, f[h][t]);
			} else {
				float tmp[4];
				vst1q_f32(tmp, f[h][t]);
				memcpy(yt, tmp, (size_t)left * sizeof(float));
			}
		}
	}
}

/* ng packed row groups by one panel of nt tokens: one token alone, else
 * two at a time (the last alone when nt is odd). */
NEON_INLINE void neon_gemm(const int dp, const int type, int64_t nb, const void *w, int64_t ng,
			   const void *act, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const struct kern_qa *a = act;
	const size_t gb = kern_pack_group_bytes(type, nb);
	for (int64_t g = 0; g < ng; g++) {
		const uint8_t *wg = (const uint8_t *)w + (size_t)g * gb;
		float *yg = y + g * KERN_PACK_ROWS;
		const int64_t rows = nrows - g * KERN_PACK_ROWS;
		int t = 0;
		for (; t + 2 <= nt; t += 2)
			neon_tile(dp, type, 2, nb, wg, a + t, nt, yg + t * ldy, ldy, rows);
		if (t < nt)
			neon_tile(dp, type, 1, nb, wg, a + t, nt, yg + t * ldy, ldy, rows);
	}
}

/* 4 bytes (unsigned when u, else signed) as int32 lanes. */
NEON_INLINE int32x4_t neon_bytes4(const int u, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	const uint8x8_t b = vreinterpret_u8_u32(vdup_n_u32(v));
	return u ? vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(b))))
		 : vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u8(b))));
}

/* Q4_K: one packed row group by one token (struct kern_qk records nt
 * apart per block). Per pair p of sub-blocks, the 8 chunks of 64 bytes
 * hold each row's weights of sub-block 2p in the low nibbles and of 2p + 1
 * in the high ones: two int32 dots per row, each times the row's 6-bit
 * scale into the block sum; the mins term from the rows' mins (bytes in
 * pairs) and the token's sub-block sums (int16 pairs, x[p]); then d and
 * dmin in float. */
NEON_INLINE void neon_tile_q4_K(const int dp, int64_t nb, const uint8_t *w, const struct kern_qk *a, int nt,
				float *y, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(QT_Q4_K), scb = kern_pack_sc_bytes(QT_Q4_K);
	const uint8x16_t m4 = vdupq_n_u8(0x0F);
	float32x4_t f[4];
#pragma GCC unroll 4
	for (int h = 0; h < 4; h++)
		f[h] = vdupq_n_f32(0.0f);
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qk *ab = a + b * nt;
		const uint8_t *q = w + b * qsb, *sc = w + nb * qsb + b * scb;
		int32x4_t isum[4];
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++)
			isum[h] = vdupq_n_s32(0);
#pragma GCC unroll 4
		for (int p = 0; p < 4; p++) {
			int32x4_t alo[4], ahi[4];
#pragma GCC unroll 4
			for (int h = 0; h < 4; h++)
				alo[h] = ahi[h] = vdupq_n_s32(0);
#pragma GCC unroll 8
			for (int c = 8 * p; c < 8 * p + 8; c++) {
				const int8x16_t al = neon_bcast4(ab->qs + 64 * p + 4 * (c % 8));
				const int8x16_t ah = neon_bcast4(ab->qs + 64 * p + 32 + 4 * (c % 8));
#pragma GCC unroll 4
				for (int h = 0; h < 4; h++) {
					const uint8x16_t raw = vld1q_u8(q + 64 * c + 16 * h);
					alo[h] = neon_idot(dp, alo[h], vreinterpretq_s8_u8(vandq_u8(raw, m4)), al);
					ahi[h] = neon_idot(dp, ahi[h], vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), ah);
				}
			}
#pragma GCC unroll 4
			for (int h = 0; h < 4; h++) {
				const int32x4_t slo = neon_bytes4(1, sc + 64 + 16 * (2 * p) + 4 * h);
				const int32x4_t shi = neon_bytes4(1, sc + 64 + 16 * (2 * p + 1) + 4 * h);
				isum[h] = vmlaq_s32(vmlaq_s32(isum[h], alo[h], slo), ahi[h], shi);
			}
		}
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++) {
			const uint16_t *d = (const uint16_t *)sc;
			int32x4_t ms = vdupq_n_s32(0);
#pragma GCC unroll 4
			for (int i = 0; i < 4; i++) {
				/* rows 4h..4h+3: mins of sub-blocks 2i and 2i + 1, against the
				 * token's sums of those two */
				const int16x8_t mn = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sc + 192 + 32 * i + 8 * h)));
				const int16x8_t xs = vreinterpretq_s16_s32(vdupq_n_s32(ab->x[i]));
				ms = vaddq_s32(ms, vpaddq_s32(vmull_s16(vget_low_s16(mn), vget_low_s16(xs)),
							      vmull_high_s16(mn, xs)));
			}
			f[h] = vfmaq_f32(f[h], vcvtq_f32_s32(isum[h]), vmulq_n_f32(neon_load_f16x4(d + 4 * h), ab->d));
			f[h] = vfmsq_f32(f[h], vcvtq_f32_s32(ms),
					 vmulq_n_f32(neon_load_f16x4(d + KERN_PACK_ROWS + 4 * h), ab->d));
		}
	}
	neon_store_rows(f, y, nrows);
}

/* Q6_K: one packed row group by one token. Per sub-block of 16 (s = 8n
 * + 2qq + m: half n, quarter qq of the half, m its two sixteens) an int32
 * accumulator per row starts at the token's -32 x sum over it (x[s]) and
 * takes 4 dots of the rows' 6-bit quants, built from a ql nibble and two
 * qh bits, with the token's quants; then times the row's int8 scale into
 * the block sum; d in float. */
NEON_INLINE void neon_tile_q6_K(const int dp, int64_t nb, const uint8_t *w, const struct kern_qk *a, int nt,
				float *y, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(QT_Q6_K), scb = kern_pack_sc_bytes(QT_Q6_K);
	const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
	float32x4_t f[4];
#pragma GCC unroll 4
	for (int h = 0; h < 4; h++)
		f[h] = vdupq_n_f32(0.0f);
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qk *ab = a + b * nt;
		const uint8_t *q = w + b * qsb, *sc = w + nb * qsb + b * scb;
		int32x4_t isum[4];
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++)
			isum[h] = vdupq_n_s32(0);
#pragma GCC unroll 2
		for (int n = 0; n < 2; n++)
#pragma GCC unroll 4
			for (int qq = 0; qq < 4; qq++)
#pragma GCC unroll 2
				for (int m = 0; m < 2; m++) {
					const int sb = 8 * n + 2 * qq + m;
					int32x4_t acc[4];
#pragma GCC unroll 4
					for (int h = 0; h < 4; h++)
						acc[h] = vdupq_n_s32(ab->x[sb]);
#pragma GCC unroll 4
					for (int gg = 0; gg < 4; gg++) {
						const int l = 16 * m + 4 * gg;
						const int cl = (64 * n + (qq & 1) * 32 + l) / 4, ch = 32 + (32 * n + l) / 4;
						const int8x16_t av = neon_bcast4(ab->qs + 128 * n + 32 * qq + l);
#pragma GCC unroll 4
						for (int h = 0; h < 4; h++) {
							const uint8x16_t ql = vld1q_u8(q + 64 * cl + 16 * h);
							const uint8x16_t qh = vld1q_u8(q + 64 * ch + 16 * h);
							const uint8x16_t lo = qq < 2 ? vandq_u8(ql, m4) : vshrq_n_u8(ql, 4);
							const uint8x16_t hs = qq == 0 ? vshlq_n_u8(qh, 4)
									    : qq == 1 ? vshlq_n_u8(qh, 2)
									    : qq == 2 ? qh : vshrq_n_u8(qh, 2);
							const uint8x16_t q6 = vorrq_u8(vandq_u8(hs, m30), lo);
							acc[h] = neon_idot(dp, acc[h], vreinterpretq_s8_u8(q6), av);
						}
					}
#pragma GCC unroll 4
					for (int h = 0; h < 4; h++)
						isum[h] = vmlaq_s32(isum[h], acc[h],
								    neon_bytes4(0, sc + 32 + 16 * sb + 4 * h));
				}
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++)
			f[h] = vfmaq_f32(f[h], vcvtq_f32_s32(isum[h]),
					 vmulq_n_f32(neon_load_f16x4((const uint16_t *)sc + 4 * h), ab->d));
	}
	neon_store_rows(f, y, nrows);
}

/* k-quant panels: each group by one token at a time (the 16 rows' int32
 * sums of two sub-blocks, the block sums and the float sums fill the
 * register file for one token). */
NEON_INLINE void neon_gemm_k(const int dp, const int type, int64_t nb, const void *w, int64_t ng,
			     const void *act, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const struct kern_qk *a = act;
	const size_t gb = kern_pack_group_bytes(type, nb);
	for (int64_t g = 0; g < ng; g++) {
		const uint8_t *wg = (const uint8_t *)w + (size_t)g * gb;
		for (int t = 0; t < nt; t++) {
			float *yt = y + t * ldy + g * KERN_PACK_ROWS;
			if (type == QT_Q4_K)
				neon_tile_q4_K(dp, nb, wg, a + t, nt, yt, nrows - g * KERN_PACK_ROWS);
			else
				neon_tile_q6_K(dp, nb, wg, a + t, nt, yt, nrows - g * KERN_PACK_ROWS);
		}
	}
}

#endif
