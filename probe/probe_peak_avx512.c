/*
 * probe: compute peak kernels with 512-bit registers.
 * FP32: sixteen independent vfmadd231ps chains (2 FMA/cycle x 4-5 cycles
 * of latency needs 8-10 in flight). INT8: AVX-512 VNNI vpdpbusd, 64
 * u8 x s8 pairs per instruction (128 ops), twelve accumulators.
 */
#include <immintrin.h>
#include <stdint.h>

#include "probe/probe_kern.h"

static double fp32_avx512(uint64_t iters, float x0, float mul, float add)
{
	const __m512 m = _mm512_set1_ps(mul), d = _mm512_set1_ps(add);
	__m512 a[16];
	for (int k = 0; k < 16; k++)
		a[k] = _mm512_set1_ps(PROBE_FP32_START(x0, k));
	for (uint64_t it = 0; it < iters; it++) {
		a[0] = _mm512_fmadd_ps(a[0], m, d);
		a[1] = _mm512_fmadd_ps(a[1], m, d);
		a[2] = _mm512_fmadd_ps(a[2], m, d);
		a[3] = _mm512_fmadd_ps(a[3], m, d);
		a[4] = _mm512_fmadd_ps(a[4], m, d);
		a[5] = _mm512_fmadd_ps(a[5], m, d);
		a[6] = _mm512_fmadd_ps(a[6], m, d);
		a[7] = _mm512_fmadd_ps(a[7], m, d);
		a[8] = _mm512_fmadd_ps(a[8], m, d);
		a[9] = _mm512_fmadd_ps(a[9], m, d);
		a[10] = _mm512_fmadd_ps(a[10], m, d);
		a[11] = _mm512_fmadd_ps(a[11], m, d);
		a[12] = _mm512_fmadd_ps(a[12], m, d);
		a[13] = _mm512_fmadd_ps(a[13], m, d);
		a[14] = _mm512_fmadd_ps(a[14], m, d);
		a[15] = _mm512_fmadd_ps(a[15], m, d);
	}
	double s = 0;
	for (int k = 0; k < 16; k++) {
		float f[16];
		_mm512_storeu_ps(f, a[k]);
		for (int i = 0; i < 16; i++)
			s += f[i];
	}
	return s;
}

const struct probe_fp32_kernel probe_fp32_avx512 = {
	.name = "fp32 fma avx512",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX512F),
	.lanes = 16,
	.accs = 16,
	.run = fp32_avx512,
};

static int64_t int8_avx512(uint64_t iters, const uint8_t a[64], const int8_t b[64])
{
	const __m512i va = _mm512_loadu_si512(a);
	const __m512i vb = _mm512_loadu_si512(b);
	__m512i c[12];
	for (int k = 0; k < 12; k++)
		c[k] = _mm512_set1_epi64(PROBE_INT8_START64(k));
	for (uint64_t it = 0; it < iters; it++) {
		c[0] = _mm512_dpbusd_epi32(c[0], va, vb);
		c[1] = _mm512_dpbusd_epi32(c[1], va, vb);
		c[2] = _mm512_dpbusd_epi32(c[2], va, vb);
		c[3] = _mm512_dpbusd_epi32(c[3], va, vb);
		c[4] = _mm512_dpbusd_epi32(c[4], va, vb);
		c[5] = _mm512_dpbusd_epi32(c[5], va, vb);
		c[6] = _mm512_dpbusd_epi32(c[6], va, vb);
		c[7] = _mm512_dpbusd_epi32(c[7], va, vb);
		c[8] = _mm512_dpbusd_epi32(c[8], va, vb);
		c[9] = _mm512_dpbusd_epi32(c[9], va, vb);
		c[10] = _mm512_dpbusd_epi32(c[10], va, vb);
		c[11] = _mm512_dpbusd_epi32(c[11], va, vb);
	}
	int64_t s = 0;
	for (int k = 0; k < 12; k++) {
		int32_t t[16];
		_mm512_storeu_si512(t, c[k]);
		for (int i = 0; i < 16; i++)
			s += t[i];
	}
	return s;
}

const struct probe_int8_kernel probe_int8_avx512 = {
	.name = "int8 vnni avx512",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX512F) | PROBE_ISA_BIT(PROBE_ISA_AVX512VNNI),
	.pairs = 64,
	.accs = 12,
	.run = int8_avx512,
};
