/* cli: `llmcap calibrate` — microbenchmarks and small end-to-end runs of
 * llmcap's kernels on this machine, fitted into the simulator's
 * efficiency factors for the llmcap engine and checked on a model the fit
 * did not see; written to $XDG_CACHE_HOME/llmcap/calibration.json
 * (llmcap.calibration/1) and used by plan/verify for --hw this. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "kernels/kernels.h"
#include "probe/probe.h"
#include "reports/report.h"

#define CALIB_FILE "calibration.json"
#define CALIB_SCHEMA "llmcap.calibration/1"
#define MAX_T 10

struct calib_type {
	int type;
	double matvec_gbps, bw_frac, mm_frac;
	double matvec_narrow_gbps;   /* 1024 columns */
	double mm_frac_1b;           /* prefill share measured at width 2048 */
	double bw_range[2], mm_range[2]; /* lowest and highest over the rounds */
};

struct calib {
	char fingerprint[24];
	int64_t created;
	int threads;
	double read_gbps;            /* the reference read bandwidth: the shares of it
				      * decode reaches are of this figure (see calib_pass) */
	int n;
	struct calib_type t[MAX_T];
	double layer_s, token_s, band;
	/* width terms: a model of hidden size h streams at bw_frac x h / (h +
	 * bw_k0) and reaches mm_frac x h / (h + mm_k0) of the peak */
	double bw_k0, mm_k0;
	/* attention, seconds per attention FLOP (simulator's attn_fpc x
	 * positions), decode and prefill, from the Q4_0 runs at two prompts */
	double attn_s, attn_pp_s;
	int attn_prompt[2];
	double attn_tg[2], attn_pp[2];
	int rounds;                  /* passes of measurements; each factor their median */
	double layer_range[2], attn_range[2], read_range[2];
	int n_res;
	char res_what[8][64];
	double res_decode[8], res_prefill[8];
};

/* ---- the file ------------------------------------------------------------ */
static char *calib_json(const struct calib *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", CALIB_SCHEMA);
	cJSON_AddStringToObject(o, "engine", "llmcap");
	cJSON_AddStringToObject(o, "fingerprint", c->fingerprint);
	cJSON_AddNumberToObject(o, "created_unix", (double)c->created);
	cJSON_AddNumberToObject(o, "threads", c->threads);
	cJSON_AddNumberToObject(o, "probe_read_gbps", c->read_gbps);
	if (c->rounds > 0)
		cJSON_AddNumberToObject(o, "rounds", c->rounds);
	cJSON *ts = cJSON_AddArrayToObject(o, "types");
	for (int i = 0; i < c->n; i++) {
		cJSON *x = cJSON_CreateObject();
		const struct mdb_qtraits *q = mdb_qtype(c->t[i].type);
		cJSON_AddStringToObject(x, "type", q ? q->name : "?");
		cJSON_AddNumberToObject(x, "matvec_gbps", c->t[i].matvec_gbps);
		cJSON_AddNumberToObject(x, "decode_bandwidth_fraction", c->t[i].bw_frac);
		cJSON_AddNumberToObject(x, "prefill_compute_fraction", c->t[i].mm_frac);
		if (c->rounds > 1) {
			const double *rr[2] = {c->t[i].bw_range, c->t[i].mm_range};
			const char *rn[2] = {"decode_bandwidth_fraction_range", "prefill_compute_fraction_range"};
			for (int k = 0; k < 2; k++) {
				cJSON *a = cJSON_AddArrayToObject(x, rn[k]);
				cJSON_AddItemToArray(a, cJSON_CreateNumber(rr[k][0]));
				cJSON_AddItemToArray(a, cJSON_CreateNumber(rr[k][1]));
			}
		}
		cJSON_AddNumberToObject(x, "matvec_gbps_1024_wide", c->t[i].matvec_narrow_gbps);
		cJSON_AddItemToArray(ts, x);
	}
	cJSON_AddNumberToObject(o, "layer_s", c->layer_s);
	cJSON_AddNumberToObject(o, "decode_width_k0", c->bw_k0);
	cJSON_AddNumberToObject(o, "prefill_width_k0", c->mm_k0);
	cJSON_AddNumberToObject(o, "token_s", c->token_s);
	cJSON_AddNumberToObject(o, "attention_decode_s_per_flop", c->attn_s);
	cJSON_AddNumberToObject(o, "attention_prefill_s_per_flop", c->attn_pp_s);
	cJSON *ar = cJSON_AddArrayToObject(o, "attention_runs");
	for (int i = 0; i < 2; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "prompt", c->attn_prompt[i]);
		cJSON_AddNumberToObject(x, "decode_tps", c->attn_tg[i]);
		cJSON_AddNumberToObject(x, "prefill_tps", c->attn_pp[i]);
		cJSON_AddItemToArray(ar, x);
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

static double jget(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int calib_load(struct calib *c)
{
	char path[4096], err[256];
	if (cli_cache_file(CALIB_FILE, 0, path, sizeof path, err, sizeof err) != 0 || access(path, R_OK) != 0)
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
	int ok = cJSON_IsString(sc) && !strcmp(sc->valuestring, CALIB_SCHEMA) && cJSON_IsString(fp);
	if (ok) {
		snprintf(c->fingerprint, sizeof c->fingerprint, "%s", fp->valuestring);
		c->created = (int64_t)jget(o, "created_unix");
		c->threads = (int)jget(o, "threads");
		c->read_gbps = jget(o, "probe_read_gbps");
		if (!(c->read_gbps > 0 && c->read_gbps < 1e5))
			c->read_gbps = 0; /* then the shares apply to the figure given */
		c->layer_s = jget(o, "layer_s");
		c->token_s = jget(o, "token_s");
		c->band = jget(o, "error_band");
		c->bw_k0 = jget(o, "decode_width_k0");
		c->mm_k0 = jget(o, "prefill_width_k0");
		if (!(c->bw_k0 >= 0 && c->bw_k0 < 1e5))
			c->bw_k0 = 0;
		if (!(c->mm_k0 >= 0 && c->mm_k0 < 1e5))
			c->mm_k0 = 0;
		c->attn_s = jget(o, "attention_decode_s_per_flop");
		c->attn_pp_s = jget(o, "attention_prefill_s_per_flop");
		if (!(c->attn_s > 0 && c->attn_s < 1e-6) || !(c->attn_pp_s > 0 && c->attn_pp_s < 1e-6))
			c->attn_s = c->attn_pp_s = 0; /* a file from before attention was timed */
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "types"))
		{
			if (c->n >= MAX_T)
				break;
			const cJSON *tn = cJSON_GetObjectItemCaseSensitive(x, "type");
			const struct mdb_qtraits *q = cJSON_IsString(tn) ? mdb_qtype_by_name(tn->valuestring) : NULL;
			double bw = jget(x, "decode_bandwidth_fraction"), mm = jget(x, "prefill_compute_fraction");
			if (!q || !(bw > 0 && bw < 4) || !(mm > 0 && mm <= 1))
				continue;
			c->t[c->n].type = q->id;
			c->t[c->n].bw_frac = bw;
			c->t[c->n].mm_frac = mm;
			c->n++;
		}
		ok = c->n > 0 && c->layer_s >= 0 && c->layer_s < 0.1 && c->token_s >= 0 && c->band > 0 &&
			c->band < 5;
	}
	cJSON_Delete(o);
	return ok ? 0 : -1;
}

