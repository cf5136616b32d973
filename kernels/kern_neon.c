/*
 * kernels: the NEON backend (AArch64 Advanced SIMD, every AArch64 CPU).
 * Same results as the generic kernels up to float summation order; the
 * dequantizers and the quantizers are bit-identical to the generic ones
 * (Q8_0 / Q8_1: q = x * 127 / max|x| rounded half to even, as FCVTNS
 * rounds; Q8_K: ggml's reference).
 *
 * The integer products (kern_neon.h) use SMULL / SADALP here; where the
 * CPU has the ARMv8.2 dot-product instructions, kern_neon_dotprod.c's
 * backend (listed after this one) replaces them with SDOT.
 */
#include <math.h>

#include "kernels/kern_neon.h"

/* ---- float rows ------------------------------------------------------- */

NEON_INLINE float32x4_t load_bf16x4(const uint16_t *p)
{
	return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = vfmaq_f32(s0, vld1q_f32(x + i), vld1q_f32(y + i));
		s1 = vfmaq_f32(s1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
		s2 = vfmaq_f32(s2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
		s3 = vfmaq_f32(s3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
	}
	for (; i + 4 <= n; i += 4)
		s0 = vfmaq_f32(s0, vld1q_f32(x + i), vld1q_f32(y + i));
	float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(x + i));
		s0 = vfmaq_f32(s0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(y + i));
		s1 = vfmaq_f32(s1, vcvt_high_f32_f16(h), vld1q_f32(y + i + 4));
	}
	float s = vaddvq_f32(vaddq_f32(s0, s1));
	for (; i < n; i++)
		s += neon_h2f(x[i]) * y[i];
	return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		s0 = vfmaq_f32(s0, load_bf16x4(x + i), vld1q_f32(y + i));
		s1 = vfmaq_f32(s1, load_bf16x4(x + i + 4), vld1q_f32(y + i + 4));
	}
	float s = vaddvq_f32(vaddq_f32(s0, s1));
	for (; i < n; i++)
		s += kern_bf16_to_fp32(x[i]) * y[i];
	return s;
}

static void deq_f16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(dst + i, neon_load_f16x4(x + i));
	for (; i < n; i++)
		dst[i] = neon_h2f(x[i]);
}

static void deq_bf16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(dst + i, load_bf16x4(x + i));
	for (; i < n; i++)
		dst[i] = kern_bf16_to_fp32(x[i]);
}

/* ---- 32-weight blocks: dequantize --------------------------------------- */

/* 16 int8 as floats times d, plus m when add_m (Q4_1): dst[0..15]. The
 * product and the sum round separately, as in the generic code. */
NEON_INLINE void store_i8x16(float *dst, int8x16_t q, float d, const int add_m, float m)
{
	const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
	const int32x4_t v[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo), vmovl_s16(vget_low_s16(hi)),
				vmovl_high_s16(hi)};
	for (int k = 0; k < 4; k++) {
		float32x4_t f = vmulq_n_f32(vcvtq_f32_s32(v[k]), d);
		if (add_m)
			f = vaddq_f32(f, vdupq_n_f32(m));
		vst1q_f32(dst + 4 * k, f);
	}
}

static void deq_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		int8x16_t lo, hi;
		neon_nibbles(x[i].qs, &lo, &hi);
		const float d = neon_h2f(x[i].d);
		store_i8x16(dst + 32 * i, vsubq_s8(lo, vdupq_n_s8(8)), d, 0, 0.0f);
		store_i8x16(dst + 32 * i + 16, vsubq_s8(hi, vdupq_n_s8(8)), d, 0, 0.0f);
	}
}

static void deq_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		int8x16_t lo, hi;
		neon_nibbles(x[i].qs, &lo, &hi);
		const float d = neon_h2f(x[i].d), m = neon_h2f(x[i].m);
		store_i8x16(dst + 32 * i, lo, d, 1, m);
		store_i8x16(dst + 32 * i + 16, hi, d, 1, m);
	}
}

