/*
 * kernels: the AMX backend: prefill products on the tile matrix unit
 * (AMX-TILE + AMX-INT8, Xeons from Sapphire Rapids on) for packed Q4_0,
 * Q4_1, Q8_0 and Q4_K matrices. It has only batch products
 * (kern_gemm_fn's note in kernels.h): decode, batches under 16 tokens and
 * every other kernel stay with the AVX-512 VNNI backend, whose packed
 * weights and activation records (kern_internal.h) this reads unchanged.
 *
 * One tile product per 32-weight block and panel of 8 tokens:
 *   C (8 tokens x 16 rows, int32) += A (the panel's 8 records' 32 int8
 *   activations, read in place 40 bytes apart) . B (the block's 32
 *   weights of the group's 16 rows, 4 bytes of k per row: the packed
 *   layout's 64-byte chunks are B's rows as they are).
 * The block's sums then leave the tile (TILESTORED) and are scaled in
 * float with AVX-512, row scales times the token's scale, as the VNNI
 * tile scales them: the scales change every 32 weights, so a tile can
 * never sum across blocks. What the tile replaces is the integer part,
 * 8 VPDPBUSD per token, row group and block on the VNNI tile; the float
 * part (convert, multiply, FMA per token and block) is the same.
 *
 * Q8_0 weights are signed bytes: B is the packed chunks (TDPBSSD, and no
 * correction term). Q4 nibbles are unpacked once per row group and run of
 * KC blocks into a staging buffer that every pair of panels then reads:
 * Q4_0 as q - 8 (signed, TDPBSSD), Q4_1 as q (unsigned: TDPBSUD, plus
 * the rows' m times the token's s in float, as the VNNI tile). Q4_K the
 * same way per sub-block of 32 (batch_q4_K).
 *
 * Off unless LLMCAP_AMX is set (kern_cpu_features): on the machine
 * measured (a 16-vCPU Xeon VM with AMX, bench/kernels_notes.md) it ran at
 * 0.86-0.98x the VNNI tile on one core and 0.83-1.18x on 8 and 16
 * threads: about 200 GOPS a core, where TDPBSSD of this shape alone
 * sustains ~1500, so the tile unit works a small part of the time. The
 * likely cause (not yet isolated) is each block's round trip through
 * memory (TILESTORED, then vector loads) and the reuse of the same tile
 * registers from one block to the next, which chain the blocks.
 *
 * Tiles (one configuration per call, released at its end so the thread
 * carries no tile state between products): tmm0, tmm1 the activations of
 * the two panels (A, 8 rows x 32 bytes); tmm2 and tmm5 the weights of an
 * even and an odd block (B, 8 x 64); tmm3, tmm4 and tmm6, tmm7 the sums of
 * the even and the odd block for each panel (C, 8 x 64), so that one
 * block's products run while the previous block's sums are scaled.
 */
#include "kernels/kern_internal.h"

#if defined(__x86_64__)   /* the tile instructions are 64-bit only */
#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Blocks of Q4 weights unpacked at a time: 16 KiB of B tiles, in L1
 * while the pairs of panels pass over them. */
#define KC 32
/* Bytes of one block's B tile: 8 rows of k / 4 x 16 rows x 4 bytes. */
#define BTILE 512

/* LDTILECFG's 64-byte operand, palette 1. */
struct amx_tilecfg {
	uint8_t palette;
	uint8_t start_row;
	uint8_t reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
};
_Static_assert(sizeof(struct amx_tilecfg) == 64, "amx_tilecfg");

/* GCC's tile intrinsics are asm statements that take their addresses as
 * plain registers: without this the compiler may keep stores to what a
 * tile instruction reads (the staging buffer, the configuration) in
 * registers or drop them. */
