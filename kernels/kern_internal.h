/*
 * kernels: private to kernels/. Backend tables and small inline helpers
 * shared by the per-ISA files.
 */
#ifndef LLMCAP_KERN_INTERNAL_H
#define LLMCAP_KERN_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

extern const struct kern_backend kern_backend_generic;
#if defined(__x86_64__) || defined(__i386__)
extern const struct kern_backend kern_backend_avx2;
extern const struct kern_backend kern_backend_avx512;
#endif

static inline float kern_bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static inline uint32_t kern_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* IEEE half to float, branch-free (exponent rebias by multiplication;
 * subnormals through a magic-number subtraction). */
static inline float kern_h2f(uint16_t h)
{
	const uint32_t w = (uint32_t)h << 16;
	const uint32_t sign = w & 0x80000000u;
	const uint32_t two_w = w + w;
	const float normalized = kern_bits_f32((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
	const float denormalized = kern_bits_f32((two_w >> 17) | (126u << 23)) - 0.5f;
	const uint32_t r = two_w < (1u << 27) ? kern_f32_bits(denormalized) : kern_f32_bits(normalized);
	return kern_bits_f32(sign | r);
}

/* 6-bit scale and min j (0..7) of a Q4_K / Q5_K super-block. */
static inline void kern_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
	}
}

/* All 8 scales and mins of a Q4_K / Q5_K super-block at once, from the
 * 12 bytes as three little-endian words w0, w1, w2: scales 0..3 are the
 * low 6 bits of w0's bytes, mins 0..3 of w1's; scales 4..7 take their low
 * 4 bits from w2's low nibbles and their high 2 bits from the top of w0's
 * bytes; mins 4..7 from w2's high nibbles and the top of w1's bytes. */
static inline void kern_k4_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8])
{
	uint32_t w0, w1, w2;
	memcpy(&w0, q, 4);
	memcpy(&w1, q + 4, 4);
	memcpy(&w2, q + 8, 4);
	const uint32_t s0 = w0 & 0x3f3f3f3fu, m0 = w1 & 0x3f3f3f3fu;
	const uint32_t s1 = (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4);
	const uint32_t m1 = ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4);
	memcpy(sc, &s0, 4);
	memcpy(sc + 4, &s1, 4);
	memcpy(mn, &m0, 4);
	memcpy(mn + 4, &m1, 4);
}

#endif
