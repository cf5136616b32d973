/* reports: `llmcap report` as Markdown (GitHub tables, no HTML) and as
 * JSON (llmcap.report/1, docs/report-schema.md), and what the HTML
 * rendering shares with them (rep_report_int.h). Figures come computed
 * from cli/; this file only arranges them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "reports/rep_report_int.h"
#include "simulator/sim.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- shared ------------------------------------------------------------ */

const char *rep_report_phase(const struct rep_roof_pt *p)
{
	return p->prefill ? "prefill" : "decode";
}

/* The part of h->measured_method about key ("memory bandwidth: read
 * avx512, 2 threads; fp32: ..."), or "". */
static void method_of(const struct hw_spec *h, const char *key, char *out, size_t n)
{
	out[0] = 0;
	size_t kl = strlen(key);
	for (const char *s = h->measured_method; s && *s;) {
		const char *end = strstr(s, "; ");
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len > kl + 2 && strncmp(s, key, kl) == 0 && s[kl] == ':') {
			snprintf(out, n, "%.*s", (int)(len - kl - 2), s + kl + 2);
			return;
		}
		s = end ? end + 2 : NULL;
	}
}

static struct rep_fig *fig(struct rep_fig *f, int *k, int max, const char *name, const char *src)
{
	if (*k >= max)
		return NULL;
	struct rep_fig *x = &f[(*k)++];
	memset(x, 0, sizeof *x);
	snprintf(x->name, sizeof x->name, "%s", name);
	snprintf(x->src, sizeof x->src, "%s", src);
	return x;
}

int rep_report_figs(const struct hw_spec *h, struct rep_fig *f, int max)
{
	int k = 0;
	struct rep_fig *x;
	const char *base = h->measured ? "reported" : "spec";
	char when[40] = "";
	if (h->measured && h->measured_unix > 0) {
		time_t t = (time_t)h->measured_unix;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "llmcap probe, %Y-%m-%d", &tm);
	}
	if ((x = fig(f, &k, max, "CPU", base))) {
		snprintf(x->value, sizeof x->value, "%s, %d cores", h->host.cpu[0] ? h->host.cpu : "unknown",
			 h->host.cores);
		if (h->measured)
			snprintf(x->how, sizeof x->how, "CPUID and the OS topology (hwloc)");
	}
	if (isfinite(h->host.memory_gb) && (x = fig(f, &k, max, "host memory", base))) {
		snprintf(x->value, sizeof x->value, "%.1f GiB", h->host.memory_gb);
		if (h->measured)
			snprintf(x->how, sizeof x->how, "the OS");
	}
	if (isfinite(h->host.memory_available_gb) && (x = fig(f, &k, max, "host memory available", "reported"))) {
		snprintf(x->value, sizeof x->value, "%.1f GiB", h->host.memory_available_gb);
		snprintf(x->how, sizeof x->how, "the OS, when probed");
	}
	struct {
		const char *name, *key, *unit;
		double v;
		enum probe_src src;
	} host[] = {
		{"host memory bandwidth", "memory bandwidth", "GB/s", h->host.memory_bandwidth_gbps,
		 h->host.memory_bandwidth_src},
		{"CPU FP32 peak", "fp32", "GFLOP/s", h->host.fp32_gflops, h->host.fp32_src},
		{"CPU INT8 peak", "int8", "GOP/s", h->host.int8_gops, h->host.int8_src},
	};
	for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) {
		if (!isfinite(host[i].v))
			continue;
		const char *src = h->measured ? probe_src_name(host[i].src) : "spec";
		if (!(x = fig(f, &k, max, host[i].name, src)))
			break;
		snprintf(x->value, sizeof x->value, "%.1f %s", host[i].v, host[i].unit);
		if (h->measured) {
			char m[160];
			method_of(h, host[i].key, m, sizeof m);
			snprintf(x->how, sizeof x->how, "%s%s%s", m, m[0] && when[0] ? "; " : "", when);
		}
	}
	if (isfinite(h->storage_read_gbps) && (x = fig(f, &k, max, "storage read", h->measured ? "measured" : "spec"))) {
		snprintf(x->value, sizeof x->value, "%.2f GB/s", h->storage_read_gbps);
		if (h->measured)
			snprintf(x->how, sizeof x->how, "sequential direct I/O read on the model filesystem");
	}
	if (isfinite(h->storage_mmap_read_gbps) && (x = fig(f, &k, max, "storage read via mmap", "measured"))) {
		snprintf(x->value, sizeof x->value, "%.2f GB/s", h->storage_mmap_read_gbps);
		snprintf(x->how, sizeof x->how, "page faults through mmap, as llama.cpp loads weights");
	}
	for (int i = 0; i < h->n_accel; i++) {
		const struct hw_accel *a = &h->accel[i];
		char nm[64];
		snprintf(nm, sizeof nm, "%s %d", a->kind[0] ? a->kind : "accelerator", i);
		if ((x = fig(f, &k, max, nm, "spec")))
			snprintf(x->value, sizeof x->value, "%.60s%s%s", a->name, a->backend[0] ? ", " : "",
				 a->backend);
		if (isfinite(a->memory_gb) && (x = fig(f, &k, max, "  memory", "spec")))
			snprintf(x->value, sizeof x->value, "%.1f GiB%s", a->memory_gb,
				 a->unified_memory ? " (unified with the host)" : "");
		if (isfinite(a->memory_bandwidth_gbps) && (x = fig(f, &k, max, "  memory bandwidth", "spec")))
			snprintf(x->value, sizeof x->value, "%.0f GB/s", a->memory_bandwidth_gbps);
		if (isfinite(a->fp16_tflops) && (x = fig(f, &k, max, "  FP16 matrix peak", "spec")))
			snprintf(x->value, sizeof x->value, "%.1f TFLOP/s", a->fp16_tflops);
		if (isfinite(a->int8_tops) && (x = fig(f, &k, max, "  INT8 matrix peak", "spec")))
			snprintf(x->value, sizeof x->value, "%.0f TOP/s", a->int8_tops);
		if (isfinite(a->link_gbps) && (x = fig(f, &k, max, "  host link", "spec")))
			snprintf(x->value, sizeof x->value, "%.0f GB/s", a->link_gbps);
	}
	if (h->measured && h->n_accel == 0 && (x = fig(f, &k, max, "accelerators", "unknown")))
		snprintf(x->value, sizeof x->value, "none found by the probe (no GPU, or no CUDA / OpenCL runtime)");
	if (h->price_usd > 0 && (x = fig(f, &k, max, "price", "spec"))) {
		if (h->price_date[0])
			snprintf(x->value, sizeof x->value, "$%.0f (%s)", h->price_usd, h->price_date);
		else
			snprintf(x->value, sizeof x->value, "$%.0f", h->price_usd);
	}
	if (isfinite(h->power_w) && h->power_w > 0 && (x = fig(f, &k, max, "power", "spec")))
		snprintf(x->value, sizeof x->value, "%.0f W", h->power_w);
	return k;
}

