/* cli: `llmcap report` — the machine, the models that fit (llmcap fit's
 * ranking), decode speed against context and the roofline operating
 * points of the top models, and a buying table per --model (llmcap buy's
 * order), rendered by reports/ as Markdown, HTML with SVG charts or JSON.
 * Every figure is computed here through the simulator; reports/ only
 * draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/fit.h"
#include "cli/resolve.h"
#include "simulator/profile.h"
#include "reports/report.h"

#define REPORT_MAX_MODELS 8     /* --model */
#define REPORT_MAX_TOP 6        /* --top (one colour each) */
#define REPORT_CURVE_CTX 32768  /* context window of the decode curves */
#define REPORT_FIT_ROWS 15      /* models listed in md/html */
#define REPORT_MAX_CEIL 16

/* One top model's longer-context prediction (for its curve). */
struct top_pred {
	struct sim_workload wl;
	struct sim_pred p;
};

/* Bytes and FLOPs of one decoded token at context depth d, and of one
 * prefill micro-batch of u tokens (computed from the stored weights and
 * the architecture; the simulator's own accounting is in llmcap plan). */
struct opcount {
	double dec_bytes, dec_flops;       /* per token */
	double pre_bytes, pre_flops;       /* per micro-batch */
	double pre_flops_tok;
};

static double attn_flops(const struct mdb_model *m, double d)
{
	double hd = m->head_dim > 0 ? m->head_dim : (m->n_head > 0 ? (double)m->hidden / m->n_head : 0);
	double f = 0;
	for (int i = 0; i < m->n_layer && m->layer_kinds[i]; i++) {
		char k = m->layer_kinds[i];
		if (k == MDB_LAYER_GLOBAL)
			f += 4.0 * m->n_head * hd * d;
		else if (k == MDB_LAYER_SLIDING)
			f += 4.0 * m->n_head * hd * fmin(d, m->sliding_window > 0 ? m->sliding_window : d);
	}
	return f;
}

static void count_ops(const struct mdb_model *m, const struct sim_weights *w, const struct sim_pred *p,
		      const struct sim_workload *wl, int ubatch, struct opcount *o)
{
	struct mdb_params mp;
	mdb_model_params(m, &mp);
	double layers = 0, experts = 0;
	for (int i = 0; i < w->n_layer && i < MDB_MAX_LAYERS; i++) {
		layers += w->layer_bytes[i];
		experts += w->expert_bytes[i];
	}
	double frac = m->moe.n_experts > 0 ? (double)m->moe.experts_per_token / m->moe.n_experts : 1;
	double out = w->output_bytes > 0 ? w->output_bytes : w->embd_bytes;
	double d = (double)(wl->depth + wl->prompt);
	double kv = p->mem.kv_bytes_per_token;
	/* matrix FLOPs: 2 per active weight, the output head included, the
	 * embedding lookup not */
	double wflops = 2 * (mp.active - mp.embed + (mp.output > 0 ? 0 : mp.embed));
	o->dec_bytes = layers + experts * frac + out + kv * d;
	o->dec_flops = wflops + attn_flops(m, d);
	double u = (double)(wl->prompt < ubatch ? wl->prompt : ubatch);
	if (u < 1)
		u = 1;
	double touched = 1 - pow(1 - frac, u);   /* routed experts a batch of u tokens reads */
	double mid = (double)wl->depth + (double)wl->prompt / 2;
	o->pre_flops_tok = wflops + attn_flops(m, mid);
	o->pre_flops = u * o->pre_flops_tok;
	o->pre_bytes = layers + experts * touched + out + kv * d;
}

static void add_ceil(struct rep_ceiling *c, int *n, const char *label, int compute, double v,
		     int device, int achieved)
{
	if (*n >= REPORT_MAX_CEIL || !(v > 0) || !isfinite(v))
		return;
	struct rep_ceiling *x = &c[(*n)++];
	snprintf(x->label, sizeof x->label, "%s", label);
	x->compute = compute;
	x->value = v;
	x->device = device;
	x->achieved = achieved;
}

