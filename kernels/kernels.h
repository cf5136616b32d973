/*
 * kernels: real quantized inference on the CPU.
 *
 *  - Row kernels over GGUF blocks (model_db/quant.h, byte-compatible with
 *    ggml): dequantize a row to float, quantize float activations to
 *    Q8_0 / Q8_1 / Q8_K, and dot a quantized weight row with quantized
 *    activations, paired as ggml pairs them (kern_act_type).
 *  - Backends: one const ops table per ISA (generic C, AVX2, AVX-512 with
 *    VNNI, AMX for prefill, NEON, NEON with the dot-product instructions), listed by
 *    kern_backends(). kern_table_init() fills a plain
 *    struct kern_table with the best function of each kind the given CPU
 *    features allow; callers pass that table explicitly.
 *  - Matrix-vector (decode) and matrix-matrix (prefill) products over a
 *    row-major quantized matrix, split over a thread pool bound with hwloc.
 *  - Transformer ops (RMSNorm, RoPE, softmax, GQA attention, SwiGLU) and a
 *    llama-family forward pass over a mmapped GGUF file.
 *
 * Math follows ggml (ggml/src/ggml-quants.c, ggml-cpu): the same block
 * layouts, scales and pairing of weight and activation types; activations
 * are quantized as ggml-cpu does on x86 (Q8_0/Q8_1: scale 127 / max|x|,
 * round half to even; Q8_K: quantize_row_q8_K_ref), so the same inputs
 * give the same quants as llama.cpp.
 *
 * Errors: int-returning functions return 0 on success and a negative
 * value on failure (-1 bad argument or unsupported type, -2 out of memory
 * or system failure), with a message in err when err is not NULL. No
 * function exits or prints.
 */
#ifndef LLMCAP_KERNELS_H
#define LLMCAP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "model_db/quant.h"

/* ---- scalar conversions ----------------------------------------------- */
float kern_fp16_to_fp32(uint16_t h);
uint16_t kern_fp32_to_fp16(float f);        /* round to nearest even */
float kern_bf16_to_fp32(uint16_t h);
uint16_t kern_fp32_to_bf16(float f);        /* round to nearest even, NaN kept */

/* ---- CPU features ----------------------------------------------------- */
enum kern_feature {
	KERN_F_AVX2 = 1u << 0,        /* AVX2 + FMA + F16C */
	KERN_F_AVX512 = 1u << 1,      /* AVX-512 F + BW + VL */
	KERN_F_AVX512VNNI = 1u << 2,  /* AVX-512 VNNI */
	KERN_F_AVX512BF16 = 1u << 3,
	KERN_F_AVXVNNI = 1u << 4,     /* 256-bit AVX-VNNI */
	KERN_F_NEON = 1u << 5,        /* AArch64 Advanced SIMD */
	KERN_F_NEONDOT = 1u << 6,     /* ARMv8.2 dot product (SDOT / UDOT) */
	KERN_F_AMX = 1u << 7,         /* AMX-TILE + AMX-INT8, tile data granted by the OS */
};
/* Features of the CPU this runs on (x86: cpuid through
 * __builtin_cpu_supports; AArch64: the kernel's HWCAP bits; only those
 * this build has kernels for). KERN_F_AMX is reported only when the
 * environment sets LLMCAP_AMX to anything but "" or "0" (the AMX prefill
 * is off by default: on the machine measured it did not beat the AVX-512
 * VNNI tile reliably, bench/kernels_notes.md) and the CPU, the OS and
 * Linux allow it: CPUID AMX-TILE and AMX-INT8, the tile state in XCR0,
 * and the tile data granted to this process (arch_prctl
 * ARCH_REQ_XCOMP_PERM, asked here once for the whole process: every
 * thread may then use the tiles). Only this function may report it: a
 * table built with KERN_F_AMX the OS has not granted faults on the first
 * tile instruction. */
