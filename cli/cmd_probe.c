/* cli: `llmcap probe` — measure this machine, cache and print the profile. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
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

/* Puts st into the profile: replaces the entry for the same path, else
 * appends (dropping the oldest when full). */
static void merge_storage(struct probe_profile *p, const struct probe_storage *st)
{
	for (int i = 0; i < p->n_storage; i++)
		if (strcmp(p->storage[i].path, st->path) == 0) {
			p->storage[i] = *st;
			return;
		}
	if (p->n_storage == PROBE_MAX_STORAGE) {
		memmove(&p->storage[0], &p->storage[1],
			(PROBE_MAX_STORAGE - 1) * sizeof p->storage[0]);
		p->n_storage--;
	}
	p->storage[p->n_storage++] = *st;
}

/* Measures storage into p. explicit: --path/--file/--storage were given,
 * so a failure is the command's failure (returned); otherwise it is a
 * warning in the profile and CLI_OK. */
static int measure_storage(struct probe_profile *p, const struct probe_options *base,
			   double seconds, int explicit, int add_time)
{
	struct probe_storage *st = malloc(sizeof *st);
	struct cli_progress prog = {"storage", 0};
	struct probe_options o = *base;
	char err[512] = "";
	if (!st) {
		fprintf(stderr, "llmcap probe: out of memory\n");
		return CLI_FAIL;
	}
	o.storage_seconds = seconds;
	o.progress = isatty(2) ? cli_progress : NULL;
	o.progress_user = &prog;
	int rc = probe_storage_measure(st, &o, p, err, sizeof err);
	cli_progress_end(&prog);
	if (rc == 0) {
		merge_storage(p, st);
		if (add_time && isfinite(p->seconds) && isfinite(st->seconds))
			p->seconds += st->seconds;   /* the whole probe's wall time */
	}
	free(st);
	if (rc == 0)
		return CLI_OK;
	if (explicit) {
		fprintf(stderr, "llmcap probe: %s\n", err);
		return rc == -2 ? CLI_USAGE : CLI_FAIL;
	}
	probe_warn(p, "storage not measured: %s", err);
	return CLI_OK;
}

