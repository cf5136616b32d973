/*
 * model_db/model: what a model is — its architecture exactly, as its
 * Hugging Face config.json gives it — and parameter counts computed from
 * that architecture (total, active per token, per tensor role).
 *
 * The catalog (model_db/data/models.json, schema llmcap.models/1) is
 * compiled into the binary; user additions are read from
 * $XDG_CONFIG_HOME/llmcap/models/ *.json (default ~/.config/llmcap/models),
 * each file one model object or {"schema": ..., "models": [...]}.
 *
 * Absent integers are 0 (counts, sizes) or -1 where 0 is meaningful;
 * unknown doubles are NAN. Errors: 0 ok, -1 I/O or out of memory, -2 bad
 * input with err naming the file, the entry and the field.
 */
#ifndef LLMCAP_MODEL_H
#define LLMCAP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model_db/quant.h"

#define MDB_MODELS_SCHEMA "llmcap.models/1"
#define MDB_MAX_LAYERS 256

/* The attention of the model as a whole. */
enum mdb_attn_kind {
	MDB_ATTN_MHA,       /* kv_heads == heads, every layer global */
	MDB_ATTN_GQA,       /* kv_heads < heads, every layer global */
	MDB_ATTN_MLA,       /* multi-head latent attention (DeepSeek-V2/V3) */
	MDB_ATTN_SLIDING,   /* some layers attend over a sliding window */
	MDB_ATTN_HYBRID,    /* some layers are linear attention / recurrent */
};

/* One char per layer in mdb_model.layer_kinds. */
enum mdb_layer_kind {
	MDB_LAYER_GLOBAL = 'G',    /* full attention */
	MDB_LAYER_SLIDING = 'S',   /* sliding-window attention */
	MDB_LAYER_DELTANET = 'D',  /* Gated DeltaNet linear attention */
	MDB_LAYER_MAMBA2 = 'M',    /* Mamba-2 state-space mixer */
};

enum mdb_linear_kind { MDB_LINEAR_NONE, MDB_LINEAR_GATED_DELTANET, MDB_LINEAR_MAMBA2 };

/* Mixture of experts; n_experts == 0 for a dense model. A layer is MoE
 * when i >= first_k_dense, (i + 1) % moe_every == 0 and it is not in
 * dense_layers; other layers have a dense FFN of size mdb_model.ffn. */
struct mdb_moe {
	int n_experts;
	int experts_per_token;
	int n_shared_experts;
	int expert_ffn;           /* moe_intermediate_size */
	int shared_ffn;           /* FFN size of one shared expert */
	int first_k_dense;
	int moe_every;            /* 1: every layer */
	int expert_bias;          /* experts and router carry biases (gpt-oss) */
	char dense_layers[MDB_MAX_LAYERS]; /* 1 where layer i is forced dense */
};

/* Multi-head latent attention (DeepSeek-V2/V3, Kimi K2). */
struct mdb_mla {
	int q_lora_rank;          /* 0: q projected directly */
	int kv_lora_rank;
	int qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
};

/* Linear attention / recurrent layers ('D' and 'M' in layer_kinds).
 * Gated DeltaNet: k_heads x k_head_dim keys, v_heads x v_head_dim values.
 * Mamba-2: v_heads heads of v_head_dim (d_inner = v_heads * v_head_dim),
 * groups B/C groups of state_size. */
struct mdb_linear {
	enum mdb_linear_kind kind;
	int k_heads, k_head_dim;
	int v_heads, v_head_dim;
	int state_size;           /* Mamba d_state; DeltaNet: k_head_dim */
	int groups;               /* Mamba n_groups */
	int conv_kernel;
};

struct mdb_model {
	char id[64];
	char name[128];
	char family[32];          /* "llama", "qwen3", "deepseek", ... */
	char arch[64];            /* config.json "architectures"[0] */
	char source[256];         /* the config.json URL */
	char file[256];           /* where the entry was read ("builtin" or a path) */
	double published_params;  /* from the model card; NAN: none */
	double published_active_params; /* NAN for dense models */
	double published_precision; /* unit of the published figure's last digit */
	int published_active_no_embd; /* the published active count leaves out the input embedding */
	char published_source[256];
	char published_mismatch[256]; /* non-empty: where and why the count differs */

	int n_layer;
	int hidden;
	int n_head, n_head_kv, head_dim;
	int ffn;                  /* dense FFN (gated: gate, up, down) */
	int vocab;
	int tied_embd;
	int64_t context;
	double rope_theta;        /* NAN: no RoPE (NoPE) */
	enum mdb_attn_kind attn;
	int qkv_bias;             /* q, k, v carry biases */
	int o_bias;               /* output projection carries a bias */
	int qk_norm;              /* per-head RMSNorm on q and k */
	int attn_gate;            /* output gate folded into q_proj (Qwen3-Next/3.5) */
	int norms_per_layer;      /* hidden-sized norms per layer (2; Gemma 2/3: 4) */
	int sliding_window;       /* tokens; 0 when no layer slides */
	char layer_kinds[MDB_MAX_LAYERS + 1]; /* one enum mdb_layer_kind per layer */
	struct mdb_moe moe;
	struct mdb_mla mla;       /* all 0 unless attn == MDB_ATTN_MLA */
	struct mdb_linear lin;
};