unsigned kern_cpu_features(void);
/* "avx2 avx512 avx512vnni amx" (or "neon neondot") into buf (empty string for none); returns buf. */
char *kern_features_str(unsigned features, char *buf, size_t len);

/* ---- row kernels ------------------------------------------------------ */
/* n: elements in the row, a multiple of the type's block size. */
typedef void (*kern_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*kern_quantize_fn)(const float *src, void *dst, int64_t n);
/* w: a row of the weight type; a: the same n values in kern_act_type(). */
typedef float (*kern_dot_fn)(int64_t n, const void *w, const void *a);
/* y[i] += a * x[i] for a row x of the type (F32, F16: attention's V sum). */
typedef void (*kern_axpy_fn)(int64_t n, float a, const void *x, float *y);
/* Packed products (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K; layout in
 * kern_internal.h): one activation record per block (struct kern_qa for
 * 32 values, struct kern_qk for 256). qact quantizes n values of one token
 * into records dst[0], dst[stride], ... (stride in records); gemm
 * multiplies ng packed row groups (w: the first; groups
 * kern_pack_group_bytes apart) by one panel of nt (1..KERN_PACK_TOKENS)
 * tokens over nb blocks, writing y[t * ldy + r] for rows r < nrows
 * counted from the first group's first row. */
struct kern_kv;
/* Attention of the nq query heads q (nq x head_dim) that read KV head kh
 * over cache positions [0, n_pos): out (nq x head_dim); scratch: 4 x
 * n_pos floats. As kern_attention (F16 rounding included) for each head,
 * with each K and V row read once for every 4 heads. */
typedef void (*kern_attn_fn)(const struct kern_kv *kv, int kh, int nq, const float *q, int n_pos,
			     float *out, float *scratch);
/* out = silu(gate) * up over n values (kern_swiglu's math); out may
 * alias gate or up. */
typedef void (*kern_swiglu_fn)(float *out, const float *gate, const float *up, int64_t n);
typedef void (*kern_qact_fn)(const float *x, int64_t n, void *dst, int64_t stride);
typedef void (*kern_gemm_fn)(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
			     int64_t ldy, int64_t nrows);
/* A batch product (prefill on matrix units: AMX) has kern_gemm_fn's
 * signature with nt a multiple of KERN_PACK_BATCH (kern_internal.h) >
 * 0: the tokens of nt / KERN_PACK_TOKENS consecutive full panels, the
 * same records and packed weights the panel product reads. */

/* One backend: every entry may be NULL where the backend has no kernel of
 * its own. Indexed by ggml type id: to_float and dot by the weight type,
 * quantize by the activation type (QT_Q8_0, QT_Q8_1, QT_Q8_K). */
struct kern_backend {
	const char *name;             /* "generic", "avx2", "avx512", "amx", "neon", "neondot" */
	unsigned requires;            /* KERN_F_* all needed to run it */
	kern_to_float_fn to_float[QT_COUNT];
	kern_quantize_fn quantize[QT_COUNT];
	kern_dot_fn dot[QT_COUNT];
	kern_axpy_fn axpy[QT_COUNT];  /* QT_F32, QT_F16 */
	kern_qact_fn qact[QT_COUNT];  /* packed products, by weight type */
	kern_gemm_fn gemm[QT_COUNT];
	kern_gemm_fn gemm_batch[QT_COUNT]; /* batch products, by weight type */
	kern_attn_fn attn[QT_COUNT];  /* grouped attention, by KV cache type */
	kern_swiglu_fn swiglu;
};
/* All backends of this build, generic first, NULL-terminated. Static. */
const struct kern_backend *const *kern_backends(void);
/* 1 when every feature the backend requires is in features. */
int kern_backend_usable(const struct kern_backend *b, unsigned features);

