/* simulator: engine profiles — parsing and writing llmcap.engines/1, and
 * turning a profile into the efficiency factors of one prediction. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "simulator/profile.h"
#include "simulator/profile_int.h"

#define ENGINES_SCHEMA "llmcap.engines/1"

extern const char mdb_data_engines[];
extern const size_t mdb_data_engines_len;

int pj_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -2;
}

void sim_type_name(int type, char *buf, size_t n)
{
	const struct mdb_qtraits *q = mdb_qtype(type);
	snprintf(buf, n, "%s", q ? q->name : "?");
	for (char *c = buf; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
}

static const char *const BACKENDS[] = {"cpu", "cuda", "metal", "vulkan", "rocm", NULL};
static const char *const STATUSES[] = {"measured", "derived", "calibrated", NULL};

static int one_of(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* A string member into buf: required or optional (left empty). */
int pj_str(const cJSON *o, const char *k, int req, char *buf, size_t n, const char *where,
		 char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v) {
		if (req)
			return pj_fail(err, errlen, "%s: \"%s\" missing (a string)", where, k);
		buf[0] = 0;
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return pj_fail(err, errlen, "%s: \"%s\" must be a string", where, k);
	if (strlen(v->valuestring) >= n)
		return pj_fail(err, errlen, "%s: \"%s\" longer than %zu bytes", where, k, n - 1);
	memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* A number in [lo, hi]; optional ones are NAN when absent or null. */
int pj_num(const cJSON *o, const char *k, int req, double lo, double hi, double *out,
		 const char *where, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v)) {
		if (req)
			return pj_fail(err, errlen, "%s: \"%s\" missing (a number %g to %g)", where, k, lo, hi);
		*out = NAN;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return pj_fail(err, errlen, "%s: \"%s\" must be a number %g to %g", where, k, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int parse_profile(const cJSON *o, int idx, const char *origin, struct sim_profile *p,
			 char *err, size_t errlen)
{
	char where[160];
	snprintf(where, sizeof where, "%s: profiles[%d]", origin, idx);
	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(o))
		return pj_fail(err, errlen, "%s: expected an object", where);
	if (pj_str(o, "engine", 1, p->engine, sizeof p->engine, where, err, errlen) ||
	    pj_str(o, "backend", 1, p->backend, sizeof p->backend, where, err, errlen) ||
	    pj_str(o, "status", 1, p->status, sizeof p->status, where, err, errlen) ||
	    pj_str(o, "machine", 0, p->machine, sizeof p->machine, where, err, errlen) ||
	    pj_str(o, "when", 0, p->when, sizeof p->when, where, err, errlen) ||
	    pj_str(o, "engine_version", 0, p->engine_version, sizeof p->engine_version, where, err,
		  errlen) ||
	    pj_str(o, "fingerprint", 0, p->fingerprint, sizeof p->fingerprint, where, err, errlen) ||
	    pj_str(o, "how", 1, p->how, sizeof p->how, where, err, errlen))
		return -2;
	if (strcmp(p->engine, "llama.cpp") && strcmp(p->engine, "llmcap"))
		return pj_fail(err, errlen, "%s: engine \"%s\": expected \"llama.cpp\" or \"llmcap\"", where,
			    p->engine);
	if (!one_of(p->backend, BACKENDS))
		return pj_fail(err, errlen, "%s: backend \"%s\": expected cpu, cuda, metal, vulkan or rocm",
			    where, p->backend);
	if (!one_of(p->status, STATUSES))
		return pj_fail(err, errlen, "%s: status \"%s\": expected measured, derived or calibrated",
			    where, p->status);
	double th, runs;
	if (pj_num(o, "threads", 0, 0, 4096, &th, where, err, errlen) ||
	    pj_num(o, "token_s", 1, 0, 1, &p->token_s, where, err, errlen) ||
	    pj_num(o, "layer_s", 1, 0, 0.1, &p->layer_s, where, err, errlen) ||
	    pj_num(o, "prefill_step_s", 0, 0, 1, &p->step_pp_s, where, err, errlen) ||
	    pj_num(o, "prefill_layer_s", 0, 0, 0.1, &p->layer_pp_s, where, err, errlen) ||
	    pj_num(o, "prefill_k0", 0, 0, 1e6, &p->mm_k0, where, err, errlen) ||
	    pj_num(o, "decode_k0", 0, 0, 1e6, &p->bw_k0, where, err, errlen) ||
	    pj_num(o, "band", 1, 0.01, 5, &p->band, where, err, errlen) ||
	    pj_num(o, "runs", 0, 0, 100000, &runs, where, err, errlen) ||
	    pj_num(o, "max_err", 0, 0, 100, &p->max_err, where, err, errlen))
		return -2;
	p->threads = isfinite(th) ? (int)th : 0;
	if (!isfinite(p->mm_k0))
		p->mm_k0 = 0;
	if (!isfinite(p->bw_k0))
		p->bw_k0 = 0;
	p->n_runs = isfinite(runs) ? (int)runs : 0;
	const cJSON *types = cJSON_GetObjectItemCaseSensitive(o, "types");
	if (!cJSON_IsObject(types) || !types->child)
		return pj_fail(err, errlen, "%s: \"types\" must be an object of tensor type -> {bw, mm}",
			    where);
	for (const cJSON *t = types->child; t; t = t->next) {
		if (p->n_types >= SIM_PROF_TYPES)
			return pj_fail(err, errlen, "%s: at most %d types", where, SIM_PROF_TYPES);
		const struct mdb_qtraits *q = t->string ? mdb_qtype_by_name(t->string) : NULL;
		if (!q)
			return pj_fail(err, errlen, "%s: types: \"%s\" is not a tensor type (Q4_0, Q8_0, "
				    "F16, ...)", where, t->string ? t->string : "");
		char tw[200];
		snprintf(tw, sizeof tw, "%s.types.%s", where, t->string);
		if (!cJSON_IsObject(t))
			return pj_fail(err, errlen, "%s: expected an object {bw, mm}", tw);
		struct sim_prof_type *pt = &p->t[p->n_types];
		pt->type = q->id;
		if (pj_num(t, "bw", 1, 0.001, 1.5, &pt->bw, tw, err, errlen) ||
		    pj_num(t, "mm", 0, 0.0001, 5, &pt->mm, tw, err, errlen))
			return -2;
		for (int i = 0; i < p->n_types; i++)
			if (p->t[i].type == q->id)
				return pj_fail(err, errlen, "%s: type listed twice", tw);
		p->n_types++;
	}
	const cJSON *ths = cJSON_GetObjectItemCaseSensitive(o, "thread_scaling");
	if (ths && !cJSON_IsNull(ths)) {
		if (!cJSON_IsArray(ths))
			return pj_fail(err, errlen, "%s: \"thread_scaling\" must be an array", where);
		int i = 0;
		for (const cJSON *x = ths->child; x; x = x->next, i++) {
			if (p->n_threads >= SIM_PROF_THREADS)
				return pj_fail(err, errlen, "%s: at most %d thread_scaling entries", where,
					    SIM_PROF_THREADS);
			char tw[200];
			snprintf(tw, sizeof tw, "%s.thread_scaling[%d]", where, i);
			struct sim_prof_threads *s = &p->th[p->n_threads];
			double n;
			if (!cJSON_IsObject(x))
				return pj_fail(err, errlen, "%s: expected an object", tw);
			if (pj_num(x, "threads", 1, 1, 4096, &n, tw, err, errlen) ||
			    pj_num(x, "bw_scale", 1, 0.001, 10, &s->bw_scale, tw, err, errlen) ||
			    pj_num(x, "mm_scale", 1, 0.001, 10, &s->mm_scale, tw, err, errlen))
				return -2;
			s->threads = (int)n;
			p->n_threads++;
		}
	}
	return 0;
}

int sim_profiles_parse(const char *text, size_t len, const char *origin, struct sim_profiles *ps,
		       char *err, size_t errlen)
{
	if (!origin)
		origin = "input";
	cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (!j)
		return pj_fail(err, errlen, "%s: not valid JSON", origin);
	int rc = 0;
	char schema[40];
	if (!cJSON_IsObject(j)) {
		rc = pj_fail(err, errlen, "%s: expected a %s object", origin, ENGINES_SCHEMA);
		goto out;
	}
	if ((rc = pj_str(j, "schema", 1, schema, sizeof schema, origin, err, errlen)))
		goto out;
	if (strcmp(schema, ENGINES_SCHEMA)) {
		rc = pj_fail(err, errlen, "%s: schema \"%s\": expected \"%s\"", origin, schema,
			  ENGINES_SCHEMA);
		goto out;
	}
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "profiles");
	if (!cJSON_IsArray(arr)) {
		rc = pj_fail(err, errlen, "%s: \"profiles\" must be an array", origin);
		goto out;
	}
	int i = 0;
	for (const cJSON *x = arr->child; x; x = x->next, i++) {
		struct sim_profile p;
		if ((rc = parse_profile(x, i, origin, &p, err, errlen)))
			goto out;
		if (ps->n >= SIM_PROF_MAX) {
			rc = pj_fail(err, errlen, "%s: more than %d profiles", origin, SIM_PROF_MAX);
			goto out;
		}
		sim_profiles_put(ps, &p);
	}
out:
	cJSON_Delete(j);
	return rc;
}

