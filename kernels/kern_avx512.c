/*
 * kernels: the AVX-512 backend (F + BW + VL + VNNI; a CPU with AVX-512
 * but no VNNI uses the AVX2 backend). Two 32-weight blocks per 512-bit
 * register; unsigned x signed byte products through VNNI vpdpbusd, and
 * k-quant sub-block scales through vpmaddubsw + vpdpwssd. Results equal
 * the generic kernels up to float summation order; the quantizers are
 * bit-identical to the generic ones.
 */
/* every AVX-512 CPU has F16C; the Makefile flags for *_avx512.c lack it */
#pragma GCC target("f16c")
#include <immintrin.h>
#include <math.h>

#include "kernels/kern_internal.h"


static inline float h2f(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* A float vector: a in the low 8 lanes, b in the high 8. */
static inline __m512 set2_ps(float a, float b)
{
	const __m512d lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_set1_ps(a)));
	return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_set1_ps(b)), 1));
}

static inline __m512i set2_256(__m256i a, __m256i b)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/* Two blocks of 16 nibble bytes: [a low, a high, b low, b high]. */
static inline __m512i nibbles64(const uint8_t *qa, const uint8_t *qb)
{
	const __m256i ab = _mm256_inserti128_si256(
		_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)qa)),
		_mm_loadu_si128((const __m128i *)qb), 1);
	/* [a, a, b, b], then the odd 128-bit lanes shifted down a nibble */
	const __m512i t = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3),
						   _mm512_castsi256_si512(ab));
	const __m512i u = _mm512_mask_srli_epi16(t, 0xFF00FF00u, t, 4);
	return _mm512_and_si512(u, _mm512_set1_epi8(0x0F));
}

static inline __m512i load2_256(const int8_t *a, const int8_t *b)
{
	return set2_256(_mm256_loadu_si256((const __m256i *)a), _mm256_loadu_si256((const __m256i *)b));
}

/* Signed x signed bytes through VNNI: |x| . (y with x's sign). */
static inline __m512i dot_i8i8(__m512i x, __m512i y)
{
	const __mmask64 neg = _mm512_movepi8_mask(x);
	const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
	return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

/* ---- float rows ------------------------------------------------------- */

static inline __m512 load_f16(const uint16_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 load_bf16(const uint16_t *p)
{
	const __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
	return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
	float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(load_f16(x + i), _mm512_loadu_ps(y + i), s0);
		s1 = _mm512_fmadd_ps(load_f16(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(load_f16(x + i), _mm512_loadu_ps(y + i), s0);
	float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
		s += h2f(x[i]) * y[i];
	return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(load_bf16(x + i), _mm512_loadu_ps(y + i), s0);
		s1 = _mm512_fmadd_ps(load_bf16(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(load_bf16(x + i), _mm512_loadu_ps(y + i), s0);
	float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
		s += kern_bf16_to_fp32(x[i]) * y[i];
	return s;
}

static void deq_f16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i, load_f16(x + i));
	for (; i < n; i++)
		dst[i] = h2f(x[i]);
}

static void deq_bf16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i, load_bf16(x + i));
	for (; i < n; i++)
		dst[i] = kern_bf16_to_fp32(x[i]);
}

/* ---- 32-weight blocks ------------------------------------------------- */

/* 32 int8 (as a 256-bit vector) times d, plus m, to dst. */
static inline void store_i8x32(float *dst, __m256i q, float d, float m)
{
	const __m512 vd = _mm512_set1_ps(d), vm = _mm512_set1_ps(m);
	const __m512 f0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q)));
	const __m512 f1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1)));
	_mm512_storeu_ps(dst, _mm512_fmadd_ps(f0, vd, vm));
	_mm512_storeu_ps(dst + 16, _mm512_fmadd_ps(f1, vd, vm));
}

static inline __m256i nibbles32(const uint8_t *qs)
{
	const __m128i t = _mm_loadu_si128((const __m128i *)qs);
	return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

static void deq_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++)
		store_i8x32(dst + 32 * i, _mm256_sub_epi8(nibbles32(x[i].qs), _mm256_set1_epi8(8)),
			    h2f(x[i].d), 0.0f);
}

static void deq_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *x = src;
	for (int64_t i = 0; i < n / 32; i++)
		store_i8x32(dst + 32 * i, nibbles32(x[i].qs), h2f(x[i].d), h2f(x[i].m));
}

static void deq_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		const __m256i h = _mm256_maskz_mov_epi8(qh, _mm256_set1_epi8(0x10));
		const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(x[i].qs), h), _mm256_set1_epi8(16));
		store_i8x32(dst + 32 * i, q, h2f(x[i].d), 0.0f);
	}
}

