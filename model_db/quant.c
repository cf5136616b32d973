/*
 * model_db/quant: the tensor type traits, llama.cpp's per-tensor-role
 * mix rules, other weight formats and KV-cache types. Data are C tables
 * with a source string per entry (see quant.h).
 */
#include <math.h>
#include <stdio.h>
#include <strings.h>

#include "model_db/quant.h"

#define GGML_SRC "ggml ggml-common.h (block structs), ggml.h (type ids), ggml.c type_traits"

#define T(id_, name_, blck_, bytes_, q_, layout_) \
	[id_] = {name_, id_, blck_, bytes_, q_, layout_, GGML_SRC}

static const struct mdb_qtraits traits[QT_COUNT] = {
	T(QT_F32, "f32", 1, 4, 0, "IEEE binary32"),
	T(QT_F16, "f16", 1, 2, 0, "IEEE binary16"),
	T(QT_Q4_0, "q4_0", 32, 18, 1, "f16 scale d + 32 x 4-bit (x = d*(q-8))"),
	T(QT_Q4_1, "q4_1", 32, 20, 1, "f16 scale d, f16 min m + 32 x 4-bit (x = d*q + m)"),
	T(QT_Q5_0, "q5_0", 32, 22, 1, "f16 d + 32 high bits (4 B) + 32 x 4-bit low"),
	T(QT_Q5_1, "q5_1", 32, 24, 1, "f16 d, f16 m + 32 high bits (4 B) + 32 x 4-bit low"),
	T(QT_Q8_0, "q8_0", 32, 34, 1, "f16 d + 32 x int8"),
	T(QT_Q8_1, "q8_1", 32, 36, 1, "f16 d, f16 s = d*sum(q) + 32 x int8 (dot-product operand)"),
	T(QT_Q2_K, "q2_K", 256, 84, 1, "16 x (4-bit scale, 4-bit min) + 256 x 2-bit + f16 d, dmin"),
	T(QT_Q3_K, "q3_K", 256, 110, 1, "256 high bits + 256 x 2-bit + 16 x 6-bit scales (12 B) + f16 d"),
	T(QT_Q4_K, "q4_K", 256, 144, 1, "f16 d, dmin + 8 x (6-bit scale, 6-bit min) (12 B) + 256 x 4-bit"),
	T(QT_Q5_K, "q5_K", 256, 176, 1, "f16 d, dmin + 12 B scales/mins + 256 high bits + 256 x 4-bit"),
	T(QT_Q6_K, "q6_K", 256, 210, 1, "256 x 4-bit low + 256 x 2-bit high + 16 x int8 scales + f16 d"),
	T(QT_Q8_K, "q8_K", 256, 292, 1, "f32 d + 256 x int8 + 16 x int16 sums (dot-product operand)"),
	T(QT_IQ2_XXS, "iq2_xxs", 256, 66, 1, "f16 d + 32 x uint16 (E8 lattice grid indices, signs, scales)"),
	T(QT_IQ2_XS, "iq2_xs", 256, 74, 1, "f16 d + 32 x uint16 grid/sign + 8 B 4-bit scales"),
	T(QT_IQ3_XXS, "iq3_xxs", 256, 98, 1, "f16 d + 96 B grid indices, signs and scales"),
	T(QT_IQ1_S, "iq1_s", 256, 50, 1, "f16 d + 32 B grid low bits + 8 x uint16 high bits/scales"),
	T(QT_IQ4_NL, "iq4_nl", 32, 18, 1, "f16 d + 32 x 4-bit indices into a non-linear table"),
	T(QT_IQ3_S, "iq3_s", 256, 110, 1, "f16 d + 64 B grid + 8 B high bits + 32 B signs + 4 B scales"),
	T(QT_IQ2_S, "iq2_s", 256, 82, 1, "f16 d + 64 B grid + 8 B high bits + 8 B scales"),
	T(QT_IQ4_XS, "iq4_xs", 256, 136, 1, "f16 d + 8 x 6-bit scales (2 + 4 B) + 256 x 4-bit non-linear"),
	T(QT_I8, "i8", 1, 1, 0, "int8"),
	T(QT_I16, "i16", 1, 2, 0, "int16"),
	T(QT_I32, "i32", 1, 4, 0, "int32"),
	T(QT_I64, "i64", 1, 8, 0, "int64"),
	T(QT_F64, "f64", 1, 8, 0, "IEEE binary64"),
	T(QT_IQ1_M, "iq1_m", 256, 56, 1, "32 B grid low bits + 16 B grid high bits + 8 B scales (no f16 d)"),
	T(QT_BF16, "bf16", 1, 2, 0, "bfloat16"),
	T(QT_TQ1_0, "tq1_0", 256, 54, 1, "ternary: 48 B base-3 (5 per byte) + 4 B (4 per byte) + f16 d"),
	T(QT_TQ2_0, "tq2_0", 256, 66, 1, "ternary: 256 x 2-bit + f16 d"),
	T(QT_MXFP4, "mxfp4", 32, 17, 1, "E8M0 shared exponent + 32 x FP4 E2M1 (OCP MX)"),
	T(QT_NVFP4, "nvfp4", 64, 36, 1, "4 x UE4M3 scale (one per 16) + 64 x FP4 E2M1"),
};

