/*
 * simulator: predictions of memory use, placement, prefill and decode
 * speed for a model, a quantization and a workload on a machine.
 *
 * Inputs are plain structs from model_db (struct mdb_model, struct
 * hw_spec) plus the weights as they would be stored (struct sim_weights:
 * bytes per layer, from a llama.cpp file mix's per-tensor rules or from a
 * GGUF file's own tensors) and the workload. The simulator never measures
 * anything and never reads files: what it is given is all it knows, and
 * every figure it had to assume is listed in the prediction.
 *
 * The model is a roofline per device and operation class (DESIGN.md
 * "Simulator"): decode is bytes moved per token over achieved bandwidth
 * of the memory holding them, against arithmetic over achieved compute;
 * prefill is matrix arithmetic over achieved matrix throughput in
 * micro-batches. Achieved = peak (measured where the hardware description
 * has a measured block, spec otherwise) x an efficiency factor
 * (struct sim_eff), which comes from calibration when there is one and
 * from written-down defaults otherwise.
 *
 * Units: bytes, seconds, tokens/s; bandwidth inputs in GB/s (1e9 B/s).
 * Errors: 0, or -2 with err naming the problem and the fix.
 */
#ifndef LLMCAP_SIM_H
#define LLMCAP_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "model_db/model_db.h"

#define SIM_MAX_ASSUME 24
#define SIM_MAX_CURVE 24
#define SIM_NOTE 400

/* ---- weights as stored ------------------------------------------------ */
/* Bytes of every tensor of the model at its stored type, by place. */
struct sim_weights {
	char quant[48];            /* "Q4_K_M", or "GGUF file (Q4_1 + Q8_0 + F32)" */
	char source[160];          /* how the bytes were obtained */
	int n_layer;
	double embd_bytes;         /* token embedding (one row read per token) */
	double output_bytes;       /* output head; 0 when tied (the embedding is read) */
	double layer_bytes[MDB_MAX_LAYERS];   /* attention/mixer, dense FFN, shared experts, norms, router */
	double expert_bytes[MDB_MAX_LAYERS];  /* all routed experts of the layer */
	double total_bytes;
	int float_weights;         /* 1: F16/BF16/F32 weights (matrix work in float, not int8) */
	int main_type;             /* ggml type holding the most bytes (a mix: its base type) */
	double kld;                /* quality loss of the mix (mean KLD vs F16), NAN unknown */
};

/* From a llama.cpp file mix applied to the model's shape (per-tensor-role
 * rules, per layer). 0, or -2 when the model has more layers than
 * MDB_MAX_LAYERS. */
int sim_weights_from_mix(const struct mdb_model *m, const struct mdb_qmix *mix,
			 struct sim_weights *w, char *err, size_t errlen);
/* From a GGUF file's own tensors ("blk.N." prefixes place them in layers;
 * names containing "_exps" are routed experts). 0, or -2 when a tensor
 * names a layer outside the model. */
/* Every matrix of type, norms F32: the bytes of a synthetic file of m's
 * shape (kern_write_synth_gguf, `llmcap synth`). 0 or -2. */
int sim_weights_pure(const struct mdb_model *m, int type, struct sim_weights *w, char *err,
		     size_t errlen);
int sim_weights_from_gguf(const struct mdb_model *m, const struct mdb_gguf *g,
			  struct sim_weights *w, char *err, size_t errlen);
/* Weight bytes one decode step reads: every layer's dense weights, the
 * routed experts' share experts_per_token / n_experts, the output head
 * (the whole token embedding when tied) and one embedding row. What a
 * measured decode rate is multiplied by to give achieved bandwidth. */
double sim_decode_weight_bytes(const struct mdb_model *m, const struct sim_weights *w);

