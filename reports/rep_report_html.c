/* reports: `llmcap report --format html` — one self-contained page:
 * inline CSS (light and dark through prefers-color-scheme, a print
 * style), the charts as inline SVG from rep_report_svg.c, no script, no
 * network reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "reports/rep_report_int.h"
#include "simulator/sim.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static const char css[] =
	":root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d1f23;--muted:#5b6270;--grid:#d9dde3;"
	"--ceil:#0f7c8c;--chart-bg:#ffffff;--card:#ffffff;--border:#d9dde3;--head:#eef1f5;"
	"--measured:#1f7a46;--spec:#8a5a00;--predicted:#2a62b0;--warn:#a33a2a}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#14161a;--fg:#e4e7eb;--muted:#a2a9b5;"
	"--grid:#353a43;--ceil:#5fc4d0;--chart-bg:#1c1f25;--card:#1c1f25;--border:#353a43;"
	"--head:#242830;--measured:#5cc98a;--spec:#e0b25a;--predicted:#7fb0f0;--warn:#f08a78}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"
	"'Segoe UI',Roboto,sans-serif}\n"
	"main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}\n"
	"h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:32px 0 8px;padding-top:8px;"
	"border-top:1px solid var(--border)}\n"
	"p{margin:6px 0 10px}.muted{color:var(--muted)}code{font:13px ui-monospace,monospace}\n"
	"table{border-collapse:collapse;width:100%;background:var(--card);margin:8px 0 12px;"
	"font-size:14px}\n"
	"th,td{border:1px solid var(--border);padding:4px 8px;text-align:left;vertical-align:top}\n"
	"th{background:var(--head);font-weight:600}td.n,td.ok,td.bad{white-space:nowrap}td.n,th.n{text-align:right;"
	"font-variant-numeric:tabular-nums}\n"
	".src{display:inline-block;padding:0 6px;border-radius:9px;font-size:12px;font-weight:600;"
	"border:1px solid currentColor}\n"
	".src-measured{color:var(--measured)}.src-reported{color:var(--measured)}"
	".src-spec{color:var(--spec)}.src-predicted{color:var(--predicted)}"
	".src-unknown,.src-assumed{color:var(--muted)}\n"
	".ok{color:var(--measured);font-weight:600}.bad{color:var(--warn)}\n"
	"figure{margin:12px 0;background:var(--chart-bg);border:1px solid var(--border);"
	"border-radius:8px;padding:8px}\n"
	"figure svg{display:block;width:100%;height:auto}\n"
	"figcaption{color:var(--muted);font-size:13px;padding:4px 8px}\n"
	".note{border-left:4px solid var(--warn);padding:6px 12px;background:var(--card)}\n"
	"@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--grid:#ccc;--ceil:#0f7c8c;--chart-bg:#fff;"
	"--card:#fff;--border:#bbb;--head:#eee;--measured:#1f7a46;--spec:#8a5a00;--predicted:#2a62b0;"
	"--warn:#a33a2a}body{font-size:11pt}main{max-width:none;padding:0}"
	"figure,table,tr{break-inside:avoid}h2{break-after:avoid}}\n";

static void esc(FILE *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", o); break;
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '"': fputs("&quot;", o); break;
		default: fputc(*s, o);
		}
	}
}

static void src_badge(FILE *o, const char *src)
{
	fprintf(o, "<span class=\"src src-%s\">", src);
	esc(o, src);
	fputs("</span>", o);
}

static void td(FILE *o, const char *cls, const char *s)
{
	fprintf(o, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	esc(o, s);
	fputs("</td>", o);
}

static void thead(FILE *o, int n, const char *const *h, const char *align)
{
	fputs("<table><thead><tr>", o);
	for (int i = 0; i < n; i++) {
		fprintf(o, "<th%s>", align[i] == 'r' ? " class=\"n\"" : "");
		esc(o, h[i]);
		fputs("</th>", o);
	}
	fputs("</tr></thead><tbody>\n", o);
}

/* The SVG document without its XML-less header: inlined as is. */
static void chart(FILE *o, char *svg, const char *caption)
{
	fputs("<figure>\n", o);
	if (svg)
		fputs(svg, o);
	else
		fputs("<p class=\"muted\">chart unavailable (out of memory)</p>", o);
	fputs("<figcaption>", o);
	esc(o, caption);
	fputs("</figcaption>\n</figure>\n", o);
	free(svg);
}