static ALWAYS_INLINE void amx_fence(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static void amx_config(void)
{
	_Alignas(64) struct amx_tilecfg c;
	memset(&c, 0, sizeof c);
	c.palette = 1;
	for (int i = 0; i < 8; i++) {
		c.rows[i] = KERN_PACK_TOKENS;  /* A, C: tokens; B: k / 4 = 8 */
		c.colsb[i] = 64;
	}
	c.colsb[0] = c.colsb[1] = 32;          /* A: one block's 32 activations */
	amx_fence(&c);
	_tile_loadconfig(&c);
}

/* n blocks of the group's Q4 nibbles (q, 256 bytes a block) as B tiles
 * (dst, BTILE bytes a block): packed chunk c holds k = 4c..4c+3 in its
 * low nibbles and k = 16 + 4c.. in its high ones, so B's rows 0-3 are the
 * low nibbles of chunks 0-3 and rows 4-7 the high ones. Q4_0 as q - 8. */
static ALWAYS_INLINE void unpack_q4(const int type, const uint8_t *q, int64_t n, int8_t *dst)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F), b8 = _mm512_set1_epi8(8);
	for (int64_t j = 0; j < n; j++) {
#pragma GCC unroll 4
		for (int c = 0; c < 4; c++) {
			const __m512i raw = _mm512_load_si512((const void *)(q + j * 256 + 64 * c));
			__m512i lo = _mm512_and_si512(raw, m4);
			__m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
			if (type == QT_Q4_0) {
				lo = _mm512_sub_epi8(lo, b8);
				hi = _mm512_sub_epi8(hi, b8);
			}
			_mm512_store_si512((void *)(dst + j * BTILE + 64 * c), lo);
			_mm512_store_si512((void *)(dst + j * BTILE + 256 + 64 * c), hi);
		}
	}
	amx_fence(dst);
}

/* ng row groups (gb bytes apart) x nt tokens (pairs of full panels) over
 * nb blocks: see the top of the file. */
static ALWAYS_INLINE void amx_gemm(const int type, int64_t nb, const void *w, int64_t ng,
				   const void *act, int nt, float *y, int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const size_t gb = kern_pack_group_bytes(type, nb);
	const struct kern_qa *a = act;
	const long rs = (long)sizeof(struct kern_qa);
	_Alignas(64) int8_t stage[KC * BTILE];
	_Alignas(64) int32_t cbuf[2][2 * KERN_PACK_TOKENS * KERN_PACK_ROWS];
	amx_config();
	for (int64_t g = 0; g < ng; g++) {
		const int64_t left = nrows - g * KERN_PACK_ROWS;
		if (left <= 0)
			break;
		const __mmask16 km = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
		const uint8_t *wg = (const uint8_t *)w + g * gb;
		for (int64_t kc = 0; kc < nb; kc += KC) {
			const int64_t n = nb - kc < KC ? nb - kc : KC;
			const int8_t *bq = (const int8_t *)(wg + kc * qsb);
			if (type != QT_Q8_0) {
				unpack_q4(type, wg + kc * qsb, n, stage);
				bq = stage;
			}
			const uint8_t *sc0 = wg + nb * qsb + kc * scb;
			for (int tt = 0; tt < nt; tt += KERN_PACK_BATCH) {
				/* block kc's records of the two panels: token t of
				 * block b at [b x 8 + t] */
				const struct kern_qa *p0 = a + (int64_t)tt * nb + kc * KERN_PACK_TOKENS;
				const struct kern_qa *p1 = p0 + KERN_PACK_TOKENS * nb;
				__m512 f[KERN_PACK_BATCH];
#pragma GCC unroll 16
				for (int t = 0; t < KERN_PACK_BATCH; t++)
					f[t] = _mm512_setzero_ps();
				for (int64_t j = 0; j < n; j += 2) {
#pragma GCC unroll 2
					for (int h = 0; h < 2; h++) {
						const int64_t b = j + h;
						if (b >= n)
							break;
						const struct kern_qa *r0 = p0 + b * KERN_PACK_TOKENS;
						const struct kern_qa *r1 = p1 + b * KERN_PACK_TOKENS;
						int32_t *cb = cbuf[h];
						_tile_loadd(0, r0->qs, rs);
						_tile_loadd(1, r1->qs, rs);
						if (h == 0) {
							_tile_loadd(2, bq + b * BTILE, 64);
							_tile_zero(3);
							_tile_zero(4);
							if (type == QT_Q4_1) {
								_tile_dpbsud(3, 0, 2);
								_tile_dpbsud(4, 1, 2);
							} else {
								_tile_dpbssd(3, 0, 2);
								_tile_dpbssd(4, 1, 2);
							}
							_tile_stored(3, cb, 64);
							_tile_stored(4, cb + KERN_PACK_TOKENS * 16, 64);
						} else {
							_tile_loadd(5, bq + b * BTILE, 64);
							_tile_zero(6);
							_tile_zero(7);
							if (type == QT_Q4_1) {
								_tile_dpbsud(6, 0, 5);
								_tile_dpbsud(7, 1, 5);
							} else {
								_tile_dpbssd(6, 0, 5);
								_tile_dpbssd(7, 1, 5);
							}
							_tile_stored(6, cb, 64);
							_tile_stored(7, cb + KERN_PACK_TOKENS * 16, 64);
						}
						const uint16_t *sc = (const uint16_t *)(sc0 + b * scb);
						const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
						const __m512 mw = type == QT_Q4_1
							? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sc + KERN_PACK_ROWS)))
							: _mm512_setzero_ps();
#pragma GCC unroll 16
						for (int t = 0; t < KERN_PACK_BATCH; t++) {
							const struct kern_qa *r = t < KERN_PACK_TOKENS ? r0 + t
												       : r1 + (t - KERN_PACK_TOKENS);
							const __m512 s = _mm512_cvtepi32_ps(_mm512_load_si512((const void *)(cb + 16 * t)));
							f[t] = _mm512_fmadd_ps(s, _mm512_mul_ps(dw, _mm512_set1_ps(r->d)), f[t]);
							if (type == QT_Q4_1)
								f[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(r->s), f[t]);
						}
					}
				}
				/* the first run of blocks writes, the others add */
#pragma GCC unroll 16
				for (int t = 0; t < KERN_PACK_BATCH; t++) {
					float *yt = y + (int64_t)(tt + t) * ldy + g * KERN_PACK_ROWS;
					if (kc == 0)
						_mm512_mask_storeu_ps(yt, km, f[t]);
					else
						_mm512_mask_storeu_ps(yt, km, _mm512_add_ps(_mm512_maskz_loadu_ps(km, yt), f[t]));
				}
			}
		}
	}
	_tile_release();
}

