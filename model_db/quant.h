/*
 * model_db/quant: quantization formats, shared by the kernels (block
 * layouts) and the simulator (bytes per weight), so both agree.
 *
 *  - GGUF tensor types: block structs byte-compatible with ggml
 *    (ggml/src/ggml-common.h) and one traits table indexed by the ggml
 *    type id (ggml/include/ggml.h enum ggml_type).
 *  - llama.cpp file mixes ("Q4_K_M", ...): per-tensor-role rules following
 *    llama.cpp src/llama-quant.cpp (llama_tensor_get_type_impl) and the
 *    published quality loss of each mix (tools/quantize/quantize.cpp).
 *  - Other weight formats (MLX, GPTQ, AWQ, FP8) and KV-cache types.
 *
 * The data are C tables (const, static storage): every returned pointer
 * points into them and is never freed. Unknown numbers are NAN.
 */
#ifndef LLMCAP_QUANT_H
#define LLMCAP_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ---- ggml type ids (ggml/include/ggml.h, enum ggml_type) ----------- */
enum mdb_qtype {
	QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3,
	/* 4, 5: Q4_2, Q4_3, removed from ggml */
	QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8, QT_Q8_1 = 9,
	QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14, QT_Q8_K = 15,
	QT_IQ2_XXS = 16, QT_IQ2_XS = 17, QT_IQ3_XXS = 18, QT_IQ1_S = 19, QT_IQ4_NL = 20,
	QT_IQ3_S = 21, QT_IQ2_S = 22, QT_IQ4_XS = 23,
	QT_I8 = 24, QT_I16 = 25, QT_I32 = 26, QT_I64 = 27, QT_F64 = 28,
	QT_IQ1_M = 29, QT_BF16 = 30,
	/* 31..33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, removed from GGUF files */
	QT_TQ1_0 = 34, QT_TQ2_0 = 35,
	/* 36..38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8, removed */
	QT_MXFP4 = 39,
	QT_NVFP4 = 40,
	QT_COUNT = 41
};

#define QK_K 256        /* super-block size of the k-quants and i-quants */
#define K_SCALE_SIZE 12

/* ---- block structs (ggml-common.h; ggml_half stored as uint16_t) ---- */
struct block_q4_0 { uint16_t d; uint8_t qs[16]; };                 /* 32 w */
struct block_q4_1 { uint16_t d, m; uint8_t qs[16]; };              /* 32 w */
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };  /* 32 w */
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct block_q8_0 { uint16_t d; int8_t qs[32]; };
struct block_q8_1 { uint16_t d, s; int8_t qs[32]; };               /* s = d*sum(qs) */
struct block_mxfp4 { uint8_t e; uint8_t qs[16]; };                 /* E8M0 scale, 32 E2M1 */
struct block_nvfp4 { uint8_t d[4]; uint8_t qs[32]; };              /* 64 w, UE4M3 per 16 */
struct block_tq1_0 { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; uint16_t d; };
struct block_tq2_0 { uint8_t qs[QK_K / 4]; uint16_t d; };
struct block_q2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
struct block_q3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct block_q4_K { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct block_q5_K {
	uint16_t d, dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
struct block_q8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };
struct block_iq2_xxs { uint16_t d; uint16_t qs[QK_K / 8]; };
struct block_iq2_xs { uint16_t d; uint16_t qs[QK_K / 8]; uint8_t scales[QK_K / 32]; };
struct block_iq2_s { uint16_t d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t scales[QK_K / 32]; };
struct block_iq3_xxs { uint16_t d; uint8_t qs[3 * QK_K / 8]; };
struct block_iq3_s {
	uint16_t d;
	uint8_t qs[QK_K / 4];
	uint8_t qh[QK_K / 32];
	uint8_t signs[QK_K / 8];
	uint8_t scales[QK_K / 64];
};
struct block_iq1_s { uint16_t d; uint8_t qs[QK_K / 8]; uint16_t qh[QK_K / 32]; };
struct block_iq1_m { uint8_t qs[QK_K / 8]; uint8_t qh[QK_K / 16]; uint8_t scales[QK_K / 32]; };
struct block_iq4_nl { uint16_t d; uint8_t qs[16]; };
struct block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; };