static int write_out(const char *out, const char *text)
{
	char err[512] = "";
	size_t n = strlen(text);
	char *withnl = malloc(n + 2);
	if (!withnl) {
		fprintf(stderr, "llmcap probe: out of memory\n");
		return CLI_FAIL;
	}
	memcpy(withnl, text, n);
	withnl[n] = '\n';
	withnl[n + 1] = 0;
	int rc = rep_write_atomic(out, withnl, n + 1, err, sizeof err);
	free(withnl);
	if (rc != 0) {
		fprintf(stderr, "llmcap probe: %s\n", err);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int output(const struct probe_profile *p, int json, const char *out)
{
	struct hw_spec hw;
	mdb_hw_from_profile(&hw, p);
	char *text = (json || out) ? rep_probe_json(p, &hw, 1) : NULL;
	if ((json || out) && !text) {
		fprintf(stderr, "llmcap probe: out of memory formatting JSON\n");
		return CLI_FAIL;
	}
	if (json)
		printf("%s\n", text);
	else
		rep_profile_text(p, stdout);
	int rc = out ? write_out(out, text) : CLI_OK;
	free(text);
	return rc;
}

#define STORAGE_SECONDS_ALONE 15.0   /* --storage: under 20 s */
#define STORAGE_SECONDS_FULL 12.0    /* in the full probe: all under 30 s */

static int probe_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	int quick = 0, json = 0, cached = 0, storage = 0, help = 0;
	const char *out = NULL, *path = NULL, *file = NULL;
	const struct cli_opt opts[] = {
		{"quick", CLI_FLAG, &quick, NULL,
		 "short measurement (under 5 s), less precise; no storage"},
		{"storage", CLI_FLAG, &storage, NULL,
		 "measure storage read speed only (under 20 s), added to\n"
		 "the cached profile"},
		{"path", CLI_STR, &path, "DIR",
		 "measure storage on the filesystem of DIR (default: where\n"
		 "models live: Hugging Face cache, ~/.ollama/models, LM\n"
		 "Studio, llama.cpp; else $TMPDIR, else $HOME)"},
		{"file", CLI_STR, &file, "FILE",
		 "measure reading FILE (a model file), read-only, no\n"
		 "temporary file"},
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.profile/1 JSON object on stdout"},
		{"out", CLI_STR, &out, "FILE", "also write the JSON profile to FILE (atomically)"},
		{"cached", CLI_FLAG, &cached, NULL,
		 "print the cached profile; probe only when there is none,\n"
		 "or it is corrupt or from another machine"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	const char *bad = path && file ? "--path and --file are exclusive: give one" :
		quick && (storage || path || file) ?
		"--quick does not measure storage; drop --quick, or run --storage alone" :
		cached && (storage || path || file) ?
		"--cached prints the cached profile and measures nothing; drop --cached" : NULL;
	if (bad) {
		fprintf(stderr, "llmcap probe: %s\n", bad);
		return CLI_USAGE;
	}
	if (out && (rc = check_out_path(out)) != CLI_OK)
		return rc;
	struct probe_options sopt = {.storage_path = path, .storage_file = file};
	char err[512] = "";
	if ((path || file) && probe_storage_check(&sopt, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap probe: %s\n", err);
		return CLI_USAGE;
	}

	struct probe_profile *p = malloc(sizeof *p);
	if (!p) {
		fprintf(stderr, "llmcap probe: out of memory\n");
		return CLI_FAIL;
	}
	int have = 0;
	if (cached || storage) {
		int lrc = cli_cache_load(p, err, sizeof err);
		if (lrc == 0)
			have = 1;
		else if (cached)
			fprintf(stderr, "llmcap probe: %s; probing now%s\n", err,
				lrc == -2 ? " (the corrupt file will be replaced)" : "");
	}
	rc = CLI_OK;
	if (storage) {
		/* storage alone: into the cached profile, or a fresh identity */
		if (!have && probe_identify(p, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap probe: %s\n", err);
			rc = CLI_FAIL;
		}
		if (rc == CLI_OK)
			rc = measure_storage(p, &sopt, STORAGE_SECONDS_ALONE, 1, 0);
		if (rc == CLI_OK)
			save_cache(p);
	} else if (!have) {
		if (cli_run_probe(p, quick, isatty(2), err, sizeof err) != 0) {
			fprintf(stderr, "llmcap probe: %s\n", err);
			rc = CLI_FAIL;
		}
		if (rc == CLI_OK && !quick)
			rc = measure_storage(p, &sopt, STORAGE_SECONDS_FULL, path || file, 1);
		if (rc == CLI_OK)
			save_cache(p);
	}
	if (rc == CLI_OK)
		rc = output(p, json, out);
	free(p);
	return rc;
}

const struct cli_cmd cmd_probe = {
	"probe", "Measure this machine: CPU, topology, memory bandwidth and latency, compute",
	"probe [--quick] [--storage] [--path DIR | --file FILE] [--json] [--out FILE] [--cached]",
	"Identifies the CPU (libcpuid) and topology (hwloc), then measures memory\n"
	"bandwidth (read, copy, triad; one thread and all cores, each thread bound to\n"
	"its own core, arrays 4x the last-level cache), memory latency (pointer chase)\n"
	"and FP32 / INT8 compute peaks, then storage read speed where models live\n"
	"(sequential, random 4 KiB, expert-sized chunks, page cache, mmap; its own\n"
	"temporary file, removed on every exit). Every figure says whether it was measured or\n"
	"reported by the OS/CPU, and how. The profile is cached in\n"
	"$XDG_CACHE_HOME/llmcap/profile.json (default ~/.cache/llmcap/) with a machine\n"
	"fingerprint; later commands use it as --hw this. A --quick profile does not\n"
	"replace a cached full one.",
	NULL, NULL, probe_main,
};
