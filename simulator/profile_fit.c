/* simulator: fitting an engine profile to timed runs — the run record
 * (llmcap.enginebench/1), llama-bench's JSON output, and a damped
 * Gauss-Newton (Levenberg-Marquardt) fit of log(tokens/s) through
 * sim_predict itself, so a profile reproduces its runs through the same
 * code that predicts for everyone else. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "simulator/profile.h"
#include "simulator/profile_int.h"

#define BENCH_SCHEMA "llmcap.enginebench/1"
#define MAXP (2 * SIM_PROF_TYPES + 6)
#define MAXR (SIM_PROF_RUNS + MAXP)

static int is_cpu(const struct sim_bench *b)
{
	return strcmp(b->backend, "cpu") == 0;
}

int sim_bench_add(struct sim_bench *b, const struct mdb_model *m, int type, int n_prompt,
		  int n_gen, int threads, int gpu_layers, double tps, double tps_sd, char *err,
		  size_t errlen)
{
	if (b->n >= SIM_PROF_RUNS)
		return pj_fail(err, errlen, "more than %d runs", SIM_PROF_RUNS);
	if (!((n_prompt > 0) ^ (n_gen > 0)) || n_prompt > 65536 || n_gen > 65536)
		return pj_fail(err, errlen, "a run is a prompt test (n_prompt > 0, n_gen 0) or a "
			    "generation test (n_prompt 0, n_gen > 0); got n_prompt %d, n_gen %d",
			    n_prompt, n_gen);
	if (!(tps > 0) || !isfinite(tps))
		return pj_fail(err, errlen, "a run's tokens/s must be a positive number");
	struct sim_bench_run *r = &b->r[b->n];
	memset(r, 0, sizeof *r);
	snprintf(r->model, sizeof r->model, "%s", m->id);
	r->m = *m;
	r->type = type;
	r->n_layer = m->n_layer;
	if (sim_weights_pure(&r->m, type, &r->w, err, errlen) != 0)
		return -2;
	r->n_prompt = n_prompt;
	r->n_gen = n_gen;
	r->threads = threads;
	r->gpu_layers = gpu_layers;
	r->tps = tps;
	r->tps_sd = isfinite(tps_sd) && tps_sd >= 0 ? tps_sd : 0;
	r->fit_tps = NAN;
	b->n++;
	return 0;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

int sim_bench_add_llama_bench(struct sim_bench *b, const char *text, size_t len,
			      const char *origin, const struct mdb_model *m, int type,
			      char *err, size_t errlen)
{
	cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (!j)
		return pj_fail(err, errlen, "%s: not valid JSON (llama-bench -o json prints an array)",
			    origin);
	int rc = 0, i = 0;
	if (!cJSON_IsArray(j) || !j->child) {
		rc = pj_fail(err, errlen, "%s: expected llama-bench's JSON array of tests", origin);
		goto out;
	}
	for (const cJSON *t = j->child; t; t = t->next, i++) {
		double np = jnum(t, "n_prompt"), ng = jnum(t, "n_gen"), th = jnum(t, "n_threads"),
		       ngl = jnum(t, "n_gpu_layers"), ts = jnum(t, "avg_ts"), sd = jnum(t, "stddev_ts");
		if (!cJSON_IsObject(t) || !isfinite(np) || !isfinite(ng) || !isfinite(ts) ||
		    np < 0 || ng < 0 || np > 65536 || ng > 65536) {
			rc = pj_fail(err, errlen, "%s: test %d lacks n_prompt, n_gen or avg_ts", origin, i);
			goto out;
		}
		if (np > 0 && ng > 0)
			continue; /* a combined pg test: not used by the fit */
		if ((rc = sim_bench_add(b, m, type, (int)np, (int)ng,
					isfinite(th) && th > 0 && th < 1e5 ? (int)th : 0,
					isfinite(ngl) && ngl > 0 && ngl < 1e5 ? (int)ngl : 0, ts, sd,
					err, errlen))) {
			char e2[300];
			snprintf(e2, sizeof e2, "%s", err);
			rc = pj_fail(err, errlen, "%s: test %d: %s", origin, i, e2);
			goto out;
		}
		const char *commit = jstr(t, "build_commit");
		double bn = jnum(t, "build_number");
		if (!b->engine_version[0] && commit)
			snprintf(b->engine_version, sizeof b->engine_version, "llama.cpp b%.0f (%.12s)",
				 isfinite(bn) ? bn : 0, commit);
	}
