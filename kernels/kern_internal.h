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
#if defined(__x86_64__)
extern const struct kern_backend kern_backend_amx;
#endif
#if defined(__aarch64__)
extern const struct kern_backend kern_backend_neon;
extern const struct kern_backend kern_backend_neondot;
#endif

/* ---- packed weights and activation records (kern_pack.c) -------------
 *
 * A packed matrix holds its rows in groups of KERN_PACK_ROWS (the last
 * group padded with zero rows); group g starts at
 * g * kern_pack_group_bytes(type, nb) (64-byte aligned), nb = cols /
 * kern_pack_blk(type) blocks (32 weights; 256 for the k-quants). A group
 * is the quants of its nb blocks (kern_pack_qs_bytes each), then the
 * scales of its nb blocks (kern_pack_sc_bytes each):
 *
 *   quants of block b: chunks of 64 bytes; chunk c holds, for row r =
 *     0..15, bytes 4c..4c+3 of that row's GGUF quant bytes at 4r (so one
 *     int32 lane per row, four bytes of k in it).
 *     Q4_0, Q4_1: 4 chunks of qs; byte j holds k = j (low nibble) and
 *     k = 16 + j (high nibble), as in GGUF.  Q8_0: 8 chunks; byte j is k.
 *     Q4_K: 32 chunks of qs: byte j holds k = 64(j / 32) + j % 32 (low
 *     nibble, sub-block 2(j / 32)) and that + 32 (high, the next one).
 *     Q6_K: 32 chunks of ql, then 16 of qh (GGUF order: half n = k / 128,
 *     l = k % 32; ql[64n + l] has k = 128n + l low and + 64 high,
 *     ql[64n + 32 + l] k + 32 and k + 96; qh[32n + l] their high 2 bits
 *     at shifts 0, 2, 4, 6).
 *   scales of block b: uint16 d[16] (F16), then for Q4_1 uint16 m[16];
 *     Q4_K: d[16], dmin[16] (F16), the 6-bit scales as bytes sc[8][16]
 *     (sub-block, row), the 6-bit mins as bytes mn[4][16][2] (pair of
 *     sub-blocks, row, which of the pair); Q6_K: d[16] (F16), scales as
 *     int8 sc[16][16] (sub-block of 16, row).
 *
 * Activations for packed products: one record per block of a token,
 * quantized as kern_act_type's quantizer does. struct kern_qa (32
 * values, Q8_0 / Q8_1 quantization, d rounded through F16) carries c =
 * -8 x sum(qs) for Q4_0 weights, -128 x sum(qs) for Q8_0 (the terms that
 * undo unsigned weights: nibbles 0..15 instead of -8..7, Q8_0 quants +
 * 128), and for Q4_1 s = F16(d x sum(qs)) as ggml's Q8_1. struct kern_qk
 * (256 values, Q8_K quantization) carries for Q4_K the sums of each 32
 * quants as int16 pairs (x[i] = sum 2i | sum 2i+1 << 16, i < 4), for
 * Q6_K -32 x the sum of each 16 (x[s], s < 16; Q6_K quants are stored
 * + 32).
 * Tokens go in panels of KERN_PACK_TOKENS: panel p holds tokens 8p..,
 * nt of them, starting at record 8p x nb; record (block b, token t) of a
 * panel is its record b x nt + t. */
#define KERN_PACK_ROWS 16
#define KERN_PACK_TOKENS 8
/* Tokens per step of a batch product (kern_gemm_fn's note in kernels.h):
 * two panels, the 16 rows of an AMX tile. */
#define KERN_PACK_BATCH (2 * KERN_PACK_TOKENS)

struct kern_qa {
	int8_t qs[32];
	float d;
	union {
		int32_t c;    /* Q4_0, Q8_0 */
		float s;      /* Q4_1 */
	};
};
_Static_assert(sizeof(struct kern_qa) == 40, "kern_qa");

