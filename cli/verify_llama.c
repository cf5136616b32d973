/* cli: `llmcap verify --engine llama.cpp` — the simulator predicts with
 * llama.cpp's profile, then llama.cpp's own llama-bench runs the same
 * GGUF file (its prompt test and its generation test, each from an empty
 * context, --runs repetitions), and both are printed with the error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/resolve.h"

/* The pp and tg tests' per-repetition tokens/s from llama-bench's JSON. */
static int read_tests(const char *json, size_t len, struct probe_stat *pp, struct probe_stat *tg,
		      char *engine_version, size_t evn, char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		snprintf(err, errlen, "llama-bench printed no JSON array (is it llama.cpp's llama-bench?)");
		return -1;
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, j)
	{
		const cJSON *np = cJSON_GetObjectItemCaseSensitive(t, "n_prompt");
		const cJSON *ng = cJSON_GetObjectItemCaseSensitive(t, "n_gen");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "samples_ts");
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(t, "avg_ts");
		if (!cJSON_IsNumber(np) || !cJSON_IsNumber(ng))
			continue;
		struct probe_stat *s = np->valuedouble > 0 && ng->valuedouble == 0 ? pp
				    : np->valuedouble == 0 && ng->valuedouble > 0 ? tg : NULL;
		if (!s)
			continue;
		s->n = 0;
		const cJSON *x;
		cJSON_ArrayForEach(x, st)
		{
			if (cJSON_IsNumber(x) && x->valuedouble > 0 && s->n < PROBE_MAX_SAMPLES)
				s->samples[s->n++] = x->valuedouble;
		}
		if (s->n == 0 && cJSON_IsNumber(av) && av->valuedouble > 0)
			s->samples[s->n++] = av->valuedouble;
		probe_stat_compute(s, 1);
		const cJSON *bc = cJSON_GetObjectItemCaseSensitive(t, "build_commit");
		if (!engine_version[0] && cJSON_IsString(bc))
			snprintf(engine_version, evn, "llama.cpp %.40s", bc->valuestring);
	}
	cJSON_Delete(j);
	return 0;
}