out:
	cJSON_Delete(j);
	return rc;
}

int sim_bench_set_hw(struct sim_bench *b, const char *hw_json, char *err, size_t errlen)
{
	cJSON *j = hw_json ? cJSON_Parse(hw_json) : NULL;
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return pj_fail(err, errlen, "the machine's hardware description is not a JSON object");
	}
	cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (cJSON_IsString(id) && id->valuestring && strcmp(id->valuestring, "this") == 0)
		cJSON_SetValuestring(id, "bench-machine");
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return pj_fail(err, errlen, "out of memory");
	int rc = 0;
	if (strlen(s) >= sizeof b->hw_json)
		rc = pj_fail(err, errlen, "the hardware description is longer than %zu bytes",
			  sizeof b->hw_json - 1);
	else if (mdb_hw_parse(s, strlen(s), "hardware", &b->hw, err, errlen) != 0)
		rc = -2;
	else
		memcpy(b->hw_json, s, strlen(s) + 1);
	free(s);
	return rc;
}

int sim_bench_parse(const char *text, size_t len, const char *origin, struct sim_bench *b,
		    char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	if (!origin)
		origin = "input";
	cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (!j)
		return pj_fail(err, errlen, "%s: not valid JSON", origin);
	struct mdb_models cat = {0};
	int rc = 0;
	char schema[40];
	if (!cJSON_IsObject(j)) {
		rc = pj_fail(err, errlen, "%s: expected a %s object", origin, BENCH_SCHEMA);
		goto out;
	}
	if ((rc = pj_str(j, "schema", 1, schema, sizeof schema, origin, err, errlen)))
		goto out;
	if (strcmp(schema, BENCH_SCHEMA)) {
		rc = pj_fail(err, errlen, "%s: schema \"%s\": expected \"%s\"", origin, schema, BENCH_SCHEMA);
		goto out;
	}
	if ((rc = pj_str(j, "engine", 1, b->engine, sizeof b->engine, origin, err, errlen)) ||
	    (rc = pj_str(j, "backend", 1, b->backend, sizeof b->backend, origin, err, errlen)) ||
	    (rc = pj_str(j, "machine", 0, b->machine, sizeof b->machine, origin, err, errlen)) ||
	    (rc = pj_str(j, "when", 0, b->when, sizeof b->when, origin, err, errlen)) ||
	    (rc = pj_str(j, "engine_version", 0, b->engine_version, sizeof b->engine_version,
			       origin, err, errlen)) ||
	    (rc = pj_str(j, "fingerprint", 0, b->fingerprint, sizeof b->fingerprint, origin, err,
			       errlen)))
		goto out;
	if (strcmp(b->engine, "llama.cpp") && strcmp(b->engine, "llmcap")) {
		rc = pj_fail(err, errlen, "%s: engine \"%s\": expected llama.cpp or llmcap", origin, b->engine);
		goto out;
	}
	if (strcmp(b->backend, "cpu") && strcmp(b->backend, "cuda") && strcmp(b->backend, "metal") &&
	    strcmp(b->backend, "vulkan") && strcmp(b->backend, "rocm")) {
		rc = pj_fail(err, errlen, "%s: backend \"%s\": expected cpu, cuda, metal, vulkan or rocm",
			  origin, b->backend);
		goto out;
	}
	const cJSON *hw = cJSON_GetObjectItemCaseSensitive(j, "hardware");
	if (!cJSON_IsObject(hw)) {
		rc = pj_fail(err, errlen, "%s: \"hardware\" must be the machine's llmcap.hardware/1 object",
			  origin);
		goto out;
	}
	char *hs = cJSON_PrintUnformatted(hw);
	char e2[400] = "";
	rc = hs ? sim_bench_set_hw(b, hs, e2, sizeof e2) : -2;
	free(hs);
	if (rc) {
		rc = pj_fail(err, errlen, "%s: %s", origin, e2[0] ? e2 : "out of memory");
		goto out;
	}
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs");
	if (!cJSON_IsArray(runs)) {
		rc = pj_fail(err, errlen, "%s: \"runs\" must be an array", origin);
		goto out;
	}
	if ((rc = mdb_models_load_builtin(&cat, e2, sizeof e2))) {
		rc = pj_fail(err, errlen, "%s", e2);
		goto out;
	}
	int i = 0;
	for (const cJSON *x = runs->child; x; x = x->next, i++) {
		const char *id = jstr(x, "model"), *ty = jstr(x, "type");
		double layers = jnum(x, "layers"), np = jnum(x, "n_prompt"), ng = jnum(x, "n_gen"),
		       th = jnum(x, "threads"), ngl = jnum(x, "gpu_layers"), ts = jnum(x, "tps"),
		       sd = jnum(x, "tps_sd");
		const struct mdb_model *m = id ? mdb_models_find(&cat, id) : NULL;
		const struct mdb_qtraits *q = ty ? mdb_qtype_by_name(ty) : NULL;
		if (!m || !q || !isfinite(layers) || layers < 1 || layers > m->n_layer ||
		    !isfinite(np) || !isfinite(ng)) {
			rc = pj_fail(err, errlen, "%s: runs[%d]: needs model (a catalog id), type (Q4_0, ...), "
				  "layers (1 to the model's), n_prompt and n_gen", origin, i);
			goto out;
		}
		struct mdb_model mm = *m;
		mm.n_layer = (int)layers;
		if ((rc = sim_bench_add(b, &mm, q->id, (int)np, (int)ng,
					isfinite(th) && th > 0 && th < 1e5 ? (int)th : 0,
					isfinite(ngl) && ngl > 0 && ngl < 1e5 ? (int)ngl : 0, ts, sd, e2,
					sizeof e2))) {
			rc = pj_fail(err, errlen, "%s: runs[%d]: %s", origin, i, e2);
			goto out;
		}
	}
	if (b->n == 0)
		rc = pj_fail(err, errlen, "%s: no runs", origin);
out:
	mdb_models_free(&cat);
	cJSON_Delete(j);
	return rc;
}

