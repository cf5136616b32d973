/* cli: the GPU in `llmcap verify --device gpu` and `llmcap calibrate
 * --device gpu`, and the GPU part of the calibration
 * ($XDG_CACHE_HOME/llmcap/calibration-gpu.json, llmcap.calibration-gpu/1):
 * how much of the GPU's measured bandwidth llmcap's CUDA matrix-vector
 * kernels reach per weight type, the share of the FP16 peak its prefill
 * reaches, and the fixed costs per layer and per token of its decode
 * steps, fitted on synthetic models and checked on one the fit did not
 * see. plan and verify use it for --hw this --engine llmcap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "kernels/kern_cuda.h"
#include "reports/report.h"

#define GCAL_FILE "calibration-gpu.json"
#define GCAL_SCHEMA "llmcap.calibration-gpu/1"
#define MAX_T 10
#define MAX_RES 4

struct gcal_type {
	int type;
	double matvec_gbps, bw_frac;
};

struct gcal {
	char fingerprint[24];
	char gpu[96];
	int64_t created;
	double gpu_gbps;              /* the bandwidth figure the simulator uses (probe) */
	double copy_gbps;             /* device copy timed in the calibration run */
	int n;
	struct gcal_type t[MAX_T];
	double mm_frac, layer_s, token_s, band;
	int n_res;
	char res_what[MAX_RES][64];
	double res_decode[MAX_RES], res_prefill[MAX_RES];
};

int cli_hw_for_device(const char *cmd, struct hw_spec *h, int gpu)
{
	if (!gpu) {
		h->n_accel = 0;   /* the CPU runs it: predict for the CPU alone */
		return CLI_OK;
	}
	for (int i = 0; i < h->n_accel; i++) {
		if (strcmp(h->accel[i].backend, "cuda") == 0 && strcmp(h->accel[i].kind, "gpu") == 0) {
			h->accel[0] = h->accel[i];
			h->n_accel = 1;
			return CLI_OK;
		}
	}
	fprintf(stderr, "llmcap %s: --device gpu: the measured profile of this machine has no NVIDIA GPU; "
		"run llmcap probe (it measures the GPU) and make sure the NVIDIA driver is installed\n", cmd);
	return CLI_FAIL;
}

/* ---- the file ------------------------------------------------------------------ */
static double jget(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static char *gcal_json(const struct gcal *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", GCAL_SCHEMA);
	cJSON_AddStringToObject(o, "engine", "llmcap");
	cJSON_AddStringToObject(o, "fingerprint", c->fingerprint);
	cJSON_AddStringToObject(o, "gpu", c->gpu);
	cJSON_AddNumberToObject(o, "created_unix", (double)c->created);
	cJSON_AddNumberToObject(o, "gpu_bandwidth_gbps", c->gpu_gbps);
	cJSON_AddNumberToObject(o, "copy_gbps", c->copy_gbps);
	cJSON *ts = cJSON_AddArrayToObject(o, "types");
	for (int i = 0; i < c->n; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "type", mdb_qtype(c->t[i].type)->name);
		cJSON_AddNumberToObject(x, "matvec_gbps", c->t[i].matvec_gbps);
		cJSON_AddNumberToObject(x, "decode_bandwidth_fraction", c->t[i].bw_frac);
		cJSON_AddItemToArray(ts, x);
	}
	cJSON_AddNumberToObject(o, "prefill_compute_fraction", c->mm_frac);
	cJSON_AddNumberToObject(o, "layer_s", c->layer_s);
	cJSON_AddNumberToObject(o, "token_s", c->token_s);
	cJSON_AddNumberToObject(o, "error_band", c->band);
	cJSON *rs = cJSON_AddArrayToObject(o, "residuals");
	for (int i = 0; i < c->n_res; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "run", c->res_what[i]);
		cJSON_AddNumberToObject(x, "decode_error_pct", c->res_decode[i]);
		cJSON_AddNumberToObject(x, "prefill_error_pct", c->res_prefill[i]);
		cJSON_AddItemToArray(rs, x);
	}
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}

