/*
 * kernels/cuda: the parameter blocks of llmcap's CUDA kernels, shared by
 * the device code (the .cu files in kernels/cuda, compiled by nvcc) and the host code
 * that launches them through the driver API (kernels/kern_cuda.c, plain
 * C). Private to kernels/.
 *
 * Every kernel takes one struct by value. Device addresses are 64-bit
 * integers (CUdeviceptr) on both sides, so the layouts agree without CUDA
 * headers on the host.
 *
 * Weights on the device are the GGUF blocks split into arrays (structure
 * of arrays), so that every quant block's bytes start 16-byte aligned and
 * a warp reads them with coalesced 16-byte loads. Per matrix of R rows,
 * nb blocks (nsb super-blocks) per row, block g = row * nb + b:
 *
 *   Q4_0  q: 16 B qs per block           s: half d per block
 *   Q4_1  q: 16 B qs                     s: half2 (d, m)
 *   Q5_0  q: 16 B qs                     s: half d        h: u32 qh'ed
 *   Q8_0  q: 32 B qs                     s: half d
 *   Q4_K  q: 128 B qs per super-block    s: 16 B (d, dmin, scales[12])
 *   Q5_K  q: 128 B qs                    s: 16 B as Q4_K  h: 8 x u32 qh'ed
 *   Q6_K  q: 192 B, in planes per row    s: 16 B scales   h: half d
 *   F32, F16, BF16: the rows as they are (q only).
 *
 * Q6_K planes: the matrix kernels' unit is a quarter super-block, unit
 * u = 4 b + i of a row (super-block b, n = i / 2, h = i % 2) reads
 * ql[64 n + 16 h ..+16] (A), ql[64 n + 32 + 16 h ..+16] (B) and qh[32 n
 * + 16 h ..+16] (C). A row's q bytes are three planes of 64 nsb bytes,
 * A then B then C, each holding its piece of unit u at 16 u: a warp's
 * 16-byte loads of consecutive units are contiguous (GGUF's order gives
 * each load 64-byte runs 192 bytes apart).
 *
 * qh'ed: the fifth bits of a 16-byte run of qs, 32 weights (a Q5_0
 * block; an eighth of a Q5_K super-block, the matrix kernels' unit), in
 * one u32 ordered for unpacking: the bit of the low nibble of qs byte
 * 4 k + i is bit 8 i + k, of its high nibble bit 8 i + 4 + k (i, k < 4),
 * so (w << (4 - k)) & 0x10101010 and (w >> k) & 0x10101010 put them over
 * the nibbles of qs word k. kcu_repack writes it from GGUF's qh
 * (kcu_repack.mode).
 *
 * Activations read by the matrix kernels: for each token row of `cols`
 * values, int8 quants (xq, cols bytes) and per 32 values a struct kcu_xs
 * (d as float; q_lo, q_hi the sums of the first and last 16 quants, exact
 * integers: the offset terms of Q4_0, Q4_1's mins, the k-quants' mins need
 * them), or floats (xf) for float weights. Quantization: d =
 * max|x| / 127, q = round-half-even(x / d) (x * (1/d)), as ggml's Q8_0.
 */
#ifndef LLMCAP_KERN_CUDA_ABI_H
#define LLMCAP_KERN_CUDA_ABI_H

#define KCU_THREADS 256          /* threads per block of the matrix kernels */
#define KCU_MAX_BATCH 64         /* tokens per step (prefill micro-batch) */
#define KCU_ATT_THREADS 256      /* threads per block of RoPE and attention */

typedef unsigned long long kcu_ptr;

struct kcu_xs {
	float d;
	short q_lo, q_hi;            /* sums of quants 0..15 and 16..31 */
};

/* The current step, in device memory: the decode graph reads it, so one
 * captured graph serves every position. */
struct kcu_step {
	int pos0;                    /* position of the first token */
	int n_tok;
	int tok[KCU_MAX_BATCH];
};

/* Y (n_tok x rows, row stride ldy) = X W^T (+ bias) (+ Y when accumulate).
 * Grid: (ceil(rows / rpb), ceil(n_tok / NC)); KCU_THREADS threads;
 * dynamic shared memory: NC x cols x (1 + 8/32) bytes (quantized
 * activations) or NC x cols x 4 (float). */