const struct mdb_qtraits *mdb_qtype(int id)
{
	if (id < 0 || id >= QT_COUNT || !traits[id].name)
		return NULL;
	return &traits[id];
}

const struct mdb_qtraits *mdb_qtype_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (int i = 0; i < QT_COUNT; i++)
		if (traits[i].name && strcasecmp(traits[i].name, name) == 0)
			return &traits[i];
	return NULL;
}

double mdb_qtype_bpw(int id)
{
	const struct mdb_qtraits *t = mdb_qtype(id);
	return t ? 8.0 * t->bytes / t->blck : NAN;
}

int mdb_qtype_bytes(int id, uint64_t n, uint64_t *bytes, char *err, size_t errlen)
{
	const struct mdb_qtraits *t = mdb_qtype(id);
	if (!t) {
		if (err)
			snprintf(err, errlen, "unknown ggml type id %d", id);
		return -1;
	}
	if (n % (uint64_t)t->blck) {
		if (err)
			snprintf(err, errlen, "%llu weights is not a multiple of the %s block "
				 "(%d weights); round the row length up to a multiple of %d",
				 (unsigned long long)n, t->name, t->blck, t->blck);
		return -2;
	}
	*bytes = n / (uint64_t)t->blck * (uint64_t)t->bytes;
	return 0;
}

/* ---- roles ------------------------------------------------------------ */
static const char *const role_names[MDB_ROLE_COUNT] = {
	"token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output",
	"ffn_gate", "ffn_up", "ffn_down", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps",
	"norm",
};

const char *mdb_role_name(enum mdb_role r)
{
	return (int)r >= 0 && r < MDB_ROLE_COUNT ? role_names[r] : "?";
}

int mdb_role_per_layer(enum mdb_role r)
{
	return r != MDB_ROLE_TOKEN_EMBD && r != MDB_ROLE_OUTPUT;
}

void mdb_qshape_llama3_8b(struct mdb_qshape *s)
{
	const double hidden = 4096, ffn = 14336, vocab = 128256, head_dim = 128;
	*s = (struct mdb_qshape){0};
	s->n_layer = 32;
	s->n_head = 32;
	s->n_head_kv = 8;
	s->n_expert = 0;
	s->params[MDB_ROLE_TOKEN_EMBD] = vocab * hidden;
	s->params[MDB_ROLE_OUTPUT] = vocab * hidden;
	s->params[MDB_ROLE_ATTN_Q] = hidden * hidden;
	s->params[MDB_ROLE_ATTN_K] = hidden * 8 * head_dim;
	s->params[MDB_ROLE_ATTN_V] = hidden * 8 * head_dim;
	s->params[MDB_ROLE_ATTN_OUTPUT] = hidden * hidden;
	s->params[MDB_ROLE_FFN_GATE] = hidden * ffn;
	s->params[MDB_ROLE_FFN_UP] = hidden * ffn;
	s->params[MDB_ROLE_FFN_DOWN] = hidden * ffn;
	s->params[MDB_ROLE_NORM] = 2 * hidden;
}