static void deq_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++)
		store_i8x32(dst + 32 * i, _mm256_loadu_si256((const __m256i *)x[i].qs), h2f(x[i].d), 0.0f);
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	const struct block_q4_0 *x = w;
	const struct block_q8_0 *y = a;
	const int64_t nb = n / 32;
	const __m512i eight = _mm512_set1_epi8(8);
	__m512 acc = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		const __m512i q = nibbles64(x[i].qs, x[i + 1].qs);
		const __m512i v = load2_256(y[i].qs, y[i + 1].qs);
		const __m512i p = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q, v),
						   _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, v));
		const __m512 d = set2_ps(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
		acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
	}
	float s = _mm512_reduce_add_ps(acc);
	for (; i < nb; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++)
			sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
		s += (float)sumi * h2f(x[i].d) * h2f(y[i].d);
	}
	return s;
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	const struct block_q4_1 *x = w;
	const struct block_q8_1 *y = a;
	const int64_t nb = n / 32;
	__m512 acc = _mm512_setzero_ps();
	float summ = 0;
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		const __m512i q = nibbles64(x[i].qs, x[i + 1].qs);
		const __m512i v = load2_256(y[i].qs, y[i + 1].qs);
		const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, v);
		const __m512 d = set2_ps(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
		acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
		summ += h2f(x[i].m) * h2f(y[i].s) + h2f(x[i + 1].m) * h2f(y[i + 1].s);
	}
	float s = _mm512_reduce_add_ps(acc) + summ;
	for (; i < nb; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++)
			sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
		s += (float)sumi * h2f(x[i].d) * h2f(y[i].d) + h2f(x[i].m) * h2f(y[i].s);
	}
	return s;
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	const struct block_q5_0 *x = w;
	const struct block_q8_0 *y = a;
	const int64_t nb = n / 32;
	const __m512i sixteen = _mm512_set1_epi8(16);
	__m512 acc = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		uint32_t ha, hb;
		memcpy(&ha, x[i].qh, 4);
		memcpy(&hb, x[i + 1].qh, 4);
		const __mmask64 k = (__mmask64)ha | ((__mmask64)hb << 32);
		const __m512i q = _mm512_or_si512(nibbles64(x[i].qs, x[i + 1].qs),
						  _mm512_maskz_mov_epi8(k, sixteen));
		const __m512i v = load2_256(y[i].qs, y[i + 1].qs);
		const __m512i p = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q, v),
						   _mm512_dpbusd_epi32(_mm512_setzero_si512(), sixteen, v));
		const __m512 d = set2_ps(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
		acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
	}
	float s = _mm512_reduce_add_ps(acc);
	for (; i < nb; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			sumi += (((x[i].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4) - 16) * y[i].qs[j];
			sumi += (((x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16) * y[i].qs[j + 16];
		}
		s += (float)sumi * h2f(x[i].d) * h2f(y[i].d);
	}
	return s;
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	const struct block_q8_0 *x = w;
	const struct block_q8_0 *y = a;
	const int64_t nb = n / 32;
	__m512 acc = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		const __m512i p = dot_i8i8(load2_256(x[i].qs, x[i + 1].qs), load2_256(y[i].qs, y[i + 1].qs));
		const __m512 d = set2_ps(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
		acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
	}
	float s = _mm512_reduce_add_ps(acc);
	for (; i < nb; i++) {
		int sumi = 0;
		for (int j = 0; j < 32; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		s += (float)sumi * h2f(x[i].d) * h2f(y[i].d);
	}
	return s;
}

/* ---- k-quants --------------------------------------------------------- */

/* int16 scales: a in the low 16 lanes, b in the high 16. */
static inline __m512i scale2_epi16(int a, int b)
{
	return set2_256(_mm256_set1_epi16((short)a), _mm256_set1_epi16((short)b));
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y = a;
	__m512 acc = _mm512_setzero_ps();
	__m256 accmv = _mm256_setzero_ps();
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		kern_k4_scales(x[i].scales, sc, mn);
		/* sum_j mins_j * (sum of the q8 of sub-block j), from bsums */
		const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums),
						     _mm256_set1_epi16(1));
		const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)mn));
		accmv = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].dmin) * y[i].d),
					_mm256_cvtepi32_ps(_mm256_mullo_epi32(mins, bs)), accmv);
		__m512i sumi = _mm512_setzero_si512();
		for (int p = 0; p < 4; p++) {
			const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
			const __m512i q4 = _mm512_and_si512(set2_256(q, _mm256_srli_epi16(q, 4)), m4);
			const __m512i v = _mm512_loadu_si512((const void *)(y[i].qs + 64 * p));
			sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q4, v),
						   scale2_epi16(sc[2 * p], sc[2 * p + 1]));
		}
		acc = _mm512_fmadd_ps(_mm512_set1_ps(h2f(x[i].d) * y[i].d), _mm512_cvtepi32_ps(sumi), acc);
	}
	return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(_mm512_castps256_ps512(accmv));
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	const struct block_q5_K *x = w;
	const struct block_q8_K *y = a;
	__m512 acc = _mm512_setzero_ps();
	__m256 accmv = _mm256_setzero_ps();
	const __m512i m4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		kern_k4_scales(x[i].scales, sc, mn);
		/* sum_j mins_j * (sum of the q8 of sub-block j), from bsums */
		const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums),
						     _mm256_set1_epi16(1));
		const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)mn));
		accmv = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].dmin) * y[i].d),
					_mm256_cvtepi32_ps(_mm256_mullo_epi32(mins, bs)), accmv);
		const __m256i qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
		const __m512i qh2 = set2_256(qh, qh);
		__m512i sumi = _mm512_setzero_si512();
		for (int p = 0; p < 4; p++) {
			const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
			const __m512i bit = set2_256(_mm256_set1_epi8((char)(1u << (2 * p))),
						     _mm256_set1_epi8((char)(2u << (2 * p))));
			const __mmask64 k = _mm512_test_epi8_mask(qh2, bit);
			__m512i q5 = _mm512_and_si512(set2_256(q, _mm256_srli_epi16(q, 4)), m4);
			q5 = _mm512_or_si512(q5, _mm512_maskz_mov_epi8(k, sixteen));
			const __m512i v = _mm512_loadu_si512((const void *)(y[i].qs + 64 * p));
			sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q5, v),
						   scale2_epi16(sc[2 * p], sc[2 * p + 1]));
		}
		acc = _mm512_fmadd_ps(_mm512_set1_ps(h2f(x[i].d) * y[i].d), _mm512_cvtepi32_ps(sumi), acc);
	}
	return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(_mm512_castps256_ps512(accmv));
}

