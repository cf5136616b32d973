/*
 * kernels: the AVX2 backend (AVX2 + FMA + F16C). Same results as the
 * generic kernels up to float summation order; the quantizers are
 * bit-identical to the generic ones (round half away from zero for
 * Q8_0/Q8_1, half to even for Q8_K, as ggml's reference quantizers).
 *
 * Integer products use maddubs (unsigned x signed bytes to int16 pairs):
 * signed x signed pairs go through abs/sign; block and sub-block scales
 * enter through madd with int16 scale vectors.
 */
#include <immintrin.h>
#include <math.h>

#include "kernels/kern_internal.h"

static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline int hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
	return _mm_cvtsi128_si32(s);
}

static inline float h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* 16 bytes of nibbles to 32 bytes: low nibbles first, then high ones. */
static inline __m256i nibbles32(const uint8_t *qs)
{
	const __m128i t = _mm_loadu_si128((const __m128i *)qs);
	const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
	return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* Byte j = 0xFF where bit j of x is set. */
static inline __m256i bits32(uint32_t x)
{
	const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
					      2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
	const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
	return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* Sum of products of unsigned x and signed y bytes, as 8 int32. */
static inline __m256i dot_u8i8(__m256i x, __m256i y)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
}

/* Signed x signed bytes (neither -128 where the other is negative). */
static inline __m256i dot_i8i8(__m256i x, __m256i y)
{
	return dot_u8i8(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
}

/* ---- float rows ------------------------------------------------------- */

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
	}
	float s = hsum_ps(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static inline __m256 load_f16(const uint16_t *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256 load_bf16(const uint16_t *p)
{
	const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
	return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(load_f16(x + i), _mm256_loadu_ps(y + i), s0);
		s1 = _mm256_fmadd_ps(load_f16(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
	}
	float s = hsum_ps(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += h2f(x[i]) * y[i];
	return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(load_bf16(x + i), _mm256_loadu_ps(y + i), s0);
		s1 = _mm256_fmadd_ps(load_bf16(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
	}
	float s = hsum_ps(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += kern_bf16_to_fp32(x[i]) * y[i];
	return s;
}

static void deq_f16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, load_f16(x + i));
	for (; i < n; i++)
		dst[i] = h2f(x[i]);
}

static void deq_bf16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, load_bf16(x + i));
	for (; i < n; i++)
		dst[i] = kern_bf16_to_fp32(x[i]);
}

/* ---- 32-weight blocks ------------------------------------------------- */

/* 32 int8 of a block as 4 float vectors, times d. */
static inline void store_i8x32(float *dst, __m256i q, float d)
{
	const __m256 vd = _mm256_set1_ps(d);
	const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
	_mm256_storeu_ps(dst, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
	_mm256_storeu_ps(dst + 8, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(
		_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
	_mm256_storeu_ps(dst + 16, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
	_mm256_storeu_ps(dst + 24, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(
		_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

static void deq_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const __m256i q = _mm256_sub_epi8(nibbles32(x[i].qs), _mm256_set1_epi8(8));
		store_i8x32(dst + 32 * i, q, h2f(x[i].d));
	}
}

static void deq_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		store_i8x32(dst + 32 * i, nibbles32(x[i].qs), h2f(x[i].d));
		const __m256 m = _mm256_set1_ps(h2f(x[i].m));
		for (int k = 0; k < 32; k += 8)
			_mm256_storeu_ps(dst + 32 * i + k, _mm256_add_ps(_mm256_loadu_ps(dst + 32 * i + k), m));
	}
}

static void deq_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		__m256i q = _mm256_or_si256(nibbles32(x[i].qs),
					    _mm256_and_si256(bits32(qh), _mm256_set1_epi8(0x10)));
		store_i8x32(dst + 32 * i, _mm256_sub_epi8(q, _mm256_set1_epi8(16)), h2f(x[i].d));
	}
}

static void deq_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++)
		store_i8x32(dst + 32 * i, _mm256_loadu_si256((const __m256i *)x[i].qs), h2f(x[i].d));
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	const struct block_q4_0 *x = w;
	const struct block_q8_0 *y = a;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	const int64_t nb = n / 32;
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		const __m256i q0 = _mm256_sub_epi8(nibbles32(x[i].qs), _mm256_set1_epi8(8));
		const __m256i q1 = _mm256_sub_epi8(nibbles32(x[i + 1].qs), _mm256_set1_epi8(8));
		const __m256i p0 = dot_i8i8(q0, _mm256_loadu_si256((const __m256i *)y[i].qs));
		const __m256i p1 = dot_i8i8(q1, _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
				       _mm256_cvtepi32_ps(p1), acc1);
	}
	for (; i < nb; i++) {
		const __m256i q0 = _mm256_sub_epi8(nibbles32(x[i].qs), _mm256_set1_epi8(8));
		const __m256i p0 = dot_i8i8(q0, _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
	}
	return hsum_ps(_mm256_add_ps(acc0, acc1));
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	const struct block_q4_1 *x = w;
	const struct block_q8_1 *y = a;
	__m256 acc = _mm256_setzero_ps();
	float summ = 0;
	for (int64_t i = 0; i < n / 32; i++) {
		const __m256i p = dot_u8i8(nibbles32(x[i].qs), _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
		summ += h2f(x[i].m) * h2f(y[i].s);
	}
	return hsum_ps(acc) + summ;
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	const struct block_q5_0 *x = w;
	const struct block_q8_0 *y = a;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		__m256i q = _mm256_or_si256(nibbles32(x[i].qs),
					    _mm256_and_si256(bits32(qh), _mm256_set1_epi8(0x10)));
		q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
		const __m256i p = dot_i8i8(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
	}
	return hsum_ps(acc);
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	const struct block_q8_0 *x = w;
	const struct block_q8_0 *y = a;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	const int64_t nb = n / 32;
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		const __m256i p0 = dot_i8i8(_mm256_loadu_si256((const __m256i *)x[i].qs),
					    _mm256_loadu_si256((const __m256i *)y[i].qs));
		const __m256i p1 = dot_i8i8(_mm256_loadu_si256((const __m256i *)x[i + 1].qs),
					    _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
				       _mm256_cvtepi32_ps(p1), acc1);
	}
	for (; i < nb; i++) {
		const __m256i p0 = dot_i8i8(_mm256_loadu_si256((const __m256i *)x[i].qs),
					    _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
	}
	return hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* ---- k-quants --------------------------------------------------------- */

/* int16 scale vector: sa for the low 128-bit lane, sb for the high one. */
static inline __m256i scale2(int sa, int sb)
{
	return _mm256_set_m128i(_mm_set1_epi16((short)sb), _mm_set1_epi16((short)sa));
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y = a;
	__m256 acc = _mm256_setzero_ps(), accmv = _mm256_setzero_ps();
	const __m256i m4 = _mm256_set1_epi8(0x0F);
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		kern_k4_scales(x[i].scales, sc, mn);
		/* sum_j mins_j * (sum of the q8 of sub-block j), from bsums */
		const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums),
						     _mm256_set1_epi16(1));
		const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)mn));
		accmv = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].dmin) * y[i].d),
					_mm256_cvtepi32_ps(_mm256_mullo_epi32(mins, bs)), accmv);
		__m256i sumi = _mm256_setzero_si256();
		for (int p = 0; p < 4; p++) {
			const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
			const __m256i lo = _mm256_and_si256(q, m4);
			const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
			const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * p));
			const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * p + 32));
			const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0),
							     _mm256_set1_epi16(sc[2 * p]));
			const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1),
							     _mm256_set1_epi16(sc[2 * p + 1]));
			sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
	}
	return hsum_ps(acc) - hsum_ps(accmv);
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	const struct block_q5_K *x = w;
	const struct block_q8_K *y = a;
	__m256 acc = _mm256_setzero_ps(), accmv = _mm256_setzero_ps();
	const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		kern_k4_scales(x[i].scales, sc, mn);
		/* sum_j mins_j * (sum of the q8 of sub-block j), from bsums */
		const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums),
						     _mm256_set1_epi16(1));
		const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)mn));
		accmv = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].dmin) * y[i].d),
					_mm256_cvtepi32_ps(_mm256_mullo_epi32(mins, bs)), accmv);
		__m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
		__m256i sumi = _mm256_setzero_si256();
		for (int p = 0; p < 4; p++) {
			const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
			const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, one), 4);
			const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4);
			hb = _mm256_srli_epi16(hb, 2);
			const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
			const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
			const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * p));
			const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * p + 32));
			const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0),
							     _mm256_set1_epi16(sc[2 * p]));
			const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1),
							     _mm256_set1_epi16(sc[2 * p + 1]));
			sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
	}
	return hsum_ps(acc) - hsum_ps(accmv);
}