_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0");
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1");
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0");
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1");
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0");
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1");
_Static_assert(sizeof(struct block_mxfp4) == 17, "block_mxfp4");
_Static_assert(sizeof(struct block_nvfp4) == 36, "block_nvfp4");
_Static_assert(sizeof(struct block_tq1_0) == 54, "block_tq1_0");
_Static_assert(sizeof(struct block_tq2_0) == 66, "block_tq2_0");
_Static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K");
_Static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K");
_Static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K");
_Static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K");
_Static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K");
_Static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K");
_Static_assert(sizeof(struct block_iq2_xxs) == 66, "block_iq2_xxs");
_Static_assert(sizeof(struct block_iq2_xs) == 74, "block_iq2_xs");
_Static_assert(sizeof(struct block_iq2_s) == 82, "block_iq2_s");
_Static_assert(sizeof(struct block_iq3_xxs) == 98, "block_iq3_xxs");
_Static_assert(sizeof(struct block_iq3_s) == 110, "block_iq3_s");
_Static_assert(sizeof(struct block_iq1_s) == 50, "block_iq1_s");
_Static_assert(sizeof(struct block_iq1_m) == 56, "block_iq1_m");
_Static_assert(sizeof(struct block_iq4_nl) == 18, "block_iq4_nl");
_Static_assert(sizeof(struct block_iq4_xs) == 136, "block_iq4_xs");

/* ---- tensor type traits ---------------------------------------------- */
struct mdb_qtraits {
	const char *name;       /* ggml_type_name spelling: "q4_K", "f16" */
	int id;                 /* ggml type id; the table index */
	int blck;               /* weights per block */
	int bytes;              /* bytes per block */
	int quantized;          /* 1 for block-quantized types */
	const char *layout;     /* one line: what a block holds */
	const char *source;
};

/* Traits of ggml type id, or NULL for an id that does not exist (removed
 * ids 4, 5, 31..33, 36..38, or out of range). */
const struct mdb_qtraits *mdb_qtype(int id);
/* By name, case-insensitive ("Q4_K", "q4_k", "bf16"); NULL if unknown. */
const struct mdb_qtraits *mdb_qtype_by_name(const char *name);
/* Bits per weight: 8 * bytes / blck. NAN for an unknown id. */
double mdb_qtype_bpw(int id);
/* Bytes holding n weights of type id into *bytes. 0; -1 unknown id;
 * -2 when n is not a multiple of the block size (err says so). */
int mdb_qtype_bytes(int id, uint64_t n, uint64_t *bytes, char *err, size_t errlen);

/* ---- tensor roles and llama.cpp file mixes --------------------------- */
enum mdb_role {
	MDB_ROLE_TOKEN_EMBD, MDB_ROLE_OUTPUT,
	MDB_ROLE_ATTN_Q, MDB_ROLE_ATTN_K, MDB_ROLE_ATTN_V, MDB_ROLE_ATTN_OUTPUT,
	MDB_ROLE_FFN_GATE, MDB_ROLE_FFN_UP, MDB_ROLE_FFN_DOWN,
	MDB_ROLE_FFN_GATE_EXPS, MDB_ROLE_FFN_UP_EXPS, MDB_ROLE_FFN_DOWN_EXPS,
	MDB_ROLE_NORM,          /* norms and the MoE router: never quantized (F32) */
	MDB_ROLE_COUNT
};
/* "token_embd", "attn_v", "ffn_down_exps", ... */
const char *mdb_role_name(enum mdb_role r);
/* 1 for roles with one tensor per layer, 0 for token_embd and output. */
int mdb_role_per_layer(enum mdb_role r);

/* The model facts llama.cpp's rules look at. params[r]: weights of role r
 * in one layer (per-layer roles) or in the whole model (token_embd,
 * output); 0 where the model has no such tensor. */