static const char *src_word(const struct hw_spec *h, enum probe_src s)
{
	return h->measured ? probe_src_name(s) : "spec";
}

static int ceilings(const struct hw_spec *h, const struct sim_eff *e, struct rep_ceiling *c)
{
	int n = 0;
	char l[96];
	snprintf(l, sizeof l, "host memory (%s)", src_word(h, h->host.memory_bandwidth_src));
	add_ceil(c, &n, l, 0, h->host.memory_bandwidth_gbps, 0, 0);
	snprintf(l, sizeof l, "CPU INT8 (%s)", src_word(h, h->host.int8_src));
	add_ceil(c, &n, l, 1, h->host.int8_gops, 0, 0);
	snprintf(l, sizeof l, "CPU FP32 (%s)", src_word(h, h->host.fp32_src));
	add_ceil(c, &n, l, 1, h->host.fp32_gflops, 0, 0);
	snprintf(l, sizeof l, "host, %s achieved", e->engine);
	add_ceil(c, &n, l, 0, h->host.memory_bandwidth_gbps * e->host_bw, 0, 1);
	double mm = h->host.int8_gops > 0 ? h->host.int8_gops : h->host.fp32_gflops;
	snprintf(l, sizeof l, "CPU, %s achieved", e->engine);
	add_ceil(c, &n, l, 1, mm * e->host_mm, 0, 1);
	for (int i = 0; i < h->n_accel && i < 2; i++) {
		const struct hw_accel *a = &h->accel[i];
		snprintf(l, sizeof l, "%s memory (spec)", a->kind[0] ? a->kind : "accelerator");
		add_ceil(c, &n, l, 0, a->memory_bandwidth_gbps, i + 1, 0);
		snprintf(l, sizeof l, "%s FP16 (spec)", a->kind[0] ? a->kind : "accelerator");
		add_ceil(c, &n, l, 1, a->fp16_tflops * 1000, i + 1, 0);
		snprintf(l, sizeof l, "%s, %s achieved", a->kind[0] ? a->kind : "accelerator", e->engine);
		add_ceil(c, &n, l, 0, a->memory_bandwidth_gbps * e->gpu_bw, i + 1, 1);
		add_ceil(c, &n, l, 1, a->fp16_tflops * 1000 * e->gpu_mm, i + 1, 1);
	}
	return n;
}

/* The --model values: repeated options and comma lists. Returns the
 * count, or -1 after a message when there are too many. */
static int collect_models(int argc, char **argv, char *store, size_t storelen,
			  const char *models[REPORT_MAX_MODELS])
{
	int n = 0;
	size_t used = 0;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--model=", 8) == 0)
			v = argv[i] + 8;
		if (!v)
			continue;
		size_t l = strlen(v);
		if (used + l + 1 > storelen) {
			fprintf(stderr, "llmcap report: --model values too long\n");
			return -1;
		}
		char *s = memcpy(store + used, v, l + 1);
		used += l + 1;
		char *save = NULL;
		for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (n == REPORT_MAX_MODELS) {
				fprintf(stderr, "llmcap report: at most %d models (--model)\n", REPORT_MAX_MODELS);
				return -1;
			}
			models[n++] = t;
		}
	}
	return n;
}

/* One buying table: model on every catalog machine. */
struct buy_run {
	struct cli_model cm;
	struct sim_weights w;
	struct sim_workload wl;
	struct sim_pred *preds;
	struct rep_buy_row *rows;
};