/* Q6_K: 64 weights per step: low nibbles of ql[0..63] are weights 0..63
 * of a half, high nibbles 64..127; their 2 high bits sit in qh at shifts
 * (0, 2) and (4, 6) for the two 32-byte halves. */
static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	__m512 acc = _mm512_setzero_ps();
	const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
	const __m512i sh[2] = {
		set2_256(_mm256_set1_epi16(0), _mm256_set1_epi16(2)),
		set2_256(_mm256_set1_epi16(4), _mm256_set1_epi16(6)),
	};
	/* int16 lane k of step c takes scale 4c + k / 8 */
	__m512i sidx[4];
	for (int c = 0; c < 4; c++) {
		int16_t t[32];
		for (int k = 0; k < 32; k++)
			t[k] = (int16_t)(4 * c + k / 8);
		sidx[c] = _mm512_loadu_si512((const void *)t);
	}
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *sc = x[i].scales;
		int off = 0;
		for (int g = 0; g < 16; g++)
			off += sc[g] * y[i].bsums[g];
		const __m512i sc16 = _mm512_castsi256_si512(
			_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc)));
		__m512i sumi = _mm512_setzero_si512();
		for (int h = 0; h < 2; h++) {
			const __m512i ql = _mm512_loadu_si512((const void *)(x[i].ql + 64 * h));
			const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
			const __m512i qh2 = set2_256(qh, qh);
			for (int s = 0; s < 2; s++) {
				const __m512i lo = s ? _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4)
						     : _mm512_and_si512(ql, m4);
				const __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(qh2, sh[s]), m3);
				const __m512i q6 = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
				const __m512i v = _mm512_loadu_si512((const void *)(y[i].qs + 128 * h + 64 * s));
				const __m512i s16 = _mm512_permutexvar_epi16(sidx[2 * h + s], sc16);
				sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q6, v), s16);
			}
		}
		const float di = h2f(x[i].d) * y[i].d;
		acc = _mm512_fmadd_ps(_mm512_set1_ps(di), _mm512_cvtepi32_ps(sumi), acc);
		acc = _mm512_mask_sub_ps(acc, 1, acc, _mm512_set1_ps(di * (float)(32 * off)));
	}
	return _mm512_reduce_add_ps(acc);
}

/* ---- quantize activations --------------------------------------------- */

static inline void q8_block(const float *x, int8_t *qs, float *d_out, int *sum_out)
{
	const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
	const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
	const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
	const __m512 vid = _mm512_set1_ps(id);
	const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));  /* half to even */
	const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
	_mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(i0));
	_mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(i1));
	*d_out = d;
	if (sum_out)
		*sum_out = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
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
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float *xb = x + i * QK_K;
		__m512 amaxv = _mm512_setzero_ps();
		for (int k = 0; k < QK_K; k += 16)
			amaxv = _mm512_max_ps(amaxv, _mm512_abs_ps(_mm512_loadu_ps(xb + k)));
		const float amax = _mm512_reduce_max_ps(amaxv);
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		float max = 0;
		const __m512 va = _mm512_set1_ps(amax);
		for (int k = 0; k < QK_K; k += 16) {
			const __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(xb + k)), va, _CMP_EQ_OQ);
			if (m) {
				max = xb[k + __builtin_ctz((unsigned)m)];
				break;
			}
		}
		const float iscale = -127.0f / max;
		const __m512 vs = _mm512_set1_ps(iscale);
		const __m512i lim = _mm512_set1_epi32(127);
		for (int k = 0; k < QK_K; k += 16) {
			const __m512i q = _mm512_min_epi32(lim, _mm512_cvtps_epi32(
				_mm512_mul_ps(vs, _mm512_loadu_ps(xb + k))));
			_mm_storeu_si128((__m128i *)(y[i].qs + k), _mm512_cvtepi32_epi8(q));
			y[i].bsums[k / 16] = (int16_t)_mm512_reduce_add_epi32(q);
		}
		y[i].d = 1.0f / iscale;
	}
}

/* ---- packed products (layout: kern_internal.h) ------------------------ */

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Four activation bytes broadcast to every int32 lane (folded into
 * vpdpbusd as a {1to16} memory operand). */