int sim_profiles_builtin(struct sim_profiles *ps, char *err, size_t errlen)
{
	memset(ps, 0, sizeof *ps);
	return sim_profiles_parse(mdb_data_engines, mdb_data_engines_len,
				  "model_db/data/engines.json", ps, err, errlen);
}

static void num(cJSON *o, const char *k, double v, double scale)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, round(v * scale) / scale);
	else
		cJSON_AddNullToObject(o, k);
}

char *sim_profiles_json(const struct sim_profile *ps, int n)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "schema", ENGINES_SCHEMA);
	cJSON *arr = cJSON_AddArrayToObject(j, "profiles");
	for (int i = 0; arr && i < n; i++) {
		const struct sim_profile *p = &ps[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "engine", p->engine);
		cJSON_AddStringToObject(o, "backend", p->backend);
		cJSON_AddStringToObject(o, "status", p->status);
		if (p->machine[0])
			cJSON_AddStringToObject(o, "machine", p->machine);
		if (p->when[0])
			cJSON_AddStringToObject(o, "when", p->when);
		if (p->engine_version[0])
			cJSON_AddStringToObject(o, "engine_version", p->engine_version);
		if (p->fingerprint[0])
			cJSON_AddStringToObject(o, "fingerprint", p->fingerprint);
		if (p->threads > 0)
			cJSON_AddNumberToObject(o, "threads", p->threads);
		num(o, "token_s", p->token_s, 1e8);
		num(o, "layer_s", p->layer_s, 1e9);
		if (isfinite(p->step_pp_s))
			num(o, "prefill_step_s", p->step_pp_s, 1e8);
		if (isfinite(p->layer_pp_s))
			num(o, "prefill_layer_s", p->layer_pp_s, 1e9);
		if (p->mm_k0 > 0)
			num(o, "prefill_k0", p->mm_k0, 10);
		if (p->bw_k0 > 0)
			num(o, "decode_k0", p->bw_k0, 10);
		num(o, "band", p->band, 1e3);
		if (p->n_runs > 0) {
			cJSON_AddNumberToObject(o, "runs", p->n_runs);
			num(o, "max_err", p->max_err, 1e4);
		}
		cJSON *t = cJSON_AddObjectToObject(o, "types");
		for (int k = 0; t && k < p->n_types; k++) {
			char name[16];
			sim_type_name(p->t[k].type, name, sizeof name);
			cJSON *x = cJSON_AddObjectToObject(t, name);
			if (!x)
				break;
			num(x, "bw", p->t[k].bw, 1e4);
			num(x, "mm", p->t[k].mm, 1e4);
		}
		if (p->n_threads > 0) {
			cJSON *a = cJSON_AddArrayToObject(o, "thread_scaling");
			for (int k = 0; a && k < p->n_threads; k++) {
				cJSON *x = cJSON_CreateObject();
				if (!x)
					break;
				cJSON_AddItemToArray(a, x);
				cJSON_AddNumberToObject(x, "threads", p->th[k].threads);
				num(x, "bw_scale", p->th[k].bw_scale, 1e3);
				num(x, "mm_scale", p->th[k].mm_scale, 1e3);
			}
		}
		cJSON_AddStringToObject(o, "how", p->how);
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

static int is_calibrated(const struct sim_profile *p)
{
	return strcmp(p->status, "calibrated") == 0;
}

const struct sim_profile *sim_profile_find(const struct sim_profiles *ps, const char *engine,
					   const char *backend)
{
	for (int i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].engine, engine) == 0 && strcmp(ps->p[i].backend, backend) == 0 &&
		    !is_calibrated(&ps->p[i]))
			return &ps->p[i];
	return NULL;
}

