/* cli: `llmcap inspect FILE.gguf|config.json [--json]` — what a GGUF
 * header says, or the model a Hugging Face config.json describes with its
 * computed parameters. Which one is decided by the file's first bytes (the
 * GGUF magic, or a JSON object), not by its name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

#define CONFIG_MAX_BYTES (8u << 20)

/* 1 when the file opens and its first non-blank byte is '{' (and it does
 * not start with the GGUF magic). */
static int looks_like_json(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	unsigned char b[64];
	size_t n = fread(b, 1, sizeof b, f);
	fclose(f);
	if (n >= 4 && !memcmp(b, "GGUF", 4))
		return 0;
	size_t i = 0;
	if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
		i = 3;  /* UTF-8 byte order mark */
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
		i++;
	return i < n && b[i] == '{';
}

static int inspect_config(const char *path, int json)
{
	char err[1024];
	char *text = NULL;
	size_t len = 0;
	int rc = rep_read_file(path, CONFIG_MAX_BYTES, &text, &len, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "llmcap inspect: %s\n", err);
		return CLI_USAGE;
	}
	struct mdb_model *m = malloc(sizeof *m);
	if (!m) {
		free(text);
		fprintf(stderr, "llmcap inspect: out of memory\n");
		return CLI_FAIL;
	}
	rc = mdb_model_from_hf_config(text, len, path, m, err, sizeof err);
	free(text);
	if (rc != 0) {
		free(m);
		fprintf(stderr, "llmcap inspect: %s\n", err);
		return rc == -1 ? CLI_FAIL : CLI_USAGE;
	}
	struct mdb_params p;
	mdb_model_params(m, &p);
	if (json) {
		char *s = rep_models_json(m, &p, 1, 1);
		if (!s) {
			free(m);
			fprintf(stderr, "llmcap inspect: out of memory\n");
			return CLI_FAIL;
		}
		printf("%s\n", s);
		free(s);
	} else {
		printf("%s: Hugging Face config.json\n", path);
		rep_model_text(m, &p, stdout);
	}
	free(m);
	return CLI_OK;
}

/* The header, then the model derived from it with its parameter check. A
 * model that cannot be derived (an architecture llmcap does not know) is
 * reported, not an error: the header itself was read. */
static int inspect_gguf(const char *path, int json)
{
	char err[1024], merr[1024] = "";
	struct mdb_gguf *g = NULL;
	if (mdb_gguf_open(&g, path, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap inspect: %s\n", err);
		return CLI_USAGE;
	}
	struct mdb_model *m = malloc(sizeof *m);
	struct mdb_params p;
	if (!m) {
		mdb_gguf_close(g);
		fprintf(stderr, "llmcap inspect: out of memory\n");
		return CLI_FAIL;
	}
	int rc = mdb_model_from_gguf(g, path, m, merr, sizeof merr);
	if (rc == -1) {
		free(m);
		mdb_gguf_close(g);
		fprintf(stderr, "llmcap inspect: %s\n", merr);
		return CLI_FAIL;
	}
	if (rc != 0) {
		free(m);
		m = NULL;
	} else {
		mdb_model_params(m, &p);
	}
	rc = CLI_OK;
	if (json) {
		char *text = rep_gguf_model_json(g, path, m, m ? &p : NULL, merr, 1);
		if (text) {
			printf("%s\n", text);
			free(text);
		} else {
			fprintf(stderr, "llmcap inspect: out of memory\n");
			rc = CLI_FAIL;
		}
	} else {
		rep_gguf_text(g, path, stdout);
		rep_gguf_model_text(g, m, m ? &p : NULL, merr, stdout);
	}
	free(m);
	mdb_gguf_close(g);
	return rc;
}

static int run_inspect(const struct cli_cmd *cmd, int argc, char **argv)
{
	int json = 0, help = 0, np = 0;
	const struct cli_opt opts[] = {
		{"json", CLI_FLAG, &json, NULL, "print one JSON object (schema llmcap.gguf/1 with "
		 "the derived model under \"model\", or llmcap.models/1 for a config.json)"},
		{0},
	};
	const char *pos[1];
	int rc = cli_parse(cmd, argc, argv, opts, &help, pos, 1, &np);
	if (rc != CLI_OK || help)
		return rc;
	if (np != 1) {
		fprintf(stderr, "llmcap inspect: give one file, e.g. 'llmcap inspect "
			"model.Q4_K_M.gguf'\n");
		return CLI_USAGE;
	}
	const char *path = pos[0];
	if (looks_like_json(path))
		return inspect_config(path, json);
	return inspect_gguf(path, json);
}

const struct cli_cmd cmd_inspect = {
	"inspect", "Read a GGUF header or a Hugging Face config.json",
	"inspect FILE.gguf|config.json [--json]",
	"Reads the header of a GGUF model file: format version, alignment, the\n"
	"architecture (layers, embedding, heads, vocabulary), tensors with their\n"
	"types, shapes and sizes, totals per quantization type with bits per\n"
	"weight, and the metadata keys. Tensor data is not read, only its place\n"
	"in the file checked. A damaged or non-GGUF file exits 2 with what is\n"
	"wrong and at which byte.\n"
	"The model is then derived from the header (keys and tensor list) and\n"
	"shown as for a config.json, with its parameter count computed from the\n"
	"architecture checked against the file's tensors (match within 0.1%).\n"
	"Architectures: llama (Mistral, Mixtral), qwen2, qwen2moe, qwen3,\n"
	"qwen3moe, gemma2, gemma3, phi3, deepseek2, gpt-oss, granitehybrid;\n"
	"for others the model part says why it was not derived.\n"
	"A Hugging Face config.json (told apart by its content, not its name) is\n"
	"imported as a model: its architecture and the parameters computed from\n"
	"it, as `llmcap models` shows them. An unsupported model_type or a bad\n"
	"field exits 2 naming the field.",
	NULL, NULL, run_inspect};