/* The chosen function of each kind, and the backend it came from. */
struct kern_table {
	unsigned features;
	kern_to_float_fn to_float[QT_COUNT];
	kern_quantize_fn quantize[QT_COUNT];
	kern_dot_fn dot[QT_COUNT];
	kern_axpy_fn axpy[QT_COUNT];
	kern_qact_fn qact[QT_COUNT];
	kern_gemm_fn gemm[QT_COUNT];
	kern_gemm_fn gemm_batch[QT_COUNT];  /* NULL: prefill panel by panel through gemm */
	kern_attn_fn attn[QT_COUNT];
	kern_swiglu_fn swiglu;        /* never NULL after kern_table_init */
	const char *to_float_isa[QT_COUNT];  /* backend name, NULL if none */
	const char *quantize_isa[QT_COUNT];
	const char *dot_isa[QT_COUNT];
	const char *gemm_isa[QT_COUNT];
	const char *gemm_batch_isa[QT_COUNT];
};
/* Fills t with, for each entry, the last usable backend's function (the
 * generic one when no SIMD backend has it). features: kern_cpu_features()
 * or a subset of it (0 gives the generic C kernels). Returns 0. */
int kern_table_init(struct kern_table *t, unsigned features);

/* The activation type ggml pairs with weight type wtype: Q8_0 for
 * Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q5_K/Q6_K, F32 for
 * F32/F16/BF16. -1 for a type llmcap has no kernels for. */
int kern_act_type(int wtype);
/* 1 when wtype has a dequantize and a dot kernel. */
int kern_type_supported(int wtype);
/* Block size (weights) and bytes per block of a type; 0 and -1 when the
 * type is unknown. */
int kern_type_block(int type, int *blck, int *bytes);
/* Bytes of a row of n values of type; 0 when n is not a multiple of the
 * block size or the type is unknown. */
size_t kern_row_bytes(int type, int64_t n);

/* Checked wrappers over the table: 0, or -1 (err says why) for an
 * unsupported type or n not a multiple of the block size. */
int kern_dequantize_row(const struct kern_table *t, int type, const void *src, float *dst,
			int64_t n, char *err, size_t errlen);
int kern_quantize_row(const struct kern_table *t, int act_type, const float *src, void *dst,
		      int64_t n, char *err, size_t errlen);

/* ---- thread pool ------------------------------------------------------ */
/* n_threads threads, the caller being thread 0 while it runs a task and
 * n_threads - 1 workers waiting between tasks (spinning briefly, then
 * sleeping). With bind, worker i is bound with hwloc to the first PU of
 * core i (modulo the core count) and the thread calling kern_pool_new to
 * core 0 until kern_pool_delete, which restores its former binding; a
 * binding that fails leaves that thread unbound (kern_pool_bound() says
 * so). Use the pool from the thread that created it. */
struct kern_pool;
typedef void (*kern_task_fn)(void *arg, int ith, int nth);
/* n_threads <= 0: one per physical core. *out set on success; free with
 * kern_pool_delete. */
int kern_pool_new(struct kern_pool **out, int n_threads, int bind, char *err, size_t errlen);
void kern_pool_delete(struct kern_pool *p);
int kern_pool_threads(const struct kern_pool *p);  /* 1 for NULL */
int kern_pool_bound(const struct kern_pool *p);    /* 1 when every thread got its core */
/* The calling thread between pool tasks, when it starts threads of its own
 * (the memory probe): they inherit its binding to core 0, and a probe that
 * sizes its team from the caller's affinity would run one thread.
 * kern_pool_caller_unbind restores the binding it had before kern_pool_new;
 * kern_pool_caller_rebind binds it to core 0 again. No-ops when unbound. */
void kern_pool_caller_unbind(struct kern_pool *p);
void kern_pool_caller_rebind(struct kern_pool *p);
/* Runs fn(arg, ith, nth) for ith in [0, nth) and returns when all have
 * finished. p may be NULL: fn(arg, 0, 1) on the caller. Not reentrant. */
void kern_pool_run(struct kern_pool *p, kern_task_fn fn, void *arg);
/* Physical cores per hwloc (>= 1). */
int kern_physical_cores(void);