/* ---- efficiency factors ------------------------------------------------ */
struct sim_profiles;
/* Fractions of peak reached by a real engine, and its fixed costs. */
struct sim_eff {
	char engine[16];           /* "llama.cpp" | "llmcap" */
	double host_bw;            /* decode: fraction of the host's bandwidth figure */
	double host_mm;            /* prefill: fraction of the host's INT8 (or FP32) peak */
	double host_vec;           /* decode (matrix-vector): fraction of that peak */
	double gpu_bw;             /* fraction of the accelerator's memory bandwidth */
	double gpu_mm;             /* fraction of its FP16 matrix peak */
	double link;               /* fraction of the host link */
	double ssd;                /* fraction of sequential read reached by mmap page faults */
	double token_s;            /* fixed cost per decoded token (sampling, sync) */
	double layer_host_s;       /* fixed cost per layer per step on the CPU */
	double layer_gpu_s;        /* per layer per step on the accelerator (launches) */
	/* attention on the CPU, seconds per attention FLOP (attn_fpc x
	 * context positions x tokens) in decode and in prefill (llmcap
	 * calibrate times it at two context lengths), added to the step; decode
	 * still streams the KV cache with the weights, prefill's cost includes
	 * its (warm) KV reads. 0: attention FLOPs count with the matrix FLOPs,
	 * KV reads with the bytes streamed */
	double attn_host_s, attn_host_pp_s;
	/* the threads llmcap's CPU attention runs on (those costs are per FLOP
	 * with every thread busy): its work items, a token's query heads of
	 * one KV head (split when there are fewer items than threads), leave
	 * threads idle when they do not divide evenly (SmolLM2-135M: 9 heads
	 * on 16 threads); 0: not modelled */
	int attn_threads;
	/* prefill's own fixed costs, per micro-batch; NAN: none per
	 * micro-batch, and the per-layer costs above */
	double step_pp_s;          /* per micro-batch (graph build, scheduling, sync) */
	double layer_host_pp_s;    /* per layer per micro-batch on the CPU */
	double layer_gpu_pp_s;     /* per layer per micro-batch on the accelerator */
	double mm_k0;              /* prefill rate x hidden / (hidden + mm_k0): narrow models
				    * reach less of the peak; 0 none */
	double bw_k0;              /* decode weight streaming x hidden / (hidden + bw_k0); 0 none */
	int ubatch;                /* prefill micro-batch (llama.cpp -ub, 512) */
	double band;               /* relative error band (0.25: +-25%) */
	int calibrated;            /* 1: factors from the user's calibration */
	char source[SIM_NOTE];     /* where these numbers come from */
	/* Engine profiles (simulator/profile.h), or NULL. When set,
	 * sim_predict takes the factors for the machine's backends and the
	 * weights' type from them (sim_eff_from_profiles) instead of the
	 * fields above. Owned by the caller. */
	const struct sim_profiles *prof;
};

/* The written-down defaults for an engine ("llama.cpp" or "llmcap").
 * -2 for an unknown engine (err lists the known ones). */
int sim_eff_default(const char *engine, struct sim_eff *e, char *err, size_t errlen);

/* ---- workload ------------------------------------------------------------ */
struct sim_workload {
	int64_t ctx;               /* context window allocated (KV cache) */
	int64_t depth;             /* tokens already in context */
	int64_t prompt;            /* prompt tokens processed (prefill) */
	int64_t gen;               /* tokens generated */
	int batch;                 /* concurrent streams */
	char kv_quant[8];          /* "f16", "q8_0", "q4_0" */
	int gpu_layers;            /* -1: auto */
};
/* ctx 4096, depth 0, prompt 512, gen 128, batch 1, f16, auto. */
void sim_workload_default(struct sim_workload *w);
/* The workload a model is actually run with: --ctx capped at the model's
 * own context, and when depth + prompt + gen no longer fit, no depth, a
 * prompt of 4/5 of the window and the rest generated. */
void sim_workload_for_model(struct sim_workload *w, const struct mdb_model *m);
/* Checks ranges and names the bad option: 0 or -2. */
int sim_workload_check(const struct sim_workload *w, const struct mdb_model *m, char *err,
		       size_t errlen);

