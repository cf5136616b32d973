/* cli: `llmcap synth` — writes a synthetic GGUF of a model's shape (random
 * weights of one tensor type, F32 norms, the tokenizer metadata llama.cpp
 * needs to load it; dense or MoE), so another engine can be timed on the same bytes
 * llmcap predicts for. The file appears whole or not at all: it is
 * written under a temporary name beside --out, by a child process, and
 * renamed; a failure or Ctrl-C removes the temporary file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "kernels/kernels.h"
#include "model_db/model_db.h"

struct synth_job {
	const char *tmp;
	const struct mdb_model *m;
	int type, n_layer;
	uint64_t seed;
};

/* In the child: writes the file; an error's text goes to out_fd. */
static int synth_child(void *arg, int out_fd)
{
	const struct synth_job *j = arg;
	char err[1024] = "";
	int rc = kern_write_synth_gguf(j->tmp, j->m, j->type, j->n_layer, j->seed, err, sizeof err);
	if (rc != 0) {
		ssize_t wr = write(out_fd, err, strlen(err));
		(void)wr;
	}
	return rc == 0 ? 0 : rc == -2 ? 2 : 1;
}

/* Writes path through path.tmp-PID in a child; the parent holds the
 * terminal signals meanwhile and cleans up after the child whatever
 * happens. 0, -2 bad input (err set), -1 runtime failure (err set),
 * -3 interrupted. */
int cli_write_synth(const char *path, const struct mdb_model *m, int type, int n_layer,
		    uint64_t seed, char *err, size_t errlen)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		snprintf(err, errlen, "output path too long");
		return -2;
	}
	struct synth_job j = {tmp, m, type, n_layer, seed};
	struct cli_child c;
	if (cli_child_run(synth_child, &j, 1024, &c, err, errlen) != 0)
		return -1;
	int st = c.status, rc = 0;
	if (c.interrupted || WIFSIGNALED(st)) {
		unlink(tmp);
		snprintf(err, errlen, "interrupted: nothing written (the temporary file was removed)");
		rc = -3;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(tmp);
		snprintf(err, errlen, "%s", c.out && c.out[0] ? c.out : "writing the file failed");
		rc = WIFEXITED(st) && WEXITSTATUS(st) == 2 ? -2 : -1;
	} else if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		rc = -1;
	}
	free(c.out);
	return rc;
}

static int synth_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *model = NULL, *quant = "Q4_0", *out = NULL;
	int layers = 0, seed = 42, help = 0;
	const struct cli_opt opts[] = {
		{"model", CLI_STR, &model, "M", "catalog id or config.json of a llama, mistral, mixtral, qwen2, qwen3 or qwen3moe shape"},
		{"quant", CLI_STR, &quant, "Q", "tensor type of every matrix: Q4_0 (default), Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16"},
		{"out", CLI_STR, &out, "FILE", "where to write the .gguf (required; replaced atomically)"},
		{"layers", CLI_INT, &layers, "L", "write only the first L layers (default: all)"},
		{"seed", CLI_INT, &seed, "S", "random seed of the weights (default 42)"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	if (!model || !out) {
		fprintf(stderr, "llmcap synth: give --model M and --out FILE.gguf\n");
		return CLI_USAGE;
	}
	if (layers < 0 || seed < 0) {
		fprintf(stderr, "llmcap synth: --layers and --seed must be 0 or more\n");
		return CLI_USAGE;
	}
	const struct mdb_qtraits *qt = mdb_qtype_by_name(quant);
	if (!qt || !kern_type_supported(qt->id) || qt->id == QT_F32) {
		fprintf(stderr, "llmcap synth: --quant %s: give one tensor type: Q4_0, Q4_1, Q5_0, "
			"Q8_0, Q4_K, Q5_K, Q6_K, F16 or BF16\n", quant);
		return CLI_USAGE;
	}
	struct cli_model *cm = calloc(1, sizeof *cm);
	if (!cm) {
		fprintf(stderr, "llmcap synth: out of memory\n");
		return CLI_FAIL;
	}
	if ((rc = cli_model_load("synth", model, cm)) != CLI_OK)
		goto done;
	if (cm->kind == CLI_MODEL_GGUF) {
		fprintf(stderr, "llmcap synth: --model is already a GGUF file; give a catalog id or "
			"a config.json\n");
		rc = CLI_USAGE;
		goto done;
	}
	char err[1024] = "";
	int nl = layers > 0 && layers < cm->m.n_layer ? layers : cm->m.n_layer;
	int wrc = cli_write_synth(out, &cm->m, qt->id, nl, (uint64_t)seed, err, sizeof err);
	if (wrc != 0) {
		fprintf(stderr, "llmcap synth: %s\n", err);
		rc = wrc == -2 ? CLI_USAGE : wrc == -3 ? 130 : CLI_FAIL;
		goto done;
	}
	printf("wrote %s: synthetic %s, %s, %d of %d layers, seed %d\n", out, cm->m.id, qt->name, nl,
	       cm->m.n_layer, seed);
	rc = CLI_OK;
done:
	cli_model_free(cm);
	free(cm);
	return rc;
}

const struct cli_cmd cmd_synth = {
	"synth", "Write a synthetic GGUF of a model's shape (for timing other engines)",
	"synth --model M [--quant Q] --out FILE.gguf [--layers L] [--seed S]",
	"Writes a GGUF file of a llama-family model's shape (a catalog id or a config.json):\n"
	"architecture llama (llama, mistral, smollm; Mixtral's experts as llama.cpp lays\n"
	"them out), qwen2, qwen3 or qwen3moe; every matrix (and expert) random in one\n"
	"tensor type, F32 norms, biases and routers, and the minimal tokenizer\n"
	"metadata llama.cpp needs to load it. llama-bench (or any GGUF engine) can then be\n"
	"timed on exactly the bytes `llmcap plan --model FILE.gguf` predicts for; `llmcap\n"
	"calibrate --engine llama.cpp` and `verify --engine llama.cpp` do this themselves.\n"
	"The weights are random: the file is for timing, not for text. The file appears\n"
	"whole or not at all (written under a temporary name and renamed; Ctrl-C or an\n"
	"error removes it).",
	NULL, NULL, synth_main,
};
