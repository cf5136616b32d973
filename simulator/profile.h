/*
 * simulator: engine profiles — what a named engine (llama.cpp, llmcap's
 * own kernels) achieves on a backend (cpu, cuda, metal, vulkan, rocm):
 * the fraction of the machine's bandwidth it reaches in decode and of its
 * matrix peak in prefill, per tensor type, and its fixed costs per token
 * and per layer. Profiles are measured (llama-bench or llmcap's kernels
 * run by us on a named machine and fitted through the simulator itself),
 * derived from a measured one (marked so, with the reasoning), or
 * calibrated on the user's machine (`llmcap calibrate --engine llama.cpp`).
 *
 * Shipped profiles: model_db/data/engines.json (schema llmcap.engines/1,
 * docs/engines-schema.md). A run record (llmcap.enginebench/1) holds the
 * timed runs a profile was fitted from, so the fit can be redone.
 *
 * Errors: 0, or -2 with err naming the problem and the fix.
 */
#ifndef LLMCAP_SIM_PROFILE_H
#define LLMCAP_SIM_PROFILE_H

#include <stddef.h>

#include "simulator/sim.h"

#define SIM_PROF_TYPES 16
#define SIM_PROF_MAX 24
#define SIM_PROF_THREADS 8
#define SIM_PROF_RUNS 64

struct sim_prof_type {
	int type;                  /* ggml type id (QT_*) */
	double bw;                 /* decode: fraction of the memory bandwidth figure */
	double mm;                 /* prefill: fraction of the matrix peak (INT8 for
				    * quantized weights on a CPU, FP32 for float; FP16
				    * tensor peak on a GPU); NAN when not measured */
};

/* How the fit changes with CPU threads (the same engine, fewer threads). */
struct sim_prof_threads {
	int threads;
	double bw_scale;           /* decode bandwidth fraction relative to the main fit */
	double mm_scale;           /* prefill fraction relative to the main fit */
};

struct sim_profile {
	char engine[16];           /* "llama.cpp" | "llmcap" */
	char backend[16];          /* "cpu" | "cuda" | "metal" | "vulkan" | "rocm" */
	char status[16];           /* "measured" | "derived" | "calibrated" */
	char machine[160];         /* where it was measured ("" for derived) */
	char when[32];             /* ISO date of the measurement */
	char engine_version[96];   /* llama.cpp build, or llmcap version */
	char fingerprint[24];      /* calibrated: the machine's probe fingerprint */
	int threads;               /* CPU threads of the fit (0: not a CPU fit) */
	double token_s;            /* fixed seconds per decoded token */
	double layer_s;            /* fixed seconds per layer per decode step */
	double step_pp_s;          /* fixed seconds per prefill micro-batch (NAN: none) */
	double layer_pp_s;         /* per layer per prefill micro-batch (NAN: layer_s) */
	double mm_k0;              /* prefill rate x hidden / (hidden + mm_k0) (0: none) */
	double bw_k0;              /* decode bandwidth x hidden / (hidden + bw_k0) (0: none) */
	double band;               /* relative error band (fit residuals, or wider when derived) */
	int n_runs;                /* runs the fit used (0 derived) */
	double max_err;            /* largest |fit - measured| / measured over those runs */
	int n_types;
	struct sim_prof_type t[SIM_PROF_TYPES];
	int n_threads;
	struct sim_prof_threads th[SIM_PROF_THREADS];
	char how[600];             /* how it was measured, or the derivation */
};

struct sim_profiles {
	int n;
	struct sim_profile p[SIM_PROF_MAX];
};

/* A tensor type's name as profiles and run records spell it: "Q4_0",
 * "Q4_K", "F16" (ggml's name upper-cased; "?" for an unknown id). */
void sim_type_name(int type, char *buf, size_t n);

/* Parses llmcap.engines/1 text (origin names it in errors) and appends its
 * profiles to ps. 0, or -2 with err. */
int sim_profiles_parse(const char *text, size_t len, const char *origin, struct sim_profiles *ps,
		       char *err, size_t errlen);
/* The shipped profiles (model_db/data/engines.json). 0 or -2. */
int sim_profiles_builtin(struct sim_profiles *ps, char *err, size_t errlen);
/* llmcap.engines/1 text of n profiles (malloc'd; NULL out of memory). */
char *sim_profiles_json(const struct sim_profile *p, int n);
/* The shipped (not calibrated) profile of engine and backend, or NULL. */
const struct sim_profile *sim_profile_find(const struct sim_profiles *ps, const char *engine,
					   const char *backend);
