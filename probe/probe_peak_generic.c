/*
 * probe: compute peak kernels in plain C: the reference for the ISA
 * variants and the fallback without them. Sixteen independent scalar
 * chains for FP32 (mul + add: -std=c11 does not contract them), one
 * 64-pair dot product per iteration for INT8.
 */
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_kern.h"

#define FP32_ACCS 16

static double fp32_generic(uint64_t iters, float x0, float mul, float add)
{
	float acc[FP32_ACCS];
	for (int k = 0; k < FP32_ACCS; k++)
		acc[k] = PROBE_FP32_START(x0, k);
	for (uint64_t it = 0; it < iters; it++)
		for (int k = 0; k < FP32_ACCS; k++)
			acc[k] = acc[k] * mul + add;
	double s = 0;
	for (int k = 0; k < FP32_ACCS; k++)
		s += acc[k];
	return s;
}

const struct probe_fp32_kernel probe_fp32_generic = {
	.name = "fp32 mul+add generic",
	.requires = 0,
	.lanes = 1,
	.accs = FP32_ACCS,
	.run = fp32_generic,
};

#define INT8_PAIRS 64

static int64_t int8_generic(uint64_t iters, const uint8_t a[64], const int8_t b[64])
{
	uint32_t acc = 0;  /* unsigned: wraps like the SIMD lanes */
	for (uint64_t it = 0; it < iters; it++) {
		/* a and b may have changed: the dot product is redone */
		__asm__ volatile("" ::: "memory");
		int32_t s = 0;
		for (int j = 0; j < INT8_PAIRS; j++)
			s += (int32_t)a[j] * (int32_t)b[j];
		acc += (uint32_t)s;
	}
	return (int32_t)acc;
}

const struct probe_int8_kernel probe_int8_generic = {
	.name = "int8 dot generic",
	.requires = 0,
	.pairs = INT8_PAIRS,
	.accs = 1,
	.run = int8_generic,
};
