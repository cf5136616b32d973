/*
 * kernels: llmcap's CUDA kernels (the .cu files in kernels/cuda/) and the llama-family
 * forward pass on an NVIDIA GPU.
 *
 * The binary links no GPU runtime: nvcc (when found at build time)
 * compiles the kernels to fatbins (sm_80, sm_89, sm_90 and PTX for
 * compute_90) embedded in the binary, loaded here through the driver API
 * (libcuda.so.1 with dlopen, cudrv/). Built without nvcc, or run without
 * a driver or a GPU, kern_cuda_open says so and nothing else changes.
 *
 * Weights are uploaded once to device memory, each GGUF matrix split into
 * arrays so that every block starts 16-byte aligned (kernels/cuda/abi.h);
 * activations are quantized per 32 values to int8 (a float scale, as
 * ggml's Q8_0 but with a float d) and dotted with dp4a; float weights
 * (F32, F16, BF16) are multiplied with float activations. The KV cache is
 * F16 (head sizes 64, 128, 256). Decode (one token) runs as one CUDA graph
 * per step when the driver has graphs, and on Hopper each kernel starts
 * while the one before finishes (programmatic dependent launch: it loads
 * its weights, then waits for its inputs); LLMCAP_CUDA_NO_GRAPH=1 and
 * LLMCAP_CUDA_NO_PDL=1 turn these off. Prefill runs micro-batches of up to
 * 64 tokens, the matrix kernels reading each weight once for 8 tokens (the
 * same kernels as decode with 8 columns of activations, not a tensor-core
 * GEMM).
 *
 * Errors: 0 on success; -1 when CUDA is not available here (built
 * without CUDA kernels, no driver, no device, a GPU the kernels were not
 * built for: err says which, callers skip or fall back); -2 on a failure
 * (a CUDA call, out of device memory; err names the call); -3 for bad
 * input (an unsupported tensor type or shape). No function exits or
 * prints.
 */
#ifndef LLMCAP_KERN_CUDA_H
#define LLMCAP_KERN_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* 1 when this binary holds CUDA kernels (nvcc was found at build time). */
int kern_cuda_built(void);

/* ---- a GPU context ---------------------------------------------------- */
struct kern_cuda;
/* Device `device` (0 for the first): loads libcuda.so.1, the kernels and
 * makes the device's primary context current on this thread. Use a
 * context from the thread that opened it. *out set on success; free with
 * kern_cuda_close. */
int kern_cuda_open(struct kern_cuda **out, int device, char *err, size_t errlen);
void kern_cuda_close(struct kern_cuda *c);
/* "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.2 GiB"; static in c. */
const char *kern_cuda_device_name(const struct kern_cuda *c);
/* Free and total device memory in bytes. */
int kern_cuda_mem(struct kern_cuda *c, size_t *free_b, size_t *total_b);
/* Blocks per SM the matrix kernels aim for (rows are split so the grid
 * has about that many blocks per multiprocessor); 0 restores the
 * default, as many as the SM holds at once (one wave). For tuning runs. */
void kern_cuda_set_blocks_per_sm(struct kern_cuda *c, int bpsm);

/* ---- single ops on host arrays (tests, benchmarks) -------------------- */
/* Each uploads its inputs, runs the kernel, downloads the result. */

/* Y (n_tok x w->rows) = X (n_tok x w->cols) W^T, plus Y when accumulate
 * (the residual add of the forward pass), plus bias (w->rows floats) when
 * not NULL. The activations are quantized as kern_cuda_quantize does
 * unless the weights are float. n_tok 1..64. */
int kern_cuda_matmul(struct kern_cuda *c, const struct kern_mat *w, const float *X, int n_tok,
		     const float *bias, int accumulate, float *Y, char *err, size_t errlen);
/* The activation quantization of the matrix kernels, on n_rows rows of n
 * floats (n a multiple of 32), after an RMSNorm with weight w (n floats,
 * or NULL for none) when norm: q gets n_rows x n int8, d n_rows x n/32
 * scales, s_lo and s_hi the sums of the first and last 16 quants of each
 * block times its scale. xn (may be NULL) gets the
 * normalised floats. */
int kern_cuda_quantize(struct kern_cuda *c, const float *x, int n_rows, int64_t n, int norm,
		       const float *w, float eps, int8_t *q, float *d, float *s_lo, float *s_hi,
		       float *xn, char *err, size_t errlen);
