/*
 * probe: memory kernels with 256-bit loads and stores (AVX2 + FMA).
 * Same shape as the AVX-512 file: 64 doubles per iteration, eight
 * accumulators for read, one prefetch 4 KiB ahead per iteration.
 */
#include <immintrin.h>
#include <stddef.h>

#include "probe/probe_kern.h"

#define PF_AHEAD 4096  /* bytes */

static inline void pf(const double *p)
{
	_mm_prefetch((const char *)p + PF_AHEAD, _MM_HINT_T0);
}

static inline double hsum256(__m256d v)
{
	__m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
	lo = _mm_add_pd(lo, hi);
	return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

static double read_avx2(const double *a, size_t n)
{
	__m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
	__m256d s4 = s0, s5 = s0, s6 = s0, s7 = s0;
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		pf(a + i);
		s0 = _mm256_add_pd(s0, _mm256_loadu_pd(a + i + 0));
		s1 = _mm256_add_pd(s1, _mm256_loadu_pd(a + i + 4));
		s2 = _mm256_add_pd(s2, _mm256_loadu_pd(a + i + 8));
		s3 = _mm256_add_pd(s3, _mm256_loadu_pd(a + i + 12));
		s4 = _mm256_add_pd(s4, _mm256_loadu_pd(a + i + 16));
		s5 = _mm256_add_pd(s5, _mm256_loadu_pd(a + i + 20));
		s6 = _mm256_add_pd(s6, _mm256_loadu_pd(a + i + 24));
		s7 = _mm256_add_pd(s7, _mm256_loadu_pd(a + i + 28));
		s0 = _mm256_add_pd(s0, _mm256_loadu_pd(a + i + 32));
		s1 = _mm256_add_pd(s1, _mm256_loadu_pd(a + i + 36));
		s2 = _mm256_add_pd(s2, _mm256_loadu_pd(a + i + 40));
		s3 = _mm256_add_pd(s3, _mm256_loadu_pd(a + i + 44));
		s4 = _mm256_add_pd(s4, _mm256_loadu_pd(a + i + 48));
		s5 = _mm256_add_pd(s5, _mm256_loadu_pd(a + i + 52));
		s6 = _mm256_add_pd(s6, _mm256_loadu_pd(a + i + 56));
		s7 = _mm256_add_pd(s7, _mm256_loadu_pd(a + i + 60));
	}
	for (; i + 4 <= n; i += 4)
		s0 = _mm256_add_pd(s0, _mm256_loadu_pd(a + i));
	double tail = 0;
	for (; i < n; i++)
		tail += a[i];
	s0 = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
	s4 = _mm256_add_pd(_mm256_add_pd(s4, s5), _mm256_add_pd(s6, s7));
	return hsum256(_mm256_add_pd(s0, s4)) + tail;
}

static void copy_avx2(double *restrict b, const double *restrict a, size_t n)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		pf(a + i);
		__m256d x0 = _mm256_loadu_pd(a + i + 0);
		__m256d x1 = _mm256_loadu_pd(a + i + 4);
		__m256d x2 = _mm256_loadu_pd(a + i + 8);
		__m256d x3 = _mm256_loadu_pd(a + i + 12);
		__m256d x4 = _mm256_loadu_pd(a + i + 16);
		__m256d x5 = _mm256_loadu_pd(a + i + 20);
		__m256d x6 = _mm256_loadu_pd(a + i + 24);
		__m256d x7 = _mm256_loadu_pd(a + i + 28);
		_mm256_storeu_pd(b + i + 0, x0);
		_mm256_storeu_pd(b + i + 4, x1);
		_mm256_storeu_pd(b + i + 8, x2);
		_mm256_storeu_pd(b + i + 12, x3);
		_mm256_storeu_pd(b + i + 16, x4);
		_mm256_storeu_pd(b + i + 20, x5);
		_mm256_storeu_pd(b + i + 24, x6);
		_mm256_storeu_pd(b + i + 28, x7);
	}
	for (; i + 4 <= n; i += 4)
		_mm256_storeu_pd(b + i, _mm256_loadu_pd(a + i));
	for (; i < n; i++)
		b[i] = a[i];
}

static void triad_avx2(double *restrict a, const double *restrict b,
		       const double *restrict c, double s, size_t n)
{
	const __m256d vs = _mm256_set1_pd(s);
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		pf(b + i);
		pf(c + i);
		__m256d y0 = _mm256_loadu_pd(b + i + 0), z0 = _mm256_loadu_pd(c + i + 0);
		__m256d y1 = _mm256_loadu_pd(b + i + 4), z1 = _mm256_loadu_pd(c + i + 4);
		__m256d y2 = _mm256_loadu_pd(b + i + 8), z2 = _mm256_loadu_pd(c + i + 8);
		__m256d y3 = _mm256_loadu_pd(b + i + 12), z3 = _mm256_loadu_pd(c + i + 12);
		_mm256_storeu_pd(a + i + 0, _mm256_fmadd_pd(vs, z0, y0));
		_mm256_storeu_pd(a + i + 4, _mm256_fmadd_pd(vs, z1, y1));
		_mm256_storeu_pd(a + i + 8, _mm256_fmadd_pd(vs, z2, y2));
		_mm256_storeu_pd(a + i + 12, _mm256_fmadd_pd(vs, z3, y3));
	}
	for (; i + 4 <= n; i += 4)
		_mm256_storeu_pd(a + i, _mm256_fmadd_pd(vs, _mm256_loadu_pd(c + i),
							_mm256_loadu_pd(b + i)));
	for (; i < n; i++)
		a[i] = b[i] + s * c[i];
}

const struct probe_bw_kernels probe_bw_avx2 = {
	.isa = "avx2",
	.requires = PROBE_ISA_BIT(PROBE_ISA_AVX2) | PROBE_ISA_BIT(PROBE_ISA_FMA),
	.read = read_avx2,
	.copy = copy_avx2,
	.triad = triad_avx2,
};