static ALWAYS_INLINE __m512i bcast4(const int8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

/* Blocks ahead that the decode tile prefetches (16 x 256 bytes of Q4
 * quants per group: measured best of 8, 16, 24, 32 on the 1B model). */
#define GEMV_AHEAD 16

/* G row groups (gb bytes apart) x T tokens over nb blocks. One int32 lane
 * per row: each token's accumulators start a block at its correction term
 * (Q4_0: -8 x sum, Q8_0: -128 x sum; Q4_1 at 0) and take vpdpbusd of the
 * weight chunks (unsigned: Q4 nibbles, Q8_0 quants XOR 0x80) with the
 * token's 4 matching bytes broadcast; CH chains per token (chunk c into
 * chain c % CH) keep enough products in flight when T is small. Then the
 * block's integer dot is scaled in float: rows' d x token's d (+ Q4_1
 * rows' m x token's s). */
static ALWAYS_INLINE void tile(const int type, const int G, const int T, const int CH, int64_t nb,
			       const uint8_t *w, size_t gb, const struct kern_qa *a, float *y,
			       int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const int chunks = (int)(qsb / 64);
	const __m512i m4 = _mm512_set1_epi8(0x0F), x80 = _mm512_set1_epi8((char)0x80);
	__m512 f[G][T];
#pragma GCC unroll 8
	for (int g = 0; g < G; g++)
#pragma GCC unroll 8
		for (int t = 0; t < T; t++)
			f[g][t] = _mm512_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qa *ab = a + b * T;
		__m512i acc[G][T][CH];
		if (T == 1) {
			/* decode streams G groups at once: ask for each a few KiB
			 * ahead, more loads in flight than the prefetchers keep */
#pragma GCC unroll 8
			for (int g = 0; g < G; g++)
#pragma GCC unroll 8
				for (int c = 0; c < chunks; c++)
					_mm_prefetch((const char *)(w + g * gb + (b + GEMV_AHEAD) * qsb + 64 * c),
						     _MM_HINT_T0);
		}
#pragma GCC unroll 8
		for (int g = 0; g < G; g++)
#pragma GCC unroll 8
			for (int t = 0; t < T; t++)
#pragma GCC unroll 4
				for (int h = 0; h < CH; h++)
					acc[g][t][h] = type == QT_Q4_1 || h ? _mm512_setzero_si512()
									    : _mm512_set1_epi32(ab[t].c);
		if (type == QT_Q8_0) {
#pragma GCC unroll 8
			for (int c = 0; c < chunks; c++) {
#pragma GCC unroll 8
				for (int g = 0; g < G; g++) {
					const __m512i wv = _mm512_xor_si512(
						_mm512_load_si512((const void *)(w + g * gb + b * qsb + 64 * c)), x80);
#pragma GCC unroll 8
					for (int t = 0; t < T; t++)
						acc[g][t][c % CH] = _mm512_dpbusd_epi32(acc[g][t][c % CH], wv,
											bcast4(ab[t].qs + 4 * c));
				}
			}
		} else {
#pragma GCC unroll 8
			for (int c = 0; c < chunks; c++) {
#pragma GCC unroll 8
				for (int g = 0; g < G; g++) {
					const __m512i raw = _mm512_load_si512((const void *)(w + g * gb + b * qsb + 64 * c));
					const __m512i lo = _mm512_and_si512(raw, m4);
					const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
#pragma GCC unroll 8
					for (int t = 0; t < T; t++) {
						acc[g][t][c % CH] = _mm512_dpbusd_epi32(acc[g][t][c % CH], lo,
											bcast4(ab[t].qs + 4 * c));
						acc[g][t][c % CH] = _mm512_dpbusd_epi32(acc[g][t][c % CH], hi,
											bcast4(ab[t].qs + 16 + 4 * c));
					}
				}
			}
		}
#pragma GCC unroll 8
		for (int g = 0; g < G; g++) {
			const uint16_t *sc = (const uint16_t *)(w + g * gb + nb * qsb + b * scb);
			const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
			const __m512 mw = type == QT_Q4_1
				? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sc + KERN_PACK_ROWS)))
				: _mm512_setzero_ps();
#pragma GCC unroll 8
			for (int t = 0; t < T; t++) {
				__m512i s = acc[g][t][0];
#pragma GCC unroll 4
				for (int h = 1; h < CH; h++)
					s = _mm512_add_epi32(s, acc[g][t][h]);
				f[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(ab[t].d)),
							  f[g][t]);
				if (type == QT_Q4_1)
					f[g][t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ab[t].s), f[g][t]);
			}
		}
	}
#pragma GCC unroll 8
	for (int g = 0; g < G; g++) {
		const int64_t left = nrows - g * KERN_PACK_ROWS;
		if (left <= 0)
			break;
		const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 8
		for (int t = 0; t < T; t++)
			_mm512_mask_storeu_ps(y + t * ldy + g * KERN_PACK_ROWS, k, f[g][t]);
	}
}

/* ng groups of one panel: four groups at a time for one token (decode:
 * four streams with prefetch measured 44 -> 50-60 tok/s on the 1B model
 * against two without), one group at a time for a panel of tokens. */