static int gcal_load(struct gcal *c)
{
	char path[4096], err[256];
	if (cli_cache_file(GCAL_FILE, 0, path, sizeof path, err, sizeof err) != 0 || access(path, R_OK) != 0)
		return -1;
	char *text = NULL;
	size_t len = 0;
	if (rep_read_file(path, 1 << 20, &text, &len, err, sizeof err) != 0)
		return -1;
	cJSON *o = cJSON_ParseWithLength(text, len);
	free(text);
	if (!o)
		return -1;
	memset(c, 0, sizeof *c);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "schema");
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
	const cJSON *gp = cJSON_GetObjectItemCaseSensitive(o, "gpu");
	int ok = cJSON_IsString(sc) && !strcmp(sc->valuestring, GCAL_SCHEMA) && cJSON_IsString(fp) &&
		 cJSON_IsString(gp);
	if (ok) {
		snprintf(c->fingerprint, sizeof c->fingerprint, "%s", fp->valuestring);
		snprintf(c->gpu, sizeof c->gpu, "%s", gp->valuestring);
		c->created = (int64_t)jget(o, "created_unix");
		c->mm_frac = jget(o, "prefill_compute_fraction");
		c->layer_s = jget(o, "layer_s");
		c->token_s = jget(o, "token_s");
		c->band = jget(o, "error_band");
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "types"))
		{
			const cJSON *tn = cJSON_GetObjectItemCaseSensitive(x, "type");
			const struct mdb_qtraits *q = cJSON_IsString(tn) ? mdb_qtype_by_name(tn->valuestring) : NULL;
			const double bw = jget(x, "decode_bandwidth_fraction");
			if (c->n >= MAX_T || !q || !(bw > 0 && bw < 2))
				continue;
			c->t[c->n].type = q->id;
			c->t[c->n].bw_frac = bw;
			c->n++;
		}
		ok = c->n > 0 && c->mm_frac > 0 && c->mm_frac <= 1 && c->layer_s >= 0 && c->layer_s < 0.01 &&
		     c->token_s >= 0 && c->token_s < 0.1 && c->band > 0 && c->band < 5;
	}
	cJSON_Delete(o);
	return ok ? 0 : -1;
}

static void gcal_apply(const struct gcal *c, const struct sim_weights *w, int has_gpu, struct sim_eff *e)
{
	int k = -1;
	double bw = 0;
	for (int i = 0; i < c->n; i++) {
		if (c->t[i].type == w->main_type)
			k = i;
		bw += c->t[i].bw_frac / c->n;
	}
	if (k >= 0)
		bw = c->t[k].bw_frac;
	const int cpu_calibrated = e->calibrated;
	e->gpu_bw = bw;
	e->gpu_mm = c->mm_frac;
	e->layer_gpu_s = c->layer_s;
	if (!has_gpu)
		return;   /* a prediction for the CPU alone: nothing else changes */
	e->token_s = c->token_s;
	e->band = cpu_calibrated ? fmax(e->band, c->band) : c->band;
	e->calibrated = 1;
	char when[32] = "";
	time_t t = (time_t)c->created;
	struct tm tmv;
	if (gmtime_r(&t, &tmv))
		strftime(when, sizeof when, "%Y-%m-%d", &tmv);
	const struct mdb_qtraits *q = mdb_qtype(w->main_type);
	snprintf(e->source, sizeof e->source,
		 "measured: llmcap calibrate --device gpu on this machine %s: %s decode reaches %.0f%% of "
		 "the GPU's measured bandwidth, prefill %.1f%% of its FP16 peak, %.1f us per layer and "
		 "%.0f us per token fixed%s", when, k >= 0 && q ? q->name : "all types (mean)", 100 * bw,
		 100 * c->mm_frac, c->layer_s * 1e6, c->token_s * 1e6,
		 cpu_calibrated ? " (CPU factors calibrated too)" : "");
}

