/*
 * reports: the machine profile as JSON (llmcap.profile/1), both ways.
 *
 * Writing: every field of struct probe_profile; unknown doubles (NAN) as
 * null; byte counts as exact integers; doubles in the shortest text that
 * reads back to the same bits. Each measured figure carries its source and
 * how it was measured (BW, PEAK and STAT objects, raw samples included).
 *
 * Reading: any text. Wrong types, missing fields and unknown names leave
 * the field as probe_profile_init set it; arrays are cut to the struct's
 * fixed sizes, strings to its buffers (on a UTF-8 boundary); numbers are
 * clamped to the field's range; -0 reads as 0 and out-of-range doubles as
 * unknown. Only a text that is not JSON, not an object or not
 * llmcap.profile/1 is an error.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/report.h"

/* ---- writing ----------------------------------------------------------- */

/* A writer: set oom on the first allocation failure; checked once at the end. */
struct jw {
	int oom;
};

static cJSON *jw_check(struct jw *w, cJSON *item)
{
	if (!item)
		w->oom = 1;
	return item;
}

/* cJSON writes numbers through its own rounding test, which can lose the
 * last bit of a double; raw text written here is exact. The C locale's
 * decimal point is forced to '.'. */
static void fix_decimal_point(char *s)
{
	const struct lconv *lc = localeconv();
	char dp = lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0] : '.';
	if (dp == '.')
		return;
	for (; *s; s++)
		if (*s == dp)
			*s = '.';
}

/* A finite double as the shortest of %.15g..%.17g that reads back to the
 * same value ("41.2", not "41.200000000000003"). buf: >= 32 bytes. */
static void fmt_double(char *buf, size_t n, double d)
{
	if (d == 0) {
		snprintf(buf, n, "0");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fix_decimal_point(buf);
}

/* A finite double, or null. */
static cJSON *double_item(double d)
{
	char buf[40];
	if (!isfinite(d))
		return cJSON_CreateNull();
	fmt_double(buf, sizeof buf, d);
	return cJSON_CreateRaw(buf);
}

static void put_double(struct jw *w, cJSON *obj, const char *key, double d)
{
	cJSON *item = jw_check(w, double_item(d));
	if (item && !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		w->oom = 1;
	}
}

static void put_u64(struct jw *w, cJSON *obj, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	jw_check(w, cJSON_AddRawToObject(obj, key, buf));
}

static void put_i64(struct jw *w, cJSON *obj, const char *key, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRId64, v);
	jw_check(w, cJSON_AddRawToObject(obj, key, buf));
}

static void put_int(struct jw *w, cJSON *obj, const char *key, int v)
{
	put_i64(w, obj, key, v);
}

/* A char array of the struct: written up to its first NUL or its end. */
static void put_strn(struct jw *w, cJSON *obj, const char *key, const char *s, size_t cap)
{
	char buf[256];
	size_t n = strnlen(s, cap);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	jw_check(w, cJSON_AddStringToObject(obj, key, buf));
}
#define PUT_STR(w, obj, key, field) put_strn(w, obj, key, field, sizeof(field))

static void put_src(struct jw *w, cJSON *obj, const char *key, enum probe_src src)
{
	jw_check(w, cJSON_AddStringToObject(obj, key, probe_src_name(src)));
}

static cJSON *put_obj(struct jw *w, cJSON *obj, const char *key)
{
	return jw_check(w, cJSON_AddObjectToObject(obj, key));
}

static cJSON *put_arr(struct jw *w, cJSON *obj, const char *key)
{
	return jw_check(w, cJSON_AddArrayToObject(obj, key));
}

/* A new object appended to arr. */
static cJSON *push_obj(struct jw *w, cJSON *arr)
{
	cJSON *o = jw_check(w, cJSON_CreateObject());
	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		w->oom = 1;
		return NULL;
	}
	return o;
}

static int clamp_n(int n, int max)
{
	return n < 0 ? 0 : n > max ? max : n;
}

static void put_stat(struct jw *w, cJSON *obj, const char *key, const struct probe_stat *st)
{
	cJSON *o = put_obj(w, obj, key);
	if (!o)
		return;
	int n = clamp_n(st->n, PROBE_MAX_SAMPLES);
	put_int(w, o, "n", n);
	put_double(w, o, "median", st->median);
	put_double(w, o, "best", st->best);
	put_double(w, o, "worst", st->worst);
	put_double(w, o, "mean", st->mean);
	put_double(w, o, "stddev", st->stddev);
	cJSON *a = put_arr(w, o, "samples");
	if (!a)
		return;
	for (int i = 0; i < n; i++) {
		cJSON *item = jw_check(w, double_item(st->samples[i]));
		if (!item)
			return;
		if (!cJSON_AddItemToArray(a, item)) {
			cJSON_Delete(item);
			w->oom = 1;
			return;
		}
	}
}

static void put_bw(struct jw *w, cJSON *obj, const char *key, const struct probe_bw *b)
{
	cJSON *o = put_obj(w, obj, key);
	if (!o)
		return;
	put_src(w, o, "source", b->src);
	put_double(w, o, "gbps", b->gbps);
	PUT_STR(w, o, "kernel", b->kernel);
	put_int(w, o, "threads", b->threads);
	put_u64(w, o, "array_bytes", b->array_bytes);
	put_int(w, o, "arrays", b->arrays);
	put_u64(w, o, "bytes_per_pass", b->bytes_per_pass);
	put_int(w, o, "passes", b->passes);
	put_stat(w, o, "stat", &b->stat);
}

