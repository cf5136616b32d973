/* cli: `llmcap quants` — the quantization catalog: tensor types, llama.cpp
 * file mixes (with their size on a Llama-3-8B shape and published quality
 * loss), MLX / GPTQ / AWQ / FP8 and KV-cache types. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

#define SHAPE_8B "Llama-3-8B shape (32 layers, hidden 4096, FFN 14336, 32 heads, 8 KV heads, " \
	"vocab 128256, untied embeddings, no imatrix) through llama.cpp's per-tensor rules"

static int quants_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	int json = 0, help = 0;
	const struct cli_opt opts[] = {
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.quants/1 JSON object on stdout"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	int n;
	const struct mdb_qmix *m = mdb_qmixes(&n);
	double *bpw = calloc((size_t)n * 2, sizeof *bpw);
	if (!bpw) {
		fprintf(stderr, "llmcap quants: out of memory\n");
		return CLI_FAIL;
	}
	double *gib = bpw + n;
	struct mdb_qshape s;
	mdb_qshape_llama3_8b(&s);
	for (int i = 0; i < n; i++) {
		bpw[i] = mdb_qmix_avg_bpw(&m[i], &s);
		gib[i] = mdb_qmix_bytes(&m[i], &s) / (1024.0 * 1024 * 1024);
	}
	rc = CLI_OK;
	if (json) {
		char *text = rep_quants_json(bpw, gib, SHAPE_8B, 1);
		if (!text) {
			fprintf(stderr, "llmcap quants: out of memory\n");
			rc = CLI_FAIL;
		} else {
			printf("%s\n", text);
			free(text);
		}
	} else {
		rep_quants_text(bpw, gib, SHAPE_8B, stdout);
	}
	free(bpw);
	return rc;
}

const struct cli_cmd cmd_quants = {
	"quants", "List quantizations with bits per weight", "quants [--json]",
	"Every GGUF tensor type with its block layout and exact bits per weight (ggml's\n"
	"block structs); llama.cpp's file mixes (Q4_K_M, ...) with the type each tensor\n"
	"role gets, their average bits per weight and size on a Llama-3-8B shape, and\n"
	"the published perplexity increase against F16 where one exists; MLX, GPTQ,\n"
	"AWQ and FP8 layouts; KV-cache types. Every row names its source.",
	NULL, NULL, quants_main,
};
