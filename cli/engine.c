/*
 * cli: engines — the profiles a prediction uses (shipped, plus one
 * calibrated on this machine), running llama.cpp's llama-bench, and
 * `llmcap calibrate --engine llama.cpp`.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "reports/report.h"
#include "simulator/profile.h"

#define ENGINE_CACHE "engine-llama.cpp.json"

/* ---- profiles for predictions ------------------------------------------ */

/* The calibrated profiles in the cache, appended to ps (silently none
 * when absent; a broken file is named on stderr and skipped). */
static void load_calibrated(const char *cmd, struct sim_profiles *ps)
{
	char path[4096], err[512];
	if (cli_cache_file(ENGINE_CACHE, 0, path, sizeof path, err, sizeof err) != 0 ||
	    access(path, R_OK) != 0)
		return;
	char *text = NULL;
	size_t len = 0;
	if (rep_read_file(path, 1 << 20, &text, &len, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap %s: %s (ignored)\n", cmd, err);
		return;
	}
	struct sim_profiles tmp = *ps;
	if (sim_profiles_parse(text, len, path, &tmp, err, sizeof err) != 0)
		fprintf(stderr, "llmcap %s: %s (ignored; run llmcap calibrate --engine llama.cpp "
			"again to replace it)\n", cmd, err);
	else
		*ps = tmp;
	free(text);
}

int cli_engine_eff(const char *cmd, const char *engine, struct sim_eff *e)
{
	char err[512];
	if (sim_eff_default(engine, e, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		return CLI_USAGE;
	}
	struct sim_profiles *ps = malloc(sizeof *ps);
	if (!ps) {
		fprintf(stderr, "llmcap %s: out of memory\n", cmd);
		return CLI_FAIL;
	}
	if (sim_profiles_builtin(ps, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap %s: %s\n", cmd, err);
		free(ps);
		return CLI_FAIL;
	}
	load_calibrated(cmd, ps);
	e->prof = ps;
	return CLI_OK;
}

void cli_engine_free(struct sim_eff *e)
{
	free((void *)e->prof);
	e->prof = NULL;
}

/* ---- llama-bench ----------------------------------------------------------- */

int cli_llama_bench_find(const char *given, char *out, size_t n)
{
	if (given) {
		if (access(given, X_OK) != 0)
			return -1;
		snprintf(out, n, "%s", given);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		return -1;
	const char *p = path;
	while (*p) {
		const char *q = strchr(p, ':');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		if (l > 0 && l < 3500) {
			char cand[4096];
			snprintf(cand, sizeof cand, "%.*s/llama-bench", (int)l, p);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
				snprintf(out, n, "%s", cand);
				return 0;
			}
		}
		if (!q)
			break;
		p = q + 1;
	}
	return -1;
}

struct lb_job {
	const char *lb;
	char *const *argv;
	int err_fd;                 /* its stderr */
};

/* In the child: llama-bench with stdout to out_fd. */
static int lb_child(void *arg, int out_fd)
{
	const struct lb_job *j = arg;
	dup2(out_fd, 1);
	dup2(j->err_fd, 2);
	close(out_fd);
	execv(j->lb, j->argv);
	fprintf(stderr, "cannot run %s: %s\n", j->lb, strerror(errno));
	return 127;
}

int cli_llama_bench_run(const char *lb, const char *model, int n_prompt, int n_gen, int reps,
			int threads, int ngl, char **json, size_t *json_len, char *err, size_t errlen)
{
	*json = NULL;
	char sp[16], sn[16], sr[16], st[16], sg[16];
	snprintf(sp, sizeof sp, "%d", n_prompt);
	snprintf(sn, sizeof sn, "%d", n_gen);
	snprintf(sr, sizeof sr, "%d", reps);
	snprintf(st, sizeof st, "%d", threads);
	snprintf(sg, sizeof sg, "%d", ngl);
	char *argv[] = {(char *)lb, "-m", (char *)model, "-p", sp, "-n", sn, "-r", sr, "-t", st,
			"-ngl", sg, "-o", "json", NULL};
	FILE *ef = tmpfile(); /* its stderr: unlinked already, nothing left behind */
	if (!ef) {
		snprintf(err, errlen, "cannot capture llama-bench's output: %s", strerror(errno));
		return -1;
	}
	struct lb_job j = {lb, argv, fileno(ef)};
	struct cli_child c;
	if (cli_child_run(lb_child, &j, 64 << 20, &c, err, errlen) != 0) {
		fclose(ef);
		return -1;
	}
	int status = c.status;
	size_t elen = 0;
	lseek(fileno(ef), 0, SEEK_SET);
	char *e = cli_read_fd(fileno(ef), 1 << 16, &elen);
	fclose(ef);
	int rc = 0;
	if (c.interrupted) {
		snprintf(err, errlen, "interrupted");
		rc = -3;
	} else if (!c.out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the last line of its stderr says why */
		const char *last = "";
		if (e && elen) {
			while (elen > 0 && (e[elen - 1] == '\n' || e[elen - 1] == '\r'))
				e[--elen] = 0;
			const char *nl = strrchr(e, '\n');
			last = nl ? nl + 1 : e;
		}
		if (WIFEXITED(status))
			snprintf(err, errlen, "%s exited with status %d%s%.300s", lb, WEXITSTATUS(status),
				 *last ? ": " : "", last);
		else
			snprintf(err, errlen, "%s was killed by signal %d%s%.300s", lb,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0, *last ? ": " : "", last);
		rc = -1;
	}
	free(e);
	if (rc == 0) {
		*json = c.out;
		*json_len = c.out_len;
	} else {
		free(c.out);
	}
	return rc;
}

/* ---- calibrate --engine llama.cpp ------------------------------------------ */

static void print_fit(const struct sim_bench *b, const struct sim_profile *p, FILE *out)
{
	fprintf(out, "%s %s profile of %s (%s)\n", p->engine, p->backend,
		b->machine[0] ? b->machine : "this machine", b->engine_version[0] ? b->engine_version : "version unknown");
	fprintf(out, "\n  %-14s %-5s %6s %-6s %8s %10s %10s %8s\n", "model shape", "type", "layers", "test",
		"threads", "measured", "profile", "error");
	for (int i = 0; i < b->n; i++) {
		const struct sim_bench_run *r = &b->r[i];
		char ty[16], test[16];
		sim_type_name(r->type, ty, sizeof ty);
		snprintf(test, sizeof test, "%s%d", r->n_prompt ? "pp" : "tg", r->n_prompt ? r->n_prompt : r->n_gen);
		fprintf(out, "  %-14s %-5s %6d %-6s %8d %10.1f %10.1f %+7.1f%%\n", r->model, ty, r->n_layer, test,
			r->threads, r->tps, r->fit_tps, 100 * (r->fit_tps / r->tps - 1));
	}
	/* the factors as reached by a model of hidden size 4096 (8B class) */
	double bs = p->bw_k0 > 0 ? 1 + p->bw_k0 / 4096 : 1, ms = p->mm_k0 > 0 ? 1 + p->mm_k0 / 4096 : 1;
	fprintf(out, "\n  at hidden size 4096: %-5s %18s %20s\n", "type", "decode, of bandwidth",
		"prefill, of peak");
	for (int k = 0; k < p->n_types; k++) {
		char ty[16];
		sim_type_name(p->t[k].type, ty, sizeof ty);
		fprintf(out, "  %20s %-5s %17.1f%% ", "", ty, 100 * p->t[k].bw / bs);
		if (isfinite(p->t[k].mm))
			fprintf(out, "%19.1f%%\n", 100 * p->t[k].mm / ms);
		else
			fprintf(out, "%20s\n", "not measured");
	}
	fprintf(out, "  fixed cost in decode: %.1f us per token, %.2f us per layer\n", p->token_s * 1e6,
		p->layer_s * 1e6);
	if (isfinite(p->step_pp_s))
		fprintf(out, "  fixed cost in prefill: %.1f us per 512-token micro-batch, %.1f us per layer in it\n",
			p->step_pp_s * 1e6, p->layer_pp_s * 1e6);
	if (p->bw_k0 > 0)
		fprintf(out, "  decode bandwidth x hidden / (hidden + %.0f): narrower models stream less well\n",
			p->bw_k0);
	if (p->mm_k0 > 0)
		fprintf(out, "  prefill rate x hidden / (hidden + %.0f): narrower models reach less of the peak\n",
			p->mm_k0);
	for (int k = 0; k < p->n_threads; k++)
		fprintf(out, "  at %d thread%s: decode x%.2f, prefill x%.2f of the %d-thread figures\n",
			p->th[k].threads, p->th[k].threads == 1 ? "" : "s", p->th[k].bw_scale, p->th[k].mm_scale,
			p->threads);
	fprintf(out, "  largest error over the %d runs fitted: %.1f%%; error band +-%.0f%%\n", p->n_runs,
		100 * p->max_err, 100 * p->band);
}

struct calib_job {
	const char *model;
	const char *quant;
	int layers;                 /* 0: all */
	int set;                    /* 1 --quick only, 2 default and --full, 3 --full only, 0 all */
};

static const struct calib_job JOBS[] = {
	{"smollm2-135m", "Q4_0", 30, 0},
	{"smollm2-135m", "Q4_0", 4, 0},
	{"smollm2-135m", "Q8_0", 30, 1},
	{"smollm2-135m", "F16", 30, 1},
	{"llama-3.2-1b", "Q4_0", 0, 2},
	{"llama-3.2-1b", "Q8_0", 0, 2},
	{"llama-3.2-1b", "F16", 0, 2},
	{"llama-3.1-8b", "Q4_0", 0, 3},
	{"llama-3.1-8b", "Q8_0", 0, 3},
	{"llama-3.1-8b", "F16", 0, 3},
	{NULL, NULL, 0, 0},
};

static int job_wanted(const struct calib_job *j, int quick, int full)
{
	switch (j->set) {
	case 1: return quick;
	case 2: return !quick;
	case 3: return full && !quick;
	default: return 1;
	}
}

static void rm_dir(const char *dir)
{
	if (dir && dir[0])
		rmdir(dir);
}

/* Merges p into the cache file of calibrated profiles, atomically. */
static int save_calibrated(const struct sim_profile *p, char *path, size_t n, char *err, size_t errlen)
{
	if (cli_cache_file(ENGINE_CACHE, 1, path, n, err, errlen) != 0)
		return -1;
	struct sim_profiles *ps = calloc(1, sizeof *ps);
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	char e2[256];
	if (access(path, R_OK) == 0 && rep_read_file(path, 1 << 20, &text, &len, e2, sizeof e2) == 0) {
		if (sim_profiles_parse(text, len, path, ps, e2, sizeof e2) != 0)
			ps->n = 0; /* broken: replaced */
		free(text);
	}
	sim_profiles_put(ps, p);
	char *out = sim_profiles_json(ps->p, ps->n);
	free(ps);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = rep_write_atomic(path, out, strlen(out), err, errlen);
	free(out);
	return rc;
}

int cli_calibrate_llama(const struct cli_calib_llama *o)
{
	char err[1024] = "";
	struct sim_bench *b = calloc(1, sizeof *b);
	struct sim_profile *p = calloc(1, sizeof *p);
	struct hw_spec *h = calloc(1, sizeof *h);
	struct mdb_models cat = {0};
	char tmpdir[512] = "", file[1024] = "";
	int rc = CLI_FAIL;
	if (!b || !p || !h) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	if (o->from) {
		/* refit recorded runs */
		char *text = NULL;
		size_t len = 0;
		if (rep_read_file(o->from, 16 << 20, &text, &len, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", err);
			rc = CLI_USAGE;
			goto out;
		}
		int prc = sim_bench_parse(text, len, o->from, b, err, sizeof err);
		free(text);
		if (prc != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", err);
			rc = CLI_USAGE;
			goto out;
		}
	} else {
		char lb[4096];
		if (cli_llama_bench_find(o->llama_bench, lb, sizeof lb) != 0) {
			if (o->llama_bench)
				fprintf(stderr, "llmcap calibrate: --llama-bench %s is not an executable file\n",
					o->llama_bench);
			else
				fprintf(stderr,
					"llmcap calibrate: no llama-bench found on PATH. Build llama.cpp's "
					"(cmake -B build && cmake --build build --target llama-bench, in a "
					"llama.cpp checkout) and put build/bin on PATH, or pass --llama-bench "
					"PATH\n");
			rc = CLI_USAGE;
			goto out;
		}
		if ((rc = cli_hw("calibrate", "this", h)) != CLI_OK)
			goto out;
		rc = CLI_FAIL;
		int gpu = o->device && strcmp(o->device, "gpu") == 0;
		const char *backend = "cpu";
		const struct hw_accel *g = gpu ? sim_pick_gpu(h) : NULL;
		if (gpu) {
			if (!g) {
				fprintf(stderr, "llmcap calibrate: --device gpu: the probe found no GPU with a memory "
					"size and bandwidth on this machine (llmcap probe lists what it found)\n");
				rc = CLI_USAGE;
				goto out;
			}
			backend = sim_profile_backend(g->backend);
		}
		int threads = o->threads > 0 ? o->threads : (h->host.cores > 0 ? h->host.cores : 1);
		snprintf(b->engine, sizeof b->engine, "llama.cpp");
		snprintf(b->backend, sizeof b->backend, "%s", backend);
		snprintf(b->machine, sizeof b->machine, "%s", h->name);
		snprintf(b->fingerprint, sizeof b->fingerprint, "%s", h->fingerprint);
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(b->when, sizeof b->when, "%Y-%m-%d", &tm);
		char *hj = rep_hw_json(h, 0);
		int hrc = hj ? sim_bench_set_hw(b, hj, err, sizeof err) : -2;
		free(hj);
		if (hrc != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", err[0] ? err : "out of memory");
			goto out;
		}
		if (mdb_models_load_builtin(&cat, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", err);
			goto out;
		}
		const char *td = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/llmcap-calibrate-XXXXXX", td && *td ? td : "/tmp");
		if (!mkdtemp(tmpdir)) {
			fprintf(stderr, "llmcap calibrate: cannot make a temporary directory under %s; set "
				"TMPDIR to a writable place\n", td && *td ? td : "/tmp");
			tmpdir[0] = 0;
			goto out;
		}
		int show = !o->json && isatty(2);
		for (int j = 0; JOBS[j].model; j++) {
			const struct calib_job *jb = &JOBS[j];
			if (!job_wanted(jb, o->quick, o->full))
				continue;
			const struct mdb_model *m = mdb_models_find(&cat, jb->model);
			const struct mdb_qtraits *q = mdb_qtype_by_name(jb->quant);
			if (!m || !q) {
				fprintf(stderr, "llmcap calibrate: the built-in catalog lacks %s\n", jb->model);
				goto out;
			}
			struct mdb_model mm = *m;
			if (jb->layers > 0 && jb->layers < mm.n_layer)
				mm.n_layer = jb->layers;
			struct sim_weights w;
			if (sim_weights_pure(&mm, q->id, &w, err, sizeof err) != 0) {
				fprintf(stderr, "llmcap calibrate: %s\n", err);
				goto out;
			}
			double room = (g ? g->memory_gb : h->host.memory_available_gb) * 1073741824.0;
			if (isfinite(room) && w.total_bytes > 0.6 * room) {
				fprintf(stderr, "llmcap calibrate: %s %s skipped: %.1f GiB is more than 60%% of "
					"the memory free now\n", jb->model, jb->quant, w.total_bytes / 1073741824.0);
				continue;
			}
			snprintf(file, sizeof file, "%s/%s.%s.L%d.gguf", tmpdir, jb->model, jb->quant, mm.n_layer);
			if (show)
				fprintf(stderr, "\r%-78s\r[%d] writing %s %s (%d layers)...", "", j + 1, jb->model,
					jb->quant, mm.n_layer);
			int wrc = cli_write_synth(file, m, q->id, mm.n_layer, 42, err, sizeof err);
			if (wrc != 0) {
				fprintf(stderr, "\nllmcap calibrate: %s\n", err);
				rc = wrc == -3 ? 130 : CLI_FAIL;
				file[0] = 0;
				goto out;
			}
			if (show)
				fprintf(stderr, "\r%-78s\r[%d] llama-bench %s %s: pp512 tg128 x%d...", "", j + 1,
					jb->model, jb->quant, o->reps);
			char *json = NULL;
			size_t jl = 0;
			int lrc = cli_llama_bench_run(lb, file, 512, 128, o->reps, threads, gpu ? 99 : 0, &json,
						      &jl, err, sizeof err);
			unlink(file);
			file[0] = 0;
			if (lrc != 0) {
				fprintf(stderr, "\nllmcap calibrate: %s\n", err);
				rc = lrc == -3 ? 130 : CLI_FAIL;
				goto out;
			}
			char origin[128];
			snprintf(origin, sizeof origin, "llama-bench output for %s %s", jb->model, jb->quant);
			int arc = sim_bench_add_llama_bench(b, json, jl, origin, &mm, q->id, err, sizeof err);
			free(json);
			if (arc != 0) {
				fprintf(stderr, "\nllmcap calibrate: %s\n", err);
				goto out;
			}
		}
		if (show)
			fprintf(stderr, "\r%-78s\r", "");
	}
	if (sim_profile_fit(b, p, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		rc = o->from ? CLI_USAGE : CLI_FAIL;
		goto out;
	}
	char saved[4096] = "";
	if (!o->from) {
		snprintf(p->status, sizeof p->status, "calibrated");
		if (save_calibrated(p, saved, sizeof saved, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", err);
			goto out;
		}
	}
	if (o->save_runs) {
		char *t = sim_bench_json(b);
		if (!t || rep_write_atomic(o->save_runs, t, strlen(t), err, sizeof err) != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", t ? err : "out of memory");
			free(t);
			goto out;
		}
		free(t);
	}
	if (o->out) {
		char *t = sim_profiles_json(p, 1);
		if (!t || rep_write_atomic(o->out, t, strlen(t), err, sizeof err) != 0) {
			fprintf(stderr, "llmcap calibrate: %s\n", t ? err : "out of memory");
			free(t);
			goto out;
		}
		free(t);
	}
	if (o->json) {
		char *t = sim_profiles_json(p, 1);
		if (!t) {
			fprintf(stderr, "llmcap calibrate: out of memory\n");
			goto out;
		}
		printf("%s\n", t);
		free(t);
	} else {
		print_fit(b, p, stdout);
		if (saved[0])
			printf("\n  written to %s; llmcap plan --hw this (--engine llama.cpp, the default) "
			       "now uses it.\n", saved);
	}
	rc = CLI_OK;
out:
	if (file[0])
		unlink(file);
	rm_dir(tmpdir);
	mdb_models_free(&cat);
	free(b);
	free(p);
	free(h);
	return rc;
}