/* ---- llama.cpp file mixes --------------------------------------------- */
/* llama_ftype values (llama.h) */
enum {
	FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
	FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14,
	FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ2_XXS = 19,
	FT_IQ2_XS = 20, FT_Q2_K_S = 21, FT_IQ3_XS = 22, FT_IQ3_XXS = 23, FT_IQ1_S = 24,
	FT_IQ4_NL = 25, FT_IQ3_S = 26, FT_IQ3_M = 27, FT_IQ2_S = 28, FT_IQ2_M = 29,
	FT_IQ4_XS = 30, FT_IQ1_M = 31, FT_BF16 = 32, FT_MXFP4_MOE = 38,
};

#define RULES_SRC "llama.cpp src/llama-quant.cpp llama_tensor_get_type_impl, " \
	"llama_ftype_get_default_type (github.com/ggml-org/llama.cpp)"
#define PPL_SRC "llama.cpp tools/quantize/quantize.cpp QUANT_OPTIONS, printed by llama-quantize " \
	"--help (github.com/ggml-org/llama.cpp/blob/master/tools/quantize/quantize.cpp)"
#define NO_FIG "no published figure found"
#define OUT_Q6 "output Q6_K; "
#define OUT_Q5 "output Q5_K; "

#define PPL(d, gib, model) d, gib, model, PPL_SRC
#define NOPPL NAN, NAN, NULL, NO_FIG
#define KLD_SRC "llama.cpp tools/perplexity/README.md, \"LLaMA 3 8b Scoreboard\" (PR #6936): mean " \
	"KL divergence vs FP16 on Wikitext (github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/" \
	"README.md); the row without imatrix where there is one, else the WT 2.7m imatrix row"
#define KLD(k, gib, imx) k, gib, imx, KLD_SRC
#define NOKLD NAN, NAN, 0, NO_FIG

