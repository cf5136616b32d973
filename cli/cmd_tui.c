/* cli: `llmcap tui` (and `llmcap` with no arguments on a terminal) — the
 * dashboard, with the cached profile as "this machine" and the probe
 * (which caches its result) behind the p key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "tui/tui.h"

static int tui_probe(struct hw_spec *out, probe_progress_fn progress, void *progress_user, void *user,
		     char *err, size_t errlen)
{
	(void)user;
	struct probe_profile *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct probe_options opt = {.quick = 1, .progress = progress, .progress_user = progress_user};
	int rc = probe_run(p, &opt, err, errlen);
	if (rc == 0) {
		char cerr[256];
		struct probe_profile *old = calloc(1, sizeof *old);
		/* keep a full profile already cached; a quick one replaces a quick one */
		if (old && !(cli_cache_load(old, cerr, sizeof cerr) == 0 && !old->quick))
			cli_cache_save(p, cerr, sizeof cerr);
		free(old);
		mdb_hw_from_profile(out, p);
	}
	free(p);
	return rc;
}

static int tui_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *hw = NULL, *engine = NULL;
	int ctx = 0, help = 0;
	double min_tps = 10;
	const struct cli_opt opts[] = {
		{"hw", CLI_STR, &hw, "H", "machine to show first: this (default), a catalog id or a hardware JSON file"},
		{"ctx", CLI_INT, &ctx, "N", "context window (default 4096; + and - change it)"},
		{"min-tps", CLI_DOUBLE, &min_tps, "X", "target decode tokens/s (default 10; t and T change it)"},
		{"engine", CLI_STR, &engine, "E", "llama.cpp (default) or llmcap"},
		{0},
	};
	int rc = argc > 1 ? cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL) : CLI_OK;
	if (rc != CLI_OK || help)
		return rc;
	char err[1024] = "";
	if (ctx < 0 || ctx > (1 << 24) || !(min_tps > 0)) {
		fprintf(stderr, "llmcap tui: --ctx must be 1 to 16777216 and --min-tps more than 0\n");
		return CLI_USAGE;
	}
	struct sim_eff eff;
	if ((rc = cli_engine_eff("tui", engine, &eff)) != CLI_OK)
		return rc;
	struct hw_spec *this_hw = calloc(1, sizeof *this_hw), *spec = calloc(1, sizeof *spec);
	struct probe_profile *p = calloc(1, sizeof *p);
	if (!this_hw || !spec || !p) {
		fprintf(stderr, "llmcap tui: out of memory\n");
		free(this_hw), free(spec), free(p);
		cli_engine_free(&eff);
		return CLI_FAIL;
	}
	int have_this = cli_cache_load(p, err, sizeof err) == 0;
	if (have_this)
		mdb_hw_from_profile(this_hw, p);
	free(p);
	struct tui_options o = {
		.this_hw = have_this ? this_hw : NULL,
		.start_hw = hw,
		.min_tps = min_tps,
		.ctx = ctx,
		.engine = engine,
		.eff = &eff,
		.probe = tui_probe,
		.timing_log = getenv("LLMCAP_TUI_LOG"),
	};
	rc = CLI_OK;
	if (hw && strcmp(hw, "this") != 0) {
		int r = mdb_hw_resolve(hw, spec, err, sizeof err);
		if (r != 0) {
			fprintf(stderr, "llmcap tui: %s\n", err);
			rc = r == -2 ? CLI_USAGE : CLI_FAIL;
		} else if (strchr(hw, '/') || strstr(hw, ".json")) {
			o.start_spec = spec;
		}
	}
	if (rc == CLI_OK && tui_run(&o, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap tui: %s\n", err);
		rc = CLI_FAIL;
	}
	free(this_hw);
	free(spec);
	cli_engine_free(&eff);
	return rc;
}

const struct cli_cmd cmd_tui = {
	"tui", "The interactive dashboard", "tui [--hw H] [--ctx N] [--min-tps X] [--engine E]",
	"The dashboard: this machine (measured) or any catalog machine, what fits on it\n"
	"with predicted prefill and decode speed, the detail of a model (memory bar,\n"
	"decode against context, bottleneck, assumptions), machines side by side, what to\n"
	"buy for a model, and the probe with a progress bar. Press ? inside for the keys,\n"
	"q to quit. NO_COLOR turns colours off. Started with no arguments on a terminal.",
	NULL, NULL, tui_main,
};