static ALWAYS_INLINE void gemm_type(const int type, int64_t nb, const void *w, int64_t ng,
				    const void *act, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const struct kern_qa *a = act;
	const size_t gb = kern_pack_group_bytes(type, nb);
	const uint8_t *wp = w;
	int64_t g = 0;
	if (nt == 1) {
		for (; g + 4 <= ng; g += 4)
			tile(type, 4, 1, 1, nb, wp + g * gb, gb, a, y + g * KERN_PACK_ROWS, ldy,
			     nrows - g * KERN_PACK_ROWS);
		for (; g < ng; g++)
			tile(type, 1, 1, 4, nb, wp + g * gb, gb, a, y + g * KERN_PACK_ROWS, ldy,
			     nrows - g * KERN_PACK_ROWS);
		return;
	}
	for (; g < ng; g++) {
		const uint8_t *wg = wp + g * gb;
		float *yg = y + g * KERN_PACK_ROWS;
		const int64_t nr = nrows - g * KERN_PACK_ROWS;
		switch (nt) {
		case 2: tile(type, 1, 2, 2, nb, wg, gb, a, yg, ldy, nr); break;
		case 3: tile(type, 1, 3, 2, nb, wg, gb, a, yg, ldy, nr); break;
		case 4: tile(type, 1, 4, 1, nb, wg, gb, a, yg, ldy, nr); break;
		case 5: tile(type, 1, 5, 1, nb, wg, gb, a, yg, ldy, nr); break;
		case 6: tile(type, 1, 6, 1, nb, wg, gb, a, yg, ldy, nr); break;
		case 7: tile(type, 1, 7, 1, nb, wg, gb, a, yg, ldy, nr); break;
		default: tile(type, 1, 8, 1, nb, wg, gb, a, yg, ldy, nr); break;
		}
	}
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

/* ---- packed k-quants ---------------------------------------------------- */

/* Blocks of 256 the k-quant decode tile prefetches ahead (4-6 KiB). */
#define KPF 2

/* Q4_K: G groups x T tokens (records nt apart per block). Per 64-weight
 * chunk j two sub-blocks (low and high nibbles of the same 8 weight
 * chunks), each an int32 dot per row from 8 vpdpbusd, times its 6-bit
 * scale (vpmulld, the row's scale in its lane) into one int32 sum per
 * block (|sum| < 8 x 63 x 32 x 15 x 128); the mins term by vpdpwssd of the
 * rows' mins (int16 pairs) with the token's sub-block sums; then d and
 * dmin in float. */
static ALWAYS_INLINE void tile_q4_K(const int G, const int T, int64_t nb, const uint8_t *w, size_t gb,
				    const struct kern_qk *a, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(QT_Q4_K), scb = kern_pack_sc_bytes(QT_Q4_K);
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	__m512 f[G][T];
#pragma GCC unroll 4
	for (int g = 0; g < G; g++)
#pragma GCC unroll 4
		for (int t = 0; t < T; t++)
			f[g][t] = _mm512_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qk *ab = a + b * nt;
		if (T == 1) {
#pragma GCC unroll 4
			for (int g = 0; g < G; g++)
#pragma GCC unroll 32
				for (int c = 0; c < 32; c++)
					_mm_prefetch((const char *)(w + g * gb + (b + KPF) * qsb + 64 * c), _MM_HINT_T0);
		}
		__m512i isum[G][T];
#pragma GCC unroll 4
		for (int g = 0; g < G; g++)
#pragma GCC unroll 4
			for (int t = 0; t < T; t++)
				isum[g][t] = _mm512_setzero_si512();
#pragma GCC unroll 4
		for (int j = 0; j < 4; j++) {
			__m512i alo[G][T], ahi[G][T];
#pragma GCC unroll 4
			for (int g = 0; g < G; g++)
#pragma GCC unroll 4
				for (int t = 0; t < T; t++)
					alo[g][t] = ahi[g][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
			for (int c = 8 * j; c < 8 * j + 8; c++) {
#pragma GCC unroll 4
				for (int g = 0; g < G; g++) {
					const __m512i raw = _mm512_load_si512((const void *)(w + g * gb + b * qsb + 64 * c));
					const __m512i lo = _mm512_and_si512(raw, m4);
					const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
#pragma GCC unroll 4
					for (int t = 0; t < T; t++) {
						const int8_t *q = ab[t].qs + 64 * j + 4 * (c % 8);
						alo[g][t] = _mm512_dpbusd_epi32(alo[g][t], lo, bcast4(q));
						ahi[g][t] = _mm512_dpbusd_epi32(ahi[g][t], hi, bcast4(q + 32));
					}
				}
			}
#pragma GCC unroll 4
			for (int g = 0; g < G; g++) {
				const uint8_t *sc = w + g * gb + nb * qsb + b * scb + 64;
				const __m512i slo = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(sc + 32 * j)));
				const __m512i shi = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(sc + 32 * j + 16)));
#pragma GCC unroll 4
				for (int t = 0; t < T; t++)
					isum[g][t] = _mm512_add_epi32(isum[g][t], _mm512_add_epi32(
						_mm512_mullo_epi32(alo[g][t], slo), _mm512_mullo_epi32(ahi[g][t], shi)));
			}
		}
#pragma GCC unroll 4
		for (int g = 0; g < G; g++) {
			const uint8_t *sc = w + g * gb + nb * qsb + b * scb;
			const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
			const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sc + 32)));
			__m512i mn[4];
#pragma GCC unroll 4
			for (int i = 0; i < 4; i++)
				mn[i] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(sc + 192 + 32 * i)));
#pragma GCC unroll 4
			for (int t = 0; t < T; t++) {
				__m512i ms = _mm512_setzero_si512();
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++)
					ms = _mm512_dpwssd_epi32(ms, mn[i], _mm512_set1_epi32(ab[t].x[i]));
				const __m512 ad = _mm512_set1_ps(ab[t].d);
				f[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g][t]), _mm512_mul_ps(dv, ad), f[g][t]);
				f[g][t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(mv, ad), f[g][t]);
			}
		}
	}
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		const int64_t left = nrows - g * KERN_PACK_ROWS;
		if (left <= 0)
			break;
		const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 4
		for (int t = 0; t < T; t++)
			_mm512_mask_storeu_ps(y + t * ldy + g * KERN_PACK_ROWS, k, f[g][t]);
	}
}

/* Q6_K: per sub-block of 16 (s = 8n + 2q + m: half n, quarter q of the
 * half, m its two sixteens), each token's int32 accumulator starts at
 * -32 x the token's sum over it and takes 4 vpdpbusd of the rows' 6-bit
 * quants, built from a ql nibble and two qh bits (4 bytes of k per row
 * lane), then times the row's int8 scale (vpmulld) into the block sum;
 * d in float. */
