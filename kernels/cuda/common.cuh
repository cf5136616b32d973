/*
 * kernels/cuda: device helpers shared by the .cu files (one module each).
 */
#ifndef LLMCAP_KCU_COMMON_CUH
#define LLMCAP_KCU_COMMON_CUH

#include <cuda_fp16.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"

/* ggml type ids (model_db/quant.h) */
enum {
	T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q4_1 = 3, T_Q5_0 = 6, T_Q8_0 = 8,
	T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30,
};

#define M4 0x0F0F0F0Fu

/* Programmatic dependent launch (Hopper): a kernel launched with it may
 * start while the previous one finishes; pdl_wait() returns once the
 * previous kernel has completed and its writes are visible, so nothing
 * before it may read what an earlier kernel wrote or write what one
 * reads. pdl_launch() lets the next kernel start early. Both do nothing
 * before sm_90 or without the launch attribute. */
__device__ __forceinline__ void pdl_wait()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

__device__ __forceinline__ float h2f(unsigned short b)
{
	return __half2float(__ushort_as_half(b));
}

__device__ __forceinline__ float bf2f(unsigned short b)
{
	return __uint_as_float((unsigned)b << 16);
}

__device__ __forceinline__ int dp4a(int a, int b, int c)
{
	return __dp4a(a, b, c);
}

/* Lane l of the warp holds value v, element l of a block of 32: the
 * block's int8 quants go to q[0..32) and its scale and quant sums to *xs
 * (d = max|v| / 127, q = round-half-even(v * (1/d)), as ggml's Q8_0). */
__device__ __forceinline__ void quant32(float v, int lane, int8_t *q, struct kcu_xs *xs)
{
	const float amax = warp_max(fabsf(v));
	const float d = amax / 127.0f;
	const float id = d != 0.0f ? 1.0f / d : 0.0f;
	const int qi = __float2int_rn(v * id);
	q[lane] = (int8_t)qi;
	int s = qi;
#pragma unroll
	for (int o = 8; o > 0; o >>= 1)   /* sums within each half-warp */
		s += __shfl_xor_sync(0xffffffffu, s, o);
	const int s_hi = __shfl_sync(0xffffffffu, s, 16);
	if (lane == 0) {
		struct kcu_xs r;
		r.d = d;
		r.q_lo = (short)s;
		r.q_hi = (short)s_hi;
		*xs = r;
	}
}

/* qh'ed order (abi.h): the fifth bits lo, hi of the low and high nibble
 * of qs byte b (< 16) of a unit, placed in its u32 */
__device__ __forceinline__ unsigned qh_bits(int b, unsigned lo, unsigned hi)
{
	const int k = b >> 2, i = b & 3;
	return lo << (8 * i + k) | hi << (8 * i + 4 + k);
}

/* the fifth bit of the low (hi = 0) or high nibble of qs byte b from a
 * qh'ed word */
__device__ __forceinline__ int qh_get(unsigned w, int b, int hi)
{
	return (int)((w >> (8 * (b & 3) + 4 * hi + (b >> 2))) & 1u);
}

/* Element e of row r of a matrix in the device layout (abi.h). */
__device__ __forceinline__ float wval(int type, const uint8_t *q, const uint8_t *s, const uint8_t *h,
				      int cols, int r, int e)
{
	switch (type) {
	case T_F32:
		return ((const float *)q)[(size_t)r * cols + e];
	case T_F16:
		return h2f(((const unsigned short *)q)[(size_t)r * cols + e]);
	case T_BF16:
		return bf2f(((const unsigned short *)q)[(size_t)r * cols + e]);
	case T_Q4_0: case T_Q4_1: case T_Q5_0: {
		const size_t g = (size_t)r * (cols / 32) + e / 32;
		const int j = e % 32;
		const int byte = q[16 * g + (j & 15)];
		int v = j < 16 ? byte & 15 : byte >> 4;
		if (type == T_Q4_1) {
			const unsigned short *dm = (const unsigned short *)s + 2 * g;
			return h2f(dm[0]) * (float)v + h2f(dm[1]);
		}
		const float d = h2f(((const unsigned short *)s)[g]);
		if (type == T_Q4_0)
			return d * (float)(v - 8);
		const unsigned qh = ((const unsigned *)h)[g];
		v |= qh_get(qh, j & 15, j >= 16) << 4;
		return d * (float)(v - 16);
	}
	case T_Q8_0: {
		const size_t g = (size_t)r * (cols / 32) + e / 32;
		return h2f(((const unsigned short *)s)[g]) * (float)((const int8_t *)q)[32 * g + e % 32];
	}
	case T_Q4_K: case T_Q5_K: {
		const size_t G = (size_t)r * (cols / 256) + e / 256;
		const int k = e % 256, jj = k / 64, l = k % 64;
		const int a = 2 * jj + (l >= 32);
		const int byte = q[128 * G + 32 * jj + (l & 31)];
		int v = l < 32 ? byte & 15 : byte >> 4;
		const uint8_t *m = s + 16 * G;
		const float d = h2f(m[0] | m[1] << 8), dmin = h2f(m[2] | m[3] << 8);
		const uint8_t *sc = m + 4;
		int scale, mn;
		if (a < 4) {
			scale = sc[a] & 63;
			mn = sc[a + 4] & 63;
		} else {
			scale = (sc[a + 4] & 0xF) | ((sc[a - 4] >> 6) << 4);
			mn = (sc[a + 4] >> 4) | ((sc[a] >> 6) << 4);
		}
		if (type == T_Q5_K) {   /* unit 2 jj + (l & 31) / 16, byte l & 15 */
			const unsigned w = ((const unsigned *)h)[8 * G + 2 * jj + ((l & 31) >> 4)];
			v |= qh_get(w, l & 15, l >= 32) << 4;
		}
		return d * (float)scale * (float)v - dmin * (float)mn;
	}
	case T_Q6_K: {
		const size_t G = (size_t)r * (cols / 256) + e / 256;
		const int k = e % 256, n = k / 128, gg = (k % 128) / 32, l = k % 32;
		/* the row's planes (abi.h): A holds ql[64 n + 16 h ..] of unit
		 * 2 n + h, B ql[64 n + 32 + 16 h ..], C qh[32 n + 16 h ..] */
		const size_t nsb = (size_t)(cols / 256), b = (size_t)(e / 256);
		const uint8_t *rq = q + (size_t)r * 192 * nsb;
		const int m = (gg & 1) * 32 + l;   /* ql[64 n + m] */
		const int lb = rq[(m >> 5) * 64 * nsb + 16 * (4 * b + 2 * n + ((m >> 4) & 1)) + (m & 15)];
		const int lo = gg < 2 ? lb & 15 : lb >> 4;
		const int qb = rq[128 * nsb + 16 * (4 * b + 2 * n + (l >> 4)) + (l & 15)];
		const int hi = (qb >> (2 * gg)) & 3;
		const int sc = ((const int8_t *)s)[16 * G + 8 * n + l / 16 + 2 * gg];
		const float d = h2f(((const unsigned short *)h)[G]);
		return d * (float)sc * (float)((lo | hi << 4) - 32);
	}
	}
	return 0.0f;
}

#endif
