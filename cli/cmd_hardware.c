/* cli: `llmcap hardware` — the hardware catalog (built-in plus the user's
 * files), sorted by price, as a table or as one JSON object. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

/* By price (unknown last), then id. */
static int by_price(const void *a, const void *b)
{
	const struct hw_spec *x = *(const struct hw_spec *const *)a;
	const struct hw_spec *y = *(const struct hw_spec *const *)b;
	int ux = !isfinite(x->price_usd), uy = !isfinite(y->price_usd);
	if (ux != uy)
		return ux - uy;
	if (!ux && x->price_usd != y->price_usd)
		return x->price_usd < y->price_usd ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int hardware_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	int json = 0, help = 0;
	const struct cli_opt opts[] = {
		{"json", CLI_FLAG, &json, NULL,
		 "print one llmcap.hardware-catalog/1 JSON object on stdout"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	struct mdb_hw_catalog c;
	char err[512];
	int lr = mdb_hw_catalog_load(&c, err, sizeof err);
	if (lr != 0) {
		fprintf(stderr, "llmcap hardware: %s\n", err);
		return lr == -2 ? CLI_USAGE : CLI_FAIL;
	}
	const struct hw_spec **list = malloc((size_t)(c.n ? c.n : 1) * sizeof *list);
	if (!list) {
		mdb_hw_catalog_free(&c);
		fprintf(stderr, "llmcap hardware: out of memory\n");
		return CLI_FAIL;
	}
	for (int i = 0; i < c.n; i++)
		list[i] = &c.items[i];
	qsort(list, (size_t)c.n, sizeof *list, by_price);
	rc = CLI_OK;
	if (json) {
		char *text = rep_hw_catalog_json(list, c.n, 1);
		if (!text) {
			fprintf(stderr, "llmcap hardware: out of memory\n");
			rc = CLI_FAIL;
		} else {
			printf("%s\n", text);
			free(text);
		}
	} else {
		rep_hw_catalog_text(list, c.n, stdout);
	}
	free(list);
	mdb_hw_catalog_free(&c);
	return rc;
}

const struct cli_cmd cmd_hardware = {
	"hardware", "List the hardware catalog", "hardware [--json]",
	"Machines people buy to run LLMs locally (Apple silicon, NVIDIA and AMD\n"
	"GPUs on a typical host, unified-memory mini PCs, datacenter GPUs, CPU-only\n"
	"desktops and servers), sorted by price: memory, memory bandwidth, dense\n"
	"FP16 TFLOPS and list/launch price with its date. Every figure is a published\n"
	"spec; each entry names its source (see --json); unknown figures say so.\n"
	"Your own machines: llmcap.hardware/1 files in\n"
	"$XDG_CONFIG_HOME/llmcap/hardware/*.json (default ~/.config/llmcap/hardware);\n"
	"a file with a built-in id replaces that entry; a bad file is an error (exit 2)\n"
	"naming the file, the entry and the field.",
	NULL, NULL, hardware_main,
};
