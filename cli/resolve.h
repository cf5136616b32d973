/*
 * cli/resolve: --hw, --model, --quant and the workload options turned into
 * the simulator's inputs. Each function prints its own message on stderr
 * ("llmcap CMD: ...", naming the problem and the fix) and returns a CLI
 * exit code: CLI_OK, CLI_USAGE for bad input, CLI_FAIL for a failure.
 */
#ifndef LLMCAP_CLI_RESOLVE_H
#define LLMCAP_CLI_RESOLVE_H

#include <stdint.h>

#include "model_db/model_db.h"
#include "simulator/sim.h"

#define CLI_DEFAULT_QUANT "Q4_K_M"

/* arg: "this" (or NULL: the cached profile, probing --quick first when
 * there is none), a catalog id, or a hardware JSON file. */
int cli_hw(const char *cmd, const char *arg, struct hw_spec *h);

enum cli_model_kind { CLI_MODEL_CATALOG, CLI_MODEL_GGUF, CLI_MODEL_CONFIG };
struct cli_model {
	struct mdb_model m;
	struct mdb_gguf *gguf;      /* open for CLI_MODEL_GGUF; cli_model_free closes */
	enum cli_model_kind kind;
};
/* arg: a catalog id, a .gguf file or a Hugging Face config.json. */
int cli_model_load(const char *cmd, const char *arg, struct cli_model *cm);
/* The weights: quant NULL means the GGUF file's own tensors, or
 * CLI_DEFAULT_QUANT for a catalog model or config.json. */
int cli_model_weights(const char *cmd, const struct cli_model *cm, const char *quant,
		      struct sim_weights *w);
void cli_model_free(struct cli_model *cm);

/* A synthetic GGUF of m's shape (cli/cmd_synth.c): written by a child
 * process under a temporary name beside path and renamed, so the file
 * appears whole or not at all; Ctrl-C meanwhile removes it. 0; -2 bad
 * input, -1 runtime failure, -3 interrupted (err says which). */
int cli_write_synth(const char *path, const struct mdb_model *m, int type, int n_layer,
		    uint64_t seed, char *err, size_t errlen);

/* This machine's all-core memory read bandwidth now (GB/s, the probe's
 * headline figure: best of a quick run's passes) with as many threads as
 * pool has, from the thread that made pool: the memory of a shared or virtual machine moves, so
 * verify and calibrate measure it beside their runs rather than trust the
 * cached profile. A few seconds. 0, or -1 (err says why). */
struct kern_pool;
int cli_read_bw_now(struct kern_pool *pool, double *gbps, char *err, size_t errlen);

/* Workload options as parsed (-1 / NULL: not given). */
struct cli_wl_args {
	int ctx, depth, prompt, gen, batch;
	const char *kv_quant;
	const char *gpu_layers;     /* "auto" or a number */
};
int cli_workload(const char *cmd, const struct cli_wl_args *a, struct sim_workload *wl);

/* ---- calibration ($XDG_CACHE_HOME/llmcap/calibration.json, cli/calib.c) */
/* Replaces e's factors with the calibration measured by `llmcap
 * calibrate` on this machine when h is this machine (same fingerprint)
 * and the calibration is for the llmcap engine: 0 applied, -1 none (or
 * another machine's; e untouched). threads: the threads the prediction is
 * for (0: the calibration's own). */
int cli_calibration_apply(const struct hw_spec *h, const struct sim_weights *w, int threads,
			  struct sim_eff *e);

/* ---- the GPU (cli/gpu.c) ------------------------------------------------ */
/* verify/calibrate --device: gpu keeps the first NVIDIA (CUDA) GPU of h
 * as its only accelerator (CLI_FAIL with a message when there is none);
 * cpu drops the accelerators, so the prediction is for the CPU. */
int cli_hw_for_device(const char *cmd, struct hw_spec *h, int gpu);
/* The GPU factors measured by `llmcap calibrate --device gpu` on this
 * machine (calibration-gpu.json, same fingerprint): 0 applied, -1 none.
 * cli_calibration_apply calls it after the CPU factors. */
int cli_calibration_gpu_apply(const struct hw_spec *h, const struct sim_weights *w, struct sim_eff *e);
/* `llmcap calibrate --device gpu`: a CLI exit code. */
int cli_calibrate_gpu(int json);

/* ---- engines (cli/engine.c) ------------------------------------------ */
/* The defaults of engine and the profiles predictions take their factors
 * from: the shipped ones (model_db/data/engines.json) and those
 * `llmcap calibrate --engine llama.cpp` measured on this machine
 * ($XDG_CACHE_HOME/llmcap/engine-llama.cpp.json, used for --hw this
 * only). Sets e->prof; free with cli_engine_free. A CLI exit code. */
int cli_engine_eff(const char *cmd, const char *engine, struct sim_eff *e);
void cli_engine_free(struct sim_eff *e);

/* llama-bench: given (must be executable), else the first on PATH.
 * 0 with the path in out, -1 none. */
int cli_llama_bench_find(const char *given, char *out, size_t n);
/* Runs lb -m model -p P -n G -r R -t T -ngl N -o json with the terminal
 * signals held meanwhile. 0 and *json (malloc'd) = its stdout; -1 failed
 * (err has its last stderr line); -3 interrupted (Ctrl-C). */
int cli_llama_bench_run(const char *lb, const char *model, int n_prompt, int n_gen, int reps,
			int threads, int ngl, char **json, size_t *json_len, char *err, size_t errlen);

struct cli_calib_llama {
	const char *llama_bench;    /* --llama-bench, or NULL: PATH */
	const char *from;           /* --from RECORD: refit recorded runs instead */
	const char *save_runs;      /* --save-runs FILE: the run record */
	const char *out;            /* --out FILE: the fitted profile (llmcap.engines/1) */
	const char *device;         /* "cpu" (default) or "gpu" */
	int threads, reps, full, quick, json;
};
/* `llmcap calibrate --engine llama.cpp`. A CLI exit code. */
int cli_calibrate_llama(const struct cli_calib_llama *o);

/* `llmcap verify --engine llama.cpp` (cli/verify_llama.c): predicts with
 * llama.cpp's profile and runs llama-bench on path. A CLI exit code. */
struct cli_verify_llama {
	const char *llama_bench;    /* or NULL: PATH */
	const char *path;           /* the GGUF file (kept until llama-bench is done) */
	const struct hw_spec *h;    /* this machine */
	const struct mdb_model *m;  /* the model as in the file */
	const struct sim_weights *w;
	int synthetic, full_layers;
	int prompt, gen, runs, threads, gpu, json;
};
int cli_verify_llama(const struct cli_verify_llama *a);

#endif
