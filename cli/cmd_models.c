/* cli: `llmcap models` — the model catalog (built in, plus the user's
 * additions from $XDG_CONFIG_HOME/llmcap/models/) with parameter counts
 * computed from each architecture beside the published ones. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

static int models_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	int json = 0, help = 0;
	const struct cli_opt opts[] = {
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.models/1 JSON object on stdout"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	struct mdb_models c;
	char err[512] = "";
	int lrc = mdb_models_load(&c, NULL, err, sizeof err);
	if (lrc != 0) {
		fprintf(stderr, "llmcap models: %s\n%s", err,
			lrc == -2 ? "Fix or remove that file (the fields are described in model_db/model.h).\n" : "");
		mdb_models_free(&c);
		return lrc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	struct mdb_params *p = calloc((size_t)(c.n ? c.n : 1), sizeof *p);
	if (!p) {
		fprintf(stderr, "llmcap models: out of memory\n");
		mdb_models_free(&c);
		return CLI_FAIL;
	}
	for (int i = 0; i < c.n; i++)
		mdb_model_params(&c.v[i], &p[i]);
	rc = CLI_OK;
	if (json) {
		char *text = rep_models_json(c.v, p, c.n, 1);
		if (!text) {
			fprintf(stderr, "llmcap models: out of memory\n");
			rc = CLI_FAIL;
		} else {
			printf("%s\n", text);
			free(text);
		}
	} else {
		rep_models_text(c.v, p, c.n, stdout);
	}
	free(p);
	mdb_models_free(&c);
	return rc;
}

const struct cli_cmd cmd_models = {
	"models", "List the model catalog", "models [--json]",
	"The model catalog: every model's architecture as its Hugging Face config.json\n"
	"gives it (layers, hidden size, heads, KV heads, head dim, FFN, vocabulary,\n"
	"context, RoPE; grouped-query, sliding-window, latent (MLA) and linear attention;\n"
	"mixture-of-experts), total and active parameters computed from it, and the\n"
	"published counts beside them. Your additions are read from\n"
	"$XDG_CONFIG_HOME/llmcap/models/*.json (default ~/.config/llmcap/models); an\n"
	"entry with a built-in id replaces it.",
	NULL, NULL, models_main,
};