struct kern_qk {
	int8_t qs[QK_K];
	float d;
	int32_t x[16];
};
_Static_assert(sizeof(struct kern_qk) == 324, "kern_qk");

static inline int kern_pack_is_k(int type)
{
	return type == QT_Q4_K || type == QT_Q6_K;
}

/* Weights per block and bytes of one activation record. */
static inline int64_t kern_pack_blk(int type)
{
	return kern_pack_is_k(type) ? QK_K : 32;
}

static inline int64_t kern_pack_rec_bytes(int type)
{
	return kern_pack_is_k(type) ? (int64_t)sizeof(struct kern_qk) : (int64_t)sizeof(struct kern_qa);
}

static inline int64_t kern_pack_qs_bytes(int type)
{
	switch (type) {
	case QT_Q8_0: return 512;
	case QT_Q4_K: return 2048;
	case QT_Q6_K: return 3072;
	default: return 256;
	}
}

static inline int64_t kern_pack_sc_bytes(int type)
{
	switch (type) {
	case QT_Q4_1: return 64;
	case QT_Q4_K: return 320;
	case QT_Q6_K: return 288;
	default: return 32;
	}
}

static inline size_t kern_pack_group_bytes(int type, int64_t nb)
{
	return (size_t)((nb * (kern_pack_qs_bytes(type) + kern_pack_sc_bytes(type)) + 63) & ~(int64_t)63);
}

static inline int64_t kern_pack_groups(int64_t rows)
{
	return (rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
}

/* 1 when products over w read its packed copy with t's kernels (else
 * its rows, with activations in kern_act_type). */
static inline int kern_use_packed(const struct kern_table *t, const struct kern_mat *w)
{
	return w->packed && kern_mat_packable(t, w->type);
}

/* n (1..3) packed matrices of one type and width reading the same
 * activations (kern_act_quantize for w[0]) in one pool run (q/k/v, gate
 * and up): Y[i] is n_tok x w[i]->rows with row stride ldy[i]. 0, or -1
 * (nothing computed) when they cannot share one: not all packed for t,
 * types or widths differ. */
int kern_matmul_q_shared(const struct kern_table *t, struct kern_pool *pool, int n,
			 const struct kern_mat *const *w, const void *xq, int64_t n_tok, float *const *Y,
			 const int64_t *ldy);

/* ---- mixture of experts (kern_moe.c) ---------------------------------
 * One MoE FFN: a router and n_expert experts, each a gated FFN of n_ff;
 * the matrices are views into the layer's 3-D expert tensors (expert e
 * at e x rows x row_bytes), owned by the model. */
struct kern_moe {
	int n_expert, n_used;
	int64_t n_embd, n_ff;        /* n_ff: one expert's FFN */
	float w_scale;               /* expert_weights_scale; 0 or 1: none */
	struct kern_mat router;      /* (n_expert, n_embd) */
	struct kern_mat *gate, *up;  /* n_expert x (n_ff, n_embd) */
	struct kern_mat *down;       /* n_expert x (n_embd, n_ff) */
};
/* Work buffers for up to max_tok tokens of one shape (any layer of it).
 * 0, or -2 out of memory. Free with kern_moe_buf_free (NULL is fine). */
struct kern_moe_buf;
int kern_moe_buf_new(struct kern_moe_buf **out, const struct kern_moe *moe, int max_tok);
void kern_moe_buf_free(struct kern_moe_buf *b);
/* Y (n x n_embd) = the MoE FFN of the n rows of X (n x n_embd): routed
 * per token (kern_moe_route), tokens grouped by expert so that each
 * chosen expert's matrices are read once for all of its tokens. 0, or -1
 * when n is not in 1..max_tok. */
int kern_moe_ffn(const struct kern_table *t, struct kern_pool *pool, const struct kern_moe *moe,
		 struct kern_moe_buf *b, const float *X, int n, float *Y);

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