static void deq_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		int8x16_t lo, hi;
		neon_nibbles(x[i].qs, &lo, &hi);
		const float d = neon_h2f(x[i].d);
		store_i8x16(dst + 32 * i, vsubq_s8(vorrq_s8(lo, neon_bits16(qh)), vdupq_n_s8(16)), d, 0, 0.0f);
		store_i8x16(dst + 32 * i + 16, vsubq_s8(vorrq_s8(hi, neon_bits16(qh >> 16)), vdupq_n_s8(16)), d,
			    0, 0.0f);
	}
}

static void deq_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = neon_h2f(x[i].d);
		store_i8x16(dst + 32 * i, vld1q_s8(x[i].qs), d, 0, 0.0f);
		store_i8x16(dst + 32 * i + 16, vld1q_s8(x[i].qs + 16), d, 0, 0.0f);
	}
}

/* ---- integer products (kern_neon.h, without SDOT) ----------------------- */

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(0, QT_Q4_0, n, w, a);
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	return neon_dot32(0, QT_Q4_1, n, w, a);
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(0, QT_Q5_0, n, w, a);
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(0, QT_Q8_0, n, w, a);
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q45_K(0, QT_Q4_K, n, w, a);
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q45_K(0, QT_Q5_K, n, w, a);
}

static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q6_K(0, n, w, a);
}

static void gemm_q4_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(0, QT_Q4_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_1(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(0, QT_Q4_1, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q8_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(0, QT_Q8_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm_k(0, QT_Q4_K, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q6_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm_k(0, QT_Q6_K, nb, w, ng, a, nt, y, ldy, nrows);
}

/* ---- quantize activations --------------------------------------------- */

/* 8 x 4 int32 (each within -127..127) to 32 int8 in order. */
NEON_INLINE void store_i32x32(int8_t *qs, const int32x4_t v[8])
{
	for (int k = 0; k < 2; k++) {
		const int16x8_t a = vcombine_s16(vqmovn_s32(v[4 * k]), vqmovn_s32(v[4 * k + 1]));
		const int16x8_t b = vcombine_s16(vqmovn_s32(v[4 * k + 2]), vqmovn_s32(v[4 * k + 3]));
		vst1q_s8(qs + 16 * k, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
	}
}

/* One Q8_0 / Q8_1 block of 32 floats: the quants, d = max|x| / 127 (before
 * F16 rounding) and the sum of the quants. */
NEON_INLINE void q8_block(const float *x, int8_t *qs, float *d_out, int *sum_out)
{
	float32x4_t v[8], amax = vdupq_n_f32(0.0f);
	for (int k = 0; k < 8; k++) {
		v[k] = vld1q_f32(x + 4 * k);
		amax = vmaxq_f32(amax, vabsq_f32(v[k]));
	}
	const float m = vmaxvq_f32(amax);
	const float d = m / 127.0f, id = m != 0.0f ? 127.0f / m : 0.0f;
	int32x4_t iv[8], sum = vdupq_n_s32(0);
	for (int k = 0; k < 8; k++) {
		iv[k] = vcvtnq_s32_f32(vmulq_n_f32(v[k], id));  /* round half to even */
		sum = vaddq_s32(sum, iv[k]);
	}
	store_i32x32(qs, iv);
	*d_out = d;
	*sum_out = vaddvq_s32(sum);
}

static void quant_q8_0(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	for (int64_t i = 0; i < n / 32; i++) {
		float d;
		int sum;
		q8_block(x + 32 * i, y[i].qs, &d, &sum);
		y[i].d = kern_fp32_to_fp16(d);
	}
}

static void quant_q8_1(const float *x, void *dst, int64_t n)
{
	struct block_q8_1 *y = dst;
	for (int64_t i = 0; i < n / 32; i++) {
		float d;
		int sum;
		q8_block(x + 32 * i, y[i].qs, &d, &sum);
		y[i].d = kern_fp32_to_fp16(d);
		y[i].s = kern_fp32_to_fp16((float)sum * d);
	}
}

/* ggml's quantize_row_q8_K_ref: the first value of largest magnitude maps
 * to -127, round half to even, clamp at 127; bsums of each 16 quants. */
static void quant_q8_K(const float *x, void *dst, int64_t n)
{
	struct block_q8_K *y = dst;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float *xb = x + i * QK_K;
		float32x4_t amaxv = vdupq_n_f32(0.0f);
		for (int k = 0; k < QK_K; k += 4)
			amaxv = vmaxq_f32(amaxv, vabsq_f32(vld1q_f32(xb + k)));
		const float amax = vmaxvq_f32(amaxv);
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		float max = 0;
		for (int k = 0; k < QK_K; k++)
			if (fabsf(xb[k]) == amax) {
				max = xb[k];
				break;
			}
		const float iscale = -127.0f / max;
		const int32x4_t lim = vdupq_n_s32(127);
		for (int k = 0; k < QK_K; k += 32) {
			int32x4_t iv[8];
			for (int l = 0; l < 8; l++)
				iv[l] = vminq_s32(lim, vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + k + 4 * l), iscale)));
			store_i32x32(y[i].qs + k, iv);
			y[i].bsums[k / 16] = vaddlvq_s8(vld1q_s8(y[i].qs + k));
			y[i].bsums[k / 16 + 1] = vaddlvq_s8(vld1q_s8(y[i].qs + k + 16));
		}
		y[i].d = 1.0f / iscale;
	}
}

/* Activation records of the packed products: the Q8_0 / Q8_1
 * quantization above plus the term the tile needs (Q4_0: c = -8 x
 * sum(q); Q8_0: c = -128 x sum(q), as the other backends' records, though
 * the NEON tile multiplies signed bytes and leaves it unused). */
static void qact_q4_0(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		struct kern_qa *r = &dst[b * stride];
		float d;
		int sum;
		q8_block(x + 32 * b, r->qs, &d, &sum);
		r->d = neon_h2f(kern_fp32_to_fp16(d));
		r->c = -8 * sum;
	}
}