int rep_report_fit_rows(const struct rep_report *r, int *idx, int max)
{
	int k = 0;
	for (int i = 0; r->fit && i < r->fit->n && k < max; i++) {
		const struct rep_fit_row *x = &r->fit->rows[i];
		if (!x->best || !x->pred->fits)
			continue;
		if (r->max_fit_rows > 0 && k >= r->max_fit_rows)
			break;
		idx[k++] = i;
	}
	return k;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int rep_report_ctx_union(const struct rep_report *r, long long *v, int max)
{
	int n = 0;
	for (int i = 0; i < r->n_top; i++) {
		const struct sim_pred *p = r->top[i].pred;
		for (int j = 0; p->fits && j < p->n_curve; j++) {
			long long c = (long long)p->curve[j].ctx;
			int seen = 0;
			for (int q = 0; q < n; q++)
				seen |= v[q] == c;
			if (!seen && n < max)
				v[n++] = c;
		}
	}
	qsort(v, (size_t)n, sizeof *v, cmp_ll);
	return n;
}

long long rep_report_max_ctx(const struct rep_report *r)
{
	long long m = 0;
	for (int i = 0; i < r->n_top; i++)
		if ((long long)r->top[i].wl->ctx > m)
			m = (long long)r->top[i].wl->ctx;
	return m;
}

static const struct sim_curve_pt *curve_at(const struct sim_pred *p, long long ctx)
{
	for (int j = 0; p->fits && j < p->n_curve; j++)
		if ((long long)p->curve[j].ctx == ctx)
			return &p->curve[j];
	return NULL;
}

/* ---- Markdown ------------------------------------------------------------ */

/* A table cell: '|' escaped, newlines as spaces. */
static void md_cell(FILE *o, const char *s)
{
	fputs(" ", o);
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", o);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', o);
		else
			fputc(*s, o);
	}
	fputs(" |", o);
}

static void md_head(FILE *o, int n, const char *const *h, const char *align)
{
	fputs("|", o);
	for (int i = 0; i < n; i++)
		md_cell(o, h[i]);
	fputs("\n|", o);
	for (int i = 0; i < n; i++)
		fputs(align[i] == 'r' ? " ---: |" : " --- |", o);
	fputc('\n', o);
}