static ALWAYS_INLINE void tile_q6_K(const int G, const int T, int64_t nb, const uint8_t *w, size_t gb,
				    const struct kern_qk *a, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(QT_Q6_K), scb = kern_pack_sc_bytes(QT_Q6_K);
	const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
	__m512 f[G][T];
#pragma GCC unroll 4
	for (int g = 0; g < G; g++)
#pragma GCC unroll 4
		for (int t = 0; t < T; t++)
			f[g][t] = _mm512_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		const struct kern_qk *ab = a + b * nt;
		if (T == 1) {
#pragma GCC unroll 4
			for (int g = 0; g < G; g++)
#pragma GCC unroll 48
				for (int c = 0; c < 48; c++)
					_mm_prefetch((const char *)(w + g * gb + (b + KPF) * qsb + 64 * c), _MM_HINT_T0);
		}
		__m512i isum[G][T];
#pragma GCC unroll 4
		for (int g = 0; g < G; g++)
#pragma GCC unroll 4
			for (int t = 0; t < T; t++)
				isum[g][t] = _mm512_setzero_si512();
#pragma GCC unroll 2
		for (int n = 0; n < 2; n++)
#pragma GCC unroll 4
			for (int qq = 0; qq < 4; qq++)
#pragma GCC unroll 2
				for (int m = 0; m < 2; m++) {
					const int sb = 8 * n + 2 * qq + m;
					__m512i acc[G][T];
#pragma GCC unroll 4
					for (int g = 0; g < G; g++)
#pragma GCC unroll 4
						for (int t = 0; t < T; t++)
							acc[g][t] = _mm512_set1_epi32(ab[t].x[sb]);
#pragma GCC unroll 4
					for (int gg = 0; gg < 4; gg++) {
						const int l = 16 * m + 4 * gg;
						const int cl = (64 * n + (qq & 1) * 32 + l) / 4, ch = 32 + (32 * n + l) / 4;
#pragma GCC unroll 4
						for (int g = 0; g < G; g++) {
							const uint8_t *qs = w + g * gb + b * qsb;
							const __m512i ql = _mm512_load_si512((const void *)(qs + 64 * cl));
							const __m512i qh = _mm512_load_si512((const void *)(qs + 64 * ch));
							const __m512i lo = qq < 2 ? _mm512_and_si512(ql, m4)
										  : _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4);
							const __m512i hs = qq == 0 ? _mm512_slli_epi16(qh, 4)
									   : qq == 1 ? _mm512_slli_epi16(qh, 2)
									   : qq == 2 ? qh : _mm512_srli_epi16(qh, 2);
							/* (hs & 0x30) | lo */
							const __m512i q6 = _mm512_ternarylogic_epi32(hs, m30, lo, 0xEA);
#pragma GCC unroll 4
							for (int t = 0; t < T; t++)
								acc[g][t] = _mm512_dpbusd_epi32(acc[g][t], q6,
									bcast4(ab[t].qs + 128 * n + 32 * qq + l));
						}
					}
#pragma GCC unroll 4
					for (int g = 0; g < G; g++) {
						const uint8_t *sc = w + g * gb + nb * qsb + b * scb + 32 + 16 * sb;
						const __m512i sv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)sc));
#pragma GCC unroll 4
						for (int t = 0; t < T; t++)
							isum[g][t] = _mm512_add_epi32(isum[g][t], _mm512_mullo_epi32(acc[g][t], sv));
					}
				}
#pragma GCC unroll 4
		for (int g = 0; g < G; g++) {
			const uint8_t *sc = w + g * gb + nb * qsb + b * scb;
			const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
#pragma GCC unroll 4
			for (int t = 0; t < T; t++)
				f[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g][t]),
							  _mm512_mul_ps(dv, _mm512_set1_ps(ab[t].d)), f[g][t]);
		}
	}
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		const int64_t left = nrows - g * KERN_PACK_ROWS;
		if (left <= 0)
			break;
		const __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 4
		for (int t = 0; t < T; t++)
			_mm512_mask_storeu_ps(y + t * ldy + g * KERN_PACK_ROWS, k, f[g][t]);
	}
}

/* k-quant panels: one group at a time, by one token (decode: one stream
 * per core measured 17 -> 24 GB/s for Q6_K on one core against two groups
 * at once) or up to 4 tokens (accumulators for 8 would not fit). */
#define GEMM_K(name, tilefn, TYPE)                                                                  \
static void name(int64_t nb, const void *w, int64_t ng, const void *act, int nt, float *y,          \
		 int64_t ldy, int64_t nrows)                                                          \
{                                                                                                   \
	const struct kern_qk *a = act;                                                              \
	const size_t gb = kern_pack_group_bytes(TYPE, nb);                                          \
	const uint8_t *wp = w;                                                                      \
	int64_t g = 0;                                                                              \
	if (nt == 1) {                                                                              \
		for (; g < ng; g++)                                                                 \
			tilefn(1, 1, nb, wp + g * gb, gb, a, 1, y + g * KERN_PACK_ROWS, ldy,        \
			       nrows - g * KERN_PACK_ROWS);                                         \
		return;                                                                             \
	}                                                                                           \
	for (; g < ng; g++) {                                                                       \
		const uint8_t *wg = wp + g * gb;                                                    \
		float *yg = y + g * KERN_PACK_ROWS;                                                 \
		const int64_t nr = nrows - g * KERN_PACK_ROWS;                                      \
		int t = 0;                                                                          \
		for (; t + 4 <= nt; t += 4)                                                         \
			tilefn(1, 4, nb, wg, gb, a + t, nt, yg + t * ldy, ldy, nr);                 \
		switch (nt - t) {                                                                   \
		case 3: tilefn(1, 3, nb, wg, gb, a + t, nt, yg + t * ldy, ldy, nr); break;          \
		case 2: tilefn(1, 2, nb, wg, gb, a + t, nt, yg + t * ldy, ldy, nr); break;          \
		case 1: tilefn(1, 1, nb, wg, gb, a + t, nt, yg + t * ldy, ldy, nr); break;          \
		default: break;                                                                     \
		}                                                                                   \
	}                                                                                           \
}

