/* cli: `llmcap buy` (every catalog machine for one model, ranked by cost
 * for the target speed) and `llmcap compare` (named machines side by side). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/fit.h"
#include "cli/resolve.h"
#include "reports/report.h"

struct buy_opts {
	const char *model, *quant, *engine, *hw;
	struct cli_wl_args a;
	double min_tps, budget;
	int json;
};

static int cmp_buy(const void *pa, const void *pb)
{
	const struct rep_buy_row *x = pa, *y = pb;
	if (x->meets != y->meets)
		return y->meets - x->meets;
	if (x->meets) {
		double px = x->hw->price_usd > 0 ? x->hw->price_usd : INFINITY;
		double py = y->hw->price_usd > 0 ? y->hw->price_usd : INFINITY;
		if (px != py)
			return px < py ? -1 : 1;
	}
	double dx = x->pred->fits ? x->pred->decode_tps : -1, dy = y->pred->fits ? y->pred->decode_tps : -1;
	return dx > dy ? -1 : dx < dy ? 1 : 0;
}

void cli_buy_rank(struct rep_buy_row *rows, int n)
{
	qsort(rows, (size_t)n, sizeof *rows, cmp_buy);
}

/* Predicts o->model on every machine of list (n) and prints the result. */
static int run_machines(const char *cmd, const struct buy_opts *o, const struct hw_spec *list, int n,
			int compare)
{
	char err[1024] = "";
	struct sim_eff eff;
	int erc = cli_engine_eff(cmd, o->engine, &eff);
	if (erc != CLI_OK)
		return erc;
	struct cli_model *cm = calloc(1, sizeof *cm);
	struct sim_weights *w = calloc(1, sizeof *w);
	struct sim_pred *preds = calloc((size_t)(n ? n : 1), sizeof *preds);
	struct rep_buy_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
	int rc = CLI_FAIL;
	if (!cm || !w || !preds || !rows) {
		fprintf(stderr, "llmcap %s: out of memory\n", cmd);
		goto out;
	}
	struct sim_workload wl;
	if ((rc = cli_model_load(cmd, o->model, cm)) != CLI_OK)
		goto out;
	if ((rc = cli_workload(cmd, &o->a, &wl)) != CLI_OK)
		goto out;
	if ((rc = cli_model_weights(cmd, cm, o->quant, w)) != CLI_OK)
		goto out;
	if (sim_workload_check(&wl, &cm->m, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		rc = CLI_USAGE;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (sim_predict(&list[i], &cm->m, w, &wl, &eff, &preds[i], err, sizeof err) != 0) {
			fprintf(stderr, "llmcap %s: %s: %s\n", cmd, list[i].id, err);
			rc = CLI_USAGE;
			goto out;
		}
		rows[i].hw = &list[i];
		rows[i].pred = &preds[i];
		rows[i].meets = preds[i].fits && preds[i].decode_tps >= (isfinite(o->min_tps) ? o->min_tps : 0) &&
			(!isfinite(o->budget) || (list[i].price_usd > 0 && list[i].price_usd <= o->budget));
	}
	if (!compare)
		cli_buy_rank(rows, n);
	struct rep_buy b = {compare ? REP_COMPARE_SCHEMA : REP_BUY_SCHEMA, &cm->m, w, &wl, o->min_tps,
			    o->budget, n, rows};
	if (o->json) {
		char *text = rep_buy_json(&b, 1);
		if (!text) {
			fprintf(stderr, "llmcap %s: out of memory\n", cmd);
			rc = CLI_FAIL;
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else if (compare) {
		rep_compare_text(&b, stdout);
	} else {
		rep_buy_text(&b, stdout);
	}
	rc = CLI_OK;
out:
	cli_engine_free(&eff);
	if (cm)
		cli_model_free(cm);
	free(cm);
	free(w);
	free(preds);
	free(rows);
	return rc;
}

static int buy_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct buy_opts o = {0};
	o.a = (struct cli_wl_args){-1, -1, -1, -1, -1, NULL, NULL};
	o.min_tps = 10;
	o.budget = NAN;
	int help = 0;
	const struct cli_opt opts[] = {
		{"model", CLI_STR, &o.model, "M", "catalog id, a .gguf file or a config.json"},
		{"quant", CLI_STR, &o.quant, "Q", "llama.cpp file type (default Q4_K_M)"},
		{"ctx", CLI_INT, &o.a.ctx, "N", "context window (default 4096)"},
		{"min-tps", CLI_DOUBLE, &o.min_tps, "X", "decode tokens/s wanted (default 10)"},
		{"budget", CLI_DOUBLE, &o.budget, "USD", "most you will spend"},
		{"engine", CLI_STR, &o.engine, "E", "llama.cpp (default) or llmcap"},
		{"kv-quant", CLI_STR, &o.a.kv_quant, "Q", "KV cache type: f16 (default), q8_0, q4_0"},
		{"json", CLI_FLAG, &o.json, NULL, "print one llmcap.buy/1 JSON object"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	if (!(o.min_tps >= 0) || (isfinite(o.budget) && !(o.budget > 0)) || isinf(o.min_tps)) {
		fprintf(stderr, "llmcap buy: --min-tps must be 0 or more and --budget more than 0\n");
		return CLI_USAGE;
	}
	struct mdb_hw_catalog c;
	char err[1024] = "";
	int lrc = mdb_hw_catalog_load(&c, err, sizeof err);
	if (lrc != 0) {
		fprintf(stderr, "llmcap buy: %s\n", err);
		mdb_hw_catalog_free(&c);
		return lrc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	rc = run_machines("buy", &o, c.items, c.n, 0);
	mdb_hw_catalog_free(&c);
	return rc;
}

static int compare_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct buy_opts o = {0};
	o.a = (struct cli_wl_args){-1, -1, -1, -1, -1, NULL, NULL};
	o.min_tps = NAN;
	o.budget = NAN;
	int help = 0;
	const struct cli_opt opts[] = {
		{"hw", CLI_STR, &o.hw, "H1,H2,...", "machines: this, catalog ids or hardware JSON files"},
		{"model", CLI_STR, &o.model, "M", "catalog id, a .gguf file or a config.json"},
		{"quant", CLI_STR, &o.quant, "Q", "llama.cpp file type (default Q4_K_M)"},
		{"ctx", CLI_INT, &o.a.ctx, "N", "context window (default 4096)"},
		{"prompt", CLI_INT, &o.a.prompt, "P", "prompt tokens (default 512)"},
		{"gen", CLI_INT, &o.a.gen, "G", "tokens to generate (default 128)"},
		{"batch", CLI_INT, &o.a.batch, "B", "concurrent streams (default 1)"},
		{"engine", CLI_STR, &o.engine, "E", "llama.cpp (default) or llmcap"},
		{"kv-quant", CLI_STR, &o.a.kv_quant, "Q", "KV cache type: f16 (default), q8_0, q4_0"},
		{"json", CLI_FLAG, &o.json, NULL, "print one llmcap.compare/1 JSON object"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	if (!o.hw || !o.hw[0]) {
		fprintf(stderr, "llmcap compare: --hw is required: two or more machines separated by "
			"commas (this, catalog ids from llmcap hardware, or hardware JSON files)\n");
		return CLI_USAGE;
	}
	char *list = strdup(o.hw);
	struct hw_spec *hs = calloc(16, sizeof *hs);
	int n = 0;
	rc = CLI_OK;
	if (!list || !hs) {
		fprintf(stderr, "llmcap compare: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == 16) {
			fprintf(stderr, "llmcap compare: at most 16 machines at once\n");
			rc = CLI_USAGE;
			goto out;
		}
		if ((rc = cli_hw("compare", t, &hs[n])) != CLI_OK)
			goto out;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "llmcap compare: --hw names no machine\n");
		rc = CLI_USAGE;
		goto out;
	}
	rc = run_machines("compare", &o, hs, n, 1);
out:
	free(list);
	free(hs);
	return rc;
}

const struct cli_cmd cmd_buy = {
	"buy", "Which machine to buy for a model: ranked by price for the target speed",
	"buy --model M [--quant Q] [--ctx N] [--min-tps X] [--budget USD] [--engine E] [--json]",
	"Every catalog machine (llmcap hardware) for one model: the machines that reach\n"
	"--min-tps decode tokens/s (default 10) within --budget first, cheapest first, then\n"
	"the rest by speed, with tokens/s per $1000. Prices and hardware figures are the\n"
	"catalog's spec with their sources; speeds are predicted.",
	NULL, NULL, buy_main,
};

const struct cli_cmd cmd_compare = {
	"compare", "Several machines side by side for one model",
	"compare --hw H1,H2,... --model M [--quant Q] [--ctx N] [--prompt P] [--gen G]\n"
	"               [--batch B] [--engine E] [--kv-quant Q] [--json]",
	"One model on several machines (this, catalog ids, or hardware JSON files), side\n"
	"by side: memory usable and needed, placement, prefill and decode tokens/s, time\n"
	"to first token, bottleneck, tokens/s per $1000. Speeds are predicted.",
	NULL, NULL, compare_main,
};