/* Super-blocks of Q4_K unpacked at a time (16 KiB of B tiles). */
#define KCK 4

/* n super-blocks of the group's Q4_K quants (2048 bytes each) as 8 B
 * tiles each, one per sub-block of 32 (dst, 8 x BTILE bytes a
 * super-block): packed chunks 8i..8i+7 hold in their low nibbles
 * sub-block 2i's k = 4c.. in order, in their high ones sub-block 2i + 1's
 * (kern_internal.h), so chunk c is row c % 8 of tile 2(c / 8) (low) and
 * 2(c / 8) + 1 (high). Unsigned. */
static void unpack_q4_K(const uint8_t *q, int64_t n, int8_t *dst)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	for (int64_t j = 0; j < n; j++) {
#pragma GCC unroll 8
		for (int c = 0; c < 32; c++) {
			const __m512i raw = _mm512_load_si512((const void *)(q + j * 2048 + 64 * c));
			int8_t *d = dst + j * 8 * BTILE + 2 * (c / 8) * BTILE + 64 * (c % 8);
			_mm512_store_si512((void *)d, _mm512_and_si512(raw, m4));
			_mm512_store_si512((void *)(d + BTILE), _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4));
		}
	}
	amx_fence(dst);
}

/* Q4_K: one TDPBSUD per sub-block of 32 and panel (A: the records' 32
 * activations of that sub-block, 324 bytes apart); each sub-block's sums
 * scaled in float by d x its 6-bit scale x the token's d; the mins term
 * once per super-block as the VNNI tile computes it (vpdpwssd of the rows'
 * mins with the token's sub-block sums). */