/* Q6_K: unsigned 6-bit values (0..63) dotted with q8, scaled per group of
 * 16; the -32 offset comes back as 32 * sum_g sc_g * bsums_g. */
static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	__m256 acc = _mm256_setzero_ps();
	const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *sc = x[i].scales;
		int off = 0;
		for (int g = 0; g < 16; g++)
			off += sc[g] * y[i].bsums[g];
		__m256i sumi = _mm256_setzero_si256();
		for (int h = 0; h < 2; h++) {
			const __m256i qa = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
			const __m256i qb = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
			const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
			const __m256i q[4] = {
				_mm256_or_si256(_mm256_and_si256(qa, m4),
						_mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)),
				_mm256_or_si256(_mm256_and_si256(qb, m4),
						_mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4)),
				_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4),
						_mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4)),
				_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4),
						_mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4)),
			};
			for (int k = 0; k < 4; k++) {
				const __m256i yk = _mm256_loadu_si256((const __m256i *)(y[i].qs + 128 * h + 32 * k));
				const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yk),
								    scale2(sc[8 * h + 2 * k], sc[8 * h + 2 * k + 1]));
				sumi = _mm256_add_epi32(sumi, p);
			}
		}
		sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(32 * off, 0, 0, 0, 0, 0, 0, 0));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
	}
	return hsum_ps(acc);
}