static int buy_one(const char *arg, const struct mdb_hw_catalog *cat, const struct sim_workload *wl0,
		   const struct sim_eff *eff, double min_tps, struct buy_run *b, struct rep_buy *out)
{
	char err[1024] = "";
	int rc;
	if ((rc = cli_model_load("report", arg, &b->cm)) != CLI_OK)
		return rc;
	if ((rc = cli_model_weights("report", &b->cm, NULL, &b->w)) != CLI_OK)
		return rc;
	b->wl = *wl0;
	if (b->wl.ctx > b->cm.m.context && b->cm.m.context > 0)
		b->wl.ctx = b->cm.m.context;
	if (sim_workload_check(&b->wl, &b->cm.m, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap report: %s\n", err);
		return CLI_USAGE;
	}
	b->preds = calloc((size_t)(cat->n ? cat->n : 1), sizeof *b->preds);
	b->rows = calloc((size_t)(cat->n ? cat->n : 1), sizeof *b->rows);
	if (!b->preds || !b->rows) {
		fprintf(stderr, "llmcap report: out of memory\n");
		return CLI_FAIL;
	}
	for (int i = 0; i < cat->n; i++) {
		if (sim_predict(&cat->items[i], &b->cm.m, &b->w, &b->wl, eff, &b->preds[i], err, sizeof err) != 0) {
			fprintf(stderr, "llmcap report: %s: %s\n", cat->items[i].id, err);
			return CLI_USAGE;
		}
		b->rows[i] = (struct rep_buy_row){&cat->items[i], &b->preds[i],
			b->preds[i].fits && b->preds[i].decode_tps >= min_tps};
	}
	cli_buy_rank(b->rows, cat->n);
	*out = (struct rep_buy){REP_BUY_SCHEMA, &b->cm.m, &b->w, &b->wl, min_tps, NAN, cat->n, b->rows};
	return CLI_OK;
}

static int report_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *format = "md", *out = NULL, *hw = NULL, *engine = NULL, *model_last = NULL;
	struct cli_wl_args a = {-1, -1, -1, -1, -1, NULL, NULL};
	double min_tps = 5, buy_tps = NAN;
	int top_n = 5, help = 0;
	const struct cli_opt opts[] = {
		{"format", CLI_STR, &format, "md|html|json", "Markdown (default), one self-contained "
		 "HTML page with SVG charts,\nor one llmcap.report/1 JSON object"},
		{"out", CLI_STR, &out, "FILE", "write the report to FILE atomically (default: stdout)"},
		{"hw", CLI_STR, &hw, "H", "this (default), a catalog id or a hardware JSON file"},
		{"model", CLI_STR, &model_last, "M", "a buying table for M (catalog id, .gguf or config.json);\n"
		 "repeat the option or give a comma list"},
		{"ctx", CLI_INT, &a.ctx, "N", "context window of the fit (default 4096)"},
		{"min-tps", CLI_DOUBLE, &min_tps, "X", "decode tokens/s a model must reach (default 5)"},
		{"buy-tps", CLI_DOUBLE, &buy_tps, "X", "decode tokens/s wanted in the buying tables "
		 "(default 10, as llmcap buy)"},
		{"top", CLI_INT, &top_n, "N", "models in the charts (1-6, default 5)"},
		{"engine", CLI_STR, &engine, "E", "llama.cpp (default) or llmcap"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	int fmt = strcmp(format, "md") == 0 ? 0 : strcmp(format, "html") == 0 ? 1
		: strcmp(format, "json") == 0 ? 2 : -1;
	if (fmt < 0) {
		fprintf(stderr, "llmcap report: unknown --format '%s'; use md, html or json\n", format);
		return CLI_USAGE;
	}
	if (top_n < 1 || top_n > REPORT_MAX_TOP) {
		fprintf(stderr, "llmcap report: --top must be 1 to %d\n", REPORT_MAX_TOP);
		return CLI_USAGE;
	}
	if (!(min_tps >= 0) || (isfinite(buy_tps) && !(buy_tps >= 0))) {
		fprintf(stderr, "llmcap report: --min-tps and --buy-tps must be 0 or more tokens/s\n");
		return CLI_USAGE;
	}
	if (!isfinite(buy_tps))
		buy_tps = 10;
	char mstore[4096];
	const char *models[REPORT_MAX_MODELS];
	int nm = collect_models(argc, argv, mstore, sizeof mstore, models);
	if (nm < 0)
		return CLI_USAGE;

	struct hw_spec *h = calloc(1, sizeof *h);
	struct cli_fit *fr = calloc(1, sizeof *fr);
	struct top_pred *tp = calloc(REPORT_MAX_TOP, sizeof *tp);
	struct rep_plan top[REPORT_MAX_TOP];
	struct rep_roof_pt pts[2 * REPORT_MAX_TOP];
	struct rep_ceiling ceil_[REPORT_MAX_CEIL];
	struct buy_run *br = calloc(REPORT_MAX_MODELS, sizeof *br);
	struct rep_buy buys[REPORT_MAX_MODELS];
	struct mdb_hw_catalog cat = {0};
	char *text = NULL;
	int fit_ok = 0, nb = 0;
	if (!h || !fr || !tp || !br) {
		fprintf(stderr, "llmcap report: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	if ((rc = cli_hw("report", hw, h)) != CLI_OK)
		goto out;
	if ((rc = cli_fit_rank("report", h, &a, engine, min_tps, fr)) != CLI_OK)
		goto out;
	fit_ok = 1;

	/* the top models that fit, each predicted again at a longer window for
	 * its curve (the fit's own prediction when that no longer fits) */
	char err[1024] = "";
	int nt = 0, np = 0;
	for (int i = 0; i < fr->n_rows && nt < top_n; i++) {
		const struct rep_fit_row *x = &fr->rows[i];
		if (!x->best || !x->pred->fits)
			continue;
		struct top_pred *t = &tp[nt];
		int64_t want = x->model->context > 0 && x->model->context < REPORT_CURVE_CTX
			? x->model->context : REPORT_CURVE_CTX;
		int done = 0;
		/* the longest window (halving) that keeps the fit's placement: a
		 * curve that switched to SSD streaming half way would mislead */
		for (int64_t c = want; !done && c > fr->wl.ctx; c /= 2) {
			t->wl = fr->wl;
			t->wl.ctx = c;
			done = sim_predict(h, x->model, x->weights, &t->wl, &fr->eff, &t->p, err,
					   sizeof err) == 0 && t->p.fits && t->p.place == x->pred->place;
		}
		if (!done) {
			t->wl = fr->wl;
			t->p = *x->pred;
		}
		top[nt] = (struct rep_plan){h, x->model, x->weights, &t->wl, &t->p};
		/* operating points at the fit's workload (prompt at depth) */
		struct opcount oc;
		count_ops(x->model, x->weights, x->pred, &fr->wl, fr->eff.ubatch, &oc);
		pts[np++] = (struct rep_roof_pt){nt, 0, oc.dec_flops / oc.dec_bytes,
						 oc.dec_flops * x->pred->decode_tps / 1e9};
		if (isfinite(x->pred->prefill_tps) && x->pred->prefill_tps > 0)
			pts[np++] = (struct rep_roof_pt){nt, 1, oc.pre_flops / oc.pre_bytes,
							 oc.pre_flops_tok * x->pred->prefill_tps / 1e9};
		nt++;
	}
	/* the ceilings at the engine's factors for this machine (profiles:
	 * the Q4_0 decode and prefill factors, the commonest quantized case) */
	struct sim_eff ce = fr->eff;
	if (ce.prof) {
		char e2[256];
		if (sim_eff_from_profiles(ce.prof, ce.engine, h, NULL, &ce, e2, sizeof e2) != 0)
			ce = fr->eff;
		ce.prof = NULL;
	}
	int nc = ceilings(h, &ce, ceil_);
	char roof_note[600];
	snprintf(roof_note, sizeof roof_note,
		 "Operating points (predicted) at the fit's workload: a decoded token reads the weights "
		 "it uses (MoE: the shared part and the top-k routed experts) and the KV cache of %lld "
		 "tokens; a prefill micro-batch of up to %d tokens reads the weights once. FLOPs: 2 per "
		 "active weight plus attention. Dashed ceilings: peak x %s's %s factors for Q4_0 "
		 "(%.0f%% of bandwidth, %.0f%% of compute). Counted by llmcap report; "
		 "llmcap plan shows where each step's time goes.",
		 (long long)(fr->wl.depth + fr->wl.prompt), fr->eff.ubatch, ce.engine,
		 ce.calibrated ? "calibrated" : fr->eff.prof ? "profile" : "default",
		 100 * ce.host_bw, 100 * ce.host_mm);

	if (nm > 0) {
		int lrc = mdb_hw_catalog_load(&cat, err, sizeof err);
		if (lrc != 0) {
			fprintf(stderr, "llmcap report: %s\n", err);
			rc = lrc == -2 ? CLI_USAGE : CLI_FAIL;
			goto out;
		}
		for (; nb < nm; nb++) {
			rc = buy_one(models[nb], &cat, &fr->wl, &fr->eff, buy_tps, &br[nb], &buys[nb]);
			if (rc != CLI_OK) {
				nb++;
				goto out;
			}
		}
	}

	struct rep_fit f = {h, &fr->wl, min_tps, 0, fr->n_rows, fr->rows, fr->elapsed_s};
	struct rep_report r = {
		.hw = h, .fit = &f, .max_fit_rows = REPORT_FIT_ROWS, .n_top = nt, .top = top,
		.n_ceil = nc, .ceil = ceil_, .n_pts = np, .pts = pts, .roof_note = roof_note,
		.n_buy = nb, .buy = buys,
		.verify_note = "No verification results in this report: llmcap verify --model M runs "
			       "a model with llmcap's kernels and prints measured beside predicted "
			       "tokens/s, but its results are not stored for reports yet, so every "
			       "speed here is a prediction.",
	};
	text = fmt == 0 ? rep_report_md(&r) : fmt == 1 ? rep_report_html(&r) : rep_report_json(&r, 1);
	if (!text) {
		fprintf(stderr, "llmcap report: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	if (out) {
		size_t len = strlen(text);
		int add_nl = fmt == 2;
		if (add_nl) {
			char *t2 = realloc(text, len + 2);
			if (t2) {
				text = t2;
				text[len++] = '\n';
				text[len] = 0;
			}
		}
		if (rep_write_atomic(out, text, len, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap report: %s\n", err);
			rc = CLI_FAIL;
			goto out;
		}
		fprintf(stderr, "llmcap report: wrote %s\n", out);
	} else {
		fputs(text, stdout);
		if (fmt == 2)
			fputc('\n', stdout);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "llmcap report: could not write to stdout\n");
			rc = CLI_FAIL;
			goto out;
		}
	}
	rc = CLI_OK;
out:
	free(text);
	for (int i = 0; br && i < nb; i++) {
		cli_model_free(&br[i].cm);
		free(br[i].preds);
		free(br[i].rows);
	}
	mdb_hw_catalog_free(&cat);
	if (fit_ok)
		cli_fit_free(fr);
	free(fr);
	free(tp);
	free(br);
	free(h);
	return rc;
}

const struct cli_cmd cmd_report = {
	"report", "A shareable machine and capacity report (Markdown, HTML with charts, JSON)",
	"report [--format md|html|json] [--out FILE] [--hw H] [--model M ...] [--ctx N]\n"
	"              [--min-tps X] [--buy-tps X] [--top N] [--engine E]",
	"One report to share: the machine (each figure marked measured, reported or\n"
	"spec, and how it was measured), the models that fit ranked as llmcap fit ranks\n"
	"them, decode tokens/s against context for the top models, a roofline of the\n"
	"machine with the models' decode and prefill operating points, and for each\n"
	"--model a buying table from the hardware catalog (as llmcap buy). Speeds are\n"
	"predicted; verification results are not available yet (llmcap verify is not\n"
	"built). HTML is one self-contained file: inline CSS and SVG, no script, no\n"
	"network, light and dark mode, printable. JSON: llmcap.report/1\n"
	"(docs/report-schema.md). --out writes through a temporary file and rename.",
	NULL, NULL, report_main,
};