static const struct mdb_qmix mixes[] = {
	{"F32", FT_F32, QT_F32, "every tensor F32", RULES_SRC, NAN, 26.00, "7B", PPL_SRC, NOKLD},
	{"F16", FT_F16, QT_F16, "2-D tensors F16, norms F32", RULES_SRC, PPL(0.0020, 14.00, "Mistral-7B"), NOKLD},
	{"BF16", FT_BF16, QT_BF16, "2-D tensors BF16, norms F32", RULES_SRC, PPL(-0.0050, 14.00, "Mistral-7B"), NOKLD},
	{"Q8_0", FT_Q8_0, QT_Q8_0, "every 2-D tensor Q8_0 (output stays Q8_0)", RULES_SRC,
	 PPL(0.0026, 7.96, "Llama-3-8B"), KLD(0.001391, 7.96, 0)},
	{"Q6_K", FT_Q6_K, QT_Q6_K, OUT_Q6 "rest Q6_K", RULES_SRC, PPL(0.0217, 6.14, "Llama-3-8B"), KLD(0.005669, 6.14, 0)},
	{"Q5_K_M", FT_Q5_K_M, QT_Q5_K, OUT_Q6 "attn_v and ffn_down Q6_K on use_more_bits layers; rest Q5_K",
	 RULES_SRC, PPL(0.0569, 5.33, "Llama-3-8B"), KLD(0.011093, 5.33, 0)},
	{"Q5_K_S", FT_Q5_K_S, QT_Q5_K, OUT_Q6 "rest Q5_K", RULES_SRC, PPL(0.1049, 5.21, "Llama-3-8B"), KLD(0.017177, 5.21, 0)},
	{"Q5_1", FT_Q5_1, QT_Q5_1, OUT_Q6 "rest Q5_1", RULES_SRC, PPL(0.1062, 5.65, "Llama-3-8B"), KLD(0.018485, 5.65, 0)},
	{"Q5_0", FT_Q5_0, QT_Q5_0, OUT_Q6 "rest Q5_0 (first 1/8 ffn_down Q5_1 with imatrix)", RULES_SRC,
	 PPL(0.1316, 5.21, "Llama-3-8B"), KLD(0.022964, 5.21, 0)},
	{"Q4_K_M", FT_Q4_K_M, QT_Q4_K, OUT_Q6 "attn_v and ffn_down Q6_K on use_more_bits layers; rest Q4_K",
	 RULES_SRC, PPL(0.1754, 4.58, "Llama-3-8B"), KLD(0.032032, 4.58, 0)},
	{"Q4_K_S", FT_Q4_K_S, QT_Q4_K, OUT_Q6 "attn_v Q5_K in layers 0-3, ffn_down Q5_K in the first 1/8; rest Q4_K",
	 RULES_SRC, PPL(0.2689, 4.37, "Llama-3-8B"), KLD(0.044040, 4.37, 0)},
	{"Q4_1", FT_Q4_1, QT_Q4_1, OUT_Q6 "rest Q4_1", RULES_SRC, PPL(0.4511, 4.78, "Llama-3-8B"), KLD(0.072530, 4.78, 0)},
	{"Q4_0", FT_Q4_0, QT_Q4_0, OUT_Q6 "rest Q4_0 (first 1/8 ffn_down Q4_1 with imatrix)", RULES_SRC,
	 PPL(0.4685, 4.34, "Llama-3-8B"), KLD(0.073598, 4.34, 0)},
	{"IQ4_XS", FT_IQ4_XS, QT_IQ4_XS, OUT_Q6 "attn_v Q5_K when n_gqa >= 4; first 1/8 ffn_down Q5_K "
	 "without imatrix; rest IQ4_XS", RULES_SRC, NOPPL, KLD(0.037087, 4.14, 1)},
	{"IQ4_NL", FT_IQ4_NL, QT_IQ4_NL, OUT_Q6 "attn_v Q5_K when n_gqa >= 4; first 1/8 ffn_down Q5_K "
	 "without imatrix; rest IQ4_NL", RULES_SRC, NOPPL, KLD(0.036482, 4.35, 1)},
	{"Q3_K_L", FT_Q3_K_L, QT_Q3_K, OUT_Q6 "attn_v, attn_output, ffn_down Q5_K; rest Q3_K", RULES_SRC,
	 PPL(0.5562, 4.03, "Llama-3-8B"), KLD(0.088558, 4.03, 0)},
	{"Q3_K_M", FT_Q3_K_M, QT_Q3_K, OUT_Q6 "attn_v Q5_K in layers 0-1 else Q4_K; ffn_down Q5_K in the "
	 "first 1/16 else Q4_K; attn_output Q4_K; rest Q3_K", RULES_SRC, PPL(0.6569, 3.74, "Llama-3-8B"), KLD(0.103797, 3.74, 0)},
	{"Q3_K_S", FT_Q3_K_S, QT_Q3_K, OUT_Q6 "rest Q3_K", RULES_SRC, PPL(1.6321, 3.41, "Llama-3-8B"), KLD(0.236401, 3.41, 0)},
	{"IQ3_M", FT_IQ3_M, QT_IQ3_S, OUT_Q6 "attn_v, attn_output Q4_K; first 1/8 ffn_down Q4_K; rest IQ3_S",
	 RULES_SRC, NOPPL, KLD(0.104464, 3.53, 1)},
	{"IQ3_S", FT_IQ3_S, QT_IQ3_S, OUT_Q6 "attn_v Q4_K when n_gqa >= 4; rest IQ3_S", RULES_SRC, NOPPL, KLD(0.113201, 3.42, 1)},
	{"IQ3_XS", FT_IQ3_XS, QT_IQ3_S, OUT_Q6 "attn_v Q4_K when n_gqa >= 4; attn_q, attn_k IQ3_XXS; "
	 "ffn_gate/up IQ3_XXS in the middle 3/4 of layers; rest IQ3_S", RULES_SRC, NOPPL, KLD(0.140704, 3.28, 1)},
	{"IQ3_XXS", FT_IQ3_XXS, QT_IQ3_XXS, OUT_Q6 "token_embd IQ3_S; attn_v Q4_K when n_gqa >= 4; attn_q, "
	 "attn_k IQ2_S; attn_output IQ3_S; ffn_down Q4_K/Q3_K without imatrix; rest IQ3_XXS", RULES_SRC, NOPPL, KLD(0.187044, 3.05, 1)},
	{"Q2_K", FT_Q2_K, QT_Q2_K, OUT_Q6 "attn_v Q4_K (n_gqa >= 4) else Q3_K; ffn_down, attn_output Q3_K; "
	 "rest Q2_K", RULES_SRC, PPL(3.5199, 2.96, "Llama-3-8B"), KLD(0.457258, 2.96, 0)},
	{"Q2_K_S", FT_Q2_K_S, QT_Q2_K, OUT_Q6 "attn_v Q4_K when n_gqa >= 4; first 1/8 ffn_down Q4_K; rest Q2_K",
	 RULES_SRC, PPL(3.1836, 2.96, "Llama-3-8B"), NOKLD},
	{"IQ2_M", FT_IQ2_M, QT_IQ2_S, OUT_Q5 "token_embd IQ3_S; attn_v Q4_K (n_gqa >= 4) else IQ3_S; first "
	 "1/8 ffn_down, attn_output IQ3_S; rest IQ2_S", RULES_SRC, NOPPL, KLD(0.331202, 2.74, 1)},
	{"IQ2_S", FT_IQ2_S, QT_IQ2_XS, OUT_Q5 "token_embd IQ3_S; attn_v Q4_K (n_gqa >= 4) else IQ3_S; first "
	 "1/8 ffn_down, attn_output IQ3_S; rest IQ2_XS", RULES_SRC, NOPPL, KLD(0.446305, 2.56, 1)},
	{"IQ2_XS", FT_IQ2_XS, QT_IQ2_XS, OUT_Q5 "token_embd Q2_K; attn_v Q4_K (n_gqa >= 4) else Q2_K; first "
	 "1/8 ffn_down Q2_K; rest IQ2_XS", RULES_SRC, NOPPL, KLD(0.556747, 2.43, 1)},
	{"IQ2_XXS", FT_IQ2_XXS, QT_IQ2_XXS, OUT_Q5 "token_embd Q2_K; attn_v Q4_K (n_gqa >= 4) else Q2_K; "
	 "first 1/8 ffn_down Q2_K; rest IQ2_XXS", RULES_SRC, NOPPL, KLD(0.830947, 2.24, 1)},
	{"IQ1_M", FT_IQ1_M, QT_IQ1_M, OUT_Q5 "token_embd Q2_K; attn_v Q4_K (n_gqa >= 4) else Q2_K; first "
	 "1/8 ffn_down Q2_K; attn_output IQ2_XXS; rest IQ1_M", RULES_SRC, NOPPL, KLD(1.413517, 2.01, 1)},
	{"IQ1_S", FT_IQ1_S, QT_IQ1_S, OUT_Q5 "token_embd Q2_K; attn_v Q4_K (n_gqa >= 4) else Q2_K; first "
	 "1/8 ffn_down Q2_K; attn_output IQ2_XXS; rest IQ1_S", RULES_SRC, NOPPL, KLD(2.290167, 1.88, 1)},
	{"MXFP4_MOE", FT_MXFP4_MOE, QT_MXFP4, "expert tensors (3-D) MXFP4; every other 2-D tensor, "
	 "token_embd and output Q8_0", RULES_SRC, NOPPL, NOKLD},
};
#define N_MIXES ((int)(sizeof mixes / sizeof mixes[0]))