/* The factors for w's main type into e. The simulator multiplies the
 * share of bandwidth by the figure it is given (h_gbps: the cached
 * profile's for plan, the one verify measures now): rescaled so that the
 * product is the rate calibrate measured, whatever that figure is. */
static void apply(const struct calib *c, const struct sim_weights *w, double h_gbps, struct sim_eff *e)
{
	int k = -1;
	for (int i = 0; i < c->n; i++)
		if (c->t[i].type == w->main_type)
			k = i;
	double bw = 0, mm = 0;
	if (k >= 0) {
		bw = c->t[k].bw_frac;
		mm = c->t[k].mm_frac;
	} else {
		for (int i = 0; i < c->n; i++)
			bw += c->t[i].bw_frac / c->n, mm += c->t[i].mm_frac / c->n;
	}
	const double gbps = bw * c->read_gbps; /* decode's rate as measured */
	e->host_bw = h_gbps > 0 && c->read_gbps > 0 ? gbps / h_gbps : bw;
	e->host_mm = mm;
	e->host_vec = 1.0; /* the matrix-vector benchmark already holds decode's compute limits */
	e->layer_host_s = c->layer_s;
	e->token_s = c->token_s;
	/* prefill as llmcap runs it: micro-batches of 128 tokens, no per-layer
	 * cost of its own (the fit of the prefill share absorbs it) */
	e->ubatch = 128;
	e->layer_host_pp_s = 0;
	e->attn_host_s = c->attn_s;
	e->attn_host_pp_s = c->attn_pp_s;
	e->attn_threads = c->threads;
	e->bw_k0 = c->bw_k0;
	e->mm_k0 = c->mm_k0;
	e->band = c->band;
	e->calibrated = 1;
	char when[32] = "";
	time_t t = (time_t)c->created;
	struct tm tmv;
	if (gmtime_r(&t, &tmv))
		strftime(when, sizeof when, "%Y-%m-%d", &tmv);
	const struct mdb_qtraits *q = mdb_qtype(w->main_type);
	char dec[128];
	if (c->read_gbps > 0)
		snprintf(dec, sizeof dec, "streams %.1f GB/s (%.0f%% of the %.1f GB/s read bandwidth it measured)",
			 gbps, 100 * bw, c->read_gbps);
	else
		snprintf(dec, sizeof dec, "reaches %.0f%% of the probe's read bandwidth", 100 * bw);
	snprintf(e->source, sizeof e->source,
		 "measured: llmcap calibrate on this machine %s, %d threads: %s decode %s, prefill %.0f%% of the "
		 "compute peak, %.0f us per layer per step%s",
		 when, c->threads, k >= 0 && q ? q->name : "all types (mean)", dec, 100 * mm,
		 c->layer_s * 1e6, c->attn_s > 0 ? ", attention timed at two context lengths" :
		 " (attention not timed: calibrated by an older llmcap; rerun llmcap calibrate)");
}

static int cpu_calibration_apply(const struct hw_spec *h, const struct sim_weights *w, int threads,
				 struct sim_eff *e)
{
	if (strcmp(e->engine, "llmcap") != 0 || !h->measured || !h->fingerprint[0])
		return -1;
	struct calib c;
	if (calib_load(&c) != 0 || strcmp(c.fingerprint, h->fingerprint) != 0)
		return -1;
	if (threads > 0 && c.threads > 0 && threads != c.threads)
		return -1; /* calibrated for another thread count */
	apply(&c, w, h->host.memory_bandwidth_gbps, e);
	return 0;
}

int cli_calibration_apply(const struct hw_spec *h, const struct sim_weights *w, int threads,
			  struct sim_eff *e)
{
	int rc = cpu_calibration_apply(h, w, threads, e);
	if (cli_calibration_gpu_apply(h, w, e) == 0) /* cli/gpu.c: calibrate --device gpu */
		rc = 0;
	return rc;
}