static void batch_q4_K(int64_t nb, const void *w, int64_t ng, const void *act, int nt, float *y,
		       int64_t ldy, int64_t nrows)
{
	const int64_t qsb = kern_pack_qs_bytes(QT_Q4_K), scb = kern_pack_sc_bytes(QT_Q4_K);
	const size_t gb = kern_pack_group_bytes(QT_Q4_K, nb);
	const struct kern_qk *a = act;
	const long rs = (long)sizeof(struct kern_qk);
	_Alignas(64) int8_t stage[KCK * 8 * BTILE];
	_Alignas(64) int32_t cbuf[2][2 * KERN_PACK_TOKENS * KERN_PACK_ROWS];
	amx_config();
	for (int64_t g = 0; g < ng; g++) {
		const int64_t left = nrows - g * KERN_PACK_ROWS;
		if (left <= 0)
			break;
		const __mmask16 km = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
		const uint8_t *wg = (const uint8_t *)w + g * gb;
		for (int64_t kc = 0; kc < nb; kc += KCK) {
			const int64_t n = nb - kc < KCK ? nb - kc : KCK;
			unpack_q4_K(wg + kc * qsb, n, stage);
			for (int tt = 0; tt < nt; tt += KERN_PACK_BATCH) {
				const struct kern_qk *p0 = a + (int64_t)tt * nb + kc * KERN_PACK_TOKENS;
				const struct kern_qk *p1 = p0 + KERN_PACK_TOKENS * nb;
				__m512 f[KERN_PACK_BATCH];
#pragma GCC unroll 16
				for (int t = 0; t < KERN_PACK_BATCH; t++)
					f[t] = _mm512_setzero_ps();
				for (int64_t j = 0; j < n; j++) {
					const struct kern_qk *r0 = p0 + j * KERN_PACK_TOKENS;
					const struct kern_qk *r1 = p1 + j * KERN_PACK_TOKENS;
					const uint8_t *sc = wg + nb * qsb + (kc + j) * scb;
					const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)sc));
					const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sc + 32)));
					for (int sb = 0; sb < 8; sb += 2) {
#pragma GCC unroll 2
						for (int h = 0; h < 2; h++) {
							const int s = sb + h;
							const int8_t *bq = stage + (j * 8 + s) * BTILE;
							int32_t *cb = cbuf[h];
							_tile_loadd(0, r0->qs + 32 * s, rs);
							_tile_loadd(1, r1->qs + 32 * s, rs);
							if (h == 0) {
								_tile_loadd(2, bq, 64);
								_tile_zero(3);
								_tile_zero(4);
								_tile_dpbsud(3, 0, 2);
								_tile_dpbsud(4, 1, 2);
								_tile_stored(3, cb, 64);
								_tile_stored(4, cb + KERN_PACK_TOKENS * 16, 64);
							} else {
								_tile_loadd(5, bq, 64);
								_tile_zero(6);
								_tile_zero(7);
								_tile_dpbsud(6, 0, 5);
								_tile_dpbsud(7, 1, 5);
								_tile_stored(6, cb, 64);
								_tile_stored(7, cb + KERN_PACK_TOKENS * 16, 64);
							}
							const __m512 ds = _mm512_mul_ps(dv, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
								_mm_loadu_si128((const __m128i *)(sc + 64 + 16 * s)))));
#pragma GCC unroll 16
							for (int t = 0; t < KERN_PACK_BATCH; t++) {
								const struct kern_qk *r = t < KERN_PACK_TOKENS ? r0 + t
												       : r1 + (t - KERN_PACK_TOKENS);
								const __m512 v = _mm512_cvtepi32_ps(
									_mm512_load_si512((const void *)(cb + 16 * t)));
								f[t] = _mm512_fmadd_ps(v, _mm512_mul_ps(ds, _mm512_set1_ps(r->d)), f[t]);
							}
						}
					}
					__m512i mn[4];
#pragma GCC unroll 4
					for (int i = 0; i < 4; i++)
						mn[i] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(sc + 192 + 32 * i)));
#pragma GCC unroll 16
					for (int t = 0; t < KERN_PACK_BATCH; t++) {
						const struct kern_qk *r = t < KERN_PACK_TOKENS ? r0 + t : r1 + (t - KERN_PACK_TOKENS);
						__m512i ms = _mm512_setzero_si512();
#pragma GCC unroll 4
						for (int i = 0; i < 4; i++)
							ms = _mm512_dpwssd_epi32(ms, mn[i], _mm512_set1_epi32(r->x[i]));
						f[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(mv, _mm512_set1_ps(r->d)),
									f[t]);
					}
				}
#pragma GCC unroll 16
				for (int t = 0; t < KERN_PACK_BATCH; t++) {
					float *yt = y + (int64_t)(tt + t) * ldy + g * KERN_PACK_ROWS;
					if (kc == 0)
						_mm512_mask_storeu_ps(yt, km, f[t]);
					else
						_mm512_mask_storeu_ps(yt, km, _mm512_add_ps(_mm512_maskz_loadu_ps(km, yt), f[t]));
				}
			}
		}
	}
	_tile_release();
}

static void batch_q4_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		       int64_t ldy, int64_t nrows)
{
	amx_gemm(QT_Q4_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void batch_q4_1(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		       int64_t ldy, int64_t nrows)
{
	amx_gemm(QT_Q4_1, nb, w, ng, a, nt, y, ldy, nrows);
}

static void batch_q8_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		       int64_t ldy, int64_t nrows)
{
	amx_gemm(QT_Q8_0, nb, w, ng, a, nt, y, ldy, nrows);
}

const struct kern_backend kern_backend_amx = {
	.name = "amx",
	.requires = KERN_F_AVX2 | KERN_F_AVX512 | KERN_F_AVX512VNNI | KERN_F_AMX,
	.gemm_batch = {[QT_Q4_0] = batch_q4_0, [QT_Q4_1] = batch_q4_1, [QT_Q8_0] = batch_q8_0,
		       [QT_Q4_K] = batch_q4_K},
};
#endif
