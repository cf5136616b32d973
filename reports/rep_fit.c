/* reports: `llmcap fit` (models on one machine) and `llmcap buy` /
 * `llmcap compare` (one model on several machines). Speeds are predicted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "simulator/sim.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

char *rep_fmt_tps(char *b, size_t n, double v)
{
	if (!isfinite(v) || v <= 0)
		snprintf(b, n, "-");
	else if (v >= 100)
		snprintf(b, n, "%.0f", v);
	else if (v >= 10)
		snprintf(b, n, "%.1f", v);
	else
		snprintf(b, n, "%.2f", v);
	return b;
}

static char *pcount(char *b, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(b, n, "%.1fB", v / 1e9);
	else
		snprintf(b, n, "%.0fM", v / 1e6);
	return b;
}

char *rep_model_params(char *b, size_t n, const struct mdb_model *m)
{
	struct mdb_params mp;
	char x[32], y[32];
	mdb_model_params(m, &mp);
	if (mdb_model_is_moe(m))
		snprintf(b, n, "%s-A%s", pcount(x, sizeof x, mp.total), pcount(y, sizeof y, mp.active));
	else
		pcount(b, n, mp.total);
	return b;
}

char *rep_pred_place(char *b, size_t n, const struct sim_pred *p)
{
	if (p->place == SIM_PLACE_SPLIT)
		snprintf(b, n, "split %d/%d", p->gpu_layers, p->n_layer);
	else if (p->place == SIM_PLACE_SSD && isfinite(p->expert_hit_rate))
		snprintf(b, n, "ssd (%.0f%% hit)", 100 * p->expert_hit_rate);
	else
		snprintf(b, n, "%s", sim_place_name(p->place));
	return b;
}

static void workload_line(FILE *out, const struct sim_workload *wl, const char *engine)
{
	fprintf(out, "  engine %s; ctx %lld, prompt %lld, gen %lld, batch %d, KV %s\n", engine,
		(long long)wl->ctx, (long long)wl->prompt, (long long)wl->gen, wl->batch, wl->kv_quant);
}

void rep_fit_text(const struct rep_fit *f, FILE *out)
{
	int shown = 0, meets = 0, fits = 0, models = 0;
	for (int i = 0; i < f->n; i++) {
		models += f->rows[i].best;
		meets += f->rows[i].best && f->rows[i].meets;
		fits += f->rows[i].best && f->rows[i].pred->fits;
	}
	fprintf(out, "What %s can run (predicted)\n", f->hw->name);
	workload_line(out, f->wl, f->n ? f->rows[0].pred->engine : "llama.cpp");
	fprintf(out, "  %d of %d catalog models reach %.1f tokens/s; %d fit in memory at all\n\n", meets,
		models, f->min_tps, fits);
	const char *hd[] = {"#", "model", "params", "quant", "memory", "placement", "prefill t/s",
			    "decode t/s", ""};
	struct rep_table *t = rep_table_new(9, hd);
	if (!t)
		return;
	rep_table_align(t, 0, REP_RIGHT);
	for (int c = 2; c <= 7; c++)
		if (c != 3 && c != 5)
			rep_table_align(t, c, REP_RIGHT);
	for (int i = 0; i < f->n; i++) {
		const struct rep_fit_row *r = &f->rows[i];
		if (!(f->all || r->best) || !r->pred->fits)
			continue;
		char c[32], d[32], e[40], pa[80];
		rep_model_params(pa, sizeof pa, r->model);
		shown++;
		rep_table_addf(t, "%d\t%s\t%s\t%s\t%.1f GiB\t%s\t%s\t%s\t%s", shown, r->model->id, pa,
			       r->weights->quant, r->pred->mem.total_bytes / GIB,
			       rep_pred_place(e, sizeof e, r->pred), rep_fmt_tps(c, sizeof c, r->pred->prefill_tps),
			       rep_fmt_tps(d, sizeof d, r->pred->decode_tps), r->meets ? "ok" : "slow");
	}
	rep_table_print_indent(t, out, 2);
	rep_table_delete(t);
	fprintf(out, "\n  Ranked by capability (geometric mean of total and active parameters, a "
		"heuristic), then by\n  quality of the quantization; each model at the best quantization "
		"that reaches --min-tps.\n  %d models do not fit at all%s. Speeds are predicted with "
		"the default efficiencies\n  (+-%.0f%%); llmcap plan --model ID explains one row.\n",
		models - fits, f->all ? "" : " (--all shows every quantization)",
		f->n ? 100 * f->rows[0].pred->band : 30.0);
	if (f->elapsed_s > 0)
		fprintf(out, "  %d predictions in %.1f ms.\n", f->n, f->elapsed_s * 1000);
}

static void add_pred_summary(cJSON *o, const struct sim_pred *p)
{
	cJSON_AddBoolToObject(o, "fits", p->fits);
	cJSON_AddStringToObject(o, "placement", sim_place_name(p->place));
	cJSON_AddNumberToObject(o, "gpu_layers", p->gpu_layers);
	cJSON_AddNumberToObject(o, "total_bytes", p->mem.total_bytes);
	if (p->fits) {
		cJSON_AddNumberToObject(o, "prefill_tps", isfinite(p->prefill_tps) ? p->prefill_tps : 0);
		cJSON_AddNumberToObject(o, "decode_tps", p->decode_tps);
		cJSON_AddNumberToObject(o, "decode_tps_total", p->decode_tps_total);
		cJSON_AddNumberToObject(o, "ttft_s", p->ttft_s);
		cJSON_AddStringToObject(o, "bottleneck", sim_bound_name(p->bottleneck));
	} else {
		cJSON_AddNullToObject(o, "prefill_tps");
		cJSON_AddNullToObject(o, "decode_tps");
	}
	cJSON_AddNumberToObject(o, "error_band", p->band);
	cJSON_AddStringToObject(o, "why", p->why);
}

char *rep_fit_json(const struct rep_fit *f, int pretty)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", REP_FIT_SCHEMA);
	cJSON_AddStringToObject(o, "figures", "predicted");
	cJSON *h = cJSON_AddObjectToObject(o, "hardware");
	cJSON_AddStringToObject(h, "id", f->hw->id);
	cJSON_AddStringToObject(h, "name", f->hw->name);
	cJSON_AddNumberToObject(o, "min_tps", f->min_tps);
	cJSON *w = cJSON_AddObjectToObject(o, "workload");
	cJSON_AddNumberToObject(w, "ctx", (double)f->wl->ctx);
	cJSON_AddNumberToObject(w, "prompt", (double)f->wl->prompt);
	cJSON_AddNumberToObject(w, "gen", (double)f->wl->gen);
	cJSON_AddStringToObject(w, "kv_quant", f->wl->kv_quant);
	cJSON_AddStringToObject(o, "ranking", "capability (geometric mean of total and active "
				"parameters), then quantization quality; rows meeting min_tps first");
	cJSON *arr = cJSON_AddArrayToObject(o, "results");
	for (int i = 0; i < f->n; i++) {
		const struct rep_fit_row *r = &f->rows[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "model", r->model->id);
		cJSON_AddStringToObject(x, "quant", r->weights->quant);
		cJSON_AddNumberToObject(x, "capability_params", r->capability);
		cJSON_AddBoolToObject(x, "best_for_model", r->best);
		cJSON_AddBoolToObject(x, "meets_min_tps", r->meets);
		add_pred_summary(x, r->pred);
		cJSON_AddItemToArray(arr, x);
	}
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void buy_head(const struct rep_buy *b, FILE *out, const char *what)
{
	fprintf(out, "%s %s, %s (predicted)\n", what, b->model->name[0] ? b->model->name : b->model->id,
		b->weights->quant);
	workload_line(out, b->wl, b->n ? b->rows[0].pred->engine : "llama.cpp");
}

void rep_buy_text(const struct rep_buy *b, FILE *out)
{
	buy_head(b, out, "Machines for");
	int meets = 0;
	for (int i = 0; i < b->n; i++)
		meets += b->rows[i].meets;
	fprintf(out, "  target: %.1f tokens/s decode", b->min_tps);
	if (isfinite(b->budget))
		fprintf(out, ", budget $%.0f", b->budget);
	fprintf(out, "; %d of %d catalog machines qualify\n\n", meets, b->n);
	const char *hd[] = {"#", "machine", "price", "placement", "prefill t/s", "decode t/s",
			    "t/s per $1000", ""};
	struct rep_table *t = rep_table_new(8, hd);
	if (!t)
		return;
	for (int c = 0; c < 7; c++)
		if (c != 1 && c != 3)
			rep_table_align(t, c, REP_RIGHT);
	for (int i = 0; i < b->n; i++) {
		const struct rep_buy_row *r = &b->rows[i];
		char pr[32], e[40], c[32], d[32], per[32];
		if (r->hw->price_usd > 0)
			snprintf(pr, sizeof pr, "$%.0f", r->hw->price_usd);
		else
			snprintf(pr, sizeof pr, "unknown");
		if (r->pred->fits && r->hw->price_usd > 0)
			snprintf(per, sizeof per, "%.2f", 1000 * r->pred->decode_tps / r->hw->price_usd);
		else
			snprintf(per, sizeof per, "-");
		const char *verdict = r->meets ? "ok" : !r->pred->fits ? "does not fit"
			: r->pred->decode_tps < b->min_tps ? "too slow" : "over budget";
		rep_table_addf(t, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", i + 1, r->hw->id, pr,
			       rep_pred_place(e, sizeof e, r->pred), rep_fmt_tps(c, sizeof c, r->pred->prefill_tps),
			       rep_fmt_tps(d, sizeof d, r->pred->decode_tps), per, verdict);
	}
	rep_table_print_indent(t, out, 2);
	rep_table_delete(t);
	fprintf(out, "\n  Machines that qualify first, cheapest first; then the rest by speed. Prices "
		"and figures are\n  the catalog's spec (llmcap hardware shows sources and dates); "
		"speeds +-%.0f%%.\n", b->n ? 100 * b->rows[0].pred->band : 30.0);
}

void rep_compare_text(const struct rep_buy *b, FILE *out)
{
	buy_head(b, out, "Comparing machines for");
	fputc('\n', out);
	int n = b->n;
	const char **hd = calloc((size_t)n + 1, sizeof *hd);
	if (!hd)
		return;
	hd[0] = "";
	for (int i = 0; i < n; i++)
		hd[i + 1] = b->rows[i].hw->id;
	struct rep_table *t = rep_table_new(n + 1, hd);
	free(hd);
	if (!t)
		return;
	for (int i = 1; i <= n; i++)
		rep_table_align(t, i, REP_RIGHT);
	const char *labels[] = {"price", "memory usable", "needs", "placement", "prefill t/s",
				"decode t/s", "time to first token", "bottleneck", "t/s per $1000"};
	int nl = (int)(sizeof labels / sizeof labels[0]);
	char (*cells)[48] = calloc((size_t)n + 1, sizeof *cells);
	const char **row = calloc((size_t)n + 1, sizeof *row);
	if (!cells || !row) {
		free(cells);
		free(row);
		rep_table_delete(t);
		return;
	}
	for (int l = 0; l < nl; l++) {
		row[0] = labels[l];
		for (int i = 0; i < n; i++) {
			const struct rep_buy_row *r = &b->rows[i];
			const struct sim_pred *p = r->pred;
			char *c = cells[i + 1];
			size_t cn = sizeof cells[0];
			switch (l) {
			case 0:
				if (r->hw->price_usd > 0)
					snprintf(c, cn, "$%.0f", r->hw->price_usd);
				else
					snprintf(c, cn, "unknown");
				break;
			case 1:
				snprintf(c, cn, "%.1f GiB", (isfinite(p->mem.gpu_usable) && !r->hw->accel[0].unified_memory
							      ? p->mem.gpu_usable + p->mem.host_usable
							      : p->mem.host_usable) / GIB);
				break;
			case 2: snprintf(c, cn, "%.1f GiB", p->mem.total_bytes / GIB); break;
			case 3: rep_pred_place(c, cn, p); break;
			case 4: rep_fmt_tps(c, cn, p->prefill_tps); break;
			case 5: rep_fmt_tps(c, cn, p->decode_tps); break;
			case 6:
				if (p->fits && isfinite(p->ttft_s))
					snprintf(c, cn, "%.2f s", p->ttft_s);
				else
					snprintf(c, cn, "-");
				break;
			case 7: snprintf(c, cn, "%s", p->fits ? sim_bound_name(p->bottleneck) : "-"); break;
			case 8:
				if (p->fits && r->hw->price_usd > 0)
					snprintf(c, cn, "%.2f", 1000 * p->decode_tps / r->hw->price_usd);
				else
					snprintf(c, cn, "-");
				break;
			}
			row[i + 1] = c;
		}
		rep_table_add(t, row);
	}
	rep_table_print_indent(t, out, 2);
	rep_table_delete(t);
	free(cells);
	free(row);
	fprintf(out, "\n  Speeds +-%.0f%%; llmcap plan --model ID --hw H explains one column.\n",
		n ? 100 * b->rows[0].pred->band : 30.0);
}

char *rep_buy_json(const struct rep_buy *b, int pretty)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", b->schema);
	cJSON_AddStringToObject(o, "figures", "predicted");
	cJSON_AddStringToObject(o, "model", b->model->id);
	cJSON_AddStringToObject(o, "quant", b->weights->quant);
	if (isfinite(b->min_tps))
		cJSON_AddNumberToObject(o, "min_tps", b->min_tps);
	if (isfinite(b->budget))
		cJSON_AddNumberToObject(o, "budget_usd", b->budget);
	cJSON *w = cJSON_AddObjectToObject(o, "workload");
	cJSON_AddNumberToObject(w, "ctx", (double)b->wl->ctx);
	cJSON_AddNumberToObject(w, "prompt", (double)b->wl->prompt);
	cJSON_AddNumberToObject(w, "gen", (double)b->wl->gen);
	cJSON *arr = cJSON_AddArrayToObject(o, "machines");
	for (int i = 0; i < b->n; i++) {
		const struct rep_buy_row *r = &b->rows[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "hardware", r->hw->id);
		cJSON_AddStringToObject(x, "name", r->hw->name);
		if (r->hw->price_usd > 0) {
			cJSON_AddNumberToObject(x, "price_usd", r->hw->price_usd);
			if (r->pred->fits)
				cJSON_AddNumberToObject(x, "decode_tps_per_1000_usd",
							1000 * r->pred->decode_tps / r->hw->price_usd);
		} else {
			cJSON_AddNullToObject(x, "price_usd");
		}
		cJSON_AddBoolToObject(x, "meets", r->meets);
		add_pred_summary(x, r->pred);
		cJSON_AddItemToArray(arr, x);
	}
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