/* ---- measuring -------------------------------------------------------------- */
struct run {
	double pp, tg;    /* tokens/s, median of runs */
	double read_gbps; /* the pass's reference bandwidth it was given */
};

/* This machine's last-level cache, all instances (0 when unknown). */
static uint64_t llc_bytes(void)
{
	struct probe_profile *p = calloc(1, sizeof *p);
	char err[256];
	uint64_t n = p && probe_identify(p, err, sizeof err) == 0 ? p->topo.llc_total_bytes : 0;
	free(p);
	return n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of n values (sorted in place), and their range. */
static double median_of(double *v, int n, double range[2])
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	if (range)
		range[0] = v[0], range[1] = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A synthetic model of m's shape (n_layer layers, type) run end to end:
 * prompt tokens prefill, gen tokens decode, median of 3 after a warm-up.
 * Also returns its weights description for the simulator; out->read_gbps
 * is ref_gbps, the pass's reference bandwidth the simulator is given. */
static int run_synth(const struct mdb_model *m, int type, int n_layer, struct kern_pool *pool,
		     const struct kern_table *kt, int prompt, int gen, struct run *out,
		     double ref_gbps, struct mdb_model *run_m, struct sim_weights *w, char *err,
		     size_t errlen)
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
	struct kern_model *km = NULL;
	if (rc == 0)
		rc = mdb_gguf_open(&g, path, err, errlen);
	if (rc == 0)
		rc = mdb_model_from_gguf(g, path, run_m, err, errlen);
	if (rc == 0)
		rc = sim_weights_from_gguf(run_m, g, w, err, errlen);
	if (rc == 0)
		rc = kern_model_open(&km, path, kt, prompt + gen + 64, QT_F16, err, errlen);
	unlink(path);
	rmdir(dir);
	if (g)
		mdb_gguf_close(g);
	if (rc != 0) {
		if (km)
			kern_model_close(km);
		return -1;
	}
	double pp[3], tg[3];
	rc = kern_model_time(km, pool, prompt, gen, 3, pp, tg, err, errlen);
	out->read_gbps = ref_gbps;
	kern_model_close(km);
	if (rc != 0)
		return -1;
	qsort(pp, 3, sizeof *pp, cmp_d);
	qsort(tg, 3, sizeof *tg, cmp_d);
	out->pp = pp[1];
	out->tg = tg[1];
	return 0;
}

static int predict(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		   const struct sim_eff *e, int prompt, int gen, struct sim_pred *p)
{
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = prompt + gen + 64;
	wl.prompt = prompt;
	wl.gen = gen;
	char err[256];
	return sim_predict(h, m, w, &wl, e, p, err, sizeof err);
}

/* Predicted decode step and prefill times (seconds) of a run. */
static int pred_times(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		      const struct sim_eff *e, int prompt, int gen, struct sim_pred *p, double *t_dec,
		      double *t_pp)
{
	if (predict(h, m, w, e, prompt, gen, p) != 0 || !(p->decode_tps > 0) || !(p->prefill_tps > 0))
		return -1;
	*t_dec = 1.0 / p->decode_tps;
	*t_pp = prompt / p->prefill_tps;
	return 0;
}

/* The factors the fit starts from: llmcap's defaults with the share of
 * bandwidth (and its width term) measured so far, decode's compute and
 * fixed costs left to the fit, prefill in llmcap's 128-token
 * micro-batches without a per-layer cost of its own (as apply sets). */
static void fit_eff(struct sim_eff *e, double bw, double bw_k0, int threads)
{
	char err[128];
	sim_eff_default("llmcap", e, err, sizeof err);
	e->attn_threads = threads;
	e->host_bw = bw;
	e->bw_k0 = bw_k0;
	e->host_vec = 1.0;
	e->token_s = 0;
	e->ubatch = 128;
	e->layer_host_pp_s = 0;
}

/* The simulator's times are linear in the fixed cost per layer L, the
 * prefill share's inverse k = 1 / mm (prefill micro-batches of 128 tokens
 * are compute-bound) and the attention costs a (decode) and b (prefill):
 *   decode  T = B_d + L x dL + a x dA,   prefill T = B_p + k x dK + b x dB.
 * Fills those coefficients for one run shape from a few predictions. */
struct lin { double B_d, dL, dA, B_p, dK, dB; };

static int lin_coeffs(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		      const struct sim_eff *base, int prompt, int gen, struct sim_pred *p, struct lin *o)
{
	const double eps = 1e-30, L1 = 1e-3, A1 = 1e-9;
	struct sim_eff e = *base;
	double d0, p0, d1, p1;
	e.layer_host_s = 0, e.host_mm = 1.0, e.attn_host_s = e.attn_host_pp_s = eps;
	if (pred_times(h, m, w, &e, prompt, gen, p, &d0, &p0) != 0)
		return -1;
	o->B_d = d0;
	e.layer_host_s = L1;
	if (pred_times(h, m, w, &e, prompt, gen, p, &d1, &p1) != 0)
		return -1;
	o->dL = (d1 - d0) / L1;
	e.layer_host_s = 0, e.attn_host_s = e.attn_host_pp_s = A1;
	if (pred_times(h, m, w, &e, prompt, gen, p, &d1, &p1) != 0)
		return -1;
	o->dA = (d1 - d0) / A1;
	o->dB = (p1 - p0) / A1;
	e.attn_host_s = e.attn_host_pp_s = eps, e.host_mm = 0.5;
	if (pred_times(h, m, w, &e, prompt, gen, p, &d1, &p1) != 0)
		return -1;
	o->dK = p1 - p0; /* k from 1 to 2 */
	o->B_p = p0 - o->dK;
	return 0;
}