/* Row `row` of a matrix of `type` (rows x cols, GGUF bytes at data)
 * dequantized on the GPU into out (cols floats): the embedding lookup. */
int kern_cuda_dequantize_row(struct kern_cuda *c, const struct kern_mat *w, int64_t row,
			     float *out, char *err, size_t errlen);
/* The RoPE kernel on n_head heads of head_dim floats at position pos, in
 * place (with q_norm: the per-head RMSNorm first, as qwen3). */
int kern_cuda_rope(struct kern_cuda *c, float *x, int n_head, int head_dim, int n_rot, int64_t pos,
		   float freq_base, enum kern_rope_mode mode, const float *q_norm, float eps,
		   char *err, size_t errlen);
/* Attention of one query (n_head x head_dim floats) over the first n_pos
 * positions of an F16 KV cache (kv->type QT_F16): out gets n_head x
 * head_dim floats, as kern_attention computes them. */
int kern_cuda_attention(struct kern_cuda *c, const struct kern_kv *kv, int n_head, const float *q,
			int n_pos, float *out, char *err, size_t errlen);
/* out = silu(gate) * up, n a multiple of 32. */
int kern_cuda_swiglu(struct kern_cuda *c, const float *gate, const float *up, int64_t n, float *out,
		     char *err, size_t errlen);

/* ---- timing ----------------------------------------------------------- */
/* Matrix-vector products of one type on n_mats distinct random matrices
 * of rows x cols in device memory (together far beyond the L2 cache),
 * used in turn, `iters` per sample, timed with CUDA events; GB/s of
 * weight bytes read, as struct kern_bench (n_threads 0). */
int kern_cuda_bench_matvec(struct kern_cuda *c, int type, int64_t rows, int64_t cols, int n_mats,
			   int iters, int n_samples, struct kern_bench *out, char *err, size_t errlen);
/* The same for products of n_tok (1..64) activation rows at once, as
 * prefill runs them (Y = X W^T); the GB/s are still of weight bytes. */
int kern_cuda_bench_matmul(struct kern_cuda *c, int type, int64_t rows, int64_t cols, int n_tok, int n_mats,
			   int iters, int n_samples, struct kern_bench *out, char *err, size_t errlen);
/* A device-to-device copy of `bytes` (cuMemcpyDtoDAsync), best of
 * n_samples after a warm-up, GB/s counting bytes read + written (the
 * probe's convention). */
int kern_cuda_bench_copy(struct kern_cuda *c, size_t bytes, int n_samples, double *gbps,
			 char *err, size_t errlen);

/* ---- the forward pass on the GPU ------------------------------------- */
/* The architectures and tensors of kern_model_open (the file is checked
 * by it, then every weight is uploaded and the mapping closed). n_ctx
 * positions of F16 KV cache on the device. 0; -1 CUDA not available;
 * -2 a CUDA failure or too little device memory (err says how much is
 * needed and free); -3 a file llmcap cannot run (err from
 * kern_model_open, or a shape the GPU kernels do not take: head size not
 * a multiple of 32). The context c must outlive the model. */
struct kern_cuda_model;
int kern_cuda_model_open(struct kern_cuda_model **out, struct kern_cuda *c, const char *path,
			 int n_ctx, char *err, size_t errlen);
void kern_cuda_model_close(struct kern_cuda_model *m);
const struct kern_model_cfg *kern_cuda_model_config(const struct kern_cuda_model *m);
/* Device bytes held (weights, KV cache, buffers). */
uint64_t kern_cuda_model_device_bytes(const struct kern_cuda_model *m);
int kern_cuda_model_n_past(const struct kern_cuda_model *m);
void kern_cuda_model_reset(struct kern_cuda_model *m);
/* As kern_model_eval: n_tok tokens at positions n_past.., logits (n_tok
 * x n_vocab when all_logits, else the last token's n_vocab; may be NULL)
 * copied to the host. 0, -1 bad token or context full (err), -2 a CUDA
 * failure. */
int kern_cuda_model_eval(struct kern_cuda_model *m, const int32_t *tokens, int n_tok, int all_logits,
			 float *logits, char *err, size_t errlen);
/* As kern_model_time, on the GPU: a warm-up, then runs x (prompt tokens
 * prefill, gen tokens decode, the logits of every step copied to a
 * pinned host buffer, where an engine would sample from them). */
int kern_cuda_model_time(struct kern_cuda_model *m, int prompt, int gen, int runs,
			 double *prefill_tps, double *decode_tps, char *err, size_t errlen);

#endif