/* ---- matrix products -------------------------------------------------- */
/* A row-major matrix of rows x cols values of one type, not owned (often
 * pointing into a mmapped GGUF file). cols must be a multiple of the
 * type's block size; row_bytes = kern_row_bytes(type, cols). */
struct kern_mat {
	int type;
	int64_t rows, cols;
	size_t row_bytes;
	const void *data;
	void *packed;        /* kern_mat_pack's copy, or NULL */
};
/* Fills m (not packed); 0, or -1 for an unsupported type or cols not a
 * multiple of its block size. */
int kern_mat_init(struct kern_mat *m, int type, int64_t rows, int64_t cols, const void *data,
		  char *err, size_t errlen);
/* 1 when t has packed-product kernels for type (Q4_0, Q4_1, Q8_0, Q4_K,
 * Q6_K) from the same backend as its row dot kernel (a SIMD table never
 * packs for the plain-C reference product). */
int kern_mat_packable(const struct kern_table *t, int type);
/* Copies m's weights once into the packed layout the register-blocked
 * products read (rows interleaved in groups of 16, kern_internal.h), in
 * parallel over pool (may be NULL); products on m use it from then on.
 * m->data stays as it was. 0 packed (m->packed is the caller's: free it
 * with kern_mat_unpack before m->data goes away or m is dropped); 1 when
 * the type has no packed kernels in t (m unchanged); -2 out of memory. */
int kern_mat_pack(const struct kern_table *t, struct kern_mat *m, struct kern_pool *pool, char *err,
		  size_t errlen);
/* Frees m->packed (NULL is fine) and sets it NULL. */
void kern_mat_unpack(struct kern_mat *m);

/* Bytes of work buffer kern_matvec / kern_matmul need for n_tok rows of
 * activations against w (the quantized activations, in the form w's
 * product reads: kern_act_quantize). */
size_t kern_matmul_work_size(const struct kern_mat *w, int64_t n_tok);
/* Quantizes n_tok rows of X (row stride ldx floats) into dst
 * (kern_matmul_work_size(w, n_tok) bytes) in the form the products over
 * w read: rows of kern_act_type(w->type) for an unpacked matrix, packed
 * records (struct kern_qa) for a packed one; float weights read X
 * itself (nothing written). Split over pool (may be NULL). 0, or -1. */
int kern_act_quantize(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		      const float *X, int64_t ldx, int64_t n_tok, void *dst, char *err, size_t errlen);

/* y[r] = sum_c W[r][c] * x[c], r < w->rows (decode). x: cols floats,
 * quantized once into work (kern_matmul_work_size(w, 1) bytes) unless the
 * weights are float. pool may be NULL. 0 or -1 (bad argument). */
int kern_matvec(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		const float *x, float *y, void *work, char *err, size_t errlen);
/* The same with x already quantized for w by kern_act_quantize (float
 * for float weights): lets several matrices share one quantized input. */
int kern_matvec_q(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		  const void *xq, float *y, char *err, size_t errlen);

/* Y[i][r] = sum_c W[r][c] * X[i][c] for i < n_tok (prefill). X: n_tok x
 * cols floats, row stride ldx floats; Y: n_tok x rows floats, row stride
 * ldy. Each X row is quantized once into work (kern_matmul_work_size(w,
 * n_tok) bytes) and reused for every weight row; weight rows are walked in
 * tiles that stay in cache while every token passes over them. */
int kern_matmul(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		const float *X, int64_t ldx, int64_t n_tok, float *Y, int64_t ldy, void *work,
		char *err, size_t errlen);
/* The same with the n_tok rows of X already quantized for w by
 * kern_act_quantize (for float weights: floats with row stride w->cols). */
int kern_matmul_q(const struct kern_table *t, struct kern_pool *pool, const struct kern_mat *w,
		  const void *Xq, int64_t n_tok, float *Y, int64_t ldy, char *err, size_t errlen);