/* k0 of share(h) = s x h / (h + k0) from the shares at widths h1 < h2
 * (0 when the narrow one is not lower: no width effect seen). */
static double width_k0(double share1, int h1, double share2, int h2)
{
	double R = share1 / share2;
	if (!(R > 0) || R >= 1)
		return 0;
	double k0 = (double)h1 * h2 * (1 - R) / (R * h2 - h1);
	return k0 > 0 && k0 < 1e5 ? k0 : R * h2 <= h1 ? 1e5 - 1 : 0;
}

/* x, y from x a1 + y b1 = c1, x a2 + y b2 = c2; -1 when singular. */
static int solve2(double a1, double b1, double c1, double a2, double b2, double c2, double *x, double *y)
{
	double det = a1 * b2 - a2 * b1;
	if (!(fabs(det) > 1e-300))
		return -1;
	*x = (c1 * b2 - c2 * b1) / det;
	*y = (a1 * c2 - a2 * c1) / det;
	return 0;
}

/* One pass of measurements and the factors fitted from them into c (its
 * fingerprint, time and threads already set): the read bandwidth now,
 * each type's matrix-vector products and 1B-shape run, attention at two
 * prompts, the SmolLM2-shape fixed costs. 0, or -1 (said on stderr). */
static int calib_pass(struct hw_spec *h, struct calib *c, struct sim_pred *p, struct sim_weights *w,
		      struct kern_pool *pool, const struct kern_table *kt, const struct mdb_model *fit_m,
		      const struct mdb_model *smol_m, int show)
{
	char err[1024] = "";
	const int nth = kern_pool_threads(pool);
	/* the pass's reference: the median of five reads of the bandwidth now,
	 * with these threads. The shares are of it, and it is the figure the
	 * simulator is given for every run of the pass. (Decode on the 2-core
	 * VM does not follow single reads, whose best pass moves between 45
	 * and 88 GB/s within minutes; a share of one read made the prediction
	 * move with it.) */
	double rd[5];
	int nrd = 0;
	for (int k = 0; k < 5; k++)
		if (cli_read_bw_now(pool, &rd[nrd], err, sizeof err) == 0)
			nrd++;
	if (nrd > 0) {
		c->read_gbps = median_of(rd, nrd, NULL);
	} else {
		c->read_gbps = h->host.memory_bandwidth_gbps;
		fprintf(stderr, "\nllmcap calibrate: %s; using the cached profile's %.1f GB/s\n", err, c->read_gbps);
	}
	h->host.memory_bandwidth_gbps = c->read_gbps;
	/* the matrix-vector products stream 4x the last-level cache, as the
	 * probe's arrays do (a 300 MB L3 held a 256 MB set: 130% of the read
	 * bandwidth), at least 256 MB, at most a quarter of the memory free */
	double stream_bytes = fmax(256.0 * (1 << 20), 4.0 * (double)llc_bytes());
	if (h->host.memory_available_gb > 0)
		stream_bytes = fmin(stream_bytes, h->host.memory_available_gb * 1e9 / 4);
	static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_F16};
	int nt = (int)(sizeof types / sizeof types[0]);
	double k0s[MAX_T];
	for (int i = 0; i < nt; i++) {
		struct calib_type *ct = &c->t[c->n];
		const struct mdb_qtraits *q = mdb_qtype(types[i]);
		if (show)
			fprintf(stderr, "\rcalibrating %-5s (%d of %d)...                          ", q->name, i + 1, nt);
		/* 1. decode: matrix-vector products streaming far beyond the caches,
		 * 4096 and 1024 columns wide (narrow rows stream at less of the
		 * bandwidth), over the pass's reference bandwidth */
		struct kern_bench b, bn;
		size_t one = kern_row_bytes(types[i], 4096) * 4096;
		int n_mats = (int)(stream_bytes / one) + 1;
		/* three rounds, the median of each width's rate */
		double gw[3], gn[3];
		for (int k = 0; k < 3; k++) {
			if (kern_bench_matvec(kt, pool, types[i], 4096, 4096, n_mats, 8, 5, &b, err, sizeof err) != 0 ||
			    kern_bench_matvec(kt, pool, types[i], 16384, 1024, n_mats, 8, 5, &bn, err, sizeof err) != 0) {
				fprintf(stderr, "\nllmcap calibrate: %s\n", err);
				return -1;
			}
			gw[k] = b.median_gbps, gn[k] = bn.median_gbps;
		}
		ct->type = types[i];
		ct->matvec_gbps = median_of(gw, 3, NULL);
		ct->matvec_narrow_gbps = median_of(gn, 3, NULL);
		k0s[c->n] = width_k0(ct->matvec_narrow_gbps, 1024, ct->matvec_gbps, 4096);
		/* at 4096 wide until the width term is known */
		ct->bw_frac = ct->matvec_gbps / c->read_gbps;
		/* 2. prefill share on a small model end to end (Llama-3.2-1B's shape,
		 * 4 layers, prompt 128); for the first type (Q4_0) also at a prompt
		 * of P2 (4096, the top of the range verify is held to): the cost of
		 * attention per context position, decode and prefill */
		struct sim_eff e;
		fit_eff(&e, ct->bw_frac, 0, nth);
		struct run r;
		struct mdb_model rm;
		struct lin lc;
		if (run_synth(fit_m, types[i], 4, pool, kt, 128, 32, &r, c->read_gbps, &rm, w, err, sizeof err) != 0) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			return -1;
		}
		h->host.memory_bandwidth_gbps = r.read_gbps;
		if (lin_coeffs(h, &rm, w, &e, 128, 32, p, &lc) != 0) {
			fprintf(stderr, "\nllmcap calibrate: the simulator cannot predict the calibration runs\n");
			return -1;
		}
		if (c->n == 0) {
			const int P2 = 4096;
			struct run r2;
			struct lin l2;
			c->attn_prompt[0] = 128, c->attn_prompt[1] = P2;
			if (show)
				fprintf(stderr, "\rcalibrating %-5s (%d of %d), attention at prompt %d...", q->name,
					i + 1, nt, P2);
			if (run_synth(fit_m, types[i], 4, pool, kt, P2, 32, &r2, c->read_gbps, &rm, w, err,
				      sizeof err) != 0) {
				fprintf(stderr, "\nllmcap calibrate: %s\n", err);
				return -1;
			}
			h->host.memory_bandwidth_gbps = r2.read_gbps;
			if (lin_coeffs(h, &rm, w, &e, P2, 32, p, &l2) != 0) {
				fprintf(stderr, "\nllmcap calibrate: the simulator cannot predict the calibration runs\n");
				return -1;
			}
			double L, a, k, pa;
			if (solve2(lc.dL, lc.dA, 1.0 / r.tg - lc.B_d, l2.dL, l2.dA, 1.0 / r2.tg - l2.B_d, &L, &a) != 0 ||
			    solve2(lc.dK, lc.dB, 128.0 / r.pp - lc.B_p, l2.dK, l2.dB, (double)P2 / r2.pp - l2.B_p, &k,
				   &pa) != 0) {
				fprintf(stderr, "\nllmcap calibrate: the runs at prompts 128 and %d do not separate "
					"attention from the rest; rerun on a quieter machine\n", P2);
				return -1;
			}
			/* noise can push a cost below zero: floor at a thousandth of what the
			 * longer run's time would allow */
			c->attn_s = fmax(a, 1e-3 * (1.0 / r2.tg) / l2.dA);
			c->attn_pp_s = fmax(pa, 1e-3 * ((double)P2 / r2.pp) / l2.dB);
			c->attn_tg[0] = r.tg, c->attn_pp[0] = r.pp;
			c->attn_tg[1] = r2.tg, c->attn_pp[1] = r2.pp;
		}
		double kk = (128.0 / r.pp - lc.B_p - c->attn_pp_s * lc.dB) / lc.dK;
		ct->mm_frac_1b = fmin(1.0, fmax(0.01, kk > 0 ? 1.0 / kk : 1.0));
		c->n++;
	}
	/* the decode width term: the median over the types; each type's share
	 * of bandwidth is then its share for infinitely wide rows */
	double k0sorted[MAX_T];
	memcpy(k0sorted, k0s, sizeof k0sorted);
	qsort(k0sorted, (size_t)c->n, sizeof *k0sorted, cmp_d);
	c->bw_k0 = k0sorted[c->n / 2];
	for (int i = 0; i < c->n; i++)
		c->t[i].bw_frac *= (4096 + c->bw_k0) / 4096.0;
	/* 3. the fixed costs and the prefill width term: SmolLM2-135M's shape
	 * (576 wide) in Q4_0 at 30 and at 4 layers, prompt 128. The 26 layers
	 * between them cost the fixed cost per layer beyond their bytes; the
	 * 4-layer run's remainder is the cost per token; its prefill share
	 * against the 1B's (2048 wide) gives the prefill width term. */
	{
		if (show)
			fprintf(stderr, "\rcalibrating fixed costs (smollm2-135m shape, 30 and 4 layers)...");
		struct run r30, r4;
		struct mdb_model m30, m4;
		struct sim_weights *w4 = calloc(1, sizeof *w4);
		if (!w4) {
			fprintf(stderr, "\nllmcap calibrate: out of memory\n");
			return -1;
		}
		int rrc = run_synth(smol_m, QT_Q4_0, smol_m->n_layer, pool, kt, 128, 32, &r30, c->read_gbps, &m30, w,
				    err, sizeof err);
		if (rrc == 0)
			rrc = run_synth(smol_m, QT_Q4_0, 4, pool, kt, 128, 32, &r4, c->read_gbps, &m4, w4, err,
					sizeof err);
		if (rrc != 0) {
			free(w4);
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			return -1;
		}
		struct sim_eff e;
		fit_eff(&e, c->t[0].bw_frac /* Q4_0 */, c->bw_k0, nth);
		struct lin l30, l4;
		h->host.memory_bandwidth_gbps = r30.read_gbps;
		rrc = lin_coeffs(h, &m30, w, &e, 128, 32, p, &l30);
		h->host.memory_bandwidth_gbps = r4.read_gbps;
		if (rrc == 0)
			rrc = lin_coeffs(h, &m4, w4, &e, 128, 32, p, &l4);
		free(w4);
		if (rrc != 0) {
			fprintf(stderr, "\nllmcap calibrate: the simulator cannot predict the calibration runs\n");
			return -1;
		}
		double rest30 = 1.0 / r30.tg - l30.B_d - c->attn_s * l30.dA;
		double rest4 = 1.0 / r4.tg - l4.B_d - c->attn_s * l4.dA;
		c->layer_s = fmax(0, (rest30 - rest4) / (l30.dL - l4.dL));
		c->token_s = fmax(0, rest4 - c->layer_s * l4.dL);
		double kk = (128.0 / r30.pp - l30.B_p - c->attn_pp_s * l30.dB) / l30.dK;
		double mm576 = fmin(1.0, fmax(0.01, kk > 0 ? 1.0 / kk : 1.0));
		c->mm_k0 = width_k0(mm576, smol_m->hidden, c->t[0].mm_frac_1b, fit_m->hidden);
		for (int i = 0; i < c->n; i++)
			c->t[i].mm_frac = fmin(1.0, c->t[i].mm_frac_1b * (fit_m->hidden + c->mm_k0) / fit_m->hidden);
	}
	return 0;
}

