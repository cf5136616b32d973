/*
 * tui: the interactive dashboard (ncurses, wide characters, colour).
 *
 * A view over the same APIs the CLI uses: model_db catalogs, the
 * simulator, and the probe through a hook the caller gives (so the
 * dashboard does not know where profiles are cached). Views: what fits
 * (models x quantizations on the selected machine), the detail of one
 * row (memory bar, decode against context, bottleneck, assumptions),
 * machines (this machine and the catalog; compare two; what to buy for
 * a model), verify, and a help overlay.
 *
 * The terminal is restored on every exit path: normal quit, Ctrl-C,
 * SIGTERM/SIGHUP, and crashes (SIGSEGV, SIGBUS, SIGFPE, SIGABRT restore
 * it and re-raise).
 */
#ifndef LLMCAP_TUI_H
#define LLMCAP_TUI_H

#include <stddef.h>

#include "model_db/model_db.h"
#include "simulator/sim.h"

/* Measures this machine: fills out (a hardware description built from
 * a fresh profile, cached by the caller), calling progress as it goes.
 * 0, or -1 with err set. */
typedef int (*tui_probe_fn)(struct hw_spec *out, probe_progress_fn progress, void *progress_user,
			    void *user, char *err, size_t errlen);

struct tui_options {
	const struct hw_spec *this_hw;   /* the cached profile; NULL: none yet */
	const char *start_hw;            /* select this machine first (catalog id or "this"); NULL: this */
	const struct hw_spec *start_spec;/* or this description (a user file); NULL: none */
	double min_tps;                  /* target decode speed (colours, ranking) */
	int ctx;                         /* context window */
	const char *engine;              /* "llama.cpp" or "llmcap" */
	const struct sim_eff *eff;       /* its factors and profiles (cli_engine_eff); NULL: defaults */
	tui_probe_fn probe;              /* NULL: the probe key says it is unavailable */
	void *probe_user;
	const char *timing_log;          /* append "key ms" per handled key; NULL: none */
};

/* Runs the dashboard on the terminal until the user quits. 0; -1 when it
 * cannot start (not a terminal, catalogs unreadable: err says why). */
int tui_run(const struct tui_options *o, char *err, size_t errlen);

#endif