static void put_peak(struct jw *w, cJSON *obj, const char *key, const struct probe_peak *k)
{
	cJSON *o = put_obj(w, obj, key);
	if (!o)
		return;
	put_src(w, o, "source", k->src);
	put_double(w, o, "gops", k->gops);
	PUT_STR(w, o, "kernel", k->kernel);
	put_int(w, o, "threads", k->threads);
	put_int(w, o, "passes", k->passes);
	put_stat(w, o, "stat", &k->stat);
}

static void put_cpu(struct jw *w, cJSON *root, const struct probe_cpu *c)
{
	cJSON *o = put_obj(w, root, "cpu");
	if (!o)
		return;
	put_src(w, o, "source", c->src);
	PUT_STR(w, o, "method", c->method);
	PUT_STR(w, o, "arch", c->arch);
	PUT_STR(w, o, "vendor", c->vendor);
	PUT_STR(w, o, "brand", c->brand);
	PUT_STR(w, o, "codename", c->codename);
	put_int(w, o, "family", c->family);
	put_int(w, o, "model", c->model);
	put_int(w, o, "stepping", c->stepping);
	put_int(w, o, "cores", c->cores);
	put_int(w, o, "threads", c->threads);
	put_double(w, o, "base_mhz", c->base_mhz);
	put_src(w, o, "base_mhz_source", c->base_mhz_src);
	PUT_STR(w, o, "base_mhz_method", c->base_mhz_method);
	put_double(w, o, "max_mhz", c->max_mhz);
	put_src(w, o, "max_mhz_source", c->max_mhz_src);
	PUT_STR(w, o, "max_mhz_method", c->max_mhz_method);
	cJSON *isa = put_arr(w, o, "isa");
	for (int i = 0; isa && i < PROBE_ISA_COUNT; i++) {
		if (!probe_cpu_has(c, (enum probe_isa)i))
			continue;
		cJSON *s = jw_check(w, cJSON_CreateString(probe_isa_name((enum probe_isa)i)));
		if (s && !cJSON_AddItemToArray(isa, s)) {
			cJSON_Delete(s);
			w->oom = 1;
		}
	}
	PUT_STR(w, o, "isa_method", c->isa_method);
}

static void put_topo(struct jw *w, cJSON *root, const struct probe_topo *t)
{
	cJSON *o = put_obj(w, root, "topology");
	if (!o)
		return;
	put_src(w, o, "source", t->src);
	PUT_STR(w, o, "method", t->method);
	put_int(w, o, "packages", t->packages);
	put_int(w, o, "cores", t->cores);
	put_int(w, o, "pus", t->pus);
	cJSON *a = put_arr(w, o, "numa");
	for (int i = 0; a && i < clamp_n(t->n_numa, PROBE_MAX_NUMA); i++) {
		const struct probe_numa *m = &t->numa[i];
		cJSON *e = push_obj(w, a);
		if (!e)
			break;
		put_int(w, e, "os_index", m->os_index);
		put_u64(w, e, "memory_bytes", m->memory_bytes);
		put_int(w, e, "cores", m->cores);
	}
	a = put_arr(w, o, "caches");
	for (int i = 0; a && i < clamp_n(t->n_caches, PROBE_MAX_CACHES); i++) {
		const struct probe_cache *c = &t->caches[i];
		cJSON *e = push_obj(w, a);
		if (!e)
			break;
		put_int(w, e, "level", c->level);
		PUT_STR(w, e, "type", c->type);
		put_u64(w, e, "size_bytes", c->size_bytes);
		put_int(w, e, "instances", c->instances);
		put_int(w, e, "line_bytes", c->line_bytes);
	}
	put_u64(w, o, "llc_total_bytes", t->llc_total_bytes);
	a = put_arr(w, o, "pci");
	for (int i = 0; a && i < clamp_n(t->n_pci, PROBE_MAX_PCI); i++) {
		const struct probe_pci *d = &t->pci[i];
		cJSON *e = push_obj(w, a);
		if (!e)
			break;
		PUT_STR(w, e, "bus_id", d->bus_id);
		put_int(w, e, "vendor_id", d->vendor_id);
		put_int(w, e, "device_id", d->device_id);
		put_int(w, e, "class_id", d->class_id);
		PUT_STR(w, e, "kind", d->kind);
		PUT_STR(w, e, "vendor", d->vendor);
		PUT_STR(w, e, "name", d->name);
		put_int(w, e, "numa_node", d->numa_node);
		put_double(w, e, "link_gbps", d->link_gbps);
	}
}

static void put_memory(struct jw *w, cJSON *root, const struct probe_memory *m)
{
	cJSON *o = put_obj(w, root, "memory");
	if (!o)
		return;
	put_src(w, o, "source", m->src);
	PUT_STR(w, o, "method", m->method);
	put_u64(w, o, "total_bytes", m->total_bytes);
	put_u64(w, o, "available_bytes", m->available_bytes);
	cJSON *bw = put_obj(w, o, "bandwidth");
	if (bw) {
		put_double(w, bw, "read_gbps", m->read.gbps);
		put_double(w, bw, "copy_gbps", m->copy.gbps);
		put_double(w, bw, "triad_gbps", m->triad.gbps);
		put_int(w, bw, "threads", m->read.threads);
		put_bw(w, bw, "read", &m->read);
		put_bw(w, bw, "copy", &m->copy);
		put_bw(w, bw, "triad", &m->triad);
		cJSON *st = put_obj(w, bw, "single_thread");
		if (st) {
			put_double(w, st, "read_gbps", m->read1.gbps);
			put_double(w, st, "copy_gbps", m->copy1.gbps);
			put_double(w, st, "triad_gbps", m->triad1.gbps);
			put_bw(w, st, "read", &m->read1);
			put_bw(w, st, "copy", &m->copy1);
			put_bw(w, st, "triad", &m->triad1);
		}
	}
	put_double(w, o, "latency_ns", m->latency.ns);
	cJSON *lat = put_obj(w, o, "latency");
	if (lat) {
		put_src(w, lat, "source", m->latency.src);
		PUT_STR(w, lat, "method", m->latency.method);
		put_u64(w, lat, "buffer_bytes", m->latency.buffer_bytes);
		put_u64(w, lat, "loads_per_pass", m->latency.loads_per_pass);
		put_double(w, lat, "ns", m->latency.ns);
		put_stat(w, lat, "stat", &m->latency.stat);
	}
}