/* ---- quantize activations --------------------------------------------- */

static inline float hmax_ps(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

/* 4 x 8 int32 to 32 int8 in order. */
static inline __m256i pack_i32x32(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
	const __m256i a = _mm256_packs_epi32(v0, v1), b = _mm256_packs_epi32(v2, v3);
	return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One Q8_0/Q8_1 block of 32 floats: the quants, d, and sum of quants. */
static inline void q8_block(const float *x, int8_t *qs, float *d_out, int *sum_out)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 v[4];
	__m256 amax = _mm256_setzero_ps();
	for (int k = 0; k < 4; k++) {
		v[k] = _mm256_loadu_ps(x + 8 * k);
		amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
	}
	const float m = hmax_ps(amax);
	const float d = m / 127.0f, id = m != 0.0f ? 127.0f / m : 0.0f;
	const __m256 vid = _mm256_set1_ps(id);
	__m256i iv[4];
	for (int k = 0; k < 4; k++)  /* round half to even (MXCSR default) */
		iv[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
	_mm256_storeu_si256((__m256i *)qs, pack_i32x32(iv[0], iv[1], iv[2], iv[3]));
	*d_out = d;
	if (sum_out)
		*sum_out = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(iv[0], iv[1]),
						       _mm256_add_epi32(iv[2], iv[3])));
}

static void quant_q8_0(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	for (int64_t i = 0; i < n / 32; i++) {
		float d;
		q8_block(x + 32 * i, y[i].qs, &d, NULL);
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

static void quant_q8_K(const float *x, void *dst, int64_t n)
{
	struct block_q8_K *y = dst;
	const __m256 sign = _mm256_set1_ps(-0.0f);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float *xb = x + i * QK_K;
		__m256 amaxv = _mm256_setzero_ps();
		for (int k = 0; k < QK_K; k += 8)
			amaxv = _mm256_max_ps(amaxv, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + k)));
		const float amax = hmax_ps(amaxv);
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		/* the first value of largest magnitude, as the reference picks */
		float max = 0;
		const __m256 va = _mm256_set1_ps(amax);
		for (int k = 0; k < QK_K; k += 8) {
			const __m256 ax = _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + k));
			const int m = _mm256_movemask_ps(_mm256_cmp_ps(ax, va, _CMP_EQ_OQ));
			if (m) {
				max = xb[k + __builtin_ctz((unsigned)m)];
				break;
			}
		}
		const float iscale = -127.0f / max;
		const __m256 vs = _mm256_set1_ps(iscale);
		const __m256i lim = _mm256_set1_epi32(127);
		for (int k = 0; k < QK_K; k += 32) {
			__m256i iv[4];
			for (int l = 0; l < 4; l++)
				iv[l] = _mm256_min_epi32(lim, _mm256_cvtps_epi32(
					_mm256_mul_ps(vs, _mm256_loadu_ps(xb + k + 8 * l))));
			const __m256i q = pack_i32x32(iv[0], iv[1], iv[2], iv[3]);
			_mm256_storeu_si256((__m256i *)(y[i].qs + k), q);
			/* sums of each 16 quants */
			__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
						      _mm256_set1_epi16(1));
			s = _mm256_hadd_epi32(s, s);
			s = _mm256_hadd_epi32(s, s);
			y[i].bsums[k / 16] = (int16_t)_mm256_extract_epi32(s, 0);
			y[i].bsums[k / 16 + 1] = (int16_t)_mm256_extract_epi32(s, 4);
		}
		y[i].d = 1.0f / iscale;
	}
}