const struct sim_profile *sim_profile_for(const struct sim_profiles *ps, const char *engine,
					  const char *backend, const struct hw_spec *h)
{
	if (h && h->measured && h->fingerprint[0])
		for (int i = 0; i < ps->n; i++) {
			const struct sim_profile *p = &ps->p[i];
			if (is_calibrated(p) && strcmp(p->engine, engine) == 0 &&
			    strcmp(p->backend, backend) == 0 && strcmp(p->fingerprint, h->fingerprint) == 0)
				return p;
		}
	return sim_profile_find(ps, engine, backend);
}

void sim_profiles_put(struct sim_profiles *ps, const struct sim_profile *p)
{
	for (int i = 0; i < ps->n; i++) {
		const struct sim_profile *q = &ps->p[i];
		if (strcmp(q->engine, p->engine) == 0 && strcmp(q->backend, p->backend) == 0 &&
		    is_calibrated(q) == is_calibrated(p) && strcmp(q->fingerprint, p->fingerprint) == 0) {
			ps->p[i] = *p;
			return;
		}
	}
	if (ps->n < SIM_PROF_MAX)
		ps->p[ps->n++] = *p;
}

const char *sim_profile_backend(const char *accel_backend)
{
	if (!accel_backend)
		return "cpu";
	if (strcmp(accel_backend, "cuda") == 0 || strcmp(accel_backend, "metal") == 0 ||
	    strcmp(accel_backend, "vulkan") == 0 || strcmp(accel_backend, "rocm") == 0)
		return accel_backend;
	if (strcmp(accel_backend, "hip") == 0)
		return "rocm";
	/* opencl, sycl, ...: llama.cpp's nearest general backend */
	return "vulkan";
}