static void qact_q8_0(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		struct kern_qa *r = &dst[b * stride];
		float d;
		int sum;
		q8_block(x + 32 * b, r->qs, &d, &sum);
		r->d = neon_h2f(kern_fp32_to_fp16(d));
		r->c = -128 * sum;
	}
}

static void qact_q4_1(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		struct kern_qa *r = &dst[b * stride];
		float d;
		int sum;
		q8_block(x + 32 * b, r->qs, &d, &sum);
		r->d = neon_h2f(kern_fp32_to_fp16(d));
		r->s = neon_h2f(kern_fp32_to_fp16((float)sum * d));
	}
}

/* k-quant activation records: the Q8_K quantization plus the sums the
 * packed tiles read (Q4_K: each 32 quants' sum as int16 pairs; Q6_K: -32 x
 * each 16's). */
static void qact_k(int type, const float *x, int64_t n, struct kern_qk *dst, int64_t stride)
{
	for (int64_t b = 0; b < n / QK_K; b++) {
		struct block_q8_K q;
		struct kern_qk *r = &dst[b * stride];
		quant_q8_K(x + b * QK_K, &q, QK_K);
		memcpy(r->qs, q.qs, QK_K);
		r->d = q.d;
		memset(r->x, 0, sizeof r->x);
		for (int i = 0; type == QT_Q4_K && i < 4; i++) {
			const int s0 = q.bsums[4 * i] + q.bsums[4 * i + 1];
			const int s1 = q.bsums[4 * i + 2] + q.bsums[4 * i + 3];
			r->x[i] = (int32_t)((uint32_t)(uint16_t)s0 | (uint32_t)(uint16_t)s1 << 16);
		}
		for (int j = 0; type == QT_Q6_K && j < 16; j++)
			r->x[j] = -32 * q.bsums[j];
	}
}

