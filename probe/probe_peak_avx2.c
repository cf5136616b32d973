/*
 * probe: compute peak kernels with 256-bit AVX2 + FMA.
 * FP32: twelve independent vfmadd chains (hides a 4-cycle latency at two
 * FMAs per cycle). INT8 without VNNI: vpmaddubsw (u8 x s8 -> s16 pairs,
 * saturating) + vpmaddwd by ones (-> s32) + vpaddd, eight accumulators;
 * 32 multiply-add pairs per triple, as llama.cpp-style kernels do it.
 */
#include <immintrin.h>
#include <stdint.h>

#include "probe/probe_kern.h"

/* Makes v opaque to the compiler so loop-invariant work is redone. */
#define LAUNDER(v) __asm__ volatile("" : "+x"(v))

static inline double hsum_ps256(__m256 v)
{
	double t = 0;
	float f[8];
	_mm256_storeu_ps(f, v);
	for (int i = 0; i < 8; i++)
		t += f[i];
	return t;
}

static double fp32_avx2(uint64_t iters, float x0, float mul, float add)
{
	const __m256 m = _mm256_set1_ps(mul), d = _mm256_set1_ps(add);
#define START(k) _mm256_set1_ps(PROBE_FP32_START(x0, k))
	__m256 a0 = START(0), a1 = START(1), a2 = START(2), a3 = START(3);
	__m256 a4 = START(4), a5 = START(5), a6 = START(6), a7 = START(7);
	__m256 a8 = START(8), a9 = START(9), a10 = START(10), a11 = START(11);
#undef START
	for (uint64_t it = 0; it < iters; it++) {
		a0 = _mm256_fmadd_ps(a0, m, d);
		a1 = _mm256_fmadd_ps(a1, m, d);
		a2 = _mm256_fmadd_ps(a2, m, d);
		a3 = _mm256_fmadd_ps(a3, m, d);
		a4 = _mm256_fmadd_ps(a4, m, d);
		a5 = _mm256_fmadd_ps(a5, m, d);
		a6 = _mm256_fmadd_ps(a6, m, d);
		a7 = _mm256_fmadd_ps(a7, m, d);
		a8 = _mm256_fmadd_ps(a8, m, d);
		a9 = _mm256_fmadd_ps(a9, m, d);
		a10 = _mm256_fmadd_ps(a10, m, d);
		a11 = _mm256_fmadd_ps(a11, m, d);
	}
	return hsum_ps256(a0) + hsum_ps256(a1) + hsum_ps256(a2) + hsum_ps256(a3) +
	       hsum_ps256(a4) + hsum_ps256(a5) + hsum_ps256(a6) + hsum_ps256(a7) +
	       hsum_ps256(a8) + hsum_ps256(a9) + hsum_ps256(a10) + hsum_ps256(a11);
}

const struct probe_fp32_kernel probe_fp32_avx2 = {
	.name = "fp32 fma avx2",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX2) | PROBE_ISA_BIT(PROBE_ISA_FMA),
	.lanes = 8,
	.accs = 12,
	.run = fp32_avx2,
};

static inline int64_t hsum_epi32_256(__m256i v)
{
	int32_t t[8];
	int64_t s = 0;
	_mm256_storeu_si256((__m256i *)t, v);
	for (int i = 0; i < 8; i++)
		s += t[i];
	return s;
}

#define DOT_STEP(acc)                                                        \
	do {                                                                 \
		LAUNDER(va);                                                 \
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(               \
			_mm256_maddubs_epi16(va, vb), ones));                \
	} while (0)

static int64_t int8_avx2(uint64_t iters, const uint8_t a[64], const int8_t b[64])
{
	__m256i va = _mm256_loadu_si256((const __m256i *)a);
	const __m256i vb = _mm256_loadu_si256((const __m256i *)b);
	const __m256i ones = _mm256_set1_epi16(1);
#define START(k) _mm256_set1_epi64x(PROBE_INT8_START64(k))
	__m256i c0 = START(0), c1 = START(1), c2 = START(2), c3 = START(3);
	__m256i c4 = START(4), c5 = START(5), c6 = START(6), c7 = START(7);
#undef START
	for (uint64_t it = 0; it < iters; it++) {
		DOT_STEP(c0);
		DOT_STEP(c1);
		DOT_STEP(c2);
		DOT_STEP(c3);
		DOT_STEP(c4);
		DOT_STEP(c5);
		DOT_STEP(c6);
		DOT_STEP(c7);
	}
	c0 = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
	c4 = _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7));
	return hsum_epi32_256(c0) + hsum_epi32_256(c4);
}

const struct probe_int8_kernel probe_int8_avx2 = {
	.name = "int8 maddubs avx2",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX2),
	.pairs = 32,
	.accs = 8,
	.run = int8_avx2,
};