/* The factors of type in p: exact, else the measured type nearest in bits
 * per weight (note says so). */
static const struct sim_prof_type *type_factors(const struct sim_profile *p, int type, int want_mm,
						char *note, size_t n)
{
	const struct sim_prof_type *best = NULL;
	double bpw = mdb_qtype_bpw(type), bd = INFINITY;
	const struct mdb_qtraits *want = mdb_qtype(type);
	for (int i = 0; i < p->n_types; i++) {
		const struct sim_prof_type *t = &p->t[i];
		if (want_mm && !isfinite(t->mm))
			continue;
		if (t->type == type)
			return t;
		const struct mdb_qtraits *q = mdb_qtype(t->type);
		/* float weights stay with float, quantized with quantized */
		double d = fabs(mdb_qtype_bpw(t->type) - bpw) +
			   (want && q && want->quantized != q->quantized ? 100 : 0);
		if (d < bd)
			bd = d, best = t;
	}
	if (best && note && n) {
		const struct mdb_qtraits *q = mdb_qtype(best->type);
		snprintf(note, n, "; %s %s not measured, %s's %s used (nearest in bits per weight)",
			 want ? want->name : "?", want_mm ? "prefill" : "decode", q ? q->name : "?",
			 want_mm ? "prefill factor" : "decode factor");
	}
	return best;
}

