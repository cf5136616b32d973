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
	double matmul_tflops, mm_frac;   /* 64-token products (prefill's); mm_frac NAN: the global one */
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
	double layer_pp_s, step_pp_s;  /* prefill: per layer per micro-batch, per micro-batch */
	int n_fit;
	char fit_what[8][48];
	double fit_decode[8], fit_prefill[8]; /* the fit's own residuals, % */
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
		cJSON_AddNumberToObject(x, "matmul64_tflops", c->t[i].matmul_tflops);
		cJSON_AddNumberToObject(x, "prefill_compute_fraction", c->t[i].mm_frac);
		cJSON_AddItemToArray(ts, x);
	}
	cJSON_AddNumberToObject(o, "prefill_compute_fraction", c->mm_frac);
	cJSON_AddNumberToObject(o, "layer_s", c->layer_s);
	cJSON_AddNumberToObject(o, "token_s", c->token_s);
	cJSON_AddNumberToObject(o, "prefill_layer_s", c->layer_pp_s);
	cJSON_AddNumberToObject(o, "prefill_step_s", c->step_pp_s);
	cJSON *fr = cJSON_AddArrayToObject(o, "fit_runs");
	for (int i = 0; i < c->n_fit; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "run", c->fit_what[i]);
		cJSON_AddNumberToObject(x, "decode_error_pct", c->fit_decode[i]);
		cJSON_AddNumberToObject(x, "prefill_error_pct", c->fit_prefill[i]);
		cJSON_AddItemToArray(fr, x);
	}
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
		c->layer_pp_s = jget(o, "prefill_layer_s");
		c->step_pp_s = jget(o, "prefill_step_s");
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
			const double mm = jget(x, "prefill_compute_fraction");   /* NAN in older files */
			c->t[c->n].mm_frac = mm > 0 && mm <= 1 ? mm : NAN;
			c->n++;
		}
		ok = c->n > 0 && c->mm_frac > 0 && c->mm_frac <= 1 && c->layer_s >= 0 && c->layer_s < 0.01 &&
		     c->token_s >= 0 && c->token_s < 0.1 && c->band > 0 && c->band < 5 &&
		     c->layer_pp_s >= 0 && c->layer_pp_s < 0.1 && c->step_pp_s >= 0 && c->step_pp_s < 1;
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
	e->gpu_mm = k >= 0 && isfinite(c->t[k].mm_frac) ? c->t[k].mm_frac : c->mm_frac;
	e->layer_gpu_s = c->layer_s;
	if (!has_gpu)
		return;   /* a prediction for the CPU alone: nothing else changes */
	e->token_s = c->token_s;
	e->layer_gpu_pp_s = c->layer_pp_s;
	e->step_pp_s = c->step_pp_s;
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
	int rc = cli_write_synth(path, m, type, n_layer, 7, err, errlen);
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

/* min over x of sum_i ((A_i . x - b_i) / b_i)^2 over the columns in use
 * (3 unknowns at most), by the normal equations; 0, or -1 when singular. */
static int lsq(int n, const double (*A)[3], const double *b, const int use[3], double x[3])
{
	double M[3][4] = {{0}};
	int idx[3], k = 0;
	for (int j = 0; j < 3; j++)
		if (use[j])
			idx[k++] = j;
	for (int i = 0; i < n; i++) {
		const double w = 1.0 / (b[i] * b[i]);
		for (int r = 0; r < k; r++) {
			for (int q = 0; q < k; q++)
				M[r][q] += w * A[i][idx[r]] * A[i][idx[q]];
			M[r][k] += w * A[i][idx[r]] * b[i];
		}
	}
	for (int col = 0; col < k; col++) {
		int piv = col;
		for (int r = col + 1; r < k; r++)
			if (fabs(M[r][col]) > fabs(M[piv][col]))
				piv = r;
		if (!(fabs(M[piv][col]) > 1e-300))
			return -1;
		for (int q = 0; q <= k; q++) {
			const double t = M[col][q];
			M[col][q] = M[piv][q];
			M[piv][q] = t;
		}
		for (int r = 0; r < k; r++) {
			if (r == col)
				continue;
			const double f = M[r][col] / M[col][col];
			for (int q = 0; q <= k; q++)
				M[r][q] -= f * M[col][q];
		}
	}
	x[0] = x[1] = x[2] = 0;
	for (int r = 0; r < k; r++)
		x[idx[r]] = M[r][k] / M[r][r];
	return 0;
}

/* The same with every unknown >= 0: the best of the fits that leave out
 * some of columns 1 and 2 (column 0, the rate, is always in). */
