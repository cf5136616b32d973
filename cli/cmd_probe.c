/* cli: `llmcap probe` — measure this machine, cache and print the profile. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model_db/model_db.h"
#include "reports/report.h"

/* --out must name a file in an existing, writable directory: checked
 * before a 30 s probe, not after. */
static int check_out_path(const char *out)
{
	struct stat st;
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "llmcap probe: --out %s is a directory; give a file name, "
			"e.g. --out %s/profile.json\n", out, out);
		return CLI_USAGE;
	}
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", out);
	const char *dir = dirname(copy);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "llmcap probe: --out %s: directory %s does not exist; create it "
			"first or choose another path\n", out, dir);
		return CLI_USAGE;
	}
	if (access(dir, W_OK) != 0) {
		fprintf(stderr, "llmcap probe: --out %s: directory %s is not writable (%s); "
			"choose another path\n", out, dir, strerror(errno));
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* A quick profile does not replace a full one of the same machine. */
static void save_cache(const struct probe_profile *p)
{
	char err[512] = "", path[4096];
	struct probe_profile old;
	if (p->quick && cli_cache_load(&old, err, sizeof err) == 0 && !old.quick)
		return;
	if (cli_cache_save(p, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap probe: warning: profile not cached: %s\n", err);
		return;
	}
	if (cli_cache_path(path, sizeof path, err, sizeof err) == 0 && isatty(1))
		fprintf(stderr, "profile cached at %s (used by --hw this)\n", path);
}

static int probe_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	int quick = 0, json = 0, cached = 0, help = 0;
	const char *out = NULL;
	const struct cli_opt opts[] = {
		{"quick", CLI_FLAG, &quick, NULL, "short measurement (under 5 s), less precise"},
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.profile/1 JSON object on stdout"},
		{"out", CLI_STR, &out, "FILE", "also write the JSON profile to FILE (atomically)"},
		{"cached", CLI_FLAG, &cached, NULL,
		 "print the cached profile; probe only when there is none,\n"
		 "or it is corrupt or from another machine"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK)
		return rc;
	if (help) {
		cli_print_help(cmd, opts, stdout);
		return CLI_OK;
	}
	if (out && (rc = check_out_path(out)) != CLI_OK)
		return rc;

	struct probe_profile *p = malloc(sizeof *p);
	char err[512] = "";
	int have = 0;
	if (!p) {
		fprintf(stderr, "llmcap probe: out of memory\n");
		return CLI_FAIL;
	}
	if (cached) {
		int lrc = cli_cache_load(p, err, sizeof err);
		if (lrc == 0)
			have = 1;
		else
			fprintf(stderr, "llmcap probe: %s; probing now%s\n", err,
				lrc == -2 ? " (the corrupt file will be replaced)" : "");
	}
	if (!have) {
		if (cli_run_probe(p, quick, isatty(2), err, sizeof err) != 0) {
			fprintf(stderr, "llmcap probe: %s\n", err);
			free(p);
			return CLI_FAIL;
		}
		save_cache(p);
	}

	struct hw_spec hw;
	mdb_hw_from_profile(&hw, p);
	char *text = (json || out) ? rep_probe_json(p, &hw, 1) : NULL;
	if ((json || out) && !text) {
		fprintf(stderr, "llmcap probe: out of memory formatting JSON\n");
		free(p);
		return CLI_FAIL;
	}
	rc = CLI_OK;
	if (json)
		printf("%s\n", text);
	else
		rep_profile_text(p, stdout);
	if (out) {
		size_t n = strlen(text);
		char *withnl = malloc(n + 2);
		if (withnl) {
			memcpy(withnl, text, n);
			withnl[n] = '\n';
			withnl[n + 1] = 0;
		}
		if (!withnl || rep_write_atomic(out, withnl, n + 1, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap probe: %s\n", withnl ? err : "out of memory");
			rc = CLI_FAIL;
		}
		free(withnl);
	}
	free(text);
	free(p);
	return rc;
}

const struct cli_cmd cmd_probe = {
	"probe", "Measure this machine: CPU, topology, memory bandwidth and latency, compute",
	"probe [--quick] [--json] [--out FILE] [--cached]",
	"Identifies the CPU (libcpuid) and topology (hwloc), then measures memory\n"
	"bandwidth (read, copy, triad; one thread and all cores, each thread bound to\n"
	"its own core, arrays 4x the last-level cache), memory latency (pointer chase)\n"
	"and FP32 / INT8 compute peaks. Every figure says whether it was measured or\n"
	"reported by the OS/CPU, and how. The profile is cached in\n"
	"$XDG_CACHE_HOME/llmcap/profile.json (default ~/.cache/llmcap/) with a machine\n"
	"fingerprint; later commands use it as --hw this. A --quick profile does not\n"
	"replace a cached full one.",
	NULL, NULL, probe_main,
};