GEMM_K(gemm_q4_K, tile_q4_K, QT_Q4_K)
GEMM_K(gemm_q6_K, tile_q6_K, QT_Q6_K)

/* k-quant activation records: Q8_K quantization plus the sums. */
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

/* ---- grouped attention ------------------------------------------------ */

/* e^x (used for the x <= 0 of a softmax after its maximum is subtracted
 * and for SiLU): x = n ln2 + r (ln2 in two parts, |r| <= ln2 / 2), e^r by its Taylor
 * series to r^7 (relative error below 2e-8 on that range), times 2^n by
 * vscalefps (0 below the float range). */
static inline __m512 exp_ps(__m512 x)
{
	const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
	__m512 p = _mm512_set1_ps(1.0f / 5040);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, n);
}

static inline __m512 round_f16(__m512 x)
{
	return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* 16 cache values (F16 or F32) as floats. */
static ALWAYS_INLINE __m512 kv_load(const int f16, const uint8_t *p)
{
	return f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)) : _mm512_loadu_ps((const float *)p);
}

/* x = softmax(x) over n values, F16-rounded when f16 (llama.cpp rounds
 * the probabilities to the cache type for the V product). */
static void softmax_ps(float *x, int n, int f16)
{
	__m512 mv = _mm512_set1_ps(-INFINITY);
	for (int i = 0; i < n; i += 16) {
		const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + i));
	}
	const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
	__m512 sv = _mm512_setzero_ps();
	for (int i = 0; i < n; i += 16) {
		const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		const __m512 e = _mm512_maskz_mov_ps(k, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m)));
		_mm512_mask_storeu_ps(x + i, k, e);
		sv = _mm512_add_ps(sv, e);
	}
	const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
	for (int i = 0; i < n; i += 16) {
		const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		__m512 pv = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv);
		if (f16)
			pv = round_f16(pv);
		_mm512_mask_storeu_ps(x + i, k, pv);
	}
}

/* Scores of nq (<= 4) heads: K row p read once (NC chunks of 16 kept in
 * registers; NC 0: any head_dim, read per head), dotted with each head. */
static ALWAYS_INLINE void attn_scores(const int f16, const int NC, int hd, const uint8_t *kb, size_t row,
				      int nq, const float *qr, int n_pos, float scale, float *sc)
{
	const size_t esz = f16 ? 2 : 4;
	for (int p = 0; p < n_pos; p++) {
		const uint8_t *kp = kb + (size_t)p * row;
		if (NC) {
			__m512 k[NC > 0 ? NC : 1];
#pragma GCC unroll 16
			for (int j = 0; j < NC; j++)
				k[j] = kv_load(f16, kp + 16 * j * esz);
			for (int h = 0; h < nq; h++) {
				__m512 acc = _mm512_mul_ps(k[0], _mm512_loadu_ps(qr + h * hd));
#pragma GCC unroll 16
				for (int j = 1; j < NC; j++)
					acc = _mm512_fmadd_ps(k[j], _mm512_loadu_ps(qr + h * hd + 16 * j), acc);
				sc[h * n_pos + p] = _mm512_reduce_add_ps(acc) * scale;
			}
		} else {
			for (int h = 0; h < nq; h++) {
				__m512 acc = _mm512_setzero_ps();
				for (int j = 0; j < hd / 16; j++)
					acc = _mm512_fmadd_ps(kv_load(f16, kp + 16 * j * esz),
							      _mm512_loadu_ps(qr + h * hd + 16 * j), acc);
				sc[h * n_pos + p] = _mm512_reduce_add_ps(acc) * scale;
			}
		}
	}
}

/* out (HS heads) = sum_p pr[h][p] V_p: V row p read once, HS x NC
 * accumulators in registers (NC 0: any head_dim, accumulated in out). */
static ALWAYS_INLINE void attn_values(const int f16, const int NC, const int HS, int hd, const uint8_t *vb,
				      size_t row, const float *pr, int n_pos, float *out)
{
	const size_t esz = f16 ? 2 : 4;
	if (NC) {
		__m512 acc[HS][NC > 0 ? NC : 1];
#pragma GCC unroll 4
		for (int h = 0; h < HS; h++)
#pragma GCC unroll 16
			for (int j = 0; j < NC; j++)
				acc[h][j] = _mm512_setzero_ps();
		for (int p = 0; p < n_pos; p++) {
			const uint8_t *vp = vb + (size_t)p * row;
#pragma GCC unroll 16
			for (int j = 0; j < NC; j++) {
				const __m512 v = kv_load(f16, vp + 16 * j * esz);
#pragma GCC unroll 4
				for (int h = 0; h < HS; h++)
					acc[h][j] = _mm512_fmadd_ps(_mm512_set1_ps(pr[h * n_pos + p]), v, acc[h][j]);
			}
		}
#pragma GCC unroll 4
		for (int h = 0; h < HS; h++)
#pragma GCC unroll 16
			for (int j = 0; j < NC; j++)
				_mm512_storeu_ps(out + h * hd + 16 * j, acc[h][j]);
		return;
	}
	for (int h = 0; h < HS; h++)
		memset(out + h * hd, 0, (size_t)hd * sizeof(float));
	for (int p = 0; p < n_pos; p++) {
		const uint8_t *vp = vb + (size_t)p * row;
		for (int j = 0; j < hd / 16; j++) {
			const __m512 v = kv_load(f16, vp + 16 * j * esz);
			for (int h = 0; h < HS; h++) {
				float *o = out + h * hd + 16 * j;
				_mm512_storeu_ps(o, _mm512_fmadd_ps(_mm512_set1_ps(pr[h * n_pos + p]), v,
								    _mm512_loadu_ps(o)));
			}
		}
	}
}