int cli_calibration_gpu_apply(const struct hw_spec *h, const struct sim_weights *w, struct sim_eff *e)
{
	if (strcmp(e->engine, "llmcap") != 0 || !h->measured || !h->fingerprint[0])
		return -1;
	struct gcal c;
	if (gcal_load(&c) != 0 || strcmp(c.fingerprint, h->fingerprint) != 0)
		return -1;
	int has_gpu = 0;
	for (int i = 0; i < h->n_accel; i++)
		if (!strcmp(h->accel[i].backend, "cuda") && !strcmp(h->accel[i].name, c.gpu))
			has_gpu = 1;
	gcal_apply(&c, w, has_gpu, e);
	return 0;
}

/* ---- measuring ------------------------------------------------------------------- */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct grun {
	double pp, tg;                /* tokens/s, medians */
	struct mdb_model m;
	struct sim_weights w;
};

/* A synthetic model of m's shape (n_layer layers of type) on the GPU:
 * prompt tokens prefill, gen decode, median of 3 runs after a warm-up. */
static int run_synth(struct kern_cuda *c, const struct mdb_model *m, int type, int n_layer, int prompt,
		     int gen, struct grun *out, char *err, size_t errlen)
{
	char dir[256], path[300];
	const char *td = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/llmcap-calib-XXXXXX", td && *td ? td : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "cannot make a temporary directory under %s; set TMPDIR",
			 td && *td ? td : "/tmp");
		return -1;
	}
	snprintf(path, sizeof path, "%s/m.gguf", dir);
	int rc = kern_write_synth_gguf(path, m, type, n_layer, 7, err, errlen);
	struct mdb_gguf *g = NULL;
	struct kern_cuda_model *km = NULL;
	if (rc == 0)
		rc = mdb_gguf_open(&g, path, err, errlen);
	if (rc == 0)
		rc = mdb_model_from_gguf(g, path, &out->m, err, errlen);
	if (rc == 0)
		rc = sim_weights_from_gguf(&out->m, g, &out->w, err, errlen);
	if (rc == 0)
		rc = kern_cuda_model_open(&km, c, path, prompt + gen + 64, err, errlen);
	unlink(path);
	rmdir(dir);
	if (g)
		mdb_gguf_close(g);
	if (rc != 0)
		return -1;
	double pp[3], tg[3];
	rc = kern_cuda_model_time(km, prompt, gen, 3, pp, tg, err, errlen);
	kern_cuda_model_close(km);
	if (rc != 0)
		return -1;
	qsort(pp, 3, sizeof *pp, cmp_d);
	qsort(tg, 3, sizeof *tg, cmp_d);
	out->pp = pp[1];
	out->tg = tg[1];
	return 0;
}

static int predict(const struct hw_spec *h, const struct grun *r, const struct sim_eff *e, int prompt,
		   int gen, struct sim_pred *p)
{
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = prompt + gen + 64;
	wl.prompt = prompt;
	wl.gen = gen;
	wl.gpu_layers = r->m.n_layer;
	char err[256];
	return sim_predict(h, &r->m, &r->w, &wl, e, p, err, sizeof err);
}

/* The prefill share of the FP16 peak that makes the simulator predict
 * the measured prefill (bisection on a log scale; the prediction falls
 * monotonically as the share falls). */
static double fit_mm(const struct hw_spec *h, const struct grun *r, struct sim_eff e, int prompt, int gen,
		     struct sim_pred *p)
{
	double lo = log(1e-4), hi = log(1.0);
	for (int i = 0; i < 40; i++) {
		const double mid = (lo + hi) / 2;
		e.gpu_mm = exp(mid);
		if (predict(h, r, &e, prompt, gen, p) != 0)
			return NAN;
		if (p->prefill_tps > r->pp)
			hi = mid;
		else
			lo = mid;
	}
	return exp((lo + hi) / 2);
}