/* ---- transformer ops (plain float; single row unless said) ----------- */
/* out = x / sqrt(mean(x^2) + eps) * w (w may be NULL: no weight). out may
 * be x. */
void kern_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps);

enum kern_rope_mode {
	KERN_ROPE_NORM = 0,   /* llama: rotates pairs (x[2i], x[2i+1]) */
	KERN_ROPE_NEOX = 2,   /* qwen2/3, neox: rotates (x[i], x[i + n_rot/2]) */
};
/* Rotates the first n_rot dims of each of n_head heads of head_dim floats
 * in x (contiguous heads) for position pos: theta_i = pos * base^(-2i/n_rot),
 * the power taken as ggml does (repeated float products, so results match
 * llama.cpp's rather than the exact angle). n_rot even, <= head_dim and
 * <= 1024. */
void kern_rope(float *x, int n_head, int head_dim, int n_rot, int64_t pos, float freq_base,
	       enum kern_rope_mode mode);
/* x = softmax(x) in place (max subtracted); n >= 1. */
void kern_softmax(float *x, int64_t n);
/* out = silu(gate) * up; out may alias gate or up. */
void kern_swiglu(float *out, const float *gate, const float *up, int64_t n);

/* Top-k expert routing of one token, as llama.cpp's build_moe_ffn with
 * softmax gating and renormalised weights (Mixtral, Qwen3-MoE): probs =
 * softmax(logits) over n_expert; sel = the k experts of largest
 * probability, best first (ties to the lower index); w[j] =
 * probs[sel[j]] / max(sum of the k, 2^-14), times w_scale unless it is 0
 * or 1. probs: n_expert floats (written); sel, w: k each; 1 <= k <=
 * n_expert. */
void kern_moe_route(const float *logits, int n_expert, int k, float *probs, int *sel, float *w,
		    float w_scale);

/* A KV cache of one layer: n_ctx positions x n_head_kv heads x head_dim,
 * keys and values of type QT_F32 or QT_F16, position-major. */
struct kern_kv {
	int type;                 /* QT_F32 or QT_F16 */
	int n_ctx, n_head_kv, head_dim;
	void *k, *v;              /* (n_ctx, n_head_kv, head_dim) each */
};
/* Stores one position's k and v (n_head_kv * head_dim floats each). */
void kern_kv_store(struct kern_kv *kv, int pos, const float *k, const float *v);
/* Grouped-query attention of one query position: q is n_head x head_dim,
 * query head h reads KV head h / (n_head / n_head_kv); attends to cache
 * positions [0, n_pos) with scale 1/sqrt(head_dim). out: n_head x
 * head_dim. scratch: n_pos floats. Heads h in [h0, h1) only (threads
 * split heads). With an F16 cache, q is rounded to F16 for the K dots and
 * the softmax probabilities to F16 for the V sum, as llama.cpp does
 * without flash attention. head_dim <= 1024. */
void kern_attention(const struct kern_table *t, const struct kern_kv *kv, int n_head,
		    const float *q, int n_pos, float *out, float *scratch, int h0, int h1);
/* kern_attention with the query heads of [h0, h1) that share a KV head
 * computed together by the table's grouped kernel (t->attn; heads one by
 * one through kern_attention where it has none or head_dim is not a
 * multiple of 16): each K and V row is read once for every 4 heads of a
 * group. scratch: 4 x n_pos floats. Same results as kern_attention up to
 * float summation order. */
void kern_attention_gqa(const struct kern_table *t, const struct kern_kv *kv, int n_head,
			const float *q, int n_pos, float *out, float *scratch, int h0, int h1);

/* ---- synthetic weights and microbenchmarks ---------------------------- */
/* Fills dst (kern_row_bytes(type, n) bytes) with a random row of type from
 * the xorshift state *seed: random quants and finite scales of realistic
 * size (block scales about 0.001..0.05, k-quant super-block scales
 * 0.0005..0.005), floats in [-1, 1). 0, or -1 for an unsupported type or
 * n not a multiple of the block size. */