/* c = each factor's median over the n passes (one shared or virtual
 * machine's pass can be off by a third: a single run's factor is a
 * sample), with the ranges of the main ones. */
static void calib_median(struct calib *c, const struct calib *cs, int n)
{
	double v[64];
#define MED(field, range) do { \
		for (int r_ = 0; r_ < n; r_++) \
			v[r_] = cs[r_].field; \
		c->field = median_of(v, n, range); \
	} while (0)
	c->n = cs[0].n;
	c->rounds = n;
	MED(read_gbps, c->read_range);
	for (int i = 0; i < c->n; i++) {
		c->t[i].type = cs[0].t[i].type;
		MED(t[i].matvec_gbps, NULL);
		MED(t[i].matvec_narrow_gbps, NULL);
		MED(t[i].bw_frac, c->t[i].bw_range);
		MED(t[i].mm_frac, c->t[i].mm_range);
		MED(t[i].mm_frac_1b, NULL);
	}
	MED(layer_s, c->layer_range);
	MED(token_s, NULL);
	MED(bw_k0, NULL);
	MED(mm_k0, NULL);
	MED(attn_s, c->attn_range);
	MED(attn_pp_s, NULL);
	for (int k = 0; k < 2; k++) {
		c->attn_prompt[k] = cs[0].attn_prompt[k];
		MED(attn_tg[k], NULL);
		MED(attn_pp[k], NULL);
	}