static int lsq_nonneg(int n, const double (*A)[3], const double *b, double x[3])
{
	static const int uses[4][3] = {{1, 1, 1}, {1, 1, 0}, {1, 0, 1}, {1, 0, 0}};
	double best = INFINITY;
	int found = -1;
	for (int u = 0; u < 4; u++) {
		double t[3];
		if (lsq(n, A, b, uses[u], t) != 0 || t[0] <= 0 || t[1] < 0 || t[2] < 0)
			continue;
		double r = 0;
		for (int i = 0; i < n; i++) {
			const double e = (A[i][0] * t[0] + A[i][1] * t[1] + A[i][2] * t[2] - b[i]) / b[i];
			r += e * e;
		}
		if (r < best) {
			best = r;
			memcpy(x, t, sizeof t);
			found = 0;
		}
	}
	return found;
}

int cli_calibrate_gpu(int json)
{
	char err[1024] = "";
	struct hw_spec *h = calloc(1, sizeof *h), *hfast = calloc(1, sizeof *hfast);
	struct gcal *c = calloc(1, sizeof *c);
	struct sim_pred *p = calloc(1, sizeof *p);
	enum { N_FIT = 6, N_CHK = 2 };
	struct grun *runs = calloc(N_FIT + N_CHK, sizeof *runs);
	struct kern_cuda *cu = NULL;
	struct mdb_models models = {0};
	int rc = CLI_FAIL;
	if (!h || !hfast || !c || !p || !runs) {
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
	/* fitted on three widths, two depths each; checked on a fourth width */
	static const struct { const char *id; int layers, type; } plan[N_FIT + N_CHK] = {
		{"smollm2-135m", 8, QT_Q4_0}, {"smollm2-135m", 24, QT_Q4_0},
		{"llama-3.2-1b", 4, QT_Q4_0}, {"llama-3.2-1b", 12, QT_Q4_0},
		{"llama-3.1-8b", 2, QT_Q4_0}, {"llama-3.1-8b", 6, QT_Q4_0},
		{"llama-3.2-3b", 8, QT_Q4_0}, {"llama-3.2-3b", 8, QT_Q4_K},
	};
	for (int i = 0; i < N_FIT + N_CHK; i++)
		if (!mdb_models_find(&models, plan[i].id)) {
			fprintf(stderr, "llmcap calibrate: the built-in catalog lacks %s\n", plan[i].id);
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
	/* 1. matrix-vector products of Llama-3.1-8B's FFN shape over matrices
	 * far beyond the L2 cache: how the types compare */
	static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_F16};
	const int nt = (int)(sizeof types / sizeof types[0]);
	for (int i = 0; i < nt; i++) {
		if (show)
			fprintf(stderr, "\rcalibrating the GPU: %-5s matrix-vector (%d of %d)...          ",
				mdb_qtype(types[i])->name, i + 1, nt);
		const size_t bytes = kern_row_bytes(types[i], 4096) * 14336;
		const int n_mats = (int)(((size_t)512 << 20) / bytes) + 2;
		struct kern_bench b;
		if (kern_cuda_bench_matvec(cu, types[i], 14336, 4096, n_mats, 4 * n_mats, 9, &b, err, sizeof err)) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
		/* and 64 tokens at once, as prefill runs them (Q4_0 and Q8_0
		 * through the tensor cores, the others by dp4a): how the types
		 * compare in prefill */
		struct kern_bench bm;
		if (kern_cuda_bench_matmul(cu, types[i], 14336, 4096, 64, n_mats, n_mats, 5, &bm, err, sizeof err)) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
		c->t[c->n].type = types[i];
		c->t[c->n].matvec_gbps = b.median_gbps;
		c->t[c->n].matmul_tflops = 2.0 * 14336 * 4096 * 64 / bm.median_s / 1e12;
		c->n++;
	}
	/* 2. synthetic models end to end */
	const int prompt = 128, gen = 64;
	for (int i = 0; i < N_FIT + N_CHK; i++) {
		if (show)
			fprintf(stderr, "\rcalibrating the GPU: %s, %d layers, %s...            ", plan[i].id,
				plan[i].layers, mdb_qtype(plan[i].type)->name);
		if (run_synth(cu, mdb_models_find(&models, plan[i].id), plan[i].type, plan[i].layers, prompt, gen,
			      &runs[i], err, sizeof err)) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
	}
	/* 3. the fit. Decode: t = bytes / (bandwidth x f) + layers x c + t0,
	 * linear in (1/f, c, t0), the bytes term from the simulator at f = 1.
	 * Prefill: t = flops / (peak x mm) + layers x cp + s0, the flops term
	 * from the simulator at mm = 1 with memory made free. Least squares in
	 * relative error over the fit runs, every term >= 0. */
	*hfast = *h;
	hfast->accel[0].memory_bandwidth_gbps = 1e9;
	double A[N_FIT][3], bd[N_FIT], P[N_FIT][3], bp[N_FIT];
	for (int i = 0; i < N_FIT; i++) {
		struct sim_eff e;
		sim_eff_default("llmcap", &e, err, sizeof err);
		e.gpu_bw = 1;
		e.gpu_mm = 1;
		e.layer_gpu_s = e.token_s = 0;
		e.layer_gpu_pp_s = e.step_pp_s = 0;
		if (predict(h, &runs[i], &e, prompt, gen, p) != 0)
			goto out;
		A[i][0] = 1.0 / p->decode_tps;
		A[i][1] = runs[i].m.n_layer;
		A[i][2] = 1;
		bd[i] = 1.0 / runs[i].tg;
		if (predict(hfast, &runs[i], &e, prompt, gen, p) != 0)
			goto out;
		P[i][0] = prompt / p->prefill_tps;
		P[i][1] = runs[i].m.n_layer;
		P[i][2] = 1;
		bp[i] = prompt / runs[i].pp;
	}
	double xd[3], xp[3];
	if (lsq_nonneg(N_FIT, A, bd, xd) != 0 || lsq_nonneg(N_FIT, P, bp, xp) != 0) {
		fprintf(stderr, "\nllmcap calibrate: the fit failed (no positive solution)\n");
		goto out;
	}
	int k0 = 0;
	for (int i = 0; i < c->n; i++)
		if (c->t[i].type == QT_Q4_0)
			k0 = i;
	const double f0 = 1.0 / xd[0];
	for (int i = 0; i < c->n; i++) {   /* each type by its matrix-vector rate relative to Q4_0 */
		c->t[i].bw_frac = f0 * c->t[i].matvec_gbps / c->t[k0].matvec_gbps;
		/* prefill likewise by the 64-token products */
		c->t[i].mm_frac = fmin(1.0, 1.0 / xp[0] * c->t[i].matmul_tflops / c->t[k0].matmul_tflops);
	}
	c->layer_s = xd[1];
	c->token_s = xd[2];
	c->mm_frac = fmin(1.0, 1.0 / xp[0]);
	c->layer_pp_s = xp[1];
	c->step_pp_s = xp[2];
	c->band = 1;
	/* 4. residuals: the fit runs, then the check runs (a width the fit
	 * did not see) */
	double worst = 0;
	for (int i = 0; i < N_FIT + N_CHK; i++) {
		struct sim_eff e;
		sim_eff_default("llmcap", &e, err, sizeof err);
		gcal_apply(c, &runs[i].w, 1, &e);
		if (predict(h, &runs[i], &e, prompt, gen, p) != 0)
			goto out;
		const double ed = 100 * (p->decode_tps - runs[i].tg) / runs[i].tg;
		const double ep = 100 * (p->prefill_tps - runs[i].pp) / runs[i].pp;
		if (i < N_FIT) {
			const int k = c->n_fit++;
			snprintf(c->fit_what[k], sizeof c->fit_what[k], "%s, %d layers, %s", plan[i].id,
				 plan[i].layers, mdb_qtype(plan[i].type)->name);
			c->fit_decode[k] = ed;
			c->fit_prefill[k] = ep;
		} else {
			const int k = c->n_res++;
			snprintf(c->res_what[k], sizeof c->res_what[k], "%s, %d layers, %s", plan[i].id,
				 plan[i].layers, mdb_qtype(plan[i].type)->name);
			c->res_decode[k] = ed;
			c->res_prefill[k] = ep;
		}
		worst = fmax(worst, fmax(fabs(ed), fabs(ep)));
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
		printf("  %-6s %12s %8s %13s %15s %14s\n", "type", "matvec GB/s", "of copy", "decode share",
		       "64-token TFLOPS", "prefill share");
		for (int i = 0; i < c->n; i++)
			printf("  %-6s %12.0f %7.0f%% %12.0f%% %15.1f %13.2f%%\n", mdb_qtype(c->t[i].type)->name,
			       c->t[i].matvec_gbps, 100 * c->t[i].matvec_gbps / c->copy_gbps, 100 * c->t[i].bw_frac,
			       c->t[i].matmul_tflops, 100 * c->t[i].mm_frac);
		printf("  (decode share: of the probe's bandwidth; prefill share: of its FP16 peak)\n");
		printf("\n  decode fixed costs: %.1f us per layer, %.0f us per token\n", c->layer_s * 1e6,
		       c->token_s * 1e6);
		printf("  prefill: %.1f%% of the FP16 peak (%.0f TFLOPS measured by the probe) for Q4_0, the others by "
		       "their 64-token products; %.1f us per layer and %.0f us per micro-batch\n", 100 * c->mm_frac,
		       g->fp16_tflops, c->layer_pp_s * 1e6, c->step_pp_s * 1e6);
		printf("  the fit's own runs (prediction error):\n");
		for (int i = 0; i < c->n_fit; i++)
			printf("    %-30s decode %+6.1f%%  prefill %+6.1f%%\n", c->fit_what[i], c->fit_decode[i],
			       c->fit_prefill[i]);
		printf("  check on a width the fit did not see:\n");
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
	free(hfast);
	free(c);
	free(p);
	free(runs);
	return rc;
}
