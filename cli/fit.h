/*
 * cli/fit: the `llmcap fit` ranking and `llmcap buy` order — every catalog model x the fit
 * quantizations predicted on one machine and ranked — shared by `llmcap
 * fit` and `llmcap report`. Prints its own message on stderr ("llmcap
 * CMD: ...") and returns a CLI exit code.
 */
#ifndef LLMCAP_CLI_FIT_H
#define LLMCAP_CLI_FIT_H

#include "cli/resolve.h"
#include "reports/report.h"

struct cli_fit_cand;

/* A ranked fit: rows in rank order (each model's chosen row first, then
 * its other rows), pointing into cands and models. */
struct cli_fit {
	struct mdb_models models;
	struct sim_workload wl;
	struct sim_eff eff;
	struct cli_fit_cand *cands;
	struct rep_fit_row *rows;
	int n_rows;
	double elapsed_s;
};

/* Predicts and ranks on h. 0 (CLI_OK) and f filled; otherwise f is
 * freed already. Free with cli_fit_free. */
int cli_fit_rank(const char *cmd, const struct hw_spec *h, const struct cli_wl_args *a,
		 const char *engine, double min_tps, struct cli_fit *f);
void cli_fit_free(struct cli_fit *f);

/* `llmcap buy`'s order (cli/cmd_buy.c): machines that meet the target
 * first, cheapest first (unknown price last), then the rest by decode
 * speed. */
void cli_buy_rank(struct rep_buy_row *rows, int n);

#endif
