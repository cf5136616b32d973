/*
 * probe: INT8 peak with AVX-VNNI (VEX vpdpbusd on 256-bit registers), for
 * CPUs that have it without AVX-512 VNNI. Twelve accumulators; only
 * ymm0-15 are encodable, so twelve plus the two inputs fit.
 */
#include <immintrin.h>
#include <stdint.h>

#include "probe/probe_kern.h"

static inline int64_t hsum_epi32_256(__m256i v)
{
	int32_t t[8];
	int64_t s = 0;
	_mm256_storeu_si256((__m256i *)t, v);
	for (int i = 0; i < 8; i++)
		s += t[i];
	return s;
}

static int64_t int8_avxvnni(uint64_t iters, const uint8_t a[64], const int8_t b[64])
{
	const __m256i va = _mm256_loadu_si256((const __m256i *)a);
	const __m256i vb = _mm256_loadu_si256((const __m256i *)b);
#define START(k) _mm256_set1_epi64x(PROBE_INT8_START64(k))
	__m256i c0 = START(0), c1 = START(1), c2 = START(2), c3 = START(3);
	__m256i c4 = START(4), c5 = START(5), c6 = START(6), c7 = START(7);
	__m256i c8 = START(8), c9 = START(9), c10 = START(10), c11 = START(11);
#undef START
	for (uint64_t it = 0; it < iters; it++) {
		c0 = _mm256_dpbusd_avx_epi32(c0, va, vb);
		c1 = _mm256_dpbusd_avx_epi32(c1, va, vb);
		c2 = _mm256_dpbusd_avx_epi32(c2, va, vb);
		c3 = _mm256_dpbusd_avx_epi32(c3, va, vb);
		c4 = _mm256_dpbusd_avx_epi32(c4, va, vb);
		c5 = _mm256_dpbusd_avx_epi32(c5, va, vb);
		c6 = _mm256_dpbusd_avx_epi32(c6, va, vb);
		c7 = _mm256_dpbusd_avx_epi32(c7, va, vb);
		c8 = _mm256_dpbusd_avx_epi32(c8, va, vb);
		c9 = _mm256_dpbusd_avx_epi32(c9, va, vb);
		c10 = _mm256_dpbusd_avx_epi32(c10, va, vb);
		c11 = _mm256_dpbusd_avx_epi32(c11, va, vb);
	}
	c0 = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
	c4 = _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7));
	c8 = _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11));
	return hsum_epi32_256(c0) + hsum_epi32_256(c4) + hsum_epi32_256(c8);
}

const struct probe_int8_kernel probe_int8_avxvnni = {
	.name = "int8 avxvnni",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX2) | PROBE_ISA_BIT(PROBE_ISA_AVX_VNNI),
	.pairs = 32,
	.accs = 12,
	.run = int8_avxvnni,
};