static void put_compute(struct jw *w, cJSON *root, const struct probe_compute *c)
{
	cJSON *o = put_obj(w, root, "compute");
	if (!o)
		return;
	put_double(w, o, "fp32_gflops", c->fp32.gops);
	put_double(w, o, "int8_gops", c->int8.gops);
	put_double(w, o, "fp32_gflops_1core", c->fp32_1.gops);
	put_double(w, o, "int8_gops_1core", c->int8_1.gops);
	put_peak(w, o, "fp32", &c->fp32);
	put_peak(w, o, "fp32_1core", &c->fp32_1);
	put_peak(w, o, "int8", &c->int8);
	put_peak(w, o, "int8_1core", &c->int8_1);
}

static void put_io(struct jw *w, cJSON *arr, const struct probe_io *io)
{
	cJSON *o = push_obj(w, arr);
	if (!o)
		return;
	put_src(w, o, "source", io->src);
	PUT_STR(w, o, "pattern", io->pattern);
	put_u64(w, o, "block_bytes", io->block_bytes);
	put_int(w, o, "depth", io->depth);
	jw_check(w, cJSON_AddBoolToObject(o, "cold", io->cold != 0));
	put_double(w, o, "gbps", io->gbps);
	put_double(w, o, "iops", io->iops);
	put_double(w, o, "lat_p50_us", io->lat_p50_us);
	put_double(w, o, "lat_p99_us", io->lat_p99_us);
	put_double(w, o, "seconds", io->seconds);
	put_u64(w, o, "bytes", io->bytes);
	PUT_STR(w, o, "method", io->method);
}

static void put_storage(struct jw *w, cJSON *root, const struct probe_profile *p)
{
	cJSON *arr = put_arr(w, root, "storage");
	for (int i = 0; arr && i < clamp_n(p->n_storage, PROBE_MAX_STORAGE); i++) {
		const struct probe_storage *st = &p->storage[i];
		cJSON *o = push_obj(w, arr);
		if (!o)
			return;
		char method[200];
		snprintf(method, sizeof method, "%.48s; cold reads: %.96s", st->engine,
			 st->cold_method);
		put_src(w, o, "source", st->src);
		PUT_STR(w, o, "path", st->path);
		PUT_STR(w, o, "why", st->why);
		PUT_STR(w, o, "device", st->device);
		PUT_STR(w, o, "model", st->model);
		PUT_STR(w, o, "transport", st->transport);
		if (st->rotational >= 0)
			jw_check(w, cJSON_AddBoolToObject(o, "rotational", st->rotational != 0));
		else
			jw_check(w, cJSON_AddNullToObject(o, "rotational"));
		PUT_STR(w, o, "fs_type", st->fs_type);
		put_u64(w, o, "fs_total_bytes", st->fs_total_bytes);
		put_u64(w, o, "fs_free_bytes", st->fs_free_bytes);
		put_u64(w, o, "file_bytes", st->file_bytes);
		jw_check(w, cJSON_AddBoolToObject(o, "temp_file", st->temp_file != 0));
		PUT_STR(w, o, "engine", st->engine);
		jw_check(w, cJSON_AddBoolToObject(o, "direct", st->direct != 0));
		PUT_STR(w, o, "cold_method", st->cold_method);
		jw_check(w, cJSON_AddStringToObject(o, "method", method));
		put_double(w, o, "seconds", st->seconds);
		put_double(w, o, "seq_read_gbps", st->seq_read_gbps);
		put_double(w, o, "rand4k_read_iops", st->rand4k_read_iops);
		put_double(w, o, "expert_read_gbps", st->expert_read_gbps);
		put_double(w, o, "warm_read_gbps", st->warm_read_gbps);
		put_double(w, o, "mmap_read_gbps", st->mmap_read_gbps);
		cJSON *pat = put_arr(w, o, "patterns");
		for (int k = 0; pat && k < clamp_n(st->n_io, PROBE_MAX_IO); k++)
			put_io(w, pat, &st->io[k]);
	}
}

/* ---- accelerators ------------------------------------------------------- */

/* A positive count, else null (unknown). */
static void put_pos_int(struct jw *w, cJSON *obj, const char *key, int v)
{
	if (v > 0)
		put_int(w, obj, key, v);
	else
		jw_check(w, cJSON_AddNullToObject(obj, key));
}

/* A string, or null when empty. */
static void put_strn_null(struct jw *w, cJSON *obj, const char *key, const char *s, size_t cap)
{
	if (strnlen(s, cap) == 0)
		jw_check(w, cJSON_AddNullToObject(obj, key));
	else
		put_strn(w, obj, key, s, cap);
}
#define PUT_STR_NULL(w, obj, key, field) put_strn_null(w, obj, key, field, sizeof(field))

static const struct {
	const char *key, *unit;
	size_t off;
} accel_figs[] = {
	{"copy", "GB/s", offsetof(struct probe_accel, copy)},
	{"read", "GB/s", offsetof(struct probe_accel, read)},
	{"h2d", "GB/s", offsetof(struct probe_accel, h2d)},
	{"d2h", "GB/s", offsetof(struct probe_accel, d2h)},
	{"h2d_pageable", "GB/s", offsetof(struct probe_accel, h2d_pageable)},
	{"d2h_pageable", "GB/s", offsetof(struct probe_accel, d2h_pageable)},
	{"fp16", "TFLOPS", offsetof(struct probe_accel, fp16)},
	{"launch", "us", offsetof(struct probe_accel, launch)},
};
#define N_ACCEL_FIGS (sizeof accel_figs / sizeof accel_figs[0])

