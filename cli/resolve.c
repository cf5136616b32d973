/* cli: turning --hw and --model arguments into the structs the simulator
 * takes, with the error messages the contract asks for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "reports/report.h"

int cli_hw(const char *cmd, const char *arg, struct hw_spec *h)
{
	char err[1024] = "";
	if (!arg)
		arg = "this";
	int rc = mdb_hw_resolve(arg, h, err, sizeof err);
	if (rc == 0)
		return CLI_OK;
	if (rc != MDB_HW_THIS) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		return rc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	struct probe_profile *p = calloc(1, sizeof *p);
	if (!p) {
		fprintf(stderr, "llmcap %s: out of memory\n", cmd);
		return CLI_FAIL;
	}
	int lrc = cli_cache_load(p, err, sizeof err);
	if (lrc != 0) {
		if (lrc == -1)
			fprintf(stderr, "llmcap %s: no measured profile of this machine yet; running "
				"llmcap probe --quick now (run llmcap probe once for the full "
				"measurement, storage included)\n", cmd);
		else
			fprintf(stderr, "llmcap %s: %s; probing again (llmcap probe --quick)\n", cmd, err);
		if (cli_run_probe(p, 1, isatty(2), err, sizeof err) != 0) {
			fprintf(stderr, "llmcap %s: %s\n", cmd, err);
			free(p);
			return CLI_FAIL;
		}
		if (cli_cache_save(p, err, sizeof err) != 0)
			fprintf(stderr, "llmcap %s: warning: profile not cached: %s\n", cmd, err);
	}
	mdb_hw_from_profile(h, p);
	free(p);
	return CLI_OK;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static int is_gguf_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char magic[4] = {0};
	size_t n = fread(magic, 1, 4, f);
	fclose(f);
	return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

int cli_model_load(const char *cmd, const char *arg, struct cli_model *cm)
{
	memset(cm, 0, sizeof *cm);
	char err[1024] = "";
	if (!arg || !arg[0]) {
		fprintf(stderr, "llmcap %s: --model is required: a catalog id (llmcap models lists "
			"them), a .gguf file or a config.json\n", cmd);
		return CLI_USAGE;
	}
	struct stat st;
	int is_file = stat(arg, &st) == 0 && S_ISREG(st.st_mode);
	int pathish = strchr(arg, '/') || has_suffix(arg, ".gguf") || has_suffix(arg, ".json");
	if (!is_file && pathish) {
		fprintf(stderr, "llmcap %s: --model %s: no such file; give a readable .gguf file, a "
			"config.json, or a catalog id (llmcap models)\n", cmd, arg);
		return CLI_USAGE;
	}
	if (is_file && (has_suffix(arg, ".gguf") || is_gguf_file(arg))) {
		int rc = mdb_gguf_open(&cm->gguf, arg, err, sizeof err);
		if (rc == 0)
			rc = mdb_model_from_gguf(cm->gguf, arg, &cm->m, err, sizeof err);
		if (rc != 0) {
			fprintf(stderr, "llmcap %s: %s\n", cmd, err);
			cli_model_free(cm);
			return rc == -1 ? CLI_FAIL : CLI_USAGE;
		}
		cm->kind = CLI_MODEL_GGUF;
		return CLI_OK;
	}
	if (is_file) {
		char *text = NULL;
		size_t len = 0;
		int rc = rep_read_file(arg, 4 << 20, &text, &len, err, sizeof err);
		if (rc == 0)
			rc = mdb_model_from_hf_config(text, len, arg, &cm->m, err, sizeof err);
		free(text);
		if (rc != 0) {
			fprintf(stderr, "llmcap %s: %s\n", cmd, err);
			return rc == -1 ? CLI_FAIL : CLI_USAGE;
		}
		cm->kind = CLI_MODEL_CONFIG;
		return CLI_OK;
	}
	struct mdb_models c;
	int rc = mdb_models_load(&c, NULL, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		mdb_models_free(&c);
		return rc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	const struct mdb_model *m = mdb_models_find(&c, arg);
	if (!m) {
		fprintf(stderr, "llmcap %s: unknown model '%s'; llmcap models lists the catalog ids, "
			"or give a path to a .gguf file or a config.json\n", cmd, arg);
		mdb_models_free(&c);
		return CLI_USAGE;
	}
	cm->m = *m;
	cm->kind = CLI_MODEL_CATALOG;
	mdb_models_free(&c);
	return CLI_OK;
}

int cli_model_weights(const char *cmd, const struct cli_model *cm, const char *quant,
		      struct sim_weights *w)
{
	char err[512] = "";
	int rc;
	if (!quant && cm->kind == CLI_MODEL_GGUF) {
		rc = sim_weights_from_gguf(&cm->m, cm->gguf, w, err, sizeof err);
	} else {
		const struct mdb_qmix *mix = mdb_qmix_by_name(quant ? quant : CLI_DEFAULT_QUANT);
		if (!mix) {
			fprintf(stderr, "llmcap %s: unknown --quant '%s'; use a llama.cpp file type such as "
				"Q4_K_M, Q5_K_M, Q8_0, IQ4_XS or F16 (llmcap quants lists them)\n", cmd,
				quant);
			return CLI_USAGE;
		}
		rc = sim_weights_from_mix(&cm->m, mix, w, err, sizeof err);
	}
	if (rc != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

void cli_model_free(struct cli_model *cm)
{
	if (cm->gguf)
		mdb_gguf_close(cm->gguf);
	cm->gguf = NULL;
}

int cli_workload(const char *cmd, const struct cli_wl_args *a, struct sim_workload *wl)
{
	sim_workload_default(wl);
	if (a->ctx >= 0)
		wl->ctx = a->ctx;
	if (a->depth >= 0)
		wl->depth = a->depth;
	if (a->prompt >= 0)
		wl->prompt = a->prompt;
	if (a->gen >= 0)
		wl->gen = a->gen;
	if (a->batch >= 0)
		wl->batch = a->batch;
	/* a short --ctx shrinks the default prompt and generation with it */
	if (a->ctx >= 0 && a->prompt < 0 && a->gen < 0 && wl->depth + wl->prompt + wl->gen > wl->ctx) {
		wl->prompt = (wl->ctx - wl->depth) * 4 / 5;
		wl->gen = wl->ctx - wl->depth - wl->prompt;
	}
	if (a->kv_quant) {
		if (strlen(a->kv_quant) >= sizeof wl->kv_quant) {
			fprintf(stderr, "llmcap %s: unknown --kv-quant '%s'; use f16, q8_0 or q4_0\n", cmd,
				a->kv_quant);
			return CLI_USAGE;
		}
		snprintf(wl->kv_quant, sizeof wl->kv_quant, "%s", a->kv_quant);
	}
	if (a->gpu_layers && strcmp(a->gpu_layers, "auto") != 0) {
		char *end;
		long n = strtol(a->gpu_layers, &end, 10);
		if (*a->gpu_layers == '\0' || *end || n < 0 || n > 100000) {
			fprintf(stderr, "llmcap %s: --gpu-layers '%s': give a number of layers or auto\n",
				cmd, a->gpu_layers);
			return CLI_USAGE;
		}
		wl->gpu_layers = (int)n;
	}
	return CLI_OK;
}