const struct mdb_qmix *mdb_qmixes(int *n_out)
{
	if (n_out)
		*n_out = N_MIXES;
	return mixes;
}

const struct mdb_qmix *mdb_qmix_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!strcasecmp(name, "Q3_K"))
		name = "Q3_K_M";
	else if (!strcasecmp(name, "Q4_K"))
		name = "Q4_K_M";
	else if (!strcasecmp(name, "Q5_K"))
		name = "Q5_K_M";
	for (int i = 0; i < N_MIXES; i++)
		if (!strcasecmp(mixes[i].name, name))
			return &mixes[i];
	return NULL;
}

int mdb_use_more_bits(int i_layer, int n_layer)
{
	return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 ||
	       (i_layer - n_layer / 8) % 3 == 2;
}

static int is_low_iq(int ft)
{
	return ft == FT_IQ2_XXS || ft == FT_IQ2_XS || ft == FT_IQ1_S || ft == FT_IQ2_S ||
	       ft == FT_IQ2_M || ft == FT_IQ1_M;
}

/* The llama_tensor_get_type_impl branches for one tensor (non-Falcon,
 * non-70B, rows a multiple of the block size). i is the layer index; for
 * a dense model llama.cpp's i_attention_wv / i_ffn_down counters equal it. */
static int mix_rule(int ft, int t, enum mdb_role r, int i, const struct mdb_qshape *s)
{
	const int n = s->n_layer;
	const int gqa = s->n_head_kv > 0 ? s->n_head / s->n_head_kv : 1;
	const int nexp = s->n_expert;
	const int iq2s_m = ft == FT_IQ2_S || ft == FT_IQ2_M;

	if (r == MDB_ROLE_OUTPUT || (s->tied_embd && r == MDB_ROLE_TOKEN_EMBD)) {
		if (ft == FT_MXFP4_MOE)
			return QT_Q8_0;
		if (is_low_iq(ft) || ft == FT_IQ3_XXS)
			return QT_Q5_K;
		return t != QT_Q8_0 ? QT_Q6_K : t;
	}
	if (ft == FT_MXFP4_MOE) {
		int exps = r == MDB_ROLE_FFN_GATE_EXPS || r == MDB_ROLE_FFN_UP_EXPS ||
			   r == MDB_ROLE_FFN_DOWN_EXPS;
		return exps ? QT_MXFP4 : QT_Q8_0;
	}
	if (r == MDB_ROLE_TOKEN_EMBD) {
		if (ft == FT_IQ2_XXS || ft == FT_IQ2_XS || ft == FT_IQ1_S || ft == FT_IQ1_M)
			return QT_Q2_K;
		if (iq2s_m || ft == FT_IQ3_XXS)
			return QT_IQ3_S;
		return t;
	}
	int down = r == MDB_ROLE_FFN_DOWN || r == MDB_ROLE_FFN_DOWN_EXPS;
	int gate = r == MDB_ROLE_FFN_GATE || r == MDB_ROLE_FFN_GATE_EXPS;
	int up = r == MDB_ROLE_FFN_UP || r == MDB_ROLE_FFN_UP_EXPS;

	if (is_low_iq(ft)) {
		if (r == MDB_ROLE_ATTN_V)
			return gqa >= 4 || nexp >= 4 ? QT_Q4_K : iq2s_m ? QT_IQ3_S : QT_Q2_K;
		if (nexp == 8 && r == MDB_ROLE_ATTN_K)
			return QT_Q4_K;
		if (down)
			return i < n / 8 ? (iq2s_m ? QT_IQ3_S : QT_Q2_K) : t;
		if (r == MDB_ROLE_ATTN_OUTPUT) {
			if (nexp == 8)
				return QT_Q5_K;
			if (ft == FT_IQ1_S || ft == FT_IQ1_M)
				return QT_IQ2_XXS;
			if (iq2s_m)
				return QT_IQ3_S;
		}
		return t;
	}
	switch (r) {
	case MDB_ROLE_ATTN_V:
		if (ft == FT_Q2_K)
			t = gqa >= 4 ? QT_Q4_K : QT_Q3_K;
		else if (ft == FT_Q2_K_S && gqa >= 4)
			t = QT_Q4_K;
		else if (ft == FT_IQ3_XXS)
			t = gqa >= 4 ? QT_Q4_K : !s->imatrix ? QT_IQ3_S : QT_IQ3_XXS;
		else if ((ft == FT_IQ3_XS || ft == FT_IQ3_S) && gqa >= 4)
			t = QT_Q4_K;
		else if (ft == FT_IQ3_M)
			t = QT_Q4_K;
		else if (ft == FT_Q3_K_M)
			t = i < 2 ? QT_Q5_K : QT_Q4_K;
		else if (ft == FT_Q3_K_L)
			t = QT_Q5_K;
		else if ((ft == FT_IQ4_NL || ft == FT_IQ4_XS) && gqa >= 4)
			t = QT_Q5_K;
		else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && mdb_use_more_bits(i, n))
			t = QT_Q6_K;
		else if (ft == FT_Q4_K_S && i < 4)
			t = QT_Q5_K;
		if (nexp == 8)
			t = QT_Q8_0;
		return t;
	case MDB_ROLE_ATTN_K:
		if (nexp == 8)
			return QT_Q8_0;
		if (ft == FT_IQ3_XS)
			return QT_IQ3_XXS;
		if (ft == FT_IQ3_XXS)
			return QT_IQ2_S;
		return t;
	case MDB_ROLE_ATTN_Q:
		if (ft == FT_IQ3_XS)
			return QT_IQ3_XXS;
		if (ft == FT_IQ3_XXS)
			return QT_IQ2_S;
		return t;
	case MDB_ROLE_ATTN_OUTPUT:
		if (nexp == 8) {
			if (ft == FT_Q2_K || ft == FT_IQ3_XS || ft == FT_IQ3_XXS || ft == FT_Q3_K_S ||
			    ft == FT_Q3_K_M || ft == FT_IQ4_NL || ft == FT_Q4_K_S || ft == FT_Q4_K_M ||
			    ft == FT_IQ3_S || ft == FT_IQ3_M || ft == FT_IQ4_XS)
				return QT_Q5_K;
			return t;
		}
		if (ft == FT_Q2_K)
			return QT_Q3_K;
		if (ft == FT_IQ3_XXS)
			return QT_IQ3_S;
		if (ft == FT_Q3_K_M || ft == FT_IQ3_M)
			return QT_Q4_K;
		if (ft == FT_Q3_K_L)
			return QT_Q5_K;
		return t;
	default:
		break;
	}
	if (down) {
		int umb = mdb_use_more_bits(i, n);
		if (ft == FT_Q2_K)
			t = QT_Q3_K;
		else if (ft == FT_Q2_K_S) {
			if (i < n / 8)
				t = QT_Q4_K;
		} else if (ft == FT_IQ3_XXS && !s->imatrix)
			t = i < n / 8 ? QT_Q4_K : QT_Q3_K;
		else if (ft == FT_Q3_K_M)
			t = i < n / 16 ? QT_Q5_K : QT_Q4_K;   /* non-Falcon */
		else if (ft == FT_IQ3_M && (i < n / 8 || (nexp == 8 && umb)))
			t = QT_Q4_K;
		else if (ft == FT_Q3_K_L)
			t = QT_Q5_K;
		else if (ft == FT_Q4_K_M) {
			if (umb)
				t = QT_Q6_K;
		} else if (i < n / 8 && (ft == FT_IQ4_NL || ft == FT_IQ4_XS) && !s->imatrix)
			t = QT_Q5_K;
		else if (ft == FT_Q5_K_M && umb)
			t = QT_Q6_K;
		else if (ft == FT_Q4_K_S && i < n / 8)
			t = QT_Q5_K;
		else if ((ft == FT_Q4_0 || ft == FT_Q5_0) && s->imatrix && i < n / 8)
			t = ft == FT_Q4_0 ? QT_Q4_1 : QT_Q5_1;
		return t;
	}
	if ((gate || up) && ft == FT_IQ3_XS && i >= n / 8 && i < 7 * n / 8)
		return QT_IQ3_XXS;
	return t;
}