static int accel_measured(const struct probe_accel *a)
{
	for (size_t i = 0; i < N_ACCEL_FIGS; i++) {
		const struct probe_accel_fig *f =
			(const struct probe_accel_fig *)((const char *)a + accel_figs[i].off);
		if (f->src == PROBE_SRC_MEASURED)
			return 1;
	}
	return 0;
}

static void put_accel(struct jw *w, cJSON *arr, const struct probe_accel *a)
{
	cJSON *o = push_obj(w, arr);
	if (!o)
		return;
	PUT_STR(w, o, "name", a->name);
	PUT_STR(w, o, "backend", a->backend);
	PUT_STR(w, o, "kind", a->kind);
	PUT_STR(w, o, "vendor", a->vendor);
	put_int(w, o, "index", a->index);
	PUT_STR_NULL(w, o, "bus_id", a->bus_id);
	PUT_STR_NULL(w, o, "dev_node", a->dev_node);
	PUT_STR_NULL(w, o, "driver", a->driver);
	PUT_STR_NULL(w, o, "runtime", a->runtime);
	put_int(w, o, "numa_node", a->numa_node);
	put_double(w, o, "pci_link_gbps", a->pci_link_gbps);
	if (a->cc_major > 0) {
		char cc[16];
		snprintf(cc, sizeof cc, "%d.%d", a->cc_major, a->cc_minor);
		jw_check(w, cJSON_AddStringToObject(o, "compute_capability", cc));
	} else {
		jw_check(w, cJSON_AddNullToObject(o, "compute_capability"));
	}
	put_pos_int(w, o, "compute_units", a->compute_units);
	if (a->memory_bytes)
		put_u64(w, o, "memory_bytes", a->memory_bytes);
	else
		jw_check(w, cJSON_AddNullToObject(o, "memory_bytes"));
	jw_check(w, cJSON_AddBoolToObject(o, "unified_memory", a->unified_memory != 0));
	put_double(w, o, "core_mhz", a->core_mhz);
	put_double(w, o, "memory_mhz", a->memory_mhz);
	put_pos_int(w, o, "memory_bus_bits", a->memory_bus_bits);
	put_pos_int(w, o, "pcie_gen", a->pcie_gen);
	put_pos_int(w, o, "pcie_width", a->pcie_width);
	put_pos_int(w, o, "pcie_gen_max", a->pcie_gen_max);
	put_pos_int(w, o, "pcie_width_max", a->pcie_width_max);
	put_double(w, o, "power_limit_w", a->power_limit_w);
	put_double(w, o, "spec_bandwidth_gbps", a->spec_bandwidth_gbps);
	PUT_STR(w, o, "status", a->status);
	put_double(w, o, "bandwidth_gbps", a->copy.value);
	put_double(w, o, "read_gbps", a->read.value);
	put_double(w, o, "h2d_gbps", a->h2d.value);
	put_double(w, o, "d2h_gbps", a->d2h.value);
	put_double(w, o, "h2d_pageable_gbps", a->h2d_pageable.value);
	put_double(w, o, "d2h_pageable_gbps", a->d2h_pageable.value);
	put_double(w, o, "fp16_tflops", a->fp16.value);
	put_double(w, o, "launch_us", a->launch.value);
	if (accel_measured(a))
		PUT_STR(w, o, "method", a->method);
	else
		jw_check(w, cJSON_AddNullToObject(o, "method"));
	cJSON *figs = put_obj(w, o, "figures");
	for (size_t i = 0; figs && i < N_ACCEL_FIGS; i++) {
		const struct probe_accel_fig *f =
			(const struct probe_accel_fig *)((const char *)a + accel_figs[i].off);
		cJSON *e = put_obj(w, figs, accel_figs[i].key);
		if (!e)
			return;
		put_src(w, e, "source", f->src);
		put_double(w, e, "value", f->value);
		jw_check(w, cJSON_AddStringToObject(e, "unit", accel_figs[i].unit));
		put_u64(w, e, "bytes", f->bytes);
		PUT_STR(w, e, "method", f->method);
		put_stat(w, e, "stat", &f->stat);
	}
}

static void put_accels(struct jw *w, cJSON *root, const struct probe_profile *p)
{
	cJSON *arr = put_arr(w, root, "accelerators");
	for (int i = 0; arr && i < clamp_n(p->n_accel, PROBE_MAX_ACCEL); i++)
		put_accel(w, arr, &p->accel[i]);
	PUT_STR_NULL(w, root, "accelerators_note", p->accel_note);
}