static void md_workload(FILE *o, const struct rep_report *r)
{
	const struct sim_workload *wl = r->fit->wl;
	fprintf(o, "Engine %s; context %lld tokens, prompt %lld, generate %lld, batch %d, KV cache %s; "
		"a model must decode at %.1f tokens/s or faster to count as meeting the target.\n\n",
		r->fit->n ? r->fit->rows[0].pred->engine : "llama.cpp", (long long)wl->ctx,
		(long long)wl->prompt, (long long)wl->gen, wl->batch, wl->kv_quant, r->fit->min_tps);
}

char *rep_report_md(const struct rep_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	if (!o)
		return NULL;
	const struct hw_spec *h = r->hw;
	char a[64], b[64], c[64];
	fprintf(o, "# llmcap report: %s\n\n", h->name);
	fprintf(o, "Made by llmcap %s. Figures are marked **measured** (timed on this machine by "
		"`llmcap probe`), **reported** (read from the OS or CPUID), **spec** (published) or "
		"**predicted** (the simulator; `llmcap verify` will measure them).\n\n",
#ifdef LLMCAP_VERSION
		LLMCAP_VERSION
#else
		""
#endif
	);

	fprintf(o, "## The machine (%s)\n\n", h->measured ? "measured" : "spec");
	struct rep_fig figs[REP_MAX_FIGS];
	int nf = rep_report_figs(h, figs, REP_MAX_FIGS);
	const char *fh[] = {"figure", "value", "source", "how"};
	md_head(o, 4, fh, "llll");
	for (int i = 0; i < nf; i++) {
		fputs("|", o);
		md_cell(o, figs[i].name);
		md_cell(o, figs[i].value);
		md_cell(o, figs[i].src);
		md_cell(o, figs[i].how[0] ? figs[i].how : "-");
		fputc('\n', o);
	}
	if (!h->measured && h->source[0])
		fprintf(o, "\nSource of the spec figures: %s\n", h->source);
	fputc('\n', o);

	int idx[512];
	int nr = rep_report_fit_rows(r, idx, 512);
	int models = 0, fits = 0, meets = 0;
	for (int i = 0; i < r->fit->n; i++) {
		models += r->fit->rows[i].best;
		fits += r->fit->rows[i].best && r->fit->rows[i].pred->fits;
		meets += r->fit->rows[i].best && r->fit->rows[i].meets;
	}
	fprintf(o, "## Models that fit (predicted)\n\n");
	md_workload(o, r);
	fprintf(o, "%d of %d catalog models reach the target; %d fit in memory at all. The top %d, "
		"ranked as `llmcap fit` ranks them (capability, the geometric mean of total and active "
		"parameters, a heuristic; each model at the largest quantization that reaches the "
		"target):\n\n", meets, models, fits, nr);
	const char *th[] = {"#", "model", "params", "quant", "memory", "placement", "prefill tokens/s",
			    "decode tokens/s", "target"};
	md_head(o, 9, th, "rlrllrrrl");
	for (int i = 0; i < nr; i++) {
		const struct rep_fit_row *x = &r->fit->rows[idx[i]];
		char pa[80], pl[48];
		fprintf(o, "| %d |", i + 1);
		md_cell(o, x->model->id);
		md_cell(o, rep_model_params(pa, sizeof pa, x->model));
		md_cell(o, x->weights->quant);
		snprintf(c, sizeof c, "%.1f GiB", x->pred->mem.total_bytes / GIB);
		md_cell(o, c);
		md_cell(o, rep_pred_place(pl, sizeof pl, x->pred));
		md_cell(o, rep_fmt_tps(a, sizeof a, x->pred->prefill_tps));
		md_cell(o, rep_fmt_tps(b, sizeof b, x->pred->decode_tps));
		md_cell(o, x->meets ? "ok" : "slow");
		fputc('\n', o);
	}
	fprintf(o, "\nSpeeds are predicted (error band +-%.0f%%); `llmcap plan --model ID` explains a "
		"row, `llmcap fit --all` lists every quantization.\n\n",
		r->fit->n ? 100 * r->fit->rows[0].pred->band : 30.0);

	fprintf(o, "## Decode speed against context (predicted)\n\n");
	if (r->n_top == 0) {
		fprintf(o, "No model fits this machine.\n\n");
	} else {
		fprintf(o, "Decode tokens/s of one stream with the given number of tokens already in "
			"the context (the KV cache read grows with it). Each model is predicted at the "
			"longest window up to %lld tokens that keeps its placement (at most its own "
			"context); \"-\": beyond that window.\n\n", rep_report_max_ctx(r));
		long long ctx[64];
		int nc = rep_report_ctx_union(r, ctx, 64);
		fputs("| context (tokens) |", o);
		for (int i = 0; i < r->n_top; i++) {
			char lab[128];
			snprintf(lab, sizeof lab, "%s %s", r->top[i].model->id, r->top[i].weights->quant);
			md_cell(o, lab);
		}
		fputs("\n| ---: |", o);
		for (int i = 0; i < r->n_top; i++)
			fputs(" ---: |", o);
		fputc('\n', o);
		for (int j = 0; j < nc; j++) {
			fprintf(o, "| %lld |", ctx[j]);
			for (int i = 0; i < r->n_top; i++) {
				const struct sim_curve_pt *pt = curve_at(r->top[i].pred, ctx[j]);
				md_cell(o, pt ? rep_fmt_tps(a, sizeof a, pt->decode_tps) : "-");
			}
			fputc('\n', o);
		}
		fputc('\n', o);
	}

	fprintf(o, "## Roofline\n\n");
	fprintf(o, "The machine's ceilings (memory bandwidth in GB/s times arithmetic intensity, "
		"compute in GFLOP/s) and where the top models run on them. The HTML report "
		"(`--format html`) draws this chart.\n\n");
	const char *ch[] = {"ceiling", "value", "kind"};
	md_head(o, 3, ch, "lrl");
	for (int i = 0; i < r->n_ceil; i++) {
		const struct rep_ceiling *x = &r->ceil[i];
		fputs("|", o);
		md_cell(o, x->label);
		snprintf(a, sizeof a, x->compute ? "%.0f GFLOP/s" : "%.1f GB/s", x->value);
		md_cell(o, a);
		md_cell(o, x->achieved ? "achieved by the engine (peak x efficiency)" : "peak");
		fputc('\n', o);
	}
	fputc('\n', o);
	const char *ph[] = {"model", "phase", "intensity (FLOP/byte)", "performance (GFLOP/s, predicted)"};
	md_head(o, 4, ph, "llrr");
	for (int i = 0; i < r->n_pts; i++) {
		const struct rep_roof_pt *p = &r->pts[i];
		if (p->model < 0 || p->model >= r->n_top)
			continue;
		char lab[128];
		snprintf(lab, sizeof lab, "%s %s", r->top[p->model].model->id, r->top[p->model].weights->quant);
		fputs("|", o);
		md_cell(o, lab);
		md_cell(o, rep_report_phase(p));
		snprintf(a, sizeof a, "%.2f", p->intensity);
		md_cell(o, a);
		snprintf(b, sizeof b, "%.1f", p->gflops);
		md_cell(o, b);
		fputc('\n', o);
	}
	if (r->roof_note)
		fprintf(o, "\n%s\n", r->roof_note);
	fputc('\n', o);

	for (int k = 0; k < r->n_buy; k++) {
		const struct rep_buy *bu = &r->buy[k];
		int q = 0;
		for (int i = 0; i < bu->n; i++)
			q += bu->rows[i].meets;
		fprintf(o, "## What to buy for %s, %s (predicted)\n\n",
			bu->model->name[0] ? bu->model->name : bu->model->id, bu->weights->quant);
		fprintf(o, "Target %.1f tokens/s decode%s; %d of %d catalog machines qualify. Machines that "
			"qualify first, cheapest first; then the rest by speed. Prices and hardware figures "
			"are the catalog's spec; speeds are predicted.\n\n", bu->min_tps,
			isfinite(bu->budget) ? " within the budget" : "", q, bu->n);
		const char *bh[] = {"#", "machine", "price", "placement", "prefill tokens/s", "decode tokens/s",
				    "tokens/s per $1000", "verdict"};
		md_head(o, 8, bh, "rlrlrrrl");
		for (int i = 0; i < bu->n && i < REP_BUY_ROWS; i++) {
			const struct rep_buy_row *x = &bu->rows[i];
			char pl[48];
			fprintf(o, "| %d |", i + 1);
			md_cell(o, x->hw->name);
			if (x->hw->price_usd > 0)
				snprintf(a, sizeof a, "$%.0f", x->hw->price_usd);
			else
				snprintf(a, sizeof a, "unknown");
			md_cell(o, a);
			md_cell(o, rep_pred_place(pl, sizeof pl, x->pred));
			md_cell(o, rep_fmt_tps(b, sizeof b, x->pred->prefill_tps));
			md_cell(o, rep_fmt_tps(c, sizeof c, x->pred->decode_tps));
			if (x->pred->fits && x->hw->price_usd > 0)
				snprintf(a, sizeof a, "%.2f", 1000 * x->pred->decode_tps / x->hw->price_usd);
			else
				snprintf(a, sizeof a, "-");
			md_cell(o, a);
			md_cell(o, x->meets ? "ok" : !x->pred->fits ? "does not fit"
				   : x->pred->decode_tps < bu->min_tps ? "too slow" : "over budget");
			fputc('\n', o);
		}
		if (bu->n > REP_BUY_ROWS)
			fprintf(o, "\n%d more machines: `llmcap buy --model %s`.\n", bu->n - REP_BUY_ROWS,
				bu->model->id);
		fputc('\n', o);
	}

	fprintf(o, "## Verification\n\n%s\n", r->verify_note ? r->verify_note
		: "No verification results in this report: `llmcap verify --model M` measures a model "
		  "with llmcap's kernels beside its prediction; its results are not stored for reports yet.");
	if (fclose(o) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- JSON ------------------------------------------------------------------ */

/* Parses text made by another rep_*_json into a tree (text freed). */
static cJSON *reparse(char *text)
{
	if (!text)
		return NULL;
	cJSON *o = cJSON_Parse(text);
	free(text);
	return o;
}

static void jnum(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *rep_report_json(const struct rep_report *r, int pretty)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", REP_REPORT_SCHEMA);
	cJSON *hw = reparse(rep_hw_json(r->hw, 0));
	if (hw)
		cJSON_AddItemToObject(o, "hardware", hw);
	cJSON *figs = cJSON_AddArrayToObject(o, "machine_figures");
	struct rep_fig f[REP_MAX_FIGS];
	int nf = rep_report_figs(r->hw, f, REP_MAX_FIGS);
	for (int i = 0; i < nf; i++) {
		cJSON *x = cJSON_CreateObject();
		const char *nm = f[i].name;
		while (*nm == ' ')
			nm++;
		cJSON_AddStringToObject(x, "figure", nm);
		cJSON_AddStringToObject(x, "value", f[i].value);
		cJSON_AddStringToObject(x, "source", f[i].src);
		if (f[i].how[0])
			cJSON_AddStringToObject(x, "how", f[i].how);
		else
			cJSON_AddNullToObject(x, "how");
		cJSON_AddItemToArray(figs, x);
	}
	cJSON *fit = reparse(rep_fit_json(r->fit, 0));
	if (fit)
		cJSON_AddItemToObject(o, "fit", fit);
	cJSON *top = cJSON_AddArrayToObject(o, "top_models");
	for (int i = 0; i < r->n_top; i++) {
		cJSON *p = rep_plan_cjson(&r->top[i]);
		if (p)
			cJSON_AddItemToArray(top, p);
	}
	cJSON *roof = cJSON_AddObjectToObject(o, "roofline");
	cJSON *cs = cJSON_AddArrayToObject(roof, "ceilings");
	for (int i = 0; i < r->n_ceil; i++) {
		const struct rep_ceiling *c = &r->ceil[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "label", c->label);
		cJSON_AddStringToObject(x, "kind", c->compute ? "compute" : "bandwidth");
		jnum(x, c->compute ? "gflops" : "gbps", c->value);
		cJSON_AddNumberToObject(x, "device", c->device);
		cJSON_AddBoolToObject(x, "achieved", c->achieved);
		cJSON_AddItemToArray(cs, x);
	}
	cJSON *ps = cJSON_AddArrayToObject(roof, "points");
	for (int i = 0; i < r->n_pts; i++) {
		const struct rep_roof_pt *p = &r->pts[i];
		if (p->model < 0 || p->model >= r->n_top)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "model", r->top[p->model].model->id);
		cJSON_AddStringToObject(x, "quant", r->top[p->model].weights->quant);
		cJSON_AddStringToObject(x, "phase", rep_report_phase(p));
		jnum(x, "flop_per_byte", p->intensity);
		jnum(x, "gflops", p->gflops);
		cJSON_AddItemToArray(ps, x);
	}
	if (r->roof_note)
		cJSON_AddStringToObject(roof, "note", r->roof_note);
	cJSON *buy = cJSON_AddArrayToObject(o, "buy");
	for (int i = 0; i < r->n_buy; i++) {
		cJSON *b = reparse(rep_buy_json(&r->buy[i], 0));
		if (b)
			cJSON_AddItemToArray(buy, b);
	}
	cJSON *v = cJSON_AddObjectToObject(o, "verification");
	cJSON_AddStringToObject(v, "status", "not included");
	cJSON_AddArrayToObject(v, "results");
	cJSON_AddStringToObject(v, "note", r->verify_note ? r->verify_note
				: "verify results are not stored for reports yet: run llmcap verify --model M");
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