int cli_calibrate_gpu(int json)
{
	char err[1024] = "";
	struct hw_spec *h = calloc(1, sizeof *h);
	struct gcal *c = calloc(1, sizeof *c);
	struct sim_pred *p = calloc(1, sizeof *p);
	struct grun *r2 = calloc(1, sizeof *r2), *r10 = calloc(1, sizeof *r10), *rc8 = calloc(1, sizeof *rc8);
	struct kern_cuda *cu = NULL;
	struct mdb_models models = {0};
	int rc = CLI_FAIL;
	if (!h || !c || !p || !r2 || !r10 || !rc8) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	if ((rc = cli_hw("calibrate", "this", h)) != CLI_OK || (rc = cli_hw_for_device("calibrate", h, 1)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (kern_cuda_open(&cu, 0, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: --device gpu: %s\n", err);
		goto out;
	}
	if (mdb_models_load_builtin(&models, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		goto out;
	}
	const struct mdb_model *fit_m = mdb_models_find(&models, "llama-3.2-1b");
	const struct mdb_model *chk_m = mdb_models_find(&models, "llama-3.1-8b");
	if (!fit_m || !chk_m) {
		fprintf(stderr, "llmcap calibrate: the built-in catalog lacks llama-3.2-1b or llama-3.1-8b\n");
		goto out;
	}
	const struct hw_accel *g = &h->accel[0];
	snprintf(c->fingerprint, sizeof c->fingerprint, "%s", h->fingerprint);
	snprintf(c->gpu, sizeof c->gpu, "%s", g->name);
	c->created = (int64_t)time(NULL);
	c->gpu_gbps = g->memory_bandwidth_gbps;
	const int show = !json && isatty(2);
	if (kern_cuda_bench_copy(cu, (size_t)1 << 30, 10, &c->copy_gbps, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		goto out;
	}
	/* 1. decode: matrix-vector products of Llama-3.1-8B's FFN shape over
	 * matrices far beyond the L2 cache */
	static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_F16};
	const int nt = (int)(sizeof types / sizeof types[0]);
	for (int i = 0; i < nt; i++) {
		if (show)
			fprintf(stderr, "\rcalibrating the GPU: %-5s matrix-vector (%d of %d)...", mdb_qtype(types[i])->name,
				i + 1, nt);
		const size_t bytes = kern_row_bytes(types[i], 4096) * 14336;
		const int n_mats = (int)(((size_t)512 << 20) / bytes) + 2;
		struct kern_bench b;
		if (kern_cuda_bench_matvec(cu, types[i], 14336, 4096, n_mats, 4 * n_mats, 9, &b, err, sizeof err)) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
		c->t[c->n].type = types[i];
		c->t[c->n].matvec_gbps = b.median_gbps;
		c->t[c->n].bw_frac = b.median_gbps / c->gpu_gbps;
		c->n++;
	}
	/* 2. fixed costs: Llama-3.2-1B's shape with 2 and 10 layers; the
	 * decode time the bandwidth does not explain, per layer and per token;
	 * the prefill share of the peak from the 10-layer prompt */
	const int prompt = 128, gen = 64;
	if (show)
		fprintf(stderr, "\rcalibrating the GPU: fixed costs (llama-3.2-1b, 2 and 10 layers)...     ");
	if (run_synth(cu, fit_m, QT_Q4_0, 2, prompt, gen, r2, err, sizeof err) ||
	    run_synth(cu, fit_m, QT_Q4_0, 10, prompt, gen, r10, err, sizeof err)) {
		fprintf(stderr, "\nllmcap calibrate: %s\n", err);
		goto out;
	}
	struct sim_eff e;
	sim_eff_default("llmcap", &e, err, sizeof err);
	c->band = 1;
	c->mm_frac = 1;
	gcal_apply(c, &r2->w, 1, &e);
	e.layer_gpu_s = e.token_s = 0;
	if (predict(h, r2, &e, prompt, gen, p) != 0)
		goto out;
	const double res2 = 1.0 / r2->tg - 1.0 / p->decode_tps;
	if (predict(h, r10, &e, prompt, gen, p) != 0)
		goto out;
	const double res10 = 1.0 / r10->tg - 1.0 / p->decode_tps;
	c->layer_s = fmax(0, (res10 - res2) / 8);
	c->token_s = fmax(0, res2 - 2 * c->layer_s);
	e.layer_gpu_s = c->layer_s;
	e.token_s = c->token_s;
	c->mm_frac = fit_mm(h, r10, e, prompt, gen, p);
	if (!(c->mm_frac > 0)) {
		fprintf(stderr, "\nllmcap calibrate: the prefill fit failed\n");
		goto out;
	}
	/* 3. check on a model the fit did not see: Llama-3.1-8B's shape, its
	 * first 8 layers, Q4_0 and Q4_K */
	static const int chk[] = {QT_Q4_0, QT_Q4_K};
	double worst = 0;
	for (int i = 0; i < 2; i++) {
		if (show)
			fprintf(stderr, "\rchecking on llama-3.1-8b (8 layers) %s...                          ",
				mdb_qtype(chk[i])->name);
		if (run_synth(cu, chk_m, chk[i], 8, 256, 32, rc8, err, sizeof err)) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
		sim_eff_default("llmcap", &e, err, sizeof err);
		gcal_apply(c, &rc8->w, 1, &e);
		if (predict(h, rc8, &e, 256, 32, p) != 0)
			goto out;
		const int k = c->n_res++;
		snprintf(c->res_what[k], sizeof c->res_what[k], "llama-3.1-8b, 8 layers, %s", mdb_qtype(chk[i])->name);
		c->res_decode[k] = 100 * (p->decode_tps - rc8->tg) / rc8->tg;
		c->res_prefill[k] = 100 * (p->prefill_tps - rc8->pp) / rc8->pp;
		worst = fmax(worst, fmax(fabs(c->res_decode[k]), fabs(c->res_prefill[k])));
	}
	if (show)
		fprintf(stderr, "\r%78s\r", "");
	c->band = fmin(0.5, fmax(0.05, worst / 100 * 1.25));
	char *text = gcal_json(c);
	char path[4096];
	if (!text) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	if (cli_cache_file(GCAL_FILE, 1, path, sizeof path, err, sizeof err) != 0 ||
	    rep_write_atomic(path, text, strlen(text), err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		free(text);
		goto out;
	}
	if (json) {
		printf("%s\n", text);
	} else {
		printf("Calibration of llmcap's CUDA kernels on %s (measured)\n", kern_cuda_device_name(cu));
		printf("  GPU bandwidth the simulator uses: %.0f GB/s (llmcap probe); device copy now: %.0f GB/s\n",
		       c->gpu_gbps, c->copy_gbps);
		printf("  written to %s\n\n", path);
		printf("  %-6s %12s %12s %10s\n", "type", "matvec GB/s", "of probe bw", "of copy");
		for (int i = 0; i < c->n; i++)
			printf("  %-6s %12.0f %11.0f%% %9.0f%%\n", mdb_qtype(c->t[i].type)->name, c->t[i].matvec_gbps,
			       100 * c->t[i].bw_frac, 100 * c->t[i].matvec_gbps / c->copy_gbps);
		printf("\n  fixed cost per layer per decode step: %.1f us; per token: %.0f us\n", c->layer_s * 1e6,
		       c->token_s * 1e6);
		printf("  prefill: %.1f%% of the FP16 peak (%.0f TFLOPS measured by the probe)\n", 100 * c->mm_frac,
		       g->fp16_tflops);
		printf("  check on a model the fit did not see (prediction error):\n");
		for (int i = 0; i < c->n_res; i++)
			printf("    %-30s decode %+6.1f%%  prefill %+6.1f%%\n", c->res_what[i], c->res_decode[i],
			       c->res_prefill[i]);
		printf("  error band from these residuals: +-%.0f%%\n", 100 * c->band);
		printf("\n  llmcap plan --hw this --engine llmcap and llmcap verify --device gpu now use these "
		       "factors.\n");
	}
	free(text);
	rc = CLI_OK;
out:
	kern_cuda_close(cu);
	mdb_models_free(&models);
	free(h);
	free(c);
	free(p);
	free(r2);
	free(r10);
	free(rc8);
	return rc;
}
