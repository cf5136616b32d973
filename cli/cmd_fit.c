/* cli: `llmcap fit` — every catalog model x sensible quantizations on one
 * machine, ranked by what a user wants: the most capable model that fits
 * and reaches --min-tps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/fit.h"
#include "cli/resolve.h"
#include "reports/report.h"

/* The file types fit tries, most bits first (F16 left out: Q8_0 is
 * within 0.001 KLD of it at half the bytes). */
static const char *const fit_quants[] = {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M",
					 "Q2_K"};
#define N_FIT_QUANTS ((int)(sizeof fit_quants / sizeof fit_quants[0]))

struct cli_fit_cand {
	struct sim_weights w;
	struct sim_pred p;
	int model;                /* index in the catalog */
	int qi;                   /* index in fit_quants */
	double cap;
	int meets;
};

struct model_rank {
	int model;
	int best;                 /* index of the chosen candidate */
	int cls;                  /* 0 meets, 1 fits but slow, 2 does not fit */
	double key;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct model_rank *x = a, *y = b;
	if (x->cls != y->cls)
		return x->cls - y->cls;
	return x->key > y->key ? -1 : x->key < y->key ? 1 : x->model - y->model;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_fit_free(struct cli_fit *f)
{
	free(f->cands);
	free(f->rows);
	cli_engine_free(&f->eff);
	mdb_models_free(&f->models);
	f->cands = NULL;
	f->rows = NULL;
	f->n_rows = 0;
}

int cli_fit_rank(const char *cmdname, const struct hw_spec *h, const struct cli_wl_args *a,
		 const char *engine, double min_tps, struct cli_fit *f)
{
	char err[1024] = "";
	memset(f, 0, sizeof *f);
	int rc = cli_engine_eff(cmdname, engine, &f->eff);
	if (rc != CLI_OK)
		return rc;
	rc = cli_workload(cmdname, a, &f->wl);
	if (rc != CLI_OK) {
		cli_engine_free(&f->eff);
		return rc;
	}
	const struct sim_workload wl = f->wl;
	struct mdb_models *c = &f->models;
	if ((rc = mdb_models_load(c, NULL, err, sizeof err)) != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmdname, err);
		mdb_models_free(c);
		cli_engine_free(&f->eff);
		return rc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	int nc = c->n * N_FIT_QUANTS;
	struct cli_fit_cand *cs = calloc((size_t)(nc ? nc : 1), sizeof *cs);
	struct model_rank *mr = calloc((size_t)(c->n ? c->n : 1), sizeof *mr);
	struct rep_fit_row *rows = calloc((size_t)(nc ? nc : 1), sizeof *rows);
	f->cands = cs;
	f->rows = rows;
	if (!cs || !mr || !rows) {
		fprintf(stderr, "llmcap %s: out of memory\n", cmdname);
		rc = CLI_FAIL;
		goto out;
	}
	double t0 = now_s();
	int n = 0;
	for (int i = 0; i < c->n; i++) {
		const struct mdb_model *m = &c->v[i];
		struct mdb_params mp;
		mdb_model_params(m, &mp);
		for (int q = 0; q < N_FIT_QUANTS; q++) {
			struct cli_fit_cand *x = &cs[n];
			const struct mdb_qmix *mix = mdb_qmix_by_name(fit_quants[q]);
			if (!mix || sim_weights_from_mix(m, mix, &x->w, err, sizeof err) != 0)
				continue;
			struct sim_workload w2 = wl;
			sim_workload_for_model(&w2, m); /* not run past its own context */
			if (sim_predict(h, m, &x->w, &w2, &f->eff, &x->p, err, sizeof err) != 0)
				continue;
			x->model = i;
			x->qi = q;
			x->cap = sim_capability(&mp);
			x->meets = x->p.fits && x->p.decode_tps >= min_tps;
			n++;
		}
	}
	/* each model's best candidate: the most bits that reach min_tps, else
	 * the fastest that fits, else the smallest */
	int k = 0;
	for (int i = 0, j = 0; i < c->n; i++) {
		int best = -1, cls = 2;
		for (; j < n && cs[j].model == i; j++) {
			struct cli_fit_cand *x = &cs[j];
			int xc = x->meets ? 0 : x->p.fits ? 1 : 2;
			if (best < 0 || xc < cls)
				best = j, cls = xc;
			else if (xc == cls && cls == 1 && x->p.decode_tps > cs[best].p.decode_tps)
				best = j;
			else if (xc == cls && cls == 2)
				best = j;
		}
		if (best < 0)
			continue;
		mr[k].model = i;
		mr[k].best = best;
		mr[k].cls = cls;
		mr[k].key = cls == 1 ? cs[best].p.decode_tps : cs[best].cap;
		k++;
	}
	f->elapsed_s = now_s() - t0;
	qsort(mr, (size_t)k, sizeof *mr, cmp_rank);
	int nr = 0;
	for (int i = 0; i < k; i++) {
		struct cli_fit_cand *b = &cs[mr[i].best];
		rows[nr++] = (struct rep_fit_row){&c->v[b->model], &b->w, &b->p, b->cap, b->meets, 1};
		for (int j = 0; j < n; j++) {
			if (cs[j].model != mr[i].model || j == mr[i].best)
				continue;
			rows[nr++] = (struct rep_fit_row){&c->v[cs[j].model], &cs[j].w, &cs[j].p, cs[j].cap,
							  cs[j].meets, 0};
		}
	}
	f->n_rows = nr;
	rc = CLI_OK;
out:
	free(mr);
	if (rc != CLI_OK)
		cli_fit_free(f);
	return rc;
}

static int cli_fit_run(const char *cmdname, const struct hw_spec *h, const struct cli_wl_args *a,
		const char *engine, double min_tps, int json, int all)
{
	struct cli_fit *fr = calloc(1, sizeof *fr);
	if (!fr) {
		fprintf(stderr, "llmcap %s: out of memory\n", cmdname);
		return CLI_FAIL;
	}
	int rc = cli_fit_rank(cmdname, h, a, engine, min_tps, fr);
	if (rc != CLI_OK) {
		free(fr);
		return rc;
	}
	struct rep_fit f = {h, &fr->wl, min_tps, all, fr->n_rows, fr->rows, fr->elapsed_s};
	if (json) {
		char *text = rep_fit_json(&f, 1);
		if (!text) {
			fprintf(stderr, "llmcap %s: out of memory\n", cmdname);
			rc = CLI_FAIL;
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		rep_fit_text(&f, stdout);
	}
	rc = CLI_OK;
out:
	cli_fit_free(fr);
	free(fr);
	return rc;
}

static int fit_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *hw = NULL, *engine = NULL;
	struct cli_wl_args a = {-1, -1, -1, -1, -1, NULL, NULL};
	double min_tps = 5;
	int json = 0, help = 0, all = 0;
	const struct cli_opt opts[] = {
		{"hw", CLI_STR, &hw, "H", "this (default), a catalog id or a hardware JSON file"},
		{"ctx", CLI_INT, &a.ctx, "N", "context window for every model (default 4096; capped at "
		 "each model's own)"},
		{"min-tps", CLI_DOUBLE, &min_tps, "X", "decode tokens/s a model must reach (default 5)"},
		{"engine", CLI_STR, &engine, "E", "llama.cpp (default) or llmcap"},
		{"kv-quant", CLI_STR, &a.kv_quant, "Q", "KV cache type: f16 (default), q8_0, q4_0"},
		{"all", CLI_FLAG, &all, NULL, "list every model x quantization, not only each model's best"},
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.fit/1 JSON object (every row)"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	if (!(min_tps >= 0) || !isfinite(min_tps)) {
		fprintf(stderr, "llmcap fit: --min-tps must be 0 or more tokens/s\n");
		return CLI_USAGE;
	}
	struct hw_spec *h = calloc(1, sizeof *h);
	if (!h) {
		fprintf(stderr, "llmcap fit: out of memory\n");
		return CLI_FAIL;
	}
	rc = cli_hw("fit", hw, h);
	if (rc == CLI_OK)
		rc = cli_fit_run("fit", h, &a, engine, min_tps, json, all);
	free(h);
	return rc;
}

const struct cli_cmd cmd_fit = {
	"fit", "What this machine (or H) can run, and how fast",
	"fit [--hw H] [--ctx N] [--min-tps X] [--engine E] [--kv-quant Q] [--all] [--json]",
	"Every catalog model at Q8_0, Q6_K, Q5_K_M, Q4_K_M, IQ4_XS, Q3_K_M and Q2_K on one\n"
	"machine (prompt 512, generate 128 tokens at --ctx), ranked by what you want: the\n"
	"most capable model that fits and decodes at --min-tps or faster, each at the\n"
	"largest quantization that still reaches it. Capability is the geometric mean of\n"
	"total and active parameters (a heuristic that puts a mixture-of-experts model\n"
	"between its active and total size). Speeds are predicted; llmcap plan explains\n"
	"one row.",
	NULL, NULL, fit_main,
};