int mdb_qmix_tensor_type(const struct mdb_qmix *m, enum mdb_role r, int i_layer,
			 const struct mdb_qshape *s)
{
	if (r == MDB_ROLE_NORM)
		return QT_F32;
	const struct mdb_qtraits *base = mdb_qtype(m->base);
	/* llama.cpp applies the mix rules only when the default type is a
	 * quantized one: F16/BF16/F32 files keep every 2-D tensor in it. */
	if (!base || !base->quantized)
		return m->base;
	return mix_rule(m->ftype, m->base, r, i_layer, s);
}

double mdb_qmix_bytes(const struct mdb_qmix *m, const struct mdb_qshape *s)
{
	double bits = 0;
	for (int r = 0; r < MDB_ROLE_COUNT; r++) {
		double p = s->params[r];
		if (p <= 0)
			continue;
		if (!mdb_role_per_layer((enum mdb_role)r)) {
			bits += p * mdb_qtype_bpw(mdb_qmix_tensor_type(m, (enum mdb_role)r, 0, s));
			continue;
		}
		for (int i = 0; i < s->n_layer; i++)
			bits += p * mdb_qtype_bpw(mdb_qmix_tensor_type(m, (enum mdb_role)r, i, s));
	}
	return bits / 8;
}

double mdb_qmix_avg_bpw(const struct mdb_qmix *m, const struct mdb_qshape *s)
{
	double n = 0;
	for (int r = 0; r < MDB_ROLE_COUNT; r++)
		if (s->params[r] > 0)
			n += s->params[r] * (mdb_role_per_layer((enum mdb_role)r) ? s->n_layer : 1);
	return n > 0 ? 8 * mdb_qmix_bytes(m, s) / n : NAN;
}