struct kcu_gemv {
	kcu_ptr q, s, h;             /* weights */
	int rows, cols;
	kcu_ptr xq, xs, xf;          /* activations */
	int n_tok;
	int rpb;                     /* rows per block, a multiple of the warps */
	kcu_ptr y;
	int ldy;
	kcu_ptr bias;                /* float[rows] or 0 */
	int accumulate;
	int pad_;
};

/* Raw GGUF blocks (device copy of the file's bytes) into the arrays
 * above: nblk blocks; for each of up to 3 segments, len bytes at src_off
 * of each raw block go to dst + g * len, reordered by the mode where it
 * says so (the Q6_K planes: rows of row_blocks blocks from dst). One
 * thread per block. */
struct kcu_repack {
	kcu_ptr raw;
	long long nblk;
	int blk_bytes;
	int n_seg;
	int src_off[3], len[3];
	kcu_ptr dst[3];
	int mode;                    /* KCU_REPACK_*: reordered as above */
	int row_blocks;              /* blocks per row (KCU_REPACK_Q6_K) */
};

enum {
	KCU_REPACK_PLAIN = 0,
	KCU_REPACK_Q5_0 = 1,         /* segment 2 is qh: qh'ed */
	KCU_REPACK_Q5_K = 2,         /* segment 2 is qh: qh'ed, 8 units */
	KCU_REPACK_Q6_K = 3,         /* segment 0: ql and qh, into the row's planes */
};

/* Rows tok[t] (from the step, or row t when step is 0) of a matrix in
 * the layout above, dequantized into x (n_tok x cols floats). Grid n_tok. */
struct kcu_embed {
	kcu_ptr q, s, h;
	int rows, cols;
	kcu_ptr step;
	int n_tok;
	int type;                    /* ggml type id */
	kcu_ptr x;
};

/* x (n_tok x n) -> optional RMSNorm (w: float[n], or 0 for none) ->
 * quantized (xq, xs) and float (xf, may be 0). Grid n_tok. */
struct kcu_norm {
	kcu_ptr x, w;
	int n, n_tok;
	float eps;
	int norm;                    /* 0: quantize only */
	kcu_ptr xq, xs, xf;
};

/* Per token t of qkv (row stride ld; q heads, then k heads, then v
 * heads): optional per-head RMSNorm of q and k (qwen3), RoPE at position
 * pos0 + t, then k and v stored as halves in the layer's cache row
 * pos0 + t (n_kv x head_dim halves per position). Grid (n_head + 2 n_kv,
 * n_tok); KCU_ATT_THREADS threads. */
struct kcu_rope {
	kcu_ptr qkv;
	int ld, n_head, n_kv, head_dim, n_rot, mode; /* mode: 0 pairs, 2 NEOX */
	float theta_scale, eps;
	kcu_ptr q_norm, k_norm;      /* float[head_dim] or 0 */
	kcu_ptr step;
	kcu_ptr kc, vc;
};

/* One query position per block: head h of token t attends to cache
 * positions [0, pos0 + t] of its KV head (h / (n_head / n_kv)), scale
 * 1/sqrt(head_dim). Output: att (n_tok x n_head*head_dim floats) and the
 * same quantized (xq, xs) for the output projection. Grid (n_head,
 * n_tok); KCU_ATT_THREADS threads; kcu_attn_64, _128, _256 by head size. */
struct kcu_attn {
	kcu_ptr qkv;
	int ld, n_head, n_kv, head_dim;
	kcu_ptr step;
	kcu_ptr kc, vc;
	kcu_ptr att, xq, xs;
	float scale;
	int pad_;
};

/* h = silu(gate) * up per token (gu: n_tok x 2 n_ff, gate first), then
 * quantized (xq, xs) and float (xf, may be 0). Grid (ceil(n_ff / 32 /
 * warps per block), n_tok). */
struct kcu_glu {
	kcu_ptr gu;
	int n_ff, n_tok;
	kcu_ptr xq, xs, xf;
};

#endif
