/* reports: predictions (llmcap plan, fit, buy, compare) as text and JSON.
 * Every speed here is predicted by the simulator and says so. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "simulator/sim.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static void jnum(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static char *fmt_gib(char *b, size_t n, double bytes)
{
	if (!isfinite(bytes))
		snprintf(b, n, "unknown");
	else if (bytes < 0.1 * GIB)
		snprintf(b, n, "%.0f MiB", bytes / (1024.0 * 1024.0));
	else
		snprintf(b, n, "%.2f GiB", bytes / GIB);
	return b;
}

static char *fmt_secs(char *b, size_t n, double s)
{
	if (!isfinite(s))
		snprintf(b, n, "-");
	else if (s < 1)
		snprintf(b, n, "%.0f ms", s * 1000);
	else if (s < 120)
		snprintf(b, n, "%.1f s", s);
	else
		snprintf(b, n, "%.1f min", s / 60);
	return b;
}

cJSON *rep_plan_cjson(const struct rep_plan *r)
{
	const struct sim_pred *p = r->pred;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", REP_PLAN_SCHEMA);
	cJSON_AddStringToObject(o, "figures", "predicted");
	cJSON *m = cJSON_AddObjectToObject(o, "model");
	cJSON_AddStringToObject(m, "id", r->model->id);
	cJSON_AddStringToObject(m, "name", r->model->name);
	cJSON_AddStringToObject(m, "from", r->model->file);
	cJSON_AddStringToObject(o, "quant", r->weights->quant);
	cJSON_AddStringToObject(o, "weights_source", r->weights->source);
	cJSON *h = cJSON_AddObjectToObject(o, "hardware");
	cJSON_AddStringToObject(h, "id", r->hw->id);
	cJSON_AddStringToObject(h, "name", r->hw->name);
	cJSON_AddStringToObject(h, "figures", r->hw->measured ? "measured" : "spec");
	cJSON_AddStringToObject(o, "engine", p->engine);
	cJSON *w = cJSON_AddObjectToObject(o, "workload");
	cJSON_AddNumberToObject(w, "ctx", (double)r->wl->ctx);
	cJSON_AddNumberToObject(w, "depth", (double)r->wl->depth);
	cJSON_AddNumberToObject(w, "prompt", (double)r->wl->prompt);
	cJSON_AddNumberToObject(w, "gen", (double)r->wl->gen);
	cJSON_AddNumberToObject(w, "batch", r->wl->batch);
	cJSON_AddStringToObject(w, "kv_quant", r->wl->kv_quant);
	if (r->wl->gpu_layers < 0)
		cJSON_AddStringToObject(w, "gpu_layers", "auto");
	else
		cJSON_AddNumberToObject(w, "gpu_layers", r->wl->gpu_layers);
	cJSON_AddBoolToObject(o, "fits", p->fits);
	cJSON_AddStringToObject(o, "placement", sim_place_name(p->place));
	cJSON_AddStringToObject(o, "why", p->why);
	cJSON_AddNumberToObject(o, "gpu_layers", p->gpu_layers);
	cJSON_AddNumberToObject(o, "n_layer", p->n_layer);
	cJSON *mem = cJSON_AddObjectToObject(o, "memory");
	jnum(mem, "weights_bytes", p->mem.weights_bytes);
	jnum(mem, "kv_bytes", p->mem.kv_bytes);
	jnum(mem, "state_bytes", p->mem.state_bytes);
	jnum(mem, "buffers_bytes", p->mem.buffers_bytes);
	jnum(mem, "overhead_bytes", p->mem.overhead_bytes);
	jnum(mem, "total_bytes", p->mem.total_bytes);
	jnum(mem, "gpu_bytes", p->mem.gpu_bytes);
	jnum(mem, "host_bytes", p->mem.host_bytes);
	jnum(mem, "gpu_usable_bytes", p->mem.gpu_usable);
	jnum(mem, "host_usable_bytes", p->mem.host_usable);
	jnum(mem, "ssd_streamed_bytes", p->mem.ssd_streamed_bytes);
	jnum(mem, "kv_bytes_per_token", p->mem.kv_bytes_per_token);
	jnum(o, "prefill_tps", p->fits ? p->prefill_tps : NAN);
	jnum(o, "decode_tps", p->fits ? p->decode_tps : NAN);
	jnum(o, "decode_tps_total", p->fits ? p->decode_tps_total : NAN);
	jnum(o, "ttft_s", p->ttft_s);
	jnum(o, "total_s", p->total_s);
	cJSON_AddStringToObject(o, "bottleneck", p->fits ? sim_bound_name(p->bottleneck) : "memory capacity");
	cJSON *bd = cJSON_AddObjectToObject(o, "decode_time_s");
	static const char *const keys[SIM_BOUND_COUNT] = {
		"host_memory", "gpu_memory", "host_compute", "gpu_compute", "link", "ssd", "fixed"};
	for (int b = 0; b < SIM_BOUND_COUNT; b++)
		jnum(bd, keys[b], p->fits ? p->decode_step_s[b] : NAN);
	jnum(o, "expert_hit_rate", p->expert_hit_rate);
	jnum(o, "ssd_bytes_per_token", p->fits ? p->ssd_bytes_per_token : NAN);
	cJSON *curve = cJSON_AddArrayToObject(o, "decode_curve");
	for (int i = 0; p->fits && i < p->n_curve; i++) {
		cJSON *pt = cJSON_CreateObject();
		cJSON_AddNumberToObject(pt, "ctx", (double)p->curve[i].ctx);
		cJSON_AddNumberToObject(pt, "decode_tps", p->curve[i].decode_tps);
		cJSON_AddItemToArray(curve, pt);
	}
	cJSON *eb = cJSON_AddObjectToObject(o, "error_band");
	cJSON_AddNumberToObject(eb, "relative", p->band);
	jnum(eb, "decode_tps_low", p->fits ? p->decode_tps * (1 - p->band) : NAN);
	jnum(eb, "decode_tps_high", p->fits ? p->decode_tps * (1 + p->band) : NAN);
	jnum(eb, "prefill_tps_low", p->fits ? p->prefill_tps * (1 - p->band) : NAN);
	jnum(eb, "prefill_tps_high", p->fits ? p->prefill_tps * (1 + p->band) : NAN);
	cJSON *as = cJSON_AddArrayToObject(o, "assumptions");
	for (int i = 0; i < p->n_assume; i++)
		cJSON_AddItemToArray(as, cJSON_CreateString(p->assume[i]));
	return o;
}

char *rep_plan_json(const struct rep_plan *r, int pretty)
{
	cJSON *o = rep_plan_cjson(r);
	if (!o)
		return NULL;
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

void rep_plan_text(const struct rep_plan *r, FILE *out)
{
	const struct sim_pred *p = r->pred;
	const struct sim_workload *wl = r->wl;
	char a[64], b[64], c[64];
	fprintf(out, "%s, %s on %s\n", r->model->name[0] ? r->model->name : r->model->id,
		r->weights->quant, r->hw->name);
	fprintf(out, "  engine %s; ctx %lld, depth %lld, prompt %lld, gen %lld, batch %d, KV %s\n\n",
		p->engine, (long long)wl->ctx, (long long)wl->depth, (long long)wl->prompt,
		(long long)wl->gen, wl->batch, wl->kv_quant);

	rep_section(out, "Memory (computed)");
	rep_kv(out, "weights", "%s  (%s)", fmt_gib(a, sizeof a, p->mem.weights_bytes), r->weights->source);
	rep_kv(out, "KV cache", "%s  (%s per token x %lld tokens%s)", fmt_gib(a, sizeof a, p->mem.kv_bytes),
	       p->mem.kv_bytes_per_token >= 1024 * 1024
		       ? (snprintf(b, sizeof b, "%.2f MiB", p->mem.kv_bytes_per_token / 1048576.0), b)
		       : (snprintf(b, sizeof b, "%.0f KiB", p->mem.kv_bytes_per_token / 1024.0), b),
	       (long long)wl->ctx, wl->batch > 1 ? " x streams" : "");
	if (p->mem.state_bytes > 0)
		rep_kv(out, "recurrent state", "%s  (fixed, does not grow with context)",
		       fmt_gib(a, sizeof a, p->mem.state_bytes));
	rep_kv(out, "compute buffers", "%s", fmt_gib(a, sizeof a, p->mem.buffers_bytes));
	rep_kv(out, "runtime", "%s", fmt_gib(a, sizeof a, p->mem.overhead_bytes));
	rep_kv(out, "total", "%s", fmt_gib(a, sizeof a, p->mem.total_bytes));
	if (isfinite(p->mem.gpu_usable))
		rep_kv(out, "usable", "%s accelerator, %s host", fmt_gib(a, sizeof a, p->mem.gpu_usable),
		       fmt_gib(b, sizeof b, p->mem.host_usable));
	else
		rep_kv(out, "usable", "%s host", fmt_gib(a, sizeof a, p->mem.host_usable));
	fputc('\n', out);

	rep_section(out, "Placement");
	rep_kv(out, "placement", "%s%s", sim_place_name(p->place),
	       p->gpu_layers > 0 && p->place != SIM_PLACE_GPU && p->place != SIM_PLACE_UNIFIED
		       ? (snprintf(c, sizeof c, " (%d of %d layers on the GPU)", p->gpu_layers, p->n_layer), c)
		       : "");
	rep_wrap(out, "  why               ", 20, 20, p->why);
	if (p->fits && (p->mem.gpu_bytes > 0 || p->place == SIM_PLACE_SSD))
		rep_kv(out, "resident", "%s accelerator, %s host%s", fmt_gib(a, sizeof a, p->mem.gpu_bytes),
		       fmt_gib(b, sizeof b, p->mem.host_bytes),
		       p->place == SIM_PLACE_SSD ? " (page cache full)" : "");
	if (p->place == SIM_PLACE_SSD) {
		rep_kv(out, "on SSD", "%s not resident", fmt_gib(a, sizeof a, p->mem.ssd_streamed_bytes));
		if (isfinite(p->expert_hit_rate))
			rep_kv(out, "expert hit rate", "%.1f%% of routed expert reads from the page cache",
			       100 * p->expert_hit_rate);
		rep_kv(out, "SSD per token", "%s", fmt_gib(a, sizeof a, p->ssd_bytes_per_token));
	}
	fputc('\n', out);
	if (!p->fits) {
		fprintf(out, "Does not fit: no speed to predict.\n\n");
	} else {
		char sect[64];
		snprintf(sect, sizeof sect, "Speed (predicted, +-%.0f%%)", 100 * p->band);
		rep_section(out, sect);
		if (wl->prompt > 0)
			rep_kv(out, "prefill", "%s tokens/s  (%lld tokens; time to first token %s)",
			       rep_fmt_tps(a, sizeof a, p->prefill_tps), (long long)wl->prompt,
			       fmt_secs(b, sizeof b, p->ttft_s));
		rep_kv(out, "decode", "%s tokens/s per stream at %lld tokens of context  [%s - %s]",
		       rep_fmt_tps(a, sizeof a, p->decode_tps), (long long)(wl->depth + wl->prompt),
		       rep_fmt_tps(b, sizeof b, p->decode_tps * (1 - p->band)),
		       rep_fmt_tps(c, sizeof c, p->decode_tps * (1 + p->band)));
		if (wl->batch > 1)
			rep_kv(out, "all streams", "%s tokens/s  (%d streams)",
			       rep_fmt_tps(a, sizeof a, p->decode_tps_total), wl->batch);
		rep_kv(out, "request", "%s for %lld + %lld tokens", fmt_secs(a, sizeof a, p->total_s),
		       (long long)wl->prompt, (long long)wl->gen);
		double tot = 0;
		for (int i = 0; i < SIM_BOUND_COUNT; i++)
			tot += p->decode_step_s[i];
		rep_kv(out, "bottleneck", "%s (%.0f%% of each decode step)", sim_bound_name(p->bottleneck),
		       tot > 0 ? 100 * p->decode_step_s[p->bottleneck] / tot : 0);
		char line[400];
		int u = 0;
		for (int i = 0; i < SIM_BOUND_COUNT; i++) {
			if (p->decode_step_s[i] <= 0 || u >= (int)sizeof line)
				continue;
			u += snprintf(line + u, sizeof line - u, "%s%s %s", u ? ", " : "",
				      sim_bound_name((enum sim_bound)i), fmt_secs(a, sizeof a, p->decode_step_s[i]));
		}
		rep_wrap(out, "  decode step       ", 20, 20, line);
		fputc('\n', out);
		rep_section(out, "Decode tokens/s against context (predicted)");
		const char *hd[] = {"context", "tokens/s", ""};
		struct rep_table *t = rep_table_new(3, hd);
		if (t) {
			rep_table_align(t, 0, REP_RIGHT);
			rep_table_align(t, 1, REP_RIGHT);
			double mx = 0;
			for (int i = 0; i < p->n_curve; i++)
				mx = fmax(mx, p->curve[i].decode_tps);
			for (int i = 0; i < p->n_curve; i++) {
				char bar[128] = "";
				int nb = mx > 0 ? (int)(30 * p->curve[i].decode_tps / mx + 0.5) : 0;
				int k = 0;
				for (int j = 0; j < nb && k + 3 < (int)sizeof bar; j++)
					k += snprintf(bar + k, sizeof bar - k, "\u2588");
				rep_table_addf(t, "%lld\t%s\t%s", (long long)p->curve[i].ctx,
					       rep_fmt_tps(a, sizeof a, p->curve[i].decode_tps), bar);
			}
			rep_table_print_indent(t, out, 2);
			rep_table_delete(t);
		}
		fputc('\n', out);
	}
	rep_section(out, "Assumptions");
	for (int i = 0; i < p->n_assume; i++)
		rep_wrap(out, "  - ", 4, 4, p->assume[i]);
}