char *rep_report_html(const struct rep_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	if (!o)
		return NULL;
	const struct hw_spec *h = r->hw;
	char a[64], b[64], c[64];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"color-scheme\" content=\"light dark\">\n<title>llmcap report: ", o);
	esc(o, h->name);
	fprintf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", css);
	fputs("<h1>llmcap report: ", o);
	esc(o, h->name);
	fputs("</h1>\n<p class=\"muted\">Made by llmcap "
#ifdef LLMCAP_VERSION
	      LLMCAP_VERSION
#endif
	      ". Every figure says where it comes from: ", o);
	src_badge(o, "measured");
	fputs(" timed on this machine by <code>llmcap probe</code>, ", o);
	src_badge(o, "reported");
	fputs(" read from the OS or CPUID, ", o);
	src_badge(o, "spec");
	fputs(" published, ", o);
	src_badge(o, "predicted");
	fputs(" by the simulator (<code>llmcap verify</code> will measure them).</p>\n", o);

	/* the machine */
	fputs("<h2>The machine</h2>\n", o);
	struct rep_fig figs[REP_MAX_FIGS];
	int nf = rep_report_figs(h, figs, REP_MAX_FIGS);
	const char *fh[] = {"figure", "value", "source", "how"};
	thead(o, 4, fh, "llll");
	for (int i = 0; i < nf; i++) {
		fputs("<tr>", o);
		td(o, NULL, figs[i].name);
		td(o, NULL, figs[i].value);
		fputs("<td>", o);
		src_badge(o, figs[i].src);
		fputs("</td>", o);
		td(o, "muted", figs[i].how[0] ? figs[i].how : "-");
		fputs("</tr>\n", o);
	}
	fputs("</tbody></table>\n", o);
	if (!h->measured && h->source[0]) {
		fputs("<p class=\"muted\">Source of the spec figures: ", o);
		esc(o, h->source);
		fputs("</p>\n", o);
	}

	/* the models that fit */
	const struct sim_workload *wl = r->fit->wl;
	int idx[512];
	int nr = rep_report_fit_rows(r, idx, 512);
	int models = 0, fits = 0, meets = 0;
	for (int i = 0; i < r->fit->n; i++) {
		models += r->fit->rows[i].best;
		fits += r->fit->rows[i].best && r->fit->rows[i].pred->fits;
		meets += r->fit->rows[i].best && r->fit->rows[i].meets;
	}
	fputs("<h2>Models that fit <span class=\"src src-predicted\">predicted</span></h2>\n", o);
	fprintf(o, "<p>Engine %s; context %lld tokens, prompt %lld, generate %lld, batch %d, KV cache %s. "
		"<strong>%d of %d</strong> catalog models decode at %.1f tokens/s or faster; %d fit in "
		"memory at all. The top %d, ranked as <code>llmcap fit</code> ranks them: capability "
		"(the geometric mean of total and active parameters, a heuristic), each model at the "
		"largest quantization that reaches the target.</p>\n",
		r->fit->n ? r->fit->rows[0].pred->engine : "llama.cpp", (long long)wl->ctx,
		(long long)wl->prompt, (long long)wl->gen, wl->batch, wl->kv_quant, meets, models,
		r->fit->min_tps, fits, nr);
	const char *th[] = {"#", "model", "params", "quant", "memory", "placement", "prefill tokens/s",
			    "decode tokens/s", "target"};
	thead(o, 9, th, "rlrllrrrl");
	for (int i = 0; i < nr; i++) {
		const struct rep_fit_row *x = &r->fit->rows[idx[i]];
		char pa[80], pl[48], n[16];
		snprintf(n, sizeof n, "%d", i + 1);
		fputs("<tr>", o);
		td(o, "n", n);
		td(o, NULL, x->model->id);
		td(o, "n", rep_model_params(pa, sizeof pa, x->model));
		td(o, NULL, x->weights->quant);
		snprintf(c, sizeof c, "%.1f GiB", x->pred->mem.total_bytes / GIB);
		td(o, "n", c);
		td(o, NULL, rep_pred_place(pl, sizeof pl, x->pred));
		td(o, "n", rep_fmt_tps(a, sizeof a, x->pred->prefill_tps));
		td(o, "n", rep_fmt_tps(b, sizeof b, x->pred->decode_tps));
		td(o, x->meets ? "ok" : "bad", x->meets ? "ok" : "slow");
		fputs("</tr>\n", o);
	}
	fprintf(o, "</tbody></table>\n<p class=\"muted\">Error band +-%.0f%%. <code>llmcap plan --model "
		"ID</code> explains a row; <code>llmcap fit --all</code> lists every quantization.</p>\n",
		r->fit->n ? 100 * r->fit->rows[0].pred->band : 30.0);

	/* charts */
	fputs("<h2>Decode speed against context <span class=\"src src-predicted\">predicted</span></h2>\n", o);
	char cap[400];
	snprintf(cap, sizeof cap, "Decode tokens/s of one stream with the given number of tokens already "
		 "in the context, for the top %d models; each predicted at the longest window up to %lld "
		 "tokens that keeps its placement (at most its own context).", r->n_top,
		 rep_report_max_ctx(r));
	chart(o, rep_svg_decode(r), cap);
	fputs("<h2>Roofline</h2>\n", o);
	chart(o, rep_svg_roofline(r), r->roof_note ? r->roof_note
	      : "Ceilings of the machine and the models' operating points.");
	const char *ch[] = {"ceiling", "value", "kind"};
	thead(o, 3, ch, "lrl");
	for (int i = 0; i < r->n_ceil; i++) {
		const struct rep_ceiling *x = &r->ceil[i];
		fputs("<tr>", o);
		td(o, NULL, x->label);
		snprintf(a, sizeof a, x->compute ? "%.0f GFLOP/s" : "%.1f GB/s", x->value);
		td(o, "n", a);
		td(o, NULL, x->achieved ? "achieved by the engine (peak x efficiency)" : "peak");
		fputs("</tr>\n", o);
	}
	fputs("</tbody></table>\n", o);
	const char *ph[] = {"model", "phase", "intensity (FLOP/byte)", "performance (GFLOP/s, predicted)"};
	thead(o, 4, ph, "llrr");
	for (int i = 0; i < r->n_pts; i++) {
		const struct rep_roof_pt *p = &r->pts[i];
		if (p->model < 0 || p->model >= r->n_top)
			continue;
		char lab[160];
		snprintf(lab, sizeof lab, "%s %s", r->top[p->model].model->id, r->top[p->model].weights->quant);
		fprintf(o, "<tr><td><span style=\"color:%s\">%s</span> ", rep_series_color(p->model),
			p->prefill ? "&#9632;" : "&#9679;");
		esc(o, lab);
		fputs("</td>", o);
		td(o, NULL, rep_report_phase(p));
		snprintf(a, sizeof a, "%.2f", p->intensity);
		td(o, "n", a);
		snprintf(b, sizeof b, "%.1f", p->gflops);
		td(o, "n", b);
		fputs("</tr>\n", o);
	}
	fputs("</tbody></table>\n", o);

	/* buying */
	for (int k = 0; k < r->n_buy; k++) {
		const struct rep_buy *bu = &r->buy[k];
		int q = 0;
		for (int i = 0; i < bu->n; i++)
			q += bu->rows[i].meets;
		fputs("<h2>What to buy for ", o);
		esc(o, bu->model->name[0] ? bu->model->name : bu->model->id);
		fputs(", ", o);
		esc(o, bu->weights->quant);
		fputs(" <span class=\"src src-predicted\">predicted</span></h2>\n", o);
		fprintf(o, "<p>Target %.1f tokens/s decode%s; <strong>%d of %d</strong> catalog machines "
			"qualify. Machines that qualify first, cheapest first; then the rest by speed. "
			"Prices and hardware figures are the catalog's <span class=\"src src-spec\">spec"
			"</span>.</p>\n", bu->min_tps, isfinite(bu->budget) ? " within the budget" : "", q,
			bu->n);
		const char *bh[] = {"#", "machine", "price", "placement", "prefill tokens/s",
				    "decode tokens/s", "tokens/s per $1000", "verdict"};
		thead(o, 8, bh, "rlrlrrrl");
		for (int i = 0; i < bu->n && i < REP_BUY_ROWS; i++) {
			const struct rep_buy_row *x = &bu->rows[i];
			char pl[48], n[16];
			snprintf(n, sizeof n, "%d", i + 1);
			fputs("<tr>", o);
			td(o, "n", n);
			td(o, NULL, x->hw->name);
			if (x->hw->price_usd > 0)
				snprintf(a, sizeof a, "$%.0f", x->hw->price_usd);
			else
				snprintf(a, sizeof a, "unknown");
			td(o, "n", a);
			td(o, NULL, rep_pred_place(pl, sizeof pl, x->pred));
			td(o, "n", rep_fmt_tps(b, sizeof b, x->pred->prefill_tps));
			td(o, "n", rep_fmt_tps(c, sizeof c, x->pred->decode_tps));
			if (x->pred->fits && x->hw->price_usd > 0)
				snprintf(a, sizeof a, "%.2f", 1000 * x->pred->decode_tps / x->hw->price_usd);
			else
				snprintf(a, sizeof a, "-");
			td(o, "n", a);
			const char *v = x->meets ? "ok" : !x->pred->fits ? "does not fit"
				: x->pred->decode_tps < bu->min_tps ? "too slow" : "over budget";
			td(o, x->meets ? "ok" : "bad", v);
			fputs("</tr>\n", o);
		}
		fputs("</tbody></table>\n", o);
		if (bu->n > REP_BUY_ROWS)
			fprintf(o, "<p class=\"muted\">%d more machines: <code>llmcap buy --model %s</code>.</p>\n",
				bu->n - REP_BUY_ROWS, bu->model->id);
	}

	fputs("<h2>Verification</h2>\n<p class=\"note\">", o);
	esc(o, r->verify_note ? r->verify_note
	    : "No verification results in this report: llmcap verify --model M measures a model with "
	      "llmcap's kernels beside its prediction; its results are not stored for reports yet.");
	fputs("</p>\n</main>\n</body>\n</html>\n", o);
	if (fclose(o) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