/* ---- other weight formats --------------------------------------------- */
#define MLX_SRC "MLX mlx.core.quantize, mode affine (ml-explore.github.io/mlx/build/html/python/" \
	"_autosummary/mlx.core.quantize.html): group_size 32/64 (default)/128, bits 2-8 (default 4), " \
	"one scale and one bias per group in the input dtype (bf16 or f16: 16 bits each)"
#define GPTQ_SRC "AutoGPTQ / GPTQModel packing (QuantLinear): qweight int32 (8 x 4-bit), qzeros " \
	"4-bit packed per group, scales f16 per group per output; g_idx (int32 per input row) not counted"
#define AWQ_SRC "AutoAWQ GEMM packing (WQLinear_GEMM): qweight int32 (8 x 4-bit), qzeros 4-bit " \
	"packed per group, scales f16 per group per output"
#define FP8_SRC "OCP 8-bit Floating Point Specification (OFP8) E4M3; per-tensor f32 scale as in " \
	"vLLM / NVIDIA TensorRT-LLM FP8 checkpoints (one scale per tensor, not counted per weight)"

static const struct mdb_qformat formats[] = {
	{"mlx-4bit-g64", "MLX", 4, 64, 16, 16, 4.5, "4-bit + bf16 scale + bf16 bias per 64", MLX_SRC},
	{"mlx-4bit-g32", "MLX", 4, 32, 16, 16, 5.0, "4-bit + bf16 scale + bf16 bias per 32", MLX_SRC},
	{"mlx-8bit-g64", "MLX", 8, 64, 16, 16, 8.5, "8-bit + bf16 scale + bf16 bias per 64", MLX_SRC},
	{"mlx-8bit-g32", "MLX", 8, 32, 16, 16, 9.0, "8-bit + bf16 scale + bf16 bias per 32", MLX_SRC},
	{"gptq-int4-g128", "GPTQ", 4, 128, 16, 4, 4.15625, "4-bit + f16 scale + 4-bit zero per 128",
	 GPTQ_SRC},
	{"awq-int4-g128", "AWQ", 4, 128, 16, 4, 4.15625, "4-bit + f16 scale + 4-bit zero per 128",
	 AWQ_SRC},
	{"fp8-e4m3", "FP8", 8, 0, 0, 0, 8.0, "FP8 E4M3 per weight + one f32 scale per tensor", FP8_SRC},
};

const struct mdb_qformat *mdb_qformats(int *n_out)
{
	if (n_out)
		*n_out = (int)(sizeof formats / sizeof formats[0]);
	return formats;
}

/* ---- KV-cache types ---------------------------------------------------- */
#define KV_SRC "llama.cpp --cache-type-k / --cache-type-v (common/arg.cpp); bytes from " GGML_SRC

static const struct mdb_kvtype kvtypes[] = {
	{"f16", QT_F16, KV_SRC},
	{"q8_0", QT_Q8_0, KV_SRC},
	{"q4_0", QT_Q4_0, KV_SRC},
};

const struct mdb_kvtype *mdb_kvtypes(int *n_out)
{
	if (n_out)
		*n_out = (int)(sizeof kvtypes / sizeof kvtypes[0]);
	return kvtypes;
}

double mdb_kv_bytes_per_elem(const char *name)
{
	if (!name)
		return NAN;
	for (size_t i = 0; i < sizeof kvtypes / sizeof kvtypes[0]; i++)
		if (!strcasecmp(kvtypes[i].name, name))
			return mdb_qtype_bpw(kvtypes[i].type) / 8;
	return NAN;
}