/* "2026-09-21T14:13:20Z"; "" when t cannot be shown. */
static void iso_utc(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	buf[0] = '\0';
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
		return;
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return;
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

cJSON *rep_profile_cjson(const struct probe_profile *p)
{
	if (!p)
		return NULL;
	struct jw w = {0};
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	jw_check(&w, cJSON_AddStringToObject(root, "schema", PROBE_SCHEMA));
	PUT_STR(&w, root, "tool_version", p->tool_version);
	put_i64(&w, root, "created_unix", p->created_unix);
	char iso[32];
	iso_utc(p->created_unix, iso, sizeof iso);
	if (p->created_unix != 0 && iso[0])
		jw_check(&w, cJSON_AddStringToObject(root, "created", iso));
	else
		jw_check(&w, cJSON_AddNullToObject(root, "created"));
	PUT_STR(&w, root, "fingerprint", p->fingerprint);
	PUT_STR(&w, root, "hostname", p->hostname);
	jw_check(&w, cJSON_AddBoolToObject(root, "quick", p->quick != 0));
	put_double(&w, root, "probe_seconds", p->seconds);
	put_cpu(&w, root, &p->cpu);
	put_topo(&w, root, &p->topo);
	put_memory(&w, root, &p->mem);
	put_compute(&w, root, &p->compute);
	put_storage(&w, root, p);
	put_accels(&w, root, p);
	cJSON *warn = put_arr(&w, root, "warnings");
	for (int i = 0; warn && i < clamp_n(p->n_warnings, PROBE_MAX_WARNINGS); i++) {
		char buf[PROBE_WARNING_LEN];
		size_t n = strnlen(p->warnings[i], PROBE_WARNING_LEN - 1);
		memcpy(buf, p->warnings[i], n);
		buf[n] = '\0';
		cJSON *s = jw_check(&w, cJSON_CreateString(buf));
		if (s && !cJSON_AddItemToArray(warn, s)) {
			cJSON_Delete(s);
			w.oom = 1;
		}
	}
	if (w.oom) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

char *rep_profile_json(const struct probe_profile *p, int pretty)
{
	cJSON *root = rep_profile_cjson(p);
	if (!root)
		return NULL;
	char *out = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

/* ---- reading ----------------------------------------------------------- */

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* Copies at most cap-1 bytes without splitting a UTF-8 sequence: when the
 * cut falls inside one (s[n] is a continuation byte), it moves back to
 * where that sequence starts. */
static void copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void get_str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
	const cJSON *v = get(obj, key);
	if (cJSON_IsString(v) && v->valuestring)
		copy_str(dst, cap, v->valuestring);
}
#define GET_STR(obj, key, field) get_str(obj, key, field, sizeof(field))

/* The number under key, or 0 when absent, not a number or not finite. */
static int get_num(const cJSON *obj, const char *key, double *d)
{
	const cJSON *v = get(obj, key);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return 0;
	*d = v->valuedouble;
	return 1;
}

static void get_double(const cJSON *obj, const char *key, double *dst)
{
	double d;
	if (get_num(obj, key, &d))
		*dst = d == 0 ? 0.0 : d;
}

static void get_int(const cJSON *obj, const char *key, int *dst)
{
	double d;
	if (!get_num(obj, key, &d))
		return;
	*dst = d <= (double)INT_MIN ? INT_MIN : d >= (double)INT_MAX ? INT_MAX : (int)d;
}

static void get_i64(const cJSON *obj, const char *key, int64_t *dst)
{
	double d;
	if (!get_num(obj, key, &d))
		return;
	/* (double)INT64_MAX rounds up to 2^63, itself out of range */
	*dst = d <= -9223372036854775808.0 ? INT64_MIN
		: d >= 9223372036854775808.0 ? INT64_MAX : (int64_t)d;
}

static void get_u64(const cJSON *obj, const char *key, uint64_t *dst)
{
	double d;
	if (!get_num(obj, key, &d))
		return;
	*dst = d <= 0 ? 0 : d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
}

static void get_u16(const cJSON *obj, const char *key, uint16_t *dst)
{
	double d;
	if (!get_num(obj, key, &d))
		return;
	*dst = d <= 0 ? 0 : d >= 65535.0 ? 65535 : (uint16_t)d;
}

static void get_src(const cJSON *obj, const char *key, enum probe_src *dst)
{
	const cJSON *v = get(obj, key);
	if (!v)
		return;
	*dst = PROBE_SRC_UNKNOWN;
	if (!cJSON_IsString(v) || !v->valuestring)
		return;
	for (int s = PROBE_SRC_UNKNOWN; s <= PROBE_SRC_ASSUMED; s++)
		if (strcmp(v->valuestring, probe_src_name((enum probe_src)s)) == 0)
			*dst = (enum probe_src)s;
}

static void get_stat(const cJSON *obj, const char *key, struct probe_stat *st)
{
	const cJSON *o = get(obj, key);
	if (!cJSON_IsObject(o))
		return;
	get_double(o, "median", &st->median);
	get_double(o, "best", &st->best);
	get_double(o, "worst", &st->worst);
	get_double(o, "mean", &st->mean);
	get_double(o, "stddev", &st->stddev);
	const cJSON *a = get(o, "samples");
	if (!cJSON_IsArray(a))
		return;
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (n >= PROBE_MAX_SAMPLES)
			break;
		double d = cJSON_IsNumber(e) && isfinite(e->valuedouble) ? e->valuedouble : NAN;
		st->samples[n++] = d == 0 ? 0.0 : d;
	}
	st->n = n;
}

static void get_bw(const cJSON *obj, const char *key, struct probe_bw *b)
{
	const cJSON *o = get(obj, key);
	if (!cJSON_IsObject(o))
		return;
	get_src(o, "source", &b->src);
	get_double(o, "gbps", &b->gbps);
	GET_STR(o, "kernel", b->kernel);
	get_int(o, "threads", &b->threads);
	get_u64(o, "array_bytes", &b->array_bytes);
	get_int(o, "arrays", &b->arrays);
	get_u64(o, "bytes_per_pass", &b->bytes_per_pass);
	get_int(o, "passes", &b->passes);
	get_stat(o, "stat", &b->stat);
}

static void get_peak(const cJSON *obj, const char *key, struct probe_peak *k)
{
	const cJSON *o = get(obj, key);
	if (!cJSON_IsObject(o))
		return;
	get_src(o, "source", &k->src);
	get_double(o, "gops", &k->gops);
	GET_STR(o, "kernel", k->kernel);
	get_int(o, "threads", &k->threads);
	get_int(o, "passes", &k->passes);
	get_stat(o, "stat", &k->stat);
}

/* A summary figure ("read_gbps") stands in for a detail object without one. */
static void get_fallback(const cJSON *obj, const char *key, double *dst)
{
	if (isnan(*dst))
		get_double(obj, key, dst);
}

static void get_cpu(const cJSON *o, struct probe_cpu *c)
{
	if (!cJSON_IsObject(o))
		return;
	get_src(o, "source", &c->src);
	GET_STR(o, "method", c->method);
	GET_STR(o, "arch", c->arch);
	GET_STR(o, "vendor", c->vendor);
	GET_STR(o, "brand", c->brand);
	GET_STR(o, "codename", c->codename);
	get_int(o, "family", &c->family);
	get_int(o, "model", &c->model);
	get_int(o, "stepping", &c->stepping);
	get_int(o, "cores", &c->cores);
	get_int(o, "threads", &c->threads);
	get_double(o, "base_mhz", &c->base_mhz);
	get_src(o, "base_mhz_source", &c->base_mhz_src);
	GET_STR(o, "base_mhz_method", c->base_mhz_method);
	get_double(o, "max_mhz", &c->max_mhz);
	get_src(o, "max_mhz_source", &c->max_mhz_src);
	GET_STR(o, "max_mhz_method", c->max_mhz_method);
	const cJSON *isa = get(o, "isa");
	const cJSON *e;
	if (cJSON_IsArray(isa))
		cJSON_ArrayForEach(e, isa) {
			int f = cJSON_IsString(e) ? probe_isa_from_name(e->valuestring) : -1;
			if (f >= 0)
				c->isa |= 1u << f;
		}
	GET_STR(o, "isa_method", c->isa_method);
}

static void get_topo(const cJSON *o, struct probe_topo *t)
{
	if (!cJSON_IsObject(o))
		return;
	get_src(o, "source", &t->src);
	GET_STR(o, "method", t->method);
	get_int(o, "packages", &t->packages);
	get_int(o, "cores", &t->cores);
	get_int(o, "pus", &t->pus);
	const cJSON *e;
	const cJSON *a = get(o, "numa");
	if (cJSON_IsArray(a))
		cJSON_ArrayForEach(e, a) {
			if (t->n_numa >= PROBE_MAX_NUMA)
				break;
			if (!cJSON_IsObject(e))
				continue;
			struct probe_numa *m = &t->numa[t->n_numa++];
			get_int(e, "os_index", &m->os_index);
			get_u64(e, "memory_bytes", &m->memory_bytes);
			get_int(e, "cores", &m->cores);
		}
	a = get(o, "caches");
	if (cJSON_IsArray(a))
		cJSON_ArrayForEach(e, a) {
			if (t->n_caches >= PROBE_MAX_CACHES)
				break;
			if (!cJSON_IsObject(e))
				continue;
			struct probe_cache *c = &t->caches[t->n_caches++];
			get_int(e, "level", &c->level);
			GET_STR(e, "type", c->type);
			get_u64(e, "size_bytes", &c->size_bytes);
			get_int(e, "instances", &c->instances);
			get_int(e, "line_bytes", &c->line_bytes);
		}
	get_u64(o, "llc_total_bytes", &t->llc_total_bytes);
	a = get(o, "pci");
	if (cJSON_IsArray(a))
		cJSON_ArrayForEach(e, a) {
			if (t->n_pci >= PROBE_MAX_PCI)
				break;
			if (!cJSON_IsObject(e))
				continue;
			struct probe_pci *d = &t->pci[t->n_pci++];
			GET_STR(e, "bus_id", d->bus_id);
			get_u16(e, "vendor_id", &d->vendor_id);
			get_u16(e, "device_id", &d->device_id);
			get_u16(e, "class_id", &d->class_id);
			GET_STR(e, "kind", d->kind);
			GET_STR(e, "vendor", d->vendor);
			GET_STR(e, "name", d->name);
			get_int(e, "numa_node", &d->numa_node);
			get_double(e, "link_gbps", &d->link_gbps);
		}
}

static void get_memory(const cJSON *o, struct probe_memory *m)
{
	if (!cJSON_IsObject(o))
		return;
	get_src(o, "source", &m->src);
	GET_STR(o, "method", m->method);
	get_u64(o, "total_bytes", &m->total_bytes);
	get_u64(o, "available_bytes", &m->available_bytes);
	const cJSON *bw = get(o, "bandwidth");
	if (cJSON_IsObject(bw)) {
		get_bw(bw, "read", &m->read);
		get_bw(bw, "copy", &m->copy);
		get_bw(bw, "triad", &m->triad);
		get_fallback(bw, "read_gbps", &m->read.gbps);
		get_fallback(bw, "copy_gbps", &m->copy.gbps);
		get_fallback(bw, "triad_gbps", &m->triad.gbps);
		const cJSON *st = get(bw, "single_thread");
		if (cJSON_IsObject(st)) {
			get_bw(st, "read", &m->read1);
			get_bw(st, "copy", &m->copy1);
			get_bw(st, "triad", &m->triad1);
			get_fallback(st, "read_gbps", &m->read1.gbps);
			get_fallback(st, "copy_gbps", &m->copy1.gbps);
			get_fallback(st, "triad_gbps", &m->triad1.gbps);
		}
	}
	const cJSON *lat = get(o, "latency");
	if (cJSON_IsObject(lat)) {
		get_src(lat, "source", &m->latency.src);
		GET_STR(lat, "method", m->latency.method);
		get_u64(lat, "buffer_bytes", &m->latency.buffer_bytes);
		get_u64(lat, "loads_per_pass", &m->latency.loads_per_pass);
		get_double(lat, "ns", &m->latency.ns);
		get_stat(lat, "stat", &m->latency.stat);
	}
	get_fallback(o, "latency_ns", &m->latency.ns);
}

static void get_compute(const cJSON *o, struct probe_compute *c)
{
	if (!cJSON_IsObject(o))
		return;
	get_peak(o, "fp32", &c->fp32);
	get_peak(o, "fp32_1core", &c->fp32_1);
	get_peak(o, "int8", &c->int8);
	get_peak(o, "int8_1core", &c->int8_1);
	get_fallback(o, "fp32_gflops", &c->fp32.gops);
	get_fallback(o, "int8_gops", &c->int8.gops);
	get_fallback(o, "fp32_gflops_1core", &c->fp32_1.gops);
	get_fallback(o, "int8_gops_1core", &c->int8_1.gops);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static void get_io(const cJSON *o, struct probe_io *io)
{
	memset(io, 0, sizeof *io);
	io->gbps = io->iops = io->lat_p50_us = io->lat_p99_us = io->seconds = NAN;
	get_src(o, "source", &io->src);
	GET_STR(o, "pattern", io->pattern);
	get_u64(o, "block_bytes", &io->block_bytes);
	get_int(o, "depth", &io->depth);
	const cJSON *c = get(o, "cold");
	io->cold = cJSON_IsTrue(c);
	get_double(o, "gbps", &io->gbps);
	get_double(o, "iops", &io->iops);
	get_double(o, "lat_p50_us", &io->lat_p50_us);
	get_double(o, "lat_p99_us", &io->lat_p99_us);
	get_double(o, "seconds", &io->seconds);
	get_u64(o, "bytes", &io->bytes);
	GET_STR(o, "method", io->method);
}

static void get_storage(const cJSON *arr, struct probe_profile *p)
{
	const cJSON *o;
	p->n_storage = 0;
	if (!cJSON_IsArray(arr))
		return;
	cJSON_ArrayForEach(o, arr) {
		if (p->n_storage >= PROBE_MAX_STORAGE)
			break;
		if (!cJSON_IsObject(o))
			continue;
		struct probe_storage *st = &p->storage[p->n_storage++];
		memset(st, 0, sizeof *st);
		st->rotational = -1;
		st->seconds = st->seq_read_gbps = st->rand4k_read_iops = NAN;
		st->expert_read_gbps = st->warm_read_gbps = st->mmap_read_gbps = NAN;
		get_src(o, "source", &st->src);
		GET_STR(o, "path", st->path);
		GET_STR(o, "why", st->why);
		GET_STR(o, "device", st->device);
		GET_STR(o, "model", st->model);
		GET_STR(o, "transport", st->transport);
		const cJSON *r = get(o, "rotational");
		if (cJSON_IsBool(r))
			st->rotational = cJSON_IsTrue(r);
		GET_STR(o, "fs_type", st->fs_type);
		get_u64(o, "fs_total_bytes", &st->fs_total_bytes);
		get_u64(o, "fs_free_bytes", &st->fs_free_bytes);
		get_u64(o, "file_bytes", &st->file_bytes);
		st->temp_file = cJSON_IsTrue(get(o, "temp_file"));
		GET_STR(o, "engine", st->engine);
		st->direct = cJSON_IsTrue(get(o, "direct"));
		GET_STR(o, "cold_method", st->cold_method);
		get_double(o, "seconds", &st->seconds);
		get_double(o, "seq_read_gbps", &st->seq_read_gbps);
		get_double(o, "rand4k_read_iops", &st->rand4k_read_iops);
		get_double(o, "expert_read_gbps", &st->expert_read_gbps);
		get_double(o, "warm_read_gbps", &st->warm_read_gbps);
		get_double(o, "mmap_read_gbps", &st->mmap_read_gbps);
		const cJSON *pat = get(o, "patterns");
		const cJSON *e;
		if (cJSON_IsArray(pat))
			cJSON_ArrayForEach(e, pat) {
				if (st->n_io >= PROBE_MAX_IO)
					break;
				if (cJSON_IsObject(e))
					get_io(e, &st->io[st->n_io++]);
			}
	}
}

static void get_accels(const cJSON *root, struct probe_profile *p)
{
	const cJSON *arr = get(root, "accelerators"), *o;
	p->n_accel = 0;
	GET_STR(root, "accelerators_note", p->accel_note);
	if (!cJSON_IsArray(arr))
		return;
	cJSON_ArrayForEach(o, arr) {
		if (p->n_accel >= PROBE_MAX_ACCEL)
			break;
		if (!cJSON_IsObject(o))
			continue;
		struct probe_accel *a = &p->accel[p->n_accel++];
		probe_accel_init(a);
		GET_STR(o, "name", a->name);
		GET_STR(o, "backend", a->backend);
		GET_STR(o, "kind", a->kind);
		GET_STR(o, "vendor", a->vendor);
		get_int(o, "index", &a->index);
		GET_STR(o, "bus_id", a->bus_id);
		GET_STR(o, "dev_node", a->dev_node);
		GET_STR(o, "driver", a->driver);
		GET_STR(o, "runtime", a->runtime);
		get_int(o, "numa_node", &a->numa_node);
		get_double(o, "pci_link_gbps", &a->pci_link_gbps);
		const cJSON *cc = get(o, "compute_capability");
		if (cJSON_IsString(cc) && cc->valuestring &&
		    sscanf(cc->valuestring, "%d.%d", &a->cc_major, &a->cc_minor) != 2)
			a->cc_major = a->cc_minor = 0;
		get_int(o, "compute_units", &a->compute_units);
		get_u64(o, "memory_bytes", &a->memory_bytes);
		a->unified_memory = cJSON_IsTrue(get(o, "unified_memory"));
		get_double(o, "core_mhz", &a->core_mhz);
		get_double(o, "memory_mhz", &a->memory_mhz);
		get_int(o, "memory_bus_bits", &a->memory_bus_bits);
		get_int(o, "pcie_gen", &a->pcie_gen);
		get_int(o, "pcie_width", &a->pcie_width);
		get_int(o, "pcie_gen_max", &a->pcie_gen_max);
		get_int(o, "pcie_width_max", &a->pcie_width_max);
		get_double(o, "power_limit_w", &a->power_limit_w);
		get_double(o, "spec_bandwidth_gbps", &a->spec_bandwidth_gbps);
		GET_STR(o, "status", a->status);
		GET_STR(o, "method", a->method);
		const cJSON *figs = get(o, "figures");
		for (size_t i = 0; i < N_ACCEL_FIGS; i++) {
			struct probe_accel_fig *f =
				(struct probe_accel_fig *)((char *)a + accel_figs[i].off);
			const cJSON *e = get(figs, accel_figs[i].key);
			if (!cJSON_IsObject(e))
				continue;
			get_src(e, "source", &f->src);
			get_double(e, "value", &f->value);
			get_u64(e, "bytes", &f->bytes);
			GET_STR(e, "method", f->method);
			get_stat(e, "stat", &f->stat);
		}
		/* the headline figures stand in for figures without a block */
		static const struct {
			const char *key;
			size_t off;
		} heads[] = {
			{"bandwidth_gbps", offsetof(struct probe_accel, copy)},
			{"read_gbps", offsetof(struct probe_accel, read)},
			{"h2d_gbps", offsetof(struct probe_accel, h2d)},
			{"d2h_gbps", offsetof(struct probe_accel, d2h)},
			{"fp16_tflops", offsetof(struct probe_accel, fp16)},
			{"launch_us", offsetof(struct probe_accel, launch)},
		};
		for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
			struct probe_accel_fig *f = (struct probe_accel_fig *)((char *)a + heads[i].off);
			if (isnan(f->value)) {
				get_double(o, heads[i].key, &f->value);
				if (!isnan(f->value) && f->src == PROBE_SRC_UNKNOWN)
					f->src = PROBE_SRC_MEASURED;
			}
		}
	}
}

int rep_profile_from_json(const char *text, size_t len,
			  struct probe_profile *p, char *err, size_t errlen)
{
	if (!p) {
		set_err(err, errlen, "profile: no profile to fill (programming error)");
		return -2;
	}
	probe_profile_init(p);
	p->tool_version[0] = '\0';   /* the file says which version wrote it */
	if (!text) {
		set_err(err, errlen, "profile: no text given; expected a llmcap.profile/1 "
			"JSON object (write one with `llmcap probe --out FILE`)");
		return -2;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		if (err && errlen)
			snprintf(err, errlen, "profile: not valid JSON (syntax error at byte %zu "
				 "of %zu); regenerate it with `llmcap probe --out FILE`", at, len);
		return -2;
	}
	/* only white space (or NULs) may follow the object */
	for (const char *q = end; q && q < text + len; q++) {
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != '\0') {
			if (err && errlen)
				snprintf(err, errlen, "profile: not valid JSON (text after the "
					 "top-level value at byte %zu); regenerate it with "
					 "`llmcap probe --out FILE`", (size_t)(q - text));
			cJSON_Delete(root);
			return -2;
		}
	}
	int rc = -2;
	if (!cJSON_IsObject(root)) {
		set_err(err, errlen, "profile: the top level is not a JSON object; expected "
			"{\"schema\": \"llmcap.profile/1\", ...}");
		goto out;
	}
	const cJSON *schema = get(root, "schema");
	if (!schema) {
		set_err(err, errlen, "profile: field \"schema\" is missing; expected "
			"\"llmcap.profile/1\" (regenerate with `llmcap probe --out FILE`)");
		goto out;
	}
	if (!cJSON_IsString(schema) || !schema->valuestring
	    || strcmp(schema->valuestring, PROBE_SCHEMA) != 0) {
		if (err && errlen) {
			char got[48] = "not a string";
			if (cJSON_IsString(schema) && schema->valuestring)
				snprintf(got, sizeof got, "\"%.40s\"", schema->valuestring);
			snprintf(err, errlen, "profile: field \"schema\" is %s, expected "
				 "\"%s\" (regenerate with `llmcap probe --out FILE`)",
				 got, PROBE_SCHEMA);
		}
		goto out;
	}
	GET_STR(root, "tool_version", p->tool_version);
	get_i64(root, "created_unix", &p->created_unix);
	GET_STR(root, "fingerprint", p->fingerprint);
	GET_STR(root, "hostname", p->hostname);
	const cJSON *q = get(root, "quick");
	if (cJSON_IsBool(q))
		p->quick = cJSON_IsTrue(q);
	else if (cJSON_IsNumber(q))
		p->quick = q->valuedouble != 0;
	get_double(root, "probe_seconds", &p->seconds);
	get_cpu(get(root, "cpu"), &p->cpu);
	get_topo(get(root, "topology"), &p->topo);
	get_memory(get(root, "memory"), &p->mem);
	get_compute(get(root, "compute"), &p->compute);
	get_storage(get(root, "storage"), p);
	get_accels(root, p);
	const cJSON *warn = get(root, "warnings");
	const cJSON *e;
	if (cJSON_IsArray(warn))
		cJSON_ArrayForEach(e, warn) {
			if (p->n_warnings >= PROBE_MAX_WARNINGS)
				break;
			if (cJSON_IsString(e) && e->valuestring)
				copy_str(p->warnings[p->n_warnings++], PROBE_WARNING_LEN,
					 e->valuestring);
		}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}