/* Up to 4 heads of one KV head: q rounded (F16 cache), scores, softmax,
 * values; scratch: 4 x n_pos floats. */
static ALWAYS_INLINE void attn_heads(const int f16, const int NC, const struct kern_kv *kv, int kh, int nq,
				     const float *q, int n_pos, float *out, float *scratch)
{
	const int hd = kv->head_dim;
	const size_t esz = f16 ? 2 : 4, row = (size_t)kv->n_head_kv * (size_t)hd * esz;
	const uint8_t *kb = (const uint8_t *)kv->k + (size_t)kh * (size_t)hd * esz;
	const uint8_t *vb = (const uint8_t *)kv->v + (size_t)kh * (size_t)hd * esz;
	float qr[4 * 1024];
	for (int i = 0; i < nq * hd; i += 16) {
		const __m512 v = _mm512_loadu_ps(q + i);
		_mm512_storeu_ps(qr + i, f16 ? round_f16(v) : v);
	}
	attn_scores(f16, NC, hd, kb, row, nq, qr, n_pos, 1.0f / sqrtf((float)hd), scratch);
	for (int h = 0; h < nq; h++)
		softmax_ps(scratch + h * n_pos, n_pos, f16);
	/* heads per V pass: 16 accumulators at most */
	const int hs = NC ? 16 / NC : 4;
	for (int h = 0; h < nq; h += hs) {
		const int n = nq - h < hs ? nq - h : hs;
		const float *pr = scratch + h * n_pos;
		float *o = out + h * hd;
		switch (NC ? n : 0) {
		case 4: attn_values(f16, NC, 4, hd, vb, row, pr, n_pos, o); break;
		case 3: attn_values(f16, NC, 3, hd, vb, row, pr, n_pos, o); break;
		case 2: attn_values(f16, NC, 2, hd, vb, row, pr, n_pos, o); break;
		case 1: attn_values(f16, NC, 1, hd, vb, row, pr, n_pos, o); break;
		default: attn_values(f16, 0, 1, hd, vb, row, pr, n_pos, o);
			for (int k = 1; k < n; k++)
				attn_values(f16, 0, 1, hd, vb, row, pr + k * n_pos, n_pos, o + k * hd);
			break;
		}
	}
}

static ALWAYS_INLINE void attn_type(const int f16, const struct kern_kv *kv, int kh, int nq, const float *q,
				    int n_pos, float *out, float *scratch)
{
	const int hd = kv->head_dim;
	for (int h = 0; h < nq; h += 4) {
		const int n = nq - h < 4 ? nq - h : 4;
		const float *qh = q + h * hd;
		float *oh = out + h * hd;
		if (hd == 64)
			attn_heads(f16, 4, kv, kh, n, qh, n_pos, oh, scratch);
		else if (hd == 128)
			attn_heads(f16, 8, kv, kh, n, qh, n_pos, oh, scratch);
		else
			attn_heads(f16, 0, kv, kh, n, qh, n_pos, oh, scratch);
	}
}

/* silu(g) = g / (1 + e^-g) with the vector exp (e^-g may overflow to
 * inf for g < -88: the quotient is then -0, as expf gives). */
static void swiglu(float *out, const float *gate, const float *up, int64_t n)
{
	for (int64_t i = 0; i < n; i += 16) {
		const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		const __m512 g = _mm512_maskz_loadu_ps(k, gate + i);
		const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
		const __m512 si = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
		_mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(si, _mm512_maskz_loadu_ps(k, up + i)));
	}
}

static void attn_f16(const struct kern_kv *kv, int kh, int nq, const float *q, int n_pos, float *out,
		     float *scratch)
{
	attn_type(1, kv, kh, nq, q, n_pos, out, scratch);
}

static void attn_f32(const struct kern_kv *kv, int kh, int nq, const float *q, int n_pos, float *out,
		     float *scratch)
{
	attn_type(0, kv, kh, nq, q, n_pos, out, scratch);
}

static void axpy_f32(int64_t n, float a, const void *x, float *y)
{
	const float *v = x;
	const __m512 va = _mm512_set1_ps(a);
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(v + i), _mm512_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * v[i];
}

static void axpy_f16(int64_t n, float a, const void *x, float *y)
{
	const uint16_t *v = x;
	const __m512 va = _mm512_set1_ps(a);
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, load_f16(v + i), _mm512_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * kern_h2f(v[i]);
}

const struct kern_backend kern_backend_avx512 = {
	.name = "avx512",
	.requires = KERN_F_AVX2 | KERN_F_AVX512 | KERN_F_AVX512VNNI,
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
	.attn = {[QT_F16] = attn_f16, [QT_F32] = attn_f32},
	.swiglu = swiglu,
};