int kern_random_row(int type, int64_t n, uint64_t *seed, void *dst);

/* Decode-style matrix-vector timing: n_mats distinct random matrices of
 * rows x cols (n_mats large enough to exceed the last-level cache gives
 * memory bandwidth, 1 gives cache bandwidth), used in turn, packed
 * (kern_mat_pack) where t has packed products, as the forward pass runs
 * them; each sample times `iters` products (at least 1); samples after
 * one warm-up. bytes_per_product counts the GGUF rows' bytes. */
#define KERN_BENCH_MAX_SAMPLES 32
struct kern_bench {
	int type;
	int64_t rows, cols;
	int n_mats, n_threads, iters, n_samples;
	size_t bytes_per_product;         /* weight bytes read per product */
	double samples_s[KERN_BENCH_MAX_SAMPLES]; /* seconds per product */
	double median_s, best_s;
	double median_gbps, best_gbps;    /* 10^9 bytes/s of weights */
};
/* 0, -1 bad argument, -2 out of memory (err says so). */
int kern_bench_matvec(const struct kern_table *t, struct kern_pool *pool, int type, int64_t rows,
		      int64_t cols, int n_mats, int iters, int n_samples, struct kern_bench *out,
		      char *err, size_t errlen);
/* Prefill-style timing: one random rows x cols matrix, packed where t has
 * packed products, times n_tok tokens of random activations (quantized
 * once, outside the timing: kern_matmul_q as the forward pass runs it);
 * each sample times `iters` products after one warm-up. Fills out as
 * kern_bench_matvec (bytes_per_product: the weights' GGUF bytes, n_mats
 * 1); the rate of multiply-adds is rows x cols x n_tok / median_s. 0, -1
 * bad argument, -2 out of memory. */
int kern_bench_matmul(const struct kern_table *t, struct kern_pool *pool, int type, int64_t rows,
		      int64_t cols, int64_t n_tok, int iters, int n_samples, struct kern_bench *out,
		      char *err, size_t errlen);
/* Seconds of CLOCK_MONOTONIC. */
double kern_now(void);

/* ---- llama-family forward pass over a GGUF file ---------------------- */
/* Architectures: "llama" (llama, mistral, smollm: RoPE NORM), "qwen2"
 * (q/k/v biases, RoPE NEOX), "qwen3" (per-head q/k RMSNorm, RoPE NEOX),
 * and the MoE variants as llama.cpp lays them out: "llama" with
 * llama.expert_count (Mixtral) and "qwen3moe" (qwen3's attention): every
 * layer's FFN is a router blk.N.ffn_gate_inp.weight (n_embd x n_expert)
 * and 3-D expert tensors blk.N.ffn_{gate,up,down}_exps.weight (n_embd x
 * n_ff_exp x n_expert, down n_ff_exp x n_embd x n_expert), softmax
 * routing to the top n_expert_used with renormalised weights
 * (kern_moe_route). Weights stay in the read-only mapping of the file
 * (never copied); the output matrix is token_embd when output.weight is
 * absent (tied). */
struct kern_model_cfg {
	char arch[32];
	int n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_rot, n_vocab;
	int n_expert, n_expert_used; /* 0 for a dense model */
	int n_ff_exp;                /* one expert's FFN (MoE) */
	float expert_weights_scale;  /* 0: none */
	float eps, rope_base;
	enum kern_rope_mode rope_mode;
	int tied;                    /* output shares token_embd */
	int n_ctx;                   /* KV cache positions */
	int kv_type;                 /* QT_F16 or QT_F32 */
	int max_batch;               /* tokens per prefill micro-batch */
	uint64_t weight_bytes;       /* bytes of the weight tensors read per token
				      * (MoE: n_expert_used of the experts) */
	uint64_t expert_bytes;       /* MoE: bytes of all experts' matrices; 0 dense */
};
struct kern_model;
/* Maps path, checks every tensor (present, supported type, shape) and
 * allocates the KV cache (n_ctx positions of kv_type, QT_F16 like
 * llama.cpp's default or QT_F32) and buffers. t must outlive the model.
 * 0; -1 I/O error; -2 malformed or unsupported file (err names the tensor
 * or key and what is wrong); -3 out of memory. Free with
 * kern_model_close. */