/* ---- packed products (layout: kern_internal.h) ------------------------ */

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __m256i bcast4(const int8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return _mm256_set1_epi32(v);
}

/* H halves of one row group (8 rows each, one int32 lane per row; the
 * half h0 first) x T tokens (records nt apart per block) over nb blocks.
 * Q4: vpmaddubsw of the unsigned nibbles with the token's 4 matching bytes
 * broadcast, the int16 pair sums of all 8 operands of a block added
 * (|sum| <= 8 x 2 x 15 x 128 = 30720, no saturation), then one vpmaddwd
 * to int32 and the -8 x sum term for Q4_0. Q8_0: signed x signed through
 * abs / sign, to int32 after each product. Then the block's integer dot
 * is scaled in float as in the AVX-512 tile. */
static ALWAYS_INLINE void tile(const int type, const int H, const int T, int64_t nb, const uint8_t *w,
			       int h0, const struct kern_qa *a, int nt, float *y, int64_t ldy,
			       int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const int chunks = (int)(qsb / 64);
	const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
	__m256 f[H][T];
#pragma GCC unroll 8
	for (int h = 0; h < H; h++)
#pragma GCC unroll 8
		for (int t = 0; t < T; t++)
			f[h][t] = _mm256_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qa *ab = a + b * nt;
		const uint8_t *q = w + b * qsb + 32 * h0;
		__m256i acc[H][T];
		if (T == 1) {
			/* decode: a few KiB ahead of the stream (as the AVX-512 tile) */
#pragma GCC unroll 8
			for (int c = 0; c < chunks; c++)
				_mm_prefetch((const char *)(w + (b + 16) * qsb + 64 * c), _MM_HINT_T0);
		}
		if (type == QT_Q8_0) {
#pragma GCC unroll 8
			for (int h = 0; h < H; h++)
#pragma GCC unroll 8
				for (int t = 0; t < T; t++)
					acc[h][t] = _mm256_setzero_si256();
#pragma GCC unroll 8
			for (int c = 0; c < chunks; c++) {
#pragma GCC unroll 8
				for (int h = 0; h < H; h++) {
					const __m256i wv = _mm256_load_si256((const __m256i *)(q + 64 * c + 32 * h));
					const __m256i aw = _mm256_abs_epi8(wv);
#pragma GCC unroll 8
					for (int t = 0; t < T; t++) {
						const __m256i sa = _mm256_sign_epi8(bcast4(ab[t].qs + 4 * c), wv);
						acc[h][t] = _mm256_add_epi32(acc[h][t], _mm256_madd_epi16(
							_mm256_maddubs_epi16(aw, sa), ones));
					}
				}
			}
		} else {
			__m256i s16[H][T];
#pragma GCC unroll 8
			for (int c = 0; c < chunks; c++) {
#pragma GCC unroll 8
				for (int h = 0; h < H; h++) {
					const __m256i raw = _mm256_load_si256((const __m256i *)(q + 64 * c + 32 * h));
					const __m256i lo = _mm256_and_si256(raw, m4);
					const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
#pragma GCC unroll 8
					for (int t = 0; t < T; t++) {
						const __m256i p = _mm256_add_epi16(
							_mm256_maddubs_epi16(lo, bcast4(ab[t].qs + 4 * c)),
							_mm256_maddubs_epi16(hi, bcast4(ab[t].qs + 16 + 4 * c)));
						s16[h][t] = c ? _mm256_add_epi16(s16[h][t], p) : p;
					}
				}
			}
#pragma GCC unroll 8
			for (int h = 0; h < H; h++)
#pragma GCC unroll 8
				for (int t = 0; t < T; t++) {
					acc[h][t] = _mm256_madd_epi16(s16[h][t], ones);
					if (type == QT_Q4_0)
						acc[h][t] = _mm256_add_epi32(acc[h][t], _mm256_set1_epi32(ab[t].c));
				}
		}
#pragma GCC unroll 8
		for (int h = 0; h < H; h++) {
			const uint16_t *sc = (const uint16_t *)(w + nb * qsb + b * scb) + 8 * (h0 + h);
			const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sc));
			const __m256 mw = type == QT_Q4_1
				? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sc + KERN_PACK_ROWS)))
				: _mm256_setzero_ps();