struct mdb_qshape {
	int n_layer;
	int n_head, n_head_kv;   /* n_gqa = n_head / n_head_kv */
	int n_expert;            /* 0 or 1 for dense models */
	int tied_embd;           /* output shares token_embd's weights */
	int imatrix;             /* quantized with an importance matrix */
	double params[MDB_ROLE_COUNT];
};

/* The Llama-3-8B shape: 32 layers, hidden 4096, FFN 14336, 32 heads,
 * 8 KV heads, vocab 128256, untied embeddings, no imatrix. */
void mdb_qshape_llama3_8b(struct mdb_qshape *s);

struct mdb_qmix {
	const char *name;         /* "Q4_K_M" */
	int ftype;                /* llama_ftype (LLAMA_FTYPE_MOSTLY_*) */
	int base;                 /* default tensor type (llama_ftype_get_default_type) */
	const char *rules;        /* the role overrides in words */
	const char *source;       /* where the rules come from */
	/* published quality loss against the reference (NAN: none found) */
	double ppl_delta;         /* perplexity increase */
	double ref_size_gib;      /* file size of the reference model in that mix */
	const char *ref_model;    /* "Llama-3-8B"; NULL when no figure */
	const char *quality_source;
	/* published mean KL divergence against F16 on Llama-3-8B (NAN: none
	 * found): one reference for every mix, the figure to rank by */
	double kld;
	double kld_size_gib;      /* file size in that measurement */
	int kld_imatrix;          /* measured on a file made with an imatrix */
	const char *kld_source;
};

/* All mixes, n_out set to their count. */
const struct mdb_qmix *mdb_qmixes(int *n_out);
/* By name, case-insensitive; "Q3_K", "Q4_K", "Q5_K" are aliases of the
 * _M mixes as in llama-quantize. NULL if unknown. */
const struct mdb_qmix *mdb_qmix_by_name(const char *name);

/* llama.cpp's "use_more_bits" layer rule: the first and last eighth of
 * the layers and every third layer between them (about half). */
int mdb_use_more_bits(int i_layer, int n_layer);

/* The ggml type the mix gives a tensor of role r in layer i_layer
 * (ignored for token_embd and output). Falcon-specific and 70B-specific
 * rules and the fallback for rows not divisible by the block size are not
 * modelled. Returns the type id. */
int mdb_qmix_tensor_type(const struct mdb_qmix *m, enum mdb_role r, int i_layer,
			 const struct mdb_qshape *s);

/* Average bits per weight of the mix over the shape's parameters (all
 * roles, every layer). NAN when the shape has no parameters. */
double mdb_qmix_avg_bpw(const struct mdb_qmix *m, const struct mdb_qshape *s);
/* Total weight bytes of the mix over the shape. */
double mdb_qmix_bytes(const struct mdb_qmix *m, const struct mdb_qshape *s);

/* ---- other weight formats (not GGUF) --------------------------------- */
struct mdb_qformat {
	const char *name;         /* "mlx-4bit-g64" */
	const char *family;       /* "MLX", "GPTQ", "AWQ", "FP8" */
	int bits;                 /* bits of one weight */
	int group;                /* weights per group sharing scale/zero; 0: per tensor */
	int scale_bits, zero_bits;/* per group */
	double bpw;               /* bits + (scale_bits + zero_bits) / group */
	const char *layout;
	const char *source;
};
const struct mdb_qformat *mdb_qformats(int *n_out);

/* ---- KV-cache types --------------------------------------------------- */
struct mdb_kvtype {
	const char *name;         /* "f16", "q8_0", "q4_0" (--cache-type-k/v) */
	int type;                 /* ggml type id */
	const char *source;
};
const struct mdb_kvtype *mdb_kvtypes(int *n_out);
/* Bytes per cached element ("f16" 2, "q8_0" 34/32, "q4_0" 18/32);
 * NAN for an unknown name. Case-insensitive. */
double mdb_kv_bytes_per_elem(const char *name);

#endif