static void describe(const struct sim_profile *p, char *buf, size_t n)
{
	if (strcmp(p->status, "derived") == 0)
		snprintf(buf, n, "%s %s profile derived (not measured): %.200s", p->engine, p->backend,
			 p->how);
	else
		snprintf(buf, n, "%s %s profile %s on %s%s%s (%d runs, fit within %.0f%%)", p->engine,
			 p->backend, p->status, p->machine[0] ? p->machine : "this machine",
			 p->when[0] ? ", " : "", p->when, p->n_runs, 100 * p->max_err);
}

int sim_eff_from_profiles(const struct sim_profiles *ps, const char *engine,
			  const struct hw_spec *h, const struct sim_weights *w,
			  struct sim_eff *e, char *err, size_t errlen)
{
	if (sim_eff_default(engine, e, err, errlen) != 0)
		return -2;
	const struct sim_profile *cpu = sim_profile_for(ps, e->engine, "cpu", h);
	const struct hw_accel *g = h ? sim_pick_gpu(h) : NULL;
	const struct sim_profile *gp =
		g ? sim_profile_for(ps, e->engine, sim_profile_backend(g->backend), h) : NULL;
	if (!cpu && !gp)
		return 0; /* the written-down defaults, which say so */
	int type = w ? w->main_type : QT_Q4_0;
	char src[SIM_NOTE] = "", note[160];
	size_t at = 0;
	double band = 0;
	if (cpu) {
		char d[300];
		describe(cpu, d, sizeof d);
		at += (size_t)snprintf(src + at, sizeof src - at, "%s", d);
		note[0] = 0;
		const struct sim_prof_type *t = type_factors(cpu, type, 0, note, sizeof note);
		if (t)
			e->host_bw = t->bw;
		if (at < sizeof src)
			at += (size_t)snprintf(src + at, sizeof src - at, "%s", note);
		note[0] = 0;
		t = type_factors(cpu, type, 1, note, sizeof note);
		if (t)
			e->host_mm = t->mm;
		if (at < sizeof src)
			at += (size_t)snprintf(src + at, sizeof src - at, "%s", note);
		e->host_vec = 1.0;
		e->layer_host_s = cpu->layer_s;
		e->layer_host_pp_s = cpu->layer_pp_s;
		e->step_pp_s = cpu->step_pp_s;
		e->mm_k0 = cpu->mm_k0;
		e->bw_k0 = cpu->bw_k0;
		e->token_s = cpu->token_s;
		band = cpu->band;
	}
	if (gp) {
		char d[300];
		describe(gp, d, sizeof d);
		if (at < sizeof src)
			at += (size_t)snprintf(src + at, sizeof src - at, "%s%s", at ? "; " : "", d);
		note[0] = 0;
		const struct sim_prof_type *t = type_factors(gp, type, 0, note, sizeof note);
		if (t)
			e->gpu_bw = t->bw;
		if (at < sizeof src)
			at += (size_t)snprintf(src + at, sizeof src - at, "%s", note);
		note[0] = 0;
		t = type_factors(gp, type, 1, note, sizeof note);
		if (t)
			e->gpu_mm = t->mm;
		if (at < sizeof src)
			at += (size_t)snprintf(src + at, sizeof src - at, "%s", note);
		e->layer_gpu_s = gp->layer_s;
		e->layer_gpu_pp_s = gp->layer_pp_s;
		e->step_pp_s = gp->step_pp_s;
		e->mm_k0 = gp->mm_k0;
		e->bw_k0 = gp->bw_k0;
		e->token_s = gp->token_s;
		band = fmax(band, gp->band);
	}
	e->band = band > 0 ? band : e->band;
	e->calibrated = (cpu && strcmp(cpu->status, "calibrated") == 0) ||
			(gp && strcmp(gp->status, "calibrated") == 0);
	snprintf(e->source, sizeof e->source, "%s", src);
	return 0;
}