/* Parameters of a model by part. */
struct mdb_params {
	double embed;             /* token embedding */
	double output;            /* untied output head; 0 when tied */
	double attn;              /* attention / linear-attention mixers, all layers */
	double dense_ffn;         /* dense FFN layers */
	double experts;           /* routed experts, all of them */
	double shared;            /* shared experts */
	double router;
	double norms;
	double total;
	double active;            /* per token: total less unselected experts */
};

/* ---- architecture ---------------------------------------------------- */
const char *mdb_attn_kind_name(enum mdb_attn_kind k);   /* "gqa", "mla", ... */
const char *mdb_linear_kind_name(enum mdb_linear_kind k); /* "gated_deltanet", "mamba2", "none" */
int mdb_model_is_moe(const struct mdb_model *m);
/* 1 when layer i has a MoE FFN. */
int mdb_model_layer_is_moe(const struct mdb_model *m, int i);
/* Layers of kind k. */
int mdb_model_count_layers(const struct mdb_model *m, enum mdb_layer_kind k);

/* ---- parameter counts ------------------------------------------------ */
void mdb_model_params(const struct mdb_model *m, struct mdb_params *p);
/* The llama.cpp role view for quantized sizes: params[r] averaged per
 * layer for per-layer roles (MLA and linear-attention projections are
 * counted under attn_q/k/v/output by what they feed), so that
 * n_layer * params[r] sums to the model's weights of that role. */
void mdb_model_qshape(const struct mdb_model *m, struct mdb_qshape *s);
/* Weights of layer i by llama.cpp role (token_embd and output are 0;
 * norms, small vectors and the MoE router under MDB_ROLE_NORM). Summed
 * over the layers they give mdb_model_qshape's per-layer roles. */
void mdb_model_layer_roles(const struct mdb_model *m, int i, double roles[MDB_ROLE_COUNT]);

/* ---- catalog --------------------------------------------------------- */
struct mdb_models {
	int n;
	struct mdb_model *v;      /* owned; mdb_models_free */
};

/* Parses one model object (JSON text of len bytes). file and index name
 * the entry in messages. 0, or -2 with err naming file/entry/field. */
int mdb_model_parse(const char *text, size_t len, const char *file, struct mdb_model *m,
		    char *err, size_t errlen);
/* Imports a Hugging Face config.json (JSON text of len bytes; origin: its
 * path, used for messages, the id and m->file). Supported model_type:
 * mdb_hf_supported_types(). The result passes the same validation as a
 * catalog entry (mdb_model_parse); published figures are unknown (NAN).
 * 0, -1 out of memory, or -2 with err naming origin, the config.json field
 * and the fix. */
int mdb_model_from_hf_config(const char *text, size_t len, const char *origin,
			     struct mdb_model *out, char *err, size_t errlen);
/* "llama, mistral, ..." — the model_type values the importer reads. */
const char *mdb_hf_supported_types(void);
/* Derives the model from a GGUF file's header (model_db/gguf_model.c):
 * the {arch}.* metadata keys, and the tensor list where the keys are
 * silent (tied embeddings: no output.weight; q/k/v biases; q/k norms;
 * vocab from token_embd; which layers are MoE, Mamba or attention).
 * Supported general.architecture: mdb_gguf_supported_archs(). origin (the
 * path) names the file in messages and gives the id and m->file; source
 * is "GGUF header"; published figures are NAN. The result passes the
 * catalog's validation (mdb_model_parse). Everything in g is untrusted.
 * 0, -1 out of memory, or -2 with err naming origin, the GGUF key or
 * tensor and the fix. */
struct mdb_gguf;
int mdb_model_from_gguf(const struct mdb_gguf *g, const char *origin, struct mdb_model *out,
			char *err, size_t errlen);
/* "llama (also Mistral, Mixtral), qwen2, ..." — the architectures read. */
const char *mdb_gguf_supported_archs(void);
/* Parses a catalog text: one model object, or {"schema": "llmcap.models/1",
 * "models": [...]}; appends to c. 0, -1 OOM, -2 bad input. */
int mdb_models_parse(struct mdb_models *c, const char *text, size_t len, const char *file,
		     char *err, size_t errlen);
/* The built-in catalog plus user additions from dir (NULL: the default
 * $XDG_CONFIG_HOME/llmcap/models or ~/.config/llmcap/models; a missing
 * directory is not an error). A user model with a built-in id replaces it.
 * c is initialised here; free with mdb_models_free even on error. */
int mdb_models_load(struct mdb_models *c, const char *dir, char *err, size_t errlen);
/* The built-in catalog only. */
int mdb_models_load_builtin(struct mdb_models *c, char *err, size_t errlen);
void mdb_models_free(struct mdb_models *c);
/* By id, case-insensitive; NULL when absent. Points into c. */
const struct mdb_model *mdb_models_find(const struct mdb_models *c, const char *id);
/* The default user directory into buf; -1 when neither XDG_CONFIG_HOME
 * nor HOME is set. */
int mdb_models_user_dir(char *buf, size_t n);

#endif