static void qact_q4_K(const float *x, int64_t n, void *out, int64_t stride)
{
	qact_k(QT_Q4_K, x, n, out, stride);
}

static void qact_q6_K(const float *x, int64_t n, void *out, int64_t stride)
{
	qact_k(QT_Q6_K, x, n, out, stride);
}

/* ---- attention's V sums and SwiGLU ------------------------------------ */

static void axpy_f32(int64_t n, float a, const void *x, float *y)
{
	const float *v = x;
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(v + i), a));
	for (; i < n; i++)
		y[i] += a * v[i];
}

static void axpy_f16(int64_t n, float a, const void *x, float *y)
{
	const uint16_t *v = x;
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), neon_load_f16x4(v + i), a));
	for (; i < n; i++)
		y[i] += a * neon_h2f(v[i]);
}

/* e^x for x clamped to [-87, 88] (e^-87 is still a normal float; beyond
 * either end SiLU's quotient is the same to far below its tolerance):
 * x = n ln2 + r (ln2 in two parts, |r| <= ln2 / 2), e^r by its Taylor
 * series to r^7 (relative error below 2e-8 there), times 2^n built in
 * the exponent field. */
NEON_INLINE float32x4_t exp_f32x4(float32x4_t x)
{
	x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.0f)), vdupq_n_f32(88.0f));
	const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
	float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
	r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
	float32x4_t p = vdupq_n_f32(1.0f / 5040);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
	p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
	const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
	return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* out = silu(gate) * up = gate / (1 + e^-gate) * up; out may alias. */
static void swiglu(float *out, const float *gate, const float *up, int64_t n)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		const float32x4_t g = vld1q_f32(gate + i);
		const float32x4_t e = exp_f32x4(vnegq_f32(g));
		const float32x4_t si = vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e));
		vst1q_f32(out + i, vmulq_f32(si, vld1q_f32(up + i)));
	}
	for (; i < n; i++) {
		const float g = gate[i];
		out[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

const struct kern_backend kern_backend_neon = {
	.name = "neon",
	.requires = KERN_F_NEON,
	.to_float = {
		[QT_F16] = deq_f16, [QT_BF16] = deq_bf16,
		[QT_Q4_0] = deq_q4_0, [QT_Q4_1] = deq_q4_1, [QT_Q5_0] = deq_q5_0,
		[QT_Q8_0] = deq_q8_0,
	},
	.quantize = {
		[QT_Q8_0] = quant_q8_0, [QT_Q8_1] = quant_q8_1, [QT_Q8_K] = quant_q8_K,
	},
	.dot = {
		[QT_F32] = dot_f32, [QT_F16] = dot_f16, [QT_BF16] = dot_bf16,
		[QT_Q4_0] = dot_q4_0, [QT_Q4_1] = dot_q4_1, [QT_Q5_0] = dot_q5_0,
		[QT_Q8_0] = dot_q8_0,
		[QT_Q4_K] = dot_q4_K, [QT_Q5_K] = dot_q5_K, [QT_Q6_K] = dot_q6_K,
	},
	.axpy = {[QT_F32] = axpy_f32, [QT_F16] = axpy_f16},
	.qact = {[QT_Q4_0] = qact_q4_0, [QT_Q4_1] = qact_q4_1, [QT_Q8_0] = qact_q8_0,
		 [QT_Q4_K] = qact_q4_K, [QT_Q6_K] = qact_q6_K},
	.gemm = {[QT_Q4_0] = gemm_q4_0, [QT_Q4_1] = gemm_q4_1, [QT_Q8_0] = gemm_q8_0,
		 [QT_Q4_K] = gemm_q4_K, [QT_Q6_K] = gemm_q6_K},
	.swiglu = swiglu,
};
