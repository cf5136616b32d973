/*
 * probe: memory kernels in plain C. They are the reference the ISA
 * variants are tested against and the fallback on CPUs without them.
 * Also the pointer chase and Sattolo's permutation (no ISA variants).
 */
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_kern.h"

/* Eight partial sums so that the adds do not serialise the loads. */
static double read_generic(const double *a, size_t n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		s0 += a[i + 0];
		s1 += a[i + 1];
		s2 += a[i + 2];
		s3 += a[i + 3];
		s4 += a[i + 4];
		s5 += a[i + 5];
		s6 += a[i + 6];
		s7 += a[i + 7];
	}
	for (; i < n; i++)
		s0 += a[i];
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

static void copy_generic(double *restrict b, const double *restrict a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = a[i];
}

static void triad_generic(double *restrict a, const double *restrict b,
			  const double *restrict c, double s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] + s * c[i];
}

const struct probe_bw_kernels probe_bw_generic = {
	.isa = "generic",
	.requires = 0,
	.read = read_generic,
	.copy = copy_generic,
	.triad = triad_generic,
};

const void *probe_chase(const void *p, uint64_t loads)
{
	const void *const *q = p;
	uint64_t i = 0;
	for (; i + 8 <= loads; i += 8) {
		q = *q; q = *q; q = *q; q = *q;
		q = *q; q = *q; q = *q; q = *q;
	}
	for (; i < loads; i++)
		q = *q;
	return q;
}

/* xorshift64*, as the tests use; never 0 state. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void probe_sattolo(uint32_t *p, uint32_t n, uint64_t *seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = i;
	/* j uniform in [0, i): i never maps to itself, one single cycle */
	for (uint32_t i = n; i > 1; i--) {
		uint32_t k = i - 1;
		uint32_t j = (uint32_t)(((rng_next(seed) >> 32) * (uint64_t)k) >> 32);
		uint32_t tmp = p[k];
		p[k] = p[j];
		p[j] = tmp;
	}
}
