/* cli: `llmcap plan` — one prediction, explained. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "reports/report.h"

static int plan_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *model = NULL, *quant = NULL, *hw = NULL, *engine = NULL;
	struct cli_wl_args a = {-1, -1, -1, -1, -1, NULL, NULL};
	int json = 0, help = 0;
	const struct cli_opt opts[] = {
		{"model", CLI_STR, &model, "M", "catalog id (llmcap models), a .gguf file or a config.json"},
		{"quant", CLI_STR, &quant, "Q", "llama.cpp file type (default Q4_K_M; a GGUF file: its own types)"},
		{"ctx", CLI_INT, &a.ctx, "N", "context window allocated for the KV cache (default 4096)"},
		{"depth", CLI_INT, &a.depth, "D", "tokens already in context before the prompt (default 0)"},
		{"prompt", CLI_INT, &a.prompt, "P", "prompt tokens to process (default 512)"},
		{"gen", CLI_INT, &a.gen, "G", "tokens to generate (default 128)"},
		{"batch", CLI_INT, &a.batch, "B", "concurrent streams (default 1)"},
		{"hw", CLI_STR, &hw, "H", "this (default), a catalog id (llmcap hardware) or a hardware JSON file"},
		{"engine", CLI_STR, &engine, "E", "llama.cpp (default) or llmcap"},
		{"gpu-layers", CLI_STR, &a.gpu_layers, "N|auto", "layers on the accelerator (default auto)"},
		{"kv-quant", CLI_STR, &a.kv_quant, "Q", "KV cache type: f16 (default), q8_0, q4_0"},
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.plan/1 JSON object on stdout"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	char err[1024] = "";
	struct sim_eff eff;
	if ((rc = cli_engine_eff("plan", engine, &eff)) != CLI_OK)
		return rc;
	struct cli_model *cm = calloc(1, sizeof *cm);
	struct sim_weights *w = calloc(1, sizeof *w);
	struct sim_pred *p = calloc(1, sizeof *p);
	struct hw_spec *h = calloc(1, sizeof *h);
	if (!cm || !w || !p || !h) {
		fprintf(stderr, "llmcap plan: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	struct sim_workload wl;
	if ((rc = cli_model_load("plan", model, cm)) != CLI_OK)
		goto out;
	if ((rc = cli_workload("plan", &a, &wl)) != CLI_OK)
		goto out;
	if ((rc = cli_model_weights("plan", cm, quant, w)) != CLI_OK)
		goto out;
	if (sim_workload_check(&wl, &cm->m, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap plan: %s\n", err);
		rc = CLI_USAGE;
		goto out;
	}
	if ((rc = cli_hw("plan", hw, h)) != CLI_OK)
		goto out;
	if (cli_calibration_apply(h, w, 0, &eff) == 0) /* --hw this --engine llmcap, calibrated */
		cli_engine_free(&eff);
	if (sim_predict(h, &cm->m, w, &wl, &eff, p, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap plan: %s\n", err);
		rc = CLI_USAGE;
		goto out;
	}
	struct rep_plan r = {h, &cm->m, w, &wl, p};
	if (json) {
		char *text = rep_plan_json(&r, 1);
		if (!text) {
			fprintf(stderr, "llmcap plan: out of memory\n");
			rc = CLI_FAIL;
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		rep_plan_text(&r, stdout);
	}
	rc = CLI_OK;
out:
	cli_engine_free(&eff);
	if (cm)
		cli_model_free(cm);
	free(cm);
	free(w);
	free(p);
	free(h);
	return rc;
}

const struct cli_cmd cmd_plan = {
	"plan", "Predict memory, placement, prefill and decode speed of one model on one machine",
	"plan --model M [--quant Q] [--ctx N] [--depth D] [--prompt P] [--gen G] [--batch B]\n"
	"            [--hw H] [--engine E] [--gpu-layers N|auto] [--kv-quant Q] [--json]",
	"One prediction, explained: the memory the model needs (weights at the real\n"
	"per-tensor types, KV cache, recurrent state, buffers) against the memory you can\n"
	"use, where it goes (GPU, unified memory, split with host memory, MoE experts on\n"
	"the CPU, streamed from SSD, or does not fit), prefill and decode tokens/s with an\n"
	"error band, time to first token, the bottleneck, decode speed against context\n"
	"length, and every assumption taken. Figures are predicted, never measured;\n"
	"llmcap verify measures them.\n"
	"\n"
	"Exit 0 also when the model does not fit (fits is false in --json); 2 for bad\n"
	"input; 1 for a failure.",
	NULL, NULL, plan_main,
};