char *sim_bench_json(const struct sim_bench *b)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "schema", BENCH_SCHEMA);
	cJSON_AddStringToObject(j, "engine", b->engine);
	cJSON_AddStringToObject(j, "backend", b->backend);
	cJSON_AddStringToObject(j, "machine", b->machine);
	cJSON_AddStringToObject(j, "when", b->when);
	cJSON_AddStringToObject(j, "engine_version", b->engine_version);
	if (b->fingerprint[0])
		cJSON_AddStringToObject(j, "fingerprint", b->fingerprint);
	cJSON *hw = cJSON_Parse(b->hw_json);
	if (hw)
		cJSON_AddItemToObject(j, "hardware", hw);
	cJSON *arr = cJSON_AddArrayToObject(j, "runs");
	for (int i = 0; arr && i < b->n; i++) {
		const struct sim_bench_run *r = &b->r[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddItemToArray(arr, o);
		char ty[16];
		sim_type_name(r->type, ty, sizeof ty);
		cJSON_AddStringToObject(o, "model", r->model);
		cJSON_AddStringToObject(o, "type", ty);
		cJSON_AddNumberToObject(o, "layers", r->n_layer);
		cJSON_AddNumberToObject(o, "n_prompt", r->n_prompt);
		cJSON_AddNumberToObject(o, "n_gen", r->n_gen);
		cJSON_AddNumberToObject(o, "threads", r->threads);
		cJSON_AddNumberToObject(o, "gpu_layers", r->gpu_layers);
		cJSON_AddNumberToObject(o, "tps", round(r->tps * 1000) / 1000);
		cJSON_AddNumberToObject(o, "tps_sd", round(r->tps_sd * 1000) / 1000);
		if (isfinite(r->fit_tps))
			cJSON_AddNumberToObject(o, "fit_tps", round(r->fit_tps * 1000) / 1000);
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

double sim_bench_predict(const struct sim_bench *b, const struct sim_bench_run *r,
			 const struct sim_eff *e)
{
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = r->n_prompt + r->n_gen < 16 ? 16 : r->n_prompt + r->n_gen;
	wl.prompt = r->n_prompt;
	wl.gen = r->n_gen;
	wl.gpu_layers = r->gpu_layers > 0 ? -1 : 0;
	struct sim_pred *p = malloc(sizeof *p);
	if (!p)
		return NAN;
	char err[256];
	double v = NAN;
	if (sim_predict(&b->hw, &r->m, &r->w, &wl, e, p, err, sizeof err) == 0 && p->fits) {
		if (r->n_prompt > 0)
			v = p->prefill_tps;
		else if (p->total_s > 0)
			v = r->n_gen / p->total_s;
	}
	free(p);
	return v;
}

/* ---- the fit ------------------------------------------------------------ */

struct fit {
	struct sim_bench *b;
	int threads;               /* runs at this thread count only */
	int n_types, types[SIM_PROF_TYPES];
	int bw_i[SIM_PROF_TYPES], mm_i[SIM_PROF_TYPES];  /* parameter index or -1 */
	int layer_i, token_i, lpp_i, spp_i;   /* spp/lpp -1 without prefill runs */
	int k0_i;                             /* -1 unless prefill runs span two widths */
	int bk0_i;                            /* -1 unless generation runs span two widths */
	int np;
	double x0[MAXP];           /* prior (log) */
	double prior_w;
	/* thread-scaling mode: x = (log bw_scale, log mm_scale) over base */
	int scale_mode;
	const struct sim_profile *base;
};

static void eff_of(const struct fit *f, const double *x, int type, struct sim_eff *e)
{
	sim_eff_default(f->b->engine, e, NULL, 0);
	int ti = -1;
	for (int k = 0; k < f->n_types; k++)
		if (f->types[k] == type)
			ti = k;
	double bw, mm, ls, ts, lpp = NAN, spp = NAN, k0 = 0, bk0 = 0;
	if (f->scale_mode) {
		const struct sim_profile *p = f->base;
		bw = mm = NAN;
		for (int k = 0; k < p->n_types; k++)
			if (p->t[k].type == type)
				bw = p->t[k].bw, mm = p->t[k].mm;
		bw *= exp(x[0]);
		mm *= exp(x[1]);
		ls = p->layer_s;
		ts = p->token_s;
		lpp = p->layer_pp_s;
		spp = p->step_pp_s;
		k0 = p->mm_k0;
		bk0 = p->bw_k0;
	} else {
		bw = ti >= 0 && f->bw_i[ti] >= 0 ? exp(x[f->bw_i[ti]]) : 0.5;
		mm = ti >= 0 && f->mm_i[ti] >= 0 ? exp(x[f->mm_i[ti]]) : 0.3;
		ls = exp(x[f->layer_i]);
		ts = exp(x[f->token_i]);
		if (f->lpp_i >= 0)
			lpp = exp(x[f->lpp_i]), spp = exp(x[f->spp_i]);
		if (f->k0_i >= 0)
			k0 = exp(x[f->k0_i]);
		if (f->bk0_i >= 0)
			bk0 = exp(x[f->bk0_i]);
	}
	e->step_pp_s = spp;
	e->mm_k0 = k0;
	e->bw_k0 = bk0;
	if (!isfinite(mm))
		mm = 0.3;
	if (!isfinite(bw))
		bw = 0.5;
	if (is_cpu(f->b)) {
		e->host_bw = bw, e->host_mm = mm, e->host_vec = 1.0, e->layer_host_s = ls;
		e->layer_host_pp_s = lpp;
	} else {
		e->gpu_bw = bw, e->gpu_mm = mm, e->layer_gpu_s = ls;
		e->layer_gpu_pp_s = lpp;
	}
	e->token_s = ts;
}

/* Residuals: log(predicted / measured) per run of the fit's thread
 * count, then the prior terms. Returns the count; NAN-free or -1. */
static int residuals(const struct fit *f, const double *x, double *r)
{
	int m = 0;
	for (int i = 0; i < f->b->n; i++) {
		struct sim_bench_run *run = &f->b->r[i];
		if (run->threads != f->threads)
			continue;
		struct sim_eff e;
		eff_of(f, x, run->type, &e);
		double v = sim_bench_predict(f->b, run, &e);
		if (!(v > 0))
			return -1;
		r[m++] = log(v / run->tps);
	}
	if (!f->scale_mode)
		for (int k = 0; k < f->np; k++) /* the width terms have no default to pull toward */
			r[m++] = k == f->k0_i || k == f->bk0_i ? 0 : f->prior_w * (x[k] - f->x0[k]);
	return m;
}

static double cost(const double *r, int m)
{
	double s = 0;
	for (int i = 0; i < m; i++)
		s += r[i] * r[i];
	return s;
}

/* Solves A x = y (n x n, row-major, destroyed) by Gaussian elimination
 * with partial pivoting. 0, or -1 when singular. */
static int solve(double *A, double *y, int n)
{
	for (int c = 0; c < n; c++) {
		int p = c;
		for (int i = c + 1; i < n; i++)
			if (fabs(A[i * n + c]) > fabs(A[p * n + c]))
				p = i;
		if (fabs(A[p * n + c]) < 1e-300)
			return -1;
		if (p != c) {
			for (int k = 0; k < n; k++) {
				double t = A[c * n + k];
				A[c * n + k] = A[p * n + k];
				A[p * n + k] = t;
			}
			double t = y[c];
			y[c] = y[p];
			y[p] = t;
		}
		for (int i = c + 1; i < n; i++) {
			double f = A[i * n + c] / A[c * n + c];
			for (int k = c; k < n; k++)
				A[i * n + k] -= f * A[c * n + k];
			y[i] -= f * y[c];
		}
	}
	for (int c = n - 1; c >= 0; c--) {
		double s = y[c];
		for (int k = c + 1; k < n; k++)
			s -= A[c * n + k] * y[k];
		y[c] = s / A[c * n + c];
	}
	return 0;
}

static void clamp(const struct fit *f, double *x, int n)
{
	for (int k = 0; k < n; k++) {
		double lo = log(1e-4), hi = log(5.0);
		if (!f->scale_mode && (k == f->layer_i || k == f->token_i || k == f->lpp_i ||
				       k == f->spp_i))
			lo = log(1e-9), hi = log(0.05);
		if (!f->scale_mode && (k == f->k0_i || k == f->bk0_i))
			lo = log(1), hi = log(1e5);
		if (x[k] < lo)
			x[k] = lo;
		if (x[k] > hi)
			x[k] = hi;
	}
}

/* Levenberg-Marquardt on x[0..n). 0, or -1 when a prediction failed. */
static int lm(const struct fit *f, double *x, int n)
{
	static const int maxit = 80;
	double r[MAXR], r2[MAXR], J[MAXR * MAXP], xt[MAXP];
	int m = residuals(f, x, r);
	if (m < 0)
		return -1;
	double c = cost(r, m), lambda = 1e-3;
	for (int it = 0; it < maxit; it++) {
		for (int k = 0; k < n; k++) {
			memcpy(xt, x, sizeof(double) * (size_t)n);
			double h = 1e-4;
			xt[k] += h;
			if (residuals(f, xt, r2) != m)
				return -1;
			for (int i = 0; i < m; i++)
				J[i * n + k] = (r2[i] - r[i]) / h;
		}
		double JtJ[MAXP * MAXP], g[MAXP];
		for (int a = 0; a < n; a++) {
			g[a] = 0;
			for (int i = 0; i < m; i++)
				g[a] += J[i * n + a] * r[i];
			for (int bb = 0; bb < n; bb++) {
				double s = 0;
				for (int i = 0; i < m; i++)
					s += J[i * n + a] * J[i * n + bb];
				JtJ[a * n + bb] = s;
			}
		}
		int improved = 0;
		for (int tries = 0; tries < 12 && !improved; tries++) {
			double A[MAXP * MAXP], d[MAXP];
			memcpy(A, JtJ, sizeof(double) * (size_t)(n * n));
			for (int a = 0; a < n; a++) {
				A[a * n + a] += lambda * (JtJ[a * n + a] + 1e-9);
				d[a] = -g[a];
			}
			if (solve(A, d, n) != 0) {
				lambda *= 10;
				continue;
			}
			for (int a = 0; a < n; a++)
				xt[a] = x[a] + d[a];
			clamp(f, xt, n);
			int m2 = residuals(f, xt, r2);
			double c2 = m2 == m ? cost(r2, m) : INFINITY;
			if (c2 < c) {
				double step = 0;
				for (int a = 0; a < n; a++)
					step = fmax(step, fabs(xt[a] - x[a]));
				memcpy(x, xt, sizeof(double) * (size_t)n);
				memcpy(r, r2, sizeof(double) * (size_t)m);
				double gain = c - c2;
				c = c2;
				lambda = fmax(lambda / 3, 1e-9);
				improved = 1;
				if (step < 1e-6 || gain < 1e-12)
					return 0;
			} else {
				lambda *= 4;
			}
		}
		if (!improved)
			return 0;
	}
	return 0;
}

int sim_profile_fit(struct sim_bench *b, struct sim_profile *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	if (b->n == 0)
		return pj_fail(err, errlen, "no runs to fit");
	struct fit f;
	memset(&f, 0, sizeof f);
	f.b = b;
	for (int i = 0; i < b->n; i++)
		if (b->r[i].threads > f.threads)
			f.threads = b->r[i].threads;
	if (!is_cpu(b))
		for (int i = 0; i < b->n; i++)
			if (b->r[i].gpu_layers <= 0)
				return pj_fail(err, errlen, "a %s profile is fitted on runs with every layer on "
					    "the GPU (-ngl 99); run %d has -ngl %d", b->backend, i,
					    b->r[i].gpu_layers);
	if (!is_cpu(b) && !b->hw.n_accel)
		return pj_fail(err, errlen, "the runs' machine has no GPU in its hardware description");
	struct sim_eff d;
	sim_eff_default(b->engine, &d, NULL, 0);
	/* parameters: per type bw (tg runs) and mm (pp runs), then the fixed costs */
	int have_tg = 0, have_pp = 0;
	for (int i = 0; i < b->n; i++) {
		const struct sim_bench_run *r = &b->r[i];
		if (r->threads != f.threads)
			continue;
		int k = 0;
		while (k < f.n_types && f.types[k] != r->type)
			k++;
		if (k == f.n_types) {
			if (f.n_types >= SIM_PROF_TYPES)
				return pj_fail(err, errlen, "more than %d tensor types", SIM_PROF_TYPES);
			f.types[f.n_types] = r->type;
			f.bw_i[k] = f.mm_i[k] = -1;
			f.n_types++;
		}
		if (r->n_gen > 0 && f.bw_i[k] < 0)
			f.bw_i[k] = f.np, f.x0[f.np++] = log(is_cpu(b) ? d.host_bw : d.gpu_bw);
		if (r->n_prompt > 0 && f.mm_i[k] < 0)
			f.mm_i[k] = f.np, f.x0[f.np++] = log(is_cpu(b) ? d.host_mm : d.gpu_mm);
		have_tg |= r->n_gen > 0;
		have_pp |= r->n_prompt > 0;
	}
	if (!have_tg)
		return pj_fail(err, errlen, "no generation (tg) runs: the decode factors need at least one");
	f.layer_i = f.np;
	f.x0[f.np++] = log(is_cpu(b) ? d.layer_host_s : d.layer_gpu_s);
	f.token_i = f.np;
	f.x0[f.np++] = log(d.token_s);
	f.lpp_i = f.spp_i = f.k0_i = f.bk0_i = -1;
	/* the width terms need runs of at least three widths (with two, the
	 * per-layer costs already separate them) */
	int pw[8], npw = 0, gw[8], ngw = 0;
	for (int i = 0; i < b->n; i++) {
		const struct sim_bench_run *r = &b->r[i];
		if (r->threads != f.threads)
			continue;
		int *v = r->n_prompt > 0 ? pw : gw, *nv = r->n_prompt > 0 ? &npw : &ngw, seen = 0;
		for (int k = 0; k < *nv; k++)
			seen |= v[k] == r->m.hidden;
		if (!seen && *nv < 8)
			v[(*nv)++] = r->m.hidden;
	}
	if (npw >= 3) {
		f.k0_i = f.np;
		f.x0[f.np++] = log(100.0);
	}
	if (ngw >= 3) {
		f.bk0_i = f.np;
		f.x0[f.np++] = log(100.0);
	}
	if (have_pp) {
		f.lpp_i = f.np;
		f.x0[f.np++] = log(is_cpu(b) ? d.layer_host_s : d.layer_gpu_s);
		f.spp_i = f.np;
		f.x0[f.np++] = log(d.token_s);
	}
	f.prior_w = 0.002;
	double x[MAXP];
	memcpy(x, f.x0, sizeof x);
	if (lm(&f, x, f.np) != 0)
		return pj_fail(err, errlen, "a run could not be predicted (its model does not fit the "
			    "machine's memory in the simulator)");
	/* the profile */
	snprintf(p->engine, sizeof p->engine, "%s", b->engine);
	snprintf(p->backend, sizeof p->backend, "%s", b->backend);
	snprintf(p->status, sizeof p->status, "measured");
	snprintf(p->machine, sizeof p->machine, "%s", b->machine);
	snprintf(p->when, sizeof p->when, "%s", b->when);
	snprintf(p->engine_version, sizeof p->engine_version, "%s", b->engine_version);
	snprintf(p->fingerprint, sizeof p->fingerprint, "%s", b->fingerprint);
	p->threads = is_cpu(b) ? f.threads : 0;
	p->layer_s = exp(x[f.layer_i]);
	p->token_s = exp(x[f.token_i]);
	p->layer_pp_s = f.lpp_i >= 0 ? exp(x[f.lpp_i]) : NAN;
	p->step_pp_s = f.spp_i >= 0 ? exp(x[f.spp_i]) : NAN;
	p->mm_k0 = f.k0_i >= 0 ? exp(x[f.k0_i]) : 0;
	p->bw_k0 = f.bk0_i >= 0 ? exp(x[f.bk0_i]) : 0;
	for (int k = 0; k < f.n_types; k++) {
		struct sim_prof_type *t = &p->t[p->n_types];
		t->type = f.types[k];
		if (f.bw_i[k] < 0)
			continue; /* a type with only prefill runs: no decode factor */
		t->bw = exp(x[f.bw_i[k]]);
		t->mm = f.mm_i[k] >= 0 ? exp(x[f.mm_i[k]]) : NAN;
		p->n_types++;
	}
	/* every run's prediction, the error */
	int n = 0;
	double maxe = 0;
	for (int i = 0; i < b->n; i++) {
		struct sim_bench_run *r = &b->r[i];
		if (r->threads != f.threads)
			continue;
		struct sim_eff e;
		eff_of(&f, x, r->type, &e);
		r->fit_tps = sim_bench_predict(b, r, &e);
		maxe = fmax(maxe, fabs(r->fit_tps / r->tps - 1));
		n++;
	}
	p->n_runs = n;
	p->max_err = maxe;
	p->band = fmax(0.10, 1.5 * maxe);
	/* fewer threads: one scale for decode and one for prefill */
	int done[SIM_PROF_THREADS] = {0};
	for (int i = 0; i < b->n && p->n_threads < SIM_PROF_THREADS; i++) {
		int th = b->r[i].threads;
		if (th == f.threads)
			continue;
		int seen = 0;
		for (int k = 0; k < p->n_threads; k++)
			seen |= done[k] == th;
		if (seen)
			continue;
		struct fit g = f;
		g.threads = th;
		g.scale_mode = 1;
		g.base = p;
		double s[2] = {0, 0};
		if (lm(&g, s, 2) != 0)
			continue;
		done[p->n_threads] = th;
		p->th[p->n_threads].threads = th;
		p->th[p->n_threads].bw_scale = exp(s[0]);
		p->th[p->n_threads].mm_scale = exp(s[1]);
		p->n_threads++;
		for (int k = 0; k < b->n; k++) {
			struct sim_bench_run *r = &b->r[k];
			if (r->threads != th)
				continue;
			struct sim_eff e;
			eff_of(&g, s, r->type, &e);
			r->fit_tps = sim_bench_predict(b, r, &e);
		}
	}
	snprintf(p->how, sizeof p->how,
		 "%s %s%s%s timed by llmcap on %s%s%s: %d runs (%s) of synthetic GGUF files, "
		 "fitted through llmcap's simulator (least squares on log tokens/s); largest "
		 "error %.1f%%",
		 b->engine, b->backend, b->engine_version[0] ? ", " : "", b->engine_version,
		 b->machine[0] ? b->machine : "this machine", b->when[0] ? ", " : "", b->when, n,
		 strcmp(b->engine, "llama.cpp") == 0 ? "llama-bench pp/tg tests" : "llmcap verify",
		 100 * maxe);
	return 0;
}
