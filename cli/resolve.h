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

#endif