/* The profile of engine and backend for predictions on h: one calibrated
 * on h itself (same probe fingerprint) first, else the shipped one. */
const struct sim_profile *sim_profile_for(const struct sim_profiles *ps, const char *engine,
					  const char *backend, const struct hw_spec *h);
/* Puts p into ps, replacing one of the same engine, backend, status
 * (calibrated or not) and fingerprint. */
void sim_profiles_put(struct sim_profiles *ps, const struct sim_profile *p);

/* The backend an engine uses for an accelerator of this hw_accel.backend
 * ("cuda", "metal", "vulkan", "rocm"; "cpu" for NULL). */
const char *sim_profile_backend(const char *accel_backend);

/* Efficiency factors for a prediction of weights w on h by engine: the
 * host factors from the engine's cpu profile, the accelerator's from the
 * profile of its backend; a type the profile did not measure takes the
 * measured type nearest in bits per weight, and says so in e->source.
 * -2 when the engine has no profile at all. */
int sim_eff_from_profiles(const struct sim_profiles *ps, const char *engine,
			  const struct hw_spec *h, const struct sim_weights *w,
			  struct sim_eff *e, char *err, size_t errlen);

/* ---- fitting --------------------------------------------------------- */

/* One timed run: a model shape (catalog id, one tensor type, n_layer
 * layers as a synthetic file has) and what llama-bench's test measured. */
struct sim_bench_run {
	char model[64];            /* catalog id */
	struct mdb_model m;        /* its shape, n_layer as in the file */
	struct sim_weights w;      /* the file's bytes (sim_weights_pure) */
	int type;                  /* tensor type of every matrix */
	int n_layer;               /* layers in the file */
	int n_prompt, n_gen;       /* pp: n_prompt > 0, n_gen 0; tg: n_prompt 0, n_gen > 0 */
	int threads;
	int gpu_layers;            /* -ngl; 0 CPU */
	double tps;                /* measured tokens/s (mean of the engine's repetitions) */
	double tps_sd;             /* its standard deviation */
	double fit_tps;            /* after sim_profile_fit: the profile's prediction */
};

struct sim_bench {
	char engine[16], backend[16];
	char machine[160], when[32], engine_version[96], fingerprint[24];
	struct hw_spec hw;         /* the machine the runs were timed on */
	char hw_json[8192];        /* ... as its llmcap.hardware/1 object */
	int n;
	struct sim_bench_run r[SIM_PROF_RUNS];
};

/* llmcap.enginebench/1 text <-> struct (models resolved in the built-in
 * catalog). 0, or -2 with err. */
int sim_bench_parse(const char *text, size_t len, const char *origin, struct sim_bench *b,
		    char *err, size_t errlen);
char *sim_bench_json(const struct sim_bench *b);
/* Sets b's machine from a llmcap.hardware/1 object's text (its id may be
 * "this": it is renamed). 0, or -2 with err. */
int sim_bench_set_hw(struct sim_bench *b, const char *hw_json, char *err, size_t errlen);

/* Adds the tests of one llama-bench `-o json` output (an array of test
 * objects) as runs of m (n_layer as in the file) with every matrix of
 * type; fills b->engine_version from the first test when empty. 0, or -2
 * with err. */
int sim_bench_add_llama_bench(struct sim_bench *b, const char *text, size_t len,
			      const char *origin, const struct mdb_model *m, int type,
			      char *err, size_t errlen);
/* Adds one run measured some other way (llmcap's kernels). 0 or -2. */
int sim_bench_add(struct sim_bench *b, const struct mdb_model *m, int type, int n_prompt,
		  int n_gen, int threads, int gpu_layers, double tps, double tps_sd, char *err,
		  size_t errlen);

/* The prediction for one run with efficiency e: tokens/s (NAN when the
 * model does not fit or the run is malformed). */
double sim_bench_predict(const struct sim_bench *b, const struct sim_bench_run *r,
			 const struct sim_eff *e);

/* Fits b's backend profile (at b's largest thread count; smaller thread
 * counts give p->th scales) by least squares on log(tokens/s) through
 * sim_predict: per type bw and mm, and the fixed costs per token and per
 * layer. Fills every run's fit_tps. 0, or -2 when the runs cannot
 * determine a profile (err says what is missing). */
int sim_profile_fit(struct sim_bench *b, struct sim_profile *p, char *err, size_t errlen);

#endif