static void jnum(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

int cli_verify_llama(const struct cli_verify_llama *a)
{
	char lb[4096], err[1024] = "";
	if (cli_llama_bench_find(a->llama_bench, lb, sizeof lb) != 0) {
		if (a->llama_bench)
			fprintf(stderr, "llmcap verify: --llama-bench %s is not an executable file\n",
				a->llama_bench);
		else
			fprintf(stderr, "llmcap verify: --engine llama.cpp runs llama.cpp's llama-bench, and "
				"none is on PATH; build it (cmake -B build && cmake --build build --target "
				"llama-bench, in a llama.cpp checkout) and pass --llama-bench PATH\n");
		return CLI_USAGE;
	}
	struct sim_eff eff;
	int rc = cli_engine_eff("verify", "llama.cpp", &eff);
	if (rc != CLI_OK)
		return rc;
	struct sim_pred *pp_pred = calloc(1, sizeof *pp_pred), *tg_pred = calloc(1, sizeof *tg_pred);
	struct probe_stat *pp = calloc(1, sizeof *pp), *tg = calloc(1, sizeof *tg);
	rc = CLI_FAIL;
	if (!pp_pred || !tg_pred || !pp || !tg) {
		fprintf(stderr, "llmcap verify: out of memory\n");
		goto out;
	}
	int threads = a->threads > 0 ? a->threads : (a->h->host.cores > 0 ? a->h->host.cores : 1);
	/* the two tests as llama-bench runs them: each from an empty context */
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = a->prompt + a->gen < 16 ? 16 : a->prompt + a->gen;
	wl.gpu_layers = a->gpu ? a->m->n_layer : 0;
	double p_pp = NAN, p_tg = NAN;
	if (a->prompt > 0) {
		wl.prompt = a->prompt, wl.gen = 0;
		if (sim_predict(a->h, a->m, a->w, &wl, &eff, pp_pred, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap verify: %s\n", err);
			rc = CLI_USAGE;
			goto out;
		}
		p_pp = pp_pred->fits ? pp_pred->prefill_tps : NAN;
	}
	if (a->gen > 0) {
		wl.prompt = 0, wl.gen = a->gen;
		if (sim_predict(a->h, a->m, a->w, &wl, &eff, tg_pred, err, sizeof err) != 0) {
			fprintf(stderr, "llmcap verify: %s\n", err);
			rc = CLI_USAGE;
			goto out;
		}
		p_tg = tg_pred->fits && tg_pred->total_s > 0 ? a->gen / tg_pred->total_s : NAN;
	}
	const struct sim_pred *shown = a->gen > 0 ? tg_pred : pp_pred;
	if (!a->json && isatty(2))
		fprintf(stderr, "running llama-bench -p %d -n %d -r %d -t %d -ngl %d...\n", a->prompt, a->gen,
			a->runs, threads, a->gpu ? 99 : 0);
	char *out = NULL;
	size_t olen = 0;
	int lrc = cli_llama_bench_run(lb, a->path, a->prompt, a->gen, a->runs, threads, a->gpu ? 99 : 0,
				      &out, &olen, err, sizeof err);
	if (lrc != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = lrc == -3 ? 130 : CLI_FAIL;
		goto out;
	}
	char ev[96] = "";
	int trc = read_tests(out, olen, pp, tg, ev, sizeof ev, err, sizeof err);
	free(out);
	if (trc != 0 || (a->prompt > 0 && pp->n == 0) || (a->gen > 0 && tg->n == 0)) {
		fprintf(stderr, "llmcap verify: %s\n", trc ? err : "llama-bench's output lacks the tests asked for");
		goto out;
	}
	double m_pp = a->prompt > 0 ? pp->median : NAN, m_tg = a->gen > 0 ? tg->median : NAN;
	double e_pp = isfinite(p_pp) && m_pp > 0 ? 100 * (p_pp - m_pp) / m_pp : NAN;
	double e_tg = isfinite(p_tg) && m_tg > 0 ? 100 * (p_tg - m_tg) / m_tg : NAN;
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "schema", "llmcap.verify/1");
		cJSON_AddStringToObject(o, "model", a->m->id);
		cJSON_AddStringToObject(o, "file", a->synthetic ? "synthetic (random weights)" : a->path);
		cJSON_AddStringToObject(o, "quant", a->w->quant);
		cJSON_AddNumberToObject(o, "layers_run", a->m->n_layer);
		cJSON_AddNumberToObject(o, "layers_model", a->full_layers);
		cJSON_AddStringToObject(o, "hardware", a->h->name);
		cJSON_AddStringToObject(o, "engine", "llama.cpp");
		cJSON_AddStringToObject(o, "engine_version", ev);
		cJSON_AddStringToObject(o, "llama_bench", lb);
		cJSON_AddNumberToObject(o, "threads", threads);
		cJSON_AddStringToObject(o, "device", a->gpu ? "gpu" : "cpu");
		cJSON *wk = cJSON_AddObjectToObject(o, "workload");
		cJSON_AddNumberToObject(wk, "prompt", a->prompt);
		cJSON_AddNumberToObject(wk, "gen", a->gen);
		cJSON_AddNumberToObject(wk, "runs", a->runs);
		cJSON_AddStringToObject(wk, "tests", "llama-bench pp and tg tests, each from an empty context");
		cJSON *pr = cJSON_AddObjectToObject(o, "predicted");
		jnum(pr, "prefill_tps", p_pp);
		jnum(pr, "decode_tps", p_tg);
		cJSON_AddStringToObject(pr, "bottleneck", sim_bound_name(shown->bottleneck));
		jnum(pr, "error_band", shown->band);
		cJSON *me = cJSON_AddObjectToObject(o, "measured");
		jnum(me, "prefill_tps", m_pp);
		jnum(me, "decode_tps", m_tg);
		jnum(me, "prefill_tps_min", a->prompt > 0 ? pp->worst : NAN);
		jnum(me, "prefill_tps_max", a->prompt > 0 ? pp->best : NAN);
		jnum(me, "decode_tps_min", a->gen > 0 ? tg->worst : NAN);
		jnum(me, "decode_tps_max", a->gen > 0 ? tg->best : NAN);
		cJSON *ep = cJSON_AddObjectToObject(o, "error_pct");
		jnum(ep, "prefill", e_pp);
		jnum(ep, "decode", e_tg);
		cJSON *as = cJSON_AddArrayToObject(o, "assumptions");
		for (int i = 0; i < shown->n_assume; i++)
			cJSON_AddItemToArray(as, cJSON_CreateString(shown->assume[i]));
		char *text = cJSON_Print(o);
		cJSON_Delete(o);
		if (!text) {
			fprintf(stderr, "llmcap verify: out of memory\n");
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		printf("%s, %s on %s — llama.cpp (%s), %s\n", a->m->name[0] ? a->m->name : a->m->id,
		       a->w->quant, a->h->name, ev[0] ? ev : "version unknown",
		       a->gpu ? "every layer on the GPU" : "CPU");
		if (a->synthetic)
			printf("  synthetic file of the model's shape with random weights, %d of %d layers\n",
			       a->m->n_layer, a->full_layers);
		printf("  llama-bench -p %d -n %d -r %d -t %d: prompt and generation timed as separate "
		       "tests from an empty context; median (min - max) of the repetitions\n\n",
		       a->prompt, a->gen, a->runs, threads);
		printf("  %-9s %12s %26s %9s\n", "", "predicted", "measured", "error");
		char x[48], y[48];
		if (a->prompt > 0) {
			snprintf(x, sizeof x, "%.1f (%.1f - %.1f)", m_pp, pp->worst, pp->best);
			snprintf(y, sizeof y, "%+.1f%%", e_pp);
			printf("  %-9s %12.1f %26s %9s\n", "prefill", p_pp, x, y);
		}
		if (a->gen > 0) {
			snprintf(x, sizeof x, "%.1f (%.1f - %.1f)", m_tg, tg->worst, tg->best);
			snprintf(y, sizeof y, "%+.1f%%", e_tg);
			printf("  %-9s %12.1f %26s %9s\n", "decode", p_tg, x, y);
		}
		const char *src = "";
		for (int i = 0; i < shown->n_assume; i++)
			if (strstr(shown->assume[i], " profile ") || strstr(shown->assume[i], "default efficiency"))
				src = shown->assume[i];
		printf("\n  tokens/s; error = (predicted - measured) / measured.\n  Predicted with: %s\n", src);
	}
	rc = CLI_OK;
out:
	cli_engine_free(&eff);
	free(pp_pred);
	free(tg_pred);
	free(pp);
	free(tg);
	return rc;
}