#undef MED
}

static int calibrate_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *engine = NULL, *device = NULL;
	int json = 0, help = 0, threads = 0, rounds = -1;
	struct cli_calib_llama lo = {0};
	lo.reps = 3;
	const struct cli_opt opts[] = {
		{"engine", CLI_STR, &engine, "E", "llmcap (default): llmcap's kernels; llama.cpp: time llama-bench and fit its profile"},
		{"llama-bench", CLI_STR, &lo.llama_bench, "PATH", "llama.cpp's llama-bench (default: the one on PATH)"},
		{"full", CLI_FLAG, &lo.full, NULL, "llama.cpp: also time Llama-3.1-8B's shape (Q4_0, Q8_0, F16; needs ~25 GB)"},
		{"quick", CLI_FLAG, &lo.quick, NULL, "llama.cpp: SmolLM2-135M's shape only (Q4_0, Q8_0, F16): seconds, rougher"},
		{"reps", CLI_INT, &lo.reps, "R", "llama.cpp: llama-bench repetitions per test (default 3)"},
		{"from", CLI_STR, &lo.from, "RECORD", "llama.cpp: refit a recorded run file (llmcap.enginebench/1) instead of running"},
		{"save-runs", CLI_STR, &lo.save_runs, "FILE", "llama.cpp: also write the timed runs (llmcap.enginebench/1)"},
		{"out", CLI_STR, &lo.out, "FILE", "llama.cpp: also write the fitted profile (llmcap.engines/1)"},
		{"device", CLI_STR, &device, "D", "cpu (default) or gpu: llmcap's CUDA kernels on the first NVIDIA GPU"},
		{"threads", CLI_INT, &threads, "T", "threads (default: one per physical core)"},
		{"rounds", CLI_INT, &rounds, "N", "llmcap: passes of every measurement, each factor their median (default 3)"},
		{"json", CLI_FLAG, &json, NULL, "print the llmcap.calibration/1 object"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	int llama = engine && (strcmp(engine, "llama.cpp") == 0 || strcmp(engine, "llamacpp") == 0);
	if (engine && strcmp(engine, "llmcap") != 0 && !llama) {
		fprintf(stderr, "llmcap calibrate: unknown engine '%s'; use --engine llmcap or --engine "
			"llama.cpp\n", engine);
		return CLI_USAGE;
	}
	if (device && strcmp(device, "cpu") != 0 && strcmp(device, "gpu") != 0) {
		fprintf(stderr, "llmcap calibrate: --device %s: use cpu or gpu\n", device);
		return CLI_USAGE;
	}
	if (rounds != -1 && (llama || (device && !strcmp(device, "gpu")))) {
		fprintf(stderr, "llmcap calibrate: --rounds goes with --engine llmcap on the CPU (llama.cpp "
			"has --reps)\n");
		return CLI_USAGE;
	}
	if (rounds == -1)
		rounds = 3;
	if (rounds < 1 || rounds > 15) {
		fprintf(stderr, "llmcap calibrate: --rounds must be 1 to 15\n");
		return CLI_USAGE;
	}
	if (!llama && (lo.llama_bench || lo.full || lo.quick || lo.from || lo.save_runs || lo.out)) {
		fprintf(stderr, "llmcap calibrate: --llama-bench, --full, --quick, --from, --save-runs and "
			"--out go with --engine llama.cpp\n");
		return CLI_USAGE;
	}
	if (llama) {
		if (threads < 0 || threads > 1024 || lo.reps < 1 || lo.reps > 100) {
			fprintf(stderr, "llmcap calibrate: --threads 0 (all cores) to 1024, --reps 1 to 100\n");
			return CLI_USAGE;
		}
		lo.device = device;
		lo.threads = threads;
		lo.json = json;
		return cli_calibrate_llama(&lo);
	}
	if (device && !strcmp(device, "gpu"))
		return cli_calibrate_gpu(json); /* cli/gpu.c */
	if (threads < 0 || threads > 1024) {
		fprintf(stderr, "llmcap calibrate: --threads must be 0 (all cores) to 1024\n");
		return CLI_USAGE;
	}
	char err[1024] = "";
	struct hw_spec *h = calloc(1, sizeof *h);
	struct calib *c = calloc(1, sizeof *c);
	struct sim_pred *p = calloc(1, sizeof *p);
	struct sim_weights *w = calloc(1, sizeof *w);
	struct kern_pool *pool = NULL;
	struct mdb_models models = {0};
	rc = CLI_FAIL;
	if (!h || !c || !p || !w) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	/* the CPU runs every calibration run: predict them for the CPU alone
	 * (on a machine with a GPU the simulator would place the layers there) */
	if ((rc = cli_hw("calibrate", "this", h)) != CLI_OK || (rc = cli_hw_for_device("calibrate", h, 0)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (!(h->host.memory_bandwidth_gbps > 0) || !(h->host.int8_gops > 0)) {
		fprintf(stderr, "llmcap calibrate: the cached profile has no measured bandwidth or INT8 "
			"peak; run llmcap probe first\n");
		goto out;
	}
	if (kern_pool_new(&pool, threads, 1, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		goto out;
	}
	int nth = kern_pool_threads(pool);
	if (nth < h->host.cores && h->host.cores > 0) {
		h->host.fp32_gflops *= (double)nth / h->host.cores;
		h->host.int8_gops *= (double)nth / h->host.cores;
	}
	if (mdb_models_load_builtin(&models, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		goto out;
	}
	const struct mdb_model *fit_m = mdb_models_find(&models, "llama-3.2-1b");
	const struct mdb_model *chk_m = mdb_models_find(&models, "llama-3.1-8b");
	const struct mdb_model *smol_m = mdb_models_find(&models, "smollm2-135m");
	if (!fit_m || !chk_m || !smol_m) {
		fprintf(stderr, "llmcap calibrate: the built-in catalog lacks llama-3.2-1b, llama-3.1-8b or "
			"smollm2-135m\n");
		goto out;
	}
	struct kern_table kt;
	kern_table_init(&kt, kern_cpu_features());
	snprintf(c->fingerprint, sizeof c->fingerprint, "%s", h->fingerprint);
	c->created = (int64_t)time(NULL);
	c->threads = nth;
	int show = !json && isatty(2);
	struct calib *cs = calloc((size_t)rounds, sizeof *cs);
	if (!cs) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	for (int r = 0; r < rounds; r++) {
		cs[r] = *c;
		if (show && rounds > 1)
			fprintf(stderr, "\rround %d of %d\n", r + 1, rounds);
		if (calib_pass(h, &cs[r], p, w, pool, &kt, fit_m, smol_m, show) != 0) {
			free(cs);
			goto out;
		}
	}
	calib_median(c, cs, rounds);
	free(cs);
	/* 4. check on a model the fit did not see: Llama-3.1-8B's shape, its
	 * first 2 layers, Q4_0 and Q8_0 */
	static const int chk[] = {QT_Q4_0, QT_Q8_0};
	double worst = 0;
	for (int i = 0; i < 2; i++) {
		if (show)
			fprintf(stderr, "\rchecking on llama-3.1-8b (2 layers) %s...                         ",
				mdb_qtype(chk[i])->name);
		struct run r;
		struct mdb_model rm;
		if (run_synth(chk_m, chk[i], 2, pool, &kt, 256, 32, &r, c->read_gbps, &rm, w, err, sizeof err) != 0) {
			fprintf(stderr, "\nllmcap calibrate: %s\n", err);
			goto out;
		}
		struct sim_eff e;
		sim_eff_default("llmcap", &e, err, sizeof err);
		c->band = 1; /* placeholder while applying */
		apply(c, w, h->host.memory_bandwidth_gbps, &e);
		h->host.memory_bandwidth_gbps = r.read_gbps; /* as verify: the bandwidth around the run */
		if (predict(h, &rm, w, &e, 256, 32, p) != 0)
			goto out;
		int k = c->n_res++;
		snprintf(c->res_what[k], sizeof c->res_what[k], "llama-3.1-8b, 2 layers, %s", mdb_qtype(chk[i])->name);
		c->res_decode[k] = 100 * (p->decode_tps - r.tg) / r.tg;
		c->res_prefill[k] = 100 * (p->prefill_tps - r.pp) / r.pp;
		worst = fmax(worst, fmax(fabs(c->res_decode[k]), fabs(c->res_prefill[k])));
	}
	if (show)
		fprintf(stderr, "\r%60s\r", "");
	c->band = fmin(0.5, fmax(0.05, worst / 100 * 1.25));
	char *text = calib_json(c);
	char path[4096];
	if (!text) {
		fprintf(stderr, "llmcap calibrate: out of memory\n");
		goto out;
	}
	if (cli_cache_file(CALIB_FILE, 1, path, sizeof path, err, sizeof err) != 0 ||
	    rep_write_atomic(path, text, strlen(text), err, sizeof err) != 0) {
		fprintf(stderr, "llmcap calibrate: %s\n", err);
		free(text);
		goto out;
	}
	if (json) {
		printf("%s\n", text);
	} else {
		printf("Calibration of llmcap's kernels on %s, %d threads (measured)\n", h->name, nth);
		if (c->rounds > 1)
			printf("  %d rounds of every measurement; each factor is their median, (lowest - highest) beside it\n",
			       c->rounds);
		printf("  memory read bandwidth %.1f GB/s (median of five reads at the start of each round; rounds\n"
		       "  %.1f - %.1f); the shares below are of it. Written to %s\n\n",
		       c->read_gbps, c->read_range[0], c->read_range[1], path);
		printf("  %-6s %12s %12s   %-21s %-21s\n", "type", "matvec GB/s", "1024 wide", "of read bw", "prefill of peak");
		for (int i = 0; i < c->n; i++) {
			char bw[40], mm[40];
			snprintf(bw, sizeof bw, "%.0f%% (%.0f - %.0f)", 100 * c->t[i].bw_frac, 100 * c->t[i].bw_range[0],
				 100 * c->t[i].bw_range[1]);
			snprintf(mm, sizeof mm, "%.0f%% (%.0f - %.0f)", 100 * c->t[i].mm_frac, 100 * c->t[i].mm_range[0],
				 100 * c->t[i].mm_range[1]);
			printf("  %-6s %12.1f %12.1f   %-21s %-21s\n", mdb_qtype(c->t[i].type)->name, c->t[i].matvec_gbps,
			       c->t[i].matvec_narrow_gbps, bw, mm);
		}
		printf("\n  (shares for wide rows: a model of hidden size h streams at the share x h / (h + %.0f)\n"
		       "   and reaches the prefill share x h / (h + %.0f))\n", c->bw_k0, c->mm_k0);
		printf("  fixed costs (smollm2-135m shape, 30 and 4 layers): %.1f us per layer (%.1f - %.1f), %.0f us per "
		       "token\n", c->layer_s * 1e6, c->layer_range[0] * 1e6, c->layer_range[1] * 1e6, c->token_s * 1e6);
		printf("  attention per query head and context position (head size %d; Q4_0 at prompts %d and %d:\n"
		       "    decode %.1f / %.1f, prefill %.0f / %.0f tokens/s): decode %.2f ns (%.2f - %.2f), prefill %.2f ns\n",
		       fit_m->head_dim, c->attn_prompt[0], c->attn_prompt[1], c->attn_tg[0], c->attn_tg[1],
		       c->attn_pp[0], c->attn_pp[1], c->attn_s * 4.0 * fit_m->head_dim * 1e9,
		       c->attn_range[0] * 4.0 * fit_m->head_dim * 1e9, c->attn_range[1] * 4.0 * fit_m->head_dim * 1e9,
		       c->attn_pp_s * 4.0 * fit_m->head_dim * 1e9);
		printf("  check on models the fit did not see (prediction error):\n");
		for (int i = 0; i < c->n_res; i++)
			printf("    %-30s decode %+6.1f%%  prefill %+6.1f%%\n", c->res_what[i], c->res_decode[i],
			       c->res_prefill[i]);
		printf("  error band from these residuals: +-%.0f%%\n", 100 * c->band);
		printf("\n  llmcap plan --hw this --engine llmcap and llmcap verify now use these factors.\n");
	}
	free(text);
	rc = CLI_OK;
out:
	if (pool)
		kern_pool_delete(pool);
	mdb_models_free(&models);
	free(h);
	free(c);
	free(p);
	free(w);
	return rc;
}

const struct cli_cmd cmd_calibrate = {
	"calibrate", "Measure an engine (llmcap's kernels, or llama.cpp) on this machine",
	"calibrate [--engine llmcap|llama.cpp] [--device cpu|gpu] [--threads T] [--rounds N] [--json]\n"
	"       calibrate --engine llama.cpp [--llama-bench PATH] [--quick|--full] [--reps R]\n"
	"                 [--save-runs FILE] [--out FILE] | --from RECORD",
	"Times llmcap's kernels on this machine: matrix-vector products of every tensor\n"
	"type far beyond the caches, 4096 and 1024 columns wide, each between two reads\n"
	"of the memory bandwidth (the share of it decode reaches, and how narrow rows\n"
	"lose some); a small synthetic model end to end (Llama-3.2-1B's shape, first 4\n"
	"layers, prompt 128: the share of the compute peak prefill reaches; in Q4_0 also\n"
	"at a prompt of 4096: the cost of attention per context position); SmolLM2-135M's\n"
	"shape at 30 and 4 layers (the fixed costs per layer and per token, and how a\n"
	"narrow model reaches less of the peak). The factors are checked on a model the\n"
	"fit did not see (Llama-3.1-8B's shape, first 2 layers), and those\n"
	"residuals give the error band. Written to $XDG_CACHE_HOME/llmcap/calibration.json;\n"
	"plan --hw this --engine llmcap and verify use it. --rounds N (default 3) repeats\n"
	"every measurement N times and keeps each factor's median, printing the range\n"
	"(one pass on a shared or virtual machine can be off by a third). About two\n"
	"minutes a round.\n\n"
	"--device gpu measures llmcap's CUDA kernels on the first NVIDIA GPU instead:\n"
	"matrix-vector products of every type against the GPU's measured bandwidth, the\n"
	"fixed costs per layer and per token of a decode step and the share of the FP16\n"
	"peak prefill reaches (Llama-3.2-1B's shape, 2 and 10 layers), checked on\n"
	"Llama-3.1-8B's shape; written to calibration-gpu.json beside it.\n\n"
	"--engine llama.cpp times llama.cpp itself: llmcap writes synthetic GGUF files\n"
	"(SmolLM2-135M's shape at 30 and 4 layers for the fixed costs; Llama-3.2-1B's in\n"
	"Q4_0, Q8_0 and F16; with --full also Llama-3.1-8B's) into a temporary directory,\n"
	"runs llama-bench -p 512 -n 128 on each (every layer on the GPU with --device\n"
	"gpu), fits the profile (decode share of bandwidth and prefill share of peak per\n"
	"type, fixed costs per token and per layer) through the simulator and writes it\n"
	"to $XDG_CACHE_HOME/llmcap/engine-llama.cpp.json; plan/fit --hw this with\n"
	"--engine llama.cpp (the default) then use it instead of the shipped profile.\n"
	"The files are removed as soon as each is timed, and on Ctrl-C. A few minutes on\n"
	"a laptop CPU (--full: tens of minutes). --from refits a recorded run file.",
	NULL, NULL, calibrate_main,
};
