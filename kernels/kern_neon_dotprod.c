/*
 * kernels: the NEON backend's integer products with the ARMv8.2
 * dot-product instructions (SDOT, vdotq_s32): the row dots of every
 * quantized type and the packed tiles, from kern_neon.h with dp = 1.
 * Built for armv8.2-a+dotprod (the Makefile's per-file flag, and the
 * pragma below for a build whose CFLAGS set another -march), listed after
 * kern_backend_neon and used only where the CPU reports the instructions
 * (KERN_F_NEONDOT, from HWCAP_ASIMDDP); everything else comes from
 * kern_neon.c.
 */
#include <arm_neon.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif

#include "kernels/kern_neon.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "kern_neon_dotprod.c must be built with -march=armv8.2-a+dotprod"
#endif

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(1, QT_Q4_0, n, w, a);
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	return neon_dot32(1, QT_Q4_1, n, w, a);
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(1, QT_Q5_0, n, w, a);
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	return neon_dot32(1, QT_Q8_0, n, w, a);
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q45_K(1, QT_Q4_K, n, w, a);
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q45_K(1, QT_Q5_K, n, w, a);
}

static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	return neon_dot_q6_K(1, n, w, a);
}

static void gemm_q4_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(1, QT_Q4_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_1(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(1, QT_Q4_1, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q8_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm(1, QT_Q8_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm_k(1, QT_Q4_K, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q6_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	neon_gemm_k(1, QT_Q6_K, nb, w, ng, a, nt, y, ldy, nrows);
}

/* Only what SDOT changes; the table falls back to kern_backend_neon for
 * the rest (float rows, quantizers, activation records, SwiGLU). */
const struct kern_backend kern_backend_neondot = {
	.name = "neondot",
	.requires = KERN_F_NEON | KERN_F_NEONDOT,
	.dot = {
		[QT_Q4_0] = dot_q4_0, [QT_Q4_1] = dot_q4_1, [QT_Q5_0] = dot_q5_0,
		[QT_Q8_0] = dot_q8_0,
		[QT_Q4_K] = dot_q4_K, [QT_Q5_K] = dot_q5_K, [QT_Q6_K] = dot_q6_K,
	},
	.gemm = {[QT_Q4_0] = gemm_q4_0, [QT_Q4_1] = gemm_q4_1, [QT_Q8_0] = gemm_q8_0,
		 [QT_Q4_K] = gemm_q4_K, [QT_Q6_K] = gemm_q6_K},
};