int kern_model_open(struct kern_model **out, const char *path, const struct kern_table *t,
		    int n_ctx, int kv_type, char *err, size_t errlen);
void kern_model_close(struct kern_model *m);
const struct kern_model_cfg *kern_model_config(const struct kern_model *m);
/* Tokens in the KV cache so far. */
int kern_model_n_past(const struct kern_model *m);
/* Empties the KV cache (the next token is position 0). */
void kern_model_reset(struct kern_model *m);
/* Runs n_tok tokens (ids < n_vocab) at positions n_past.., appending to
 * the KV cache: n_tok == 1 takes the decode path (matrix-vector), more the
 * prefill path (matrix-matrix over micro-batches of max_batch). logits:
 * n_tok x n_vocab floats when all_logits, else n_vocab floats for the
 * last token; may be NULL. 0, or -1 (bad token id, context full; err
 * says which) with the cache unchanged. */
int kern_model_eval(struct kern_model *m, struct kern_pool *pool, const int32_t *tokens,
		    int n_tok, int all_logits, float *logits, char *err, size_t errlen);
/* Times the model as a user runs it: after a short warm-up, runs times a
 * prompt of `prompt` seeded random tokens (prefill) then `gen` single
 * tokens (decode), logits computed every step. prefill_tps[k] and
 * decode_tps[k] get run k's tokens/s (NAN for a part of 0 tokens). The
 * KV cache needs prompt + gen positions (16 at least). 0, or -1 (err). */
int kern_model_time(struct kern_model *m, struct kern_pool *pool, int prompt, int gen, int runs,
		    double *prefill_tps, double *decode_tps, char *err, size_t errlen);

/* The weights of an open model as views into its mapping, valid until
 * kern_model_close: for other backends (kernels/kern_cuda.c uploads
 * them; MoE layers leave wg, wu, wd zeroed: check cfg n_expert). After the first kern_model_eval the matrices also carry their
 * packed copies (kern_mat_pack), owned by the model; data is unchanged. Vectors are NULL where the model has none (biases, qwen3's q/k
 * norms); output is token_embd when the model is tied. */
struct kern_layer_weights {
	const float *attn_norm, *ffn_norm;         /* (n_embd) */
	const float *bq, *bk, *bv;                 /* (n_head * head_dim), (n_head_kv * head_dim) x 2 */
	const float *q_norm, *k_norm;              /* (head_dim) */
	struct kern_mat wq, wk, wv, wo, wg, wu, wd;
};
void kern_model_weights(const struct kern_model *m, struct kern_mat *tok_embd, struct kern_mat *output,
			const float **out_norm);
/* layer < n_layer */
void kern_model_layer_weights(const struct kern_model *m, int layer, struct kern_layer_weights *out);

/* ---- synthetic model files ----------------------------------------- */
struct mdb_model;
/* Writes path (atomically: a temporary file, then rename) as a GGUF v3
 * llama-architecture model of m's shape (dense, grouped-query; the first
 * n_layer layers, all when n_layer <= 0) with random weights of one
 * tensor type (kern_random_row, seeded) and F32 norms near 1, plus the
 * minimal tokenizer metadata llama.cpp needs to load it. 0; -1 I/O error;
 * -2 a model or type it cannot write (err says why); -3 out of memory. */
int kern_write_synth_gguf(const char *path, const struct mdb_model *m, int type, int n_layer,
			  uint64_t seed, char *err, size_t errlen);

#endif