/* ---- prediction --------------------------------------------------------- */
enum sim_place {
	SIM_PLACE_GPU,             /* everything in accelerator memory (discrete) */
	SIM_PLACE_UNIFIED,         /* everything in unified memory, run by the accelerator */
	SIM_PLACE_SPLIT,           /* layers split between accelerator and host */
	SIM_PLACE_EXPERTS_HOST,    /* MoE: experts in host memory, the rest on the accelerator */
	SIM_PLACE_CPU,             /* everything in host memory, run by the CPU */
	SIM_PLACE_SSD,             /* weights streamed from SSD through the page cache */
	SIM_PLACE_NONE,            /* does not fit */
};
const char *sim_place_name(enum sim_place p);  /* "gpu", "split", ... */

enum sim_bound {
	SIM_BOUND_HOST_MEM, SIM_BOUND_GPU_MEM, SIM_BOUND_HOST_COMPUTE, SIM_BOUND_GPU_COMPUTE,
	SIM_BOUND_LINK, SIM_BOUND_SSD, SIM_BOUND_FIXED, SIM_BOUND_COUNT
};
const char *sim_bound_name(enum sim_bound b);  /* "host memory bandwidth", ... */

/* Where the memory goes. */
struct sim_memory {
	double weights_bytes;      /* all weights */
	double kv_bytes;           /* KV cache for ctx x batch */
	double state_bytes;        /* recurrent state (linear attention) x batch */
	double buffers_bytes;      /* compute buffers */
	double overhead_bytes;     /* runtime (CUDA/Metal context, allocator) */
	double total_bytes;
	/* by device */
	double gpu_bytes, host_bytes;         /* resident */
	double gpu_usable, host_usable;       /* what may be used there (NAN: none) */
	double ssd_streamed_bytes;            /* weights not resident, read on demand */
	double kv_bytes_per_token;            /* at full window, one stream */
};

struct sim_curve_pt { int64_t ctx; double decode_tps; };

struct sim_pred {
	int fits;
	enum sim_place place;
	int gpu_layers;            /* layers on the accelerator (0 when none) */
	int n_layer;
	struct sim_memory mem;
	double decode_tps;         /* one stream, at depth + prompt */
	double decode_tps_total;   /* all streams together (batch) */
	double prefill_tps;
	double ttft_s;
	double total_s;            /* prefill + generation of gen tokens */
	double decode_step_s[SIM_BOUND_COUNT]; /* per-token time by cause at depth + prompt */
	enum sim_bound bottleneck;
	double expert_hit_rate;    /* SSD placement, MoE: page-cache hit rate of routed experts */
	double ssd_bytes_per_token;
	double band;               /* relative error band */
	char engine[16];
	char why[SIM_NOTE];        /* one line: why this placement / why it does not fit */
	int n_curve;
	struct sim_curve_pt curve[SIM_MAX_CURVE];
	int n_assume;
	char assume[SIM_MAX_ASSUME][SIM_NOTE];
};

/* The prediction for model m stored as w on machine h running workload
 * wl with engine efficiencies e. 0; -2 bad input (err). A model that does
 * not fit is not an error: fits = 0, place = SIM_PLACE_NONE, why says
 * what is short and by how much. */
int sim_predict(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		const struct sim_workload *wl, const struct sim_eff *e, struct sim_pred *p,
		char *err, size_t errlen);

/* The accelerator predictions run on: the GPU with the most memory among
 * those with a memory size and a bandwidth figure; NULL when none. */
const struct hw_accel *sim_pick_gpu(const struct hw_spec *h);

/* KV-cache bytes of one stream holding ctx tokens (sliding layers capped
 * at their window, MLA latent cache, linear-attention layers none). */
double sim_kv_bytes(const struct mdb_model *m, int64_t ctx, const char *kv_quant);
/* Recurrent state bytes of one stream (linear-attention layers; F32). */
double sim_state_bytes(const struct mdb_model *m);

/* "Capability" used to rank models: the geometric mean of total and
 * active parameters (a dense model: its size). A heuristic, stated as such. */
double sim_capability(const struct mdb_params *p);

#endif