#pragma GCC unroll 8
			for (int t = 0; t < T; t++) {
				f[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[h][t]),
							  _mm256_mul_ps(dw, _mm256_set1_ps(ab[t].d)), f[h][t]);
				if (type == QT_Q4_1)
					f[h][t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(ab[t].s), f[h][t]);
			}
		}
	}
#pragma GCC unroll 8
	for (int h = 0; h < H; h++) {
		const int64_t left = nrows - 8 * (h0 + h);
		if (left <= 0)
			break;
#pragma GCC unroll 8
		for (int t = 0; t < T; t++) {
			float *yt = y + t * ldy + 8 * (h0 + h);
			if (left >= 8) {
				_mm256_storeu_ps(yt, f[h][t]);
			} else {
				float tmp[8];
				_mm256_storeu_ps(tmp, f[h][t]);
				memcpy(yt, tmp, (size_t)left * sizeof(float));
			}
		}
	}
}

/* One row group by one panel: both halves at once for one or two
 * tokens, else one half by four (then the rest) tokens at a time. */
static ALWAYS_INLINE void group(const int type, int64_t nb, const uint8_t *w, const struct kern_qa *a,
				int nt, float *y, int64_t ldy, int64_t nrows)
{
	if (nt == 1) {
		tile(type, 2, 1, nb, w, 0, a, 1, y, ldy, nrows);
		return;
	}
	if (nt == 2) {
		tile(type, 2, 2, nb, w, 0, a, 2, y, ldy, nrows);
		return;
	}
	for (int h = 0; h < 2; h++) {
		int t = 0;
		for (; t + 4 <= nt; t += 4)
			tile(type, 1, 4, nb, w, h, a + t, nt, y + t * ldy, ldy, nrows);
		switch (nt - t) {
		case 3: tile(type, 1, 3, nb, w, h, a + t, nt, y + t * ldy, ldy, nrows); break;
		case 2: tile(type, 1, 2, nb, w, h, a + t, nt, y + t * ldy, ldy, nrows); break;
		case 1: tile(type, 1, 1, nb, w, h, a + t, nt, y + t * ldy, ldy, nrows); break;
		default: break;
		}
	}
}

static ALWAYS_INLINE void gemm_type(const int type, int64_t nb, const void *w, int64_t ng,
				    const void *act, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const struct kern_qa *a = act;
	const size_t gb = kern_pack_group_bytes(type, nb);
	for (int64_t g = 0; g < ng; g++)
		group(type, nb, (const uint8_t *)w + g * gb, a, nt, y + g * KERN_PACK_ROWS, ldy,
		      nrows - g * KERN_PACK_ROWS);
}

static void gemm_q4_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_type(QT_Q4_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_1(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_type(QT_Q4_1, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q8_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_type(QT_Q8_0, nb, w, ng, a, nt, y, ldy, nrows);
}

/* Activation records: the Q8_0 / Q8_1 quantization above plus the term
 * the packed tile needs. */
static void qact_q4_0(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		struct kern_qa *r = &dst[b * stride];
		float d;
		int sum;
		q8_block(x + 32 * b, r->qs, &d, &sum);
		r->d = h2f(kern_fp32_to_fp16(d));
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
		r->d = h2f(kern_fp32_to_fp16(d));
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
		r->d = h2f(kern_fp32_to_fp16(d));
		r->s = h2f(kern_fp32_to_fp16((float)sum * d));
	}
}

static void axpy_f32(int64_t n, float a, const void *x, float *y)
{
	const float *v = x;
	const __m256 va = _mm256_set1_ps(a);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(v + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * v[i];
}

static void axpy_f16(int64_t n, float a, const void *x, float *y)
{
	const uint16_t *v = x;
	const __m256 va = _mm256_set1_ps(a);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(v + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * kern_h2f(v[i]);
}

const struct kern_backend kern_backend_avx2 = {
	.name = "avx2",
	.requires = KERN_F_AVX2,
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
	.qact = {[QT_Q4_0] = qact_q4_0, [QT_Q4_1] = qact_q4_1, [QT_Q8_0] = qact_q8_0},
	.gemm = {[QT_Q4_0] = gemm_q4_0, [QT_Q4_1] = gemm_q4_1, [QT_Q8_0] = gemm_q8_0},
};
