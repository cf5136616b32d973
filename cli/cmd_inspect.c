/* cli: `llmcap inspect FILE.gguf [--json]` — what a GGUF header says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int run_inspect(const struct cli_cmd *cmd, int argc, char **argv)
{
	int json = 0, help = 0, np = 0;
	const struct cli_opt opts[] = {
		{"json", CLI_FLAG, &json, NULL, "print one JSON object (schema llmcap.gguf/1)"},
		{0},
	};
	const char *pos[1];
	int rc = cli_parse(cmd, argc, argv, opts, &help, pos, 1, &np);
	if (rc != CLI_OK)
		return rc;
	if (help) {
		cli_print_help(cmd, opts, stdout);
		return CLI_OK;
	}
	if (np != 1) {
		fprintf(stderr, "llmcap inspect: give one file, e.g. 'llmcap inspect "
			"model.Q4_K_M.gguf'\n");
		return CLI_USAGE;
	}
	const char *path = pos[0];
	if (ends_with(path, ".json")) {
		fprintf(stderr, "llmcap inspect: %s: config.json import is not built yet; "
			"give a .gguf file\n", path);
		return CLI_USAGE;
	}
	char err[1024];
	struct mdb_gguf *g = NULL;
	if (mdb_gguf_open(&g, path, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap inspect: %s\n", err);
		return CLI_USAGE;
	}
	if (json) {
		char *text = rep_gguf_json(g, path, 1);
		if (!text) {
			mdb_gguf_close(g);
			fprintf(stderr, "llmcap inspect: out of memory\n");
			return CLI_FAIL;
		}
		printf("%s\n", text);
		free(text);
	} else {
		rep_gguf_text(g, path, stdout);
	}
	mdb_gguf_close(g);
	return CLI_OK;
}

const struct cli_cmd cmd_inspect = {
	"inspect", "Read a GGUF header or a Hugging Face config.json",
	"inspect FILE.gguf|config.json [--json]",
	"Reads the header of a GGUF model file: format version, alignment, the\n"
	"architecture (layers, embedding, heads, vocabulary), tensors with their\n"
	"types, shapes and sizes, totals per quantization type with bits per\n"
	"weight, and the metadata keys. Tensor data is not read, only its place\n"
	"in the file checked. A damaged or non-GGUF file exits 2 with what is\n"
	"wrong and at which byte. config.json import is not built yet.",
	NULL, NULL, run_inspect};
