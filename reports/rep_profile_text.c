/*
 * reports: the machine profile as text for people.
 *
 * Sections Profile, CPU, Topology, Memory, Bandwidth, Compute, Storage,
 * Accelerators, Warnings.
 * Every figure says where it came from in parentheses: "(measured: ...)"
 * with the kernel, passes and spread, "(reported: ...)" with the source;
 * an unknown figure prints "unknown". Lines stay within REP_TEXT_WIDTH.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reports/rep_internal.h"
#include "reports/report.h"

/* Longest cells of the topology tables, in code points. */
#define NAME_COLS 32
#define VENDOR_COLS 18

/* A string field of the struct, bounded by its array even without NUL,
 * control characters (newlines too) shown as '?'. */
#define FIELD(buf, field) field_copy(buf, sizeof(buf), field, sizeof(field))

static const char *field_copy(char *buf, size_t n, const char *s, size_t cap)
{
	size_t l = strnlen(s, cap);
	if (l >= n)
		l = n - 1;
	for (size_t i = 0; i < l; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	buf[l] = '\0';
	return buf;
}

static int clamp_n(int n, int max)
{
	return n < 0 ? 0 : n > max ? max : n;
}

/* "2400", "41.2", "3.25": the digits a figure of that size deserves. */
static char *fmt_fig(char *buf, size_t n, double v)
{
	double a = fabs(v);
	return rep_fmt_num(buf, n, v, a < 9.995 ? 2 : a < 999.95 ? 1 : 0);
}

/* Appends printf text to buf (size n) after what is there; cuts silently. */
__attribute__((format(printf, 3, 4)))
static void cat(char *buf, size_t n, const char *fmt, ...)
{
	size_t l = strnlen(buf, n);
	if (l + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + l, n - l, fmt, ap);
	va_end(ap);
}

/* "(reported: libcpuid 0.6.2)", "(reported)", "" for an unknown source
 * without a method. */
static void provenance(char *buf, size_t n, enum probe_src src, const char *method,
		       size_t method_cap)
{
	char m[128];
	field_copy(m, sizeof m, method, method_cap);
	buf[0] = '\0';
	if (src == PROBE_SRC_UNKNOWN && !m[0])
		return;
	if (m[0])
		snprintf(buf, n, "(%s: %s)", probe_src_name(src), m);
	else
		snprintf(buf, n, "(%s)", probe_src_name(src));
}
#define PROV(buf, src, field) provenance(buf, sizeof(buf), src, field, sizeof(field))

/* "key  figure (how)", or the how on a line of its own under the figure
 * when both do not fit on one or when split (timed figures always split,
 * so that a section's figures line up). */
static void kv_fig(FILE *out, const char *key, const char *fig, const char *how, int split)
{
	size_t room = REP_TEXT_WIDTH - REP_KV_INDENT - REP_KV_KEY_WIDTH;
	if (!how || !how[0])
		rep_kv(out, key, "%s", fig);
	else if (!split && rep_utf8_width(fig) + 1 + rep_utf8_width(how) <= room)
		rep_kv(out, key, "%s %s", fig, how);
	else
		rep_kv(out, key, "%s\n%s", fig, how);
}

/* "Source  reported (hwloc 2.9.0)" */
static void source_line(FILE *out, enum probe_src src, const char *method, size_t cap)
{
	char m[128];
	field_copy(m, sizeof m, method, cap);
	if (m[0])
		rep_kv(out, "Source", "%s (%s)", probe_src_name(src), m);
	else
		rep_kv(out, "Source", "%s", probe_src_name(src));
}
#define SOURCE_LINE(out, src, field) source_line(out, src, field, sizeof(field))

/* "all 16 cores", "1 thread", "12 threads" */
static void threads_phrase(char *buf, size_t n, int threads, int cores)
{
	buf[0] = '\0';
	if (threads <= 0)
		return;
	if (threads == 1)
		snprintf(buf, n, "1 thread");
	else if (threads == cores)
		snprintf(buf, n, "all %d cores", threads);
	else
		snprintf(buf, n, "%d threads", threads);
}

/* How a timed figure was measured: "(measured: kernel, best of N passes,
 * median M" (the caller closes it). */
static void timing(char *buf, size_t n, enum probe_src src, const char *kernel,
		   size_t kernel_cap, int passes, const struct probe_stat *st)
{
	char k[64], v[32];
	field_copy(k, sizeof k, kernel, kernel_cap);
	snprintf(buf, n, "(%s", probe_src_name(src));
	const char *sep = ": ";
	if (k[0]) {
		cat(buf, n, "%s%s", sep, k);
		sep = ", ";
	}
	int np = passes > 0 ? passes : clamp_n(st->n, PROBE_MAX_SAMPLES);
	if (np > 1) {
		cat(buf, n, "%sbest of %d passes", sep, np);
		sep = ", ";
	} else if (np == 1) {
		cat(buf, n, "%s1 pass", sep);
		sep = ", ";
	}
	if (np > 1 && isfinite(st->median)) {
		cat(buf, n, "%smedian %s", sep, fmt_fig(v, sizeof v, st->median));
		sep = ", ";
	}
}

static void bw_line(FILE *out, const char *key, const struct probe_bw *b, int cores)
{
	char val[32], thr[32], how[320], sz[32];
	if (b->src == PROBE_SRC_UNKNOWN && !isfinite(b->gbps)) {
		rep_kv(out, key, "unknown (not measured)");
		return;
	}
	rep_fmt_gbps(val, sizeof val, b->gbps);
	threads_phrase(thr, sizeof thr, b->threads, cores);
	timing(how, sizeof how, b->src, b->kernel, sizeof b->kernel, b->passes, &b->stat);
	if (b->array_bytes > 0) {
		rep_fmt_bytes(sz, sizeof sz, b->array_bytes);
		if (b->arrays > 1)
			cat(how, sizeof how, ", %d arrays of %s", b->arrays, sz);
		else
			cat(how, sizeof how, ", %s array%s", sz, b->arrays == 1 ? "" : "s");
	}
	cat(how, sizeof how, ")");
	char fig[96];
	snprintf(fig, sizeof fig, "%s%s%s", val, thr[0] ? ", " : "", thr);
	kv_fig(out, key, fig, how, 1);
}

static void peak_line(FILE *out, const char *key, const struct probe_peak *k,
		      const char *unit, int cores)
{
	char val[32], thr[32], how[320];
	if (k->src == PROBE_SRC_UNKNOWN && !isfinite(k->gops)) {
		rep_kv(out, key, "unknown (not measured)");
		return;
	}
	fmt_fig(val, sizeof val, k->gops);
	threads_phrase(thr, sizeof thr, k->threads, cores);
	timing(how, sizeof how, k->src, k->kernel, sizeof k->kernel, k->passes, &k->stat);
	cat(how, sizeof how, ")");
	int known = isfinite(k->gops);
	char fig[96];
	snprintf(fig, sizeof fig, "%s%s%s%s%s", val, known ? " " : "", known ? unit : "",
		 thr[0] ? ", " : "", thr);
	kv_fig(out, key, fig, how, 1);
}

static void section_profile(FILE *out, const struct probe_profile *p)
{
	char a[96], b[96], c[32];
	rep_section(out, "Profile");
	FIELD(a, p->hostname);
	FIELD(b, p->fingerprint);
	if (b[0])
		rep_kv(out, "Host", "%s (fingerprint %s)", a[0] ? a : "unknown", b);
	else
		rep_kv(out, "Host", "%s", a[0] ? a : "unknown");
	if (p->created_unix != 0) {
		struct tm tm;
		time_t t = (time_t)p->created_unix;
		if ((int64_t)t == p->created_unix && gmtime_r(&t, &tm)
		    && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999)
			strftime(a, sizeof a, "%Y-%m-%d %H:%M:%S UTC", &tm);
		else
			snprintf(a, sizeof a, "unix time %lld", (long long)p->created_unix);
	} else {
		snprintf(a, sizeof a, "unknown time,");
	}
	FIELD(b, p->tool_version);
	if (b[0])
		rep_kv(out, "Created", "%s by llmcap %s", a, b);
	else
		rep_kv(out, "Created", "%s", a);
	if (isfinite(p->seconds))
		rep_kv(out, "Probe", "%s run, took %s s%s", p->quick ? "quick" : "full",
		       fmt_fig(c, sizeof c, p->seconds),
		       p->quick ? " (short passes, smaller arrays: rough figures)" : "");
	else
		rep_kv(out, "Probe", "%s run", p->quick ? "quick" : "full");
}

static void section_cpu(FILE *out, const struct probe_cpu *c)
{
	char a[128], b[128], prov[200];
	fputc('\n', out);
	rep_section(out, "CPU");
	SOURCE_LINE(out, c->src, c->method);
	FIELD(a, c->brand);
	rep_kv(out, "Model", "%s", a[0] ? a : "unknown");

	char id[256] = "";
	FIELD(a, c->vendor);
	FIELD(b, c->codename);
	if (a[0])
		cat(id, sizeof id, "%s", a);
	if (b[0])
		cat(id, sizeof id, "%s%s", id[0] ? ", " : "", b);
	FIELD(a, c->arch);
	if (a[0])
		cat(id, sizeof id, "%s%s", id[0] ? ", " : "", a);
	if (c->family >= 0)
		cat(id, sizeof id, "%sfamily %d", id[0] ? ", " : "", c->family);
	if (c->model >= 0)
		cat(id, sizeof id, "%smodel %d", id[0] ? ", " : "", c->model);
	if (c->stepping >= 0)
		cat(id, sizeof id, "%sstepping %d", id[0] ? ", " : "", c->stepping);
	rep_kv(out, "Identity", "%s", id[0] ? id : "unknown");

	if (c->cores > 0 && c->threads > 0)
		rep_kv(out, "Cores", "%d physical, %d hardware thread%s", c->cores, c->threads,
		       c->threads == 1 ? "" : "s");
	else if (c->cores > 0)
		rep_kv(out, "Cores", "%d physical, hardware threads unknown", c->cores);
	else if (c->threads > 0)
		rep_kv(out, "Cores", "unknown, %d hardware thread%s", c->threads,
		       c->threads == 1 ? "" : "s");
	else
		rep_kv(out, "Cores", "unknown");

	char mhz[48];
	PROV(prov, c->base_mhz_src, c->base_mhz_method);
	rep_fmt_num(mhz, sizeof mhz, c->base_mhz, 0);
	cat(mhz, sizeof mhz, "%s", isfinite(c->base_mhz) ? " MHz" : "");
	kv_fig(out, "Base clock", mhz, prov, 0);
	PROV(prov, c->max_mhz_src, c->max_mhz_method);
	rep_fmt_num(mhz, sizeof mhz, c->max_mhz, 0);
	cat(mhz, sizeof mhz, "%s", isfinite(c->max_mhz) ? " MHz" : "");
	kv_fig(out, "Max clock", mhz, prov, 0);

	char isa[320] = "";
	for (int i = 0; i < PROBE_ISA_COUNT; i++)
		if (probe_cpu_has(c, (enum probe_isa)i))
			cat(isa, sizeof isa, "%s%s", isa[0] ? " " : "",
			    probe_isa_name((enum probe_isa)i));
	PROV(prov, c->src, c->isa_method);
	kv_fig(out, "ISA", isa[0] ? isa : c->src != PROBE_SRC_UNKNOWN
	       ? "none of the features llmcap uses" : "unknown", prov, 0);
}

static void section_topo(FILE *out, const struct probe_topo *t)
{
	char a[160], b[64];
	fputc('\n', out);
	rep_section(out, "Topology");
	SOURCE_LINE(out, t->src, t->method);
	a[0] = '\0';
	if (t->packages > 0)
		cat(a, sizeof a, "%d package%s", t->packages, t->packages == 1 ? "" : "s");
	if (t->cores > 0)
		cat(a, sizeof a, "%s%d core%s", a[0] ? ", " : "", t->cores,
		    t->cores == 1 ? "" : "s");
	if (t->pus > 0)
		cat(a, sizeof a, "%s%d hardware thread%s", a[0] ? ", " : "", t->pus,
		    t->pus == 1 ? "" : "s");
	int nn = clamp_n(t->n_numa, PROBE_MAX_NUMA);
	if (nn > 0)
		cat(a, sizeof a, "%s%d NUMA node%s", a[0] ? ", " : "", nn, nn == 1 ? "" : "s");
	rep_kv(out, "Layout", "%s", a[0] ? a : "unknown");
	if (t->llc_total_bytes > 0)
		rep_kv(out, "Last-level cache", "%s in total",
		       rep_fmt_bytes(b, sizeof b, t->llc_total_bytes));
	else
		rep_kv(out, "Last-level cache", "unknown");

	int nc = clamp_n(t->n_caches, PROBE_MAX_CACHES);
	if (nc > 0) {
		static const char *const h[] = {"Cache", "Type", "Size", "Instances", "Line"};
		struct rep_table *tab = rep_table_new(5, h);
		rep_table_align(tab, 2, REP_RIGHT);
		rep_table_align(tab, 3, REP_RIGHT);
		rep_table_align(tab, 4, REP_RIGHT);
		for (int i = 0; tab && i < nc; i++) {
			const struct probe_cache *k = &t->caches[i];
			char ty[32], lv[16], in[16], ln[16];
			snprintf(lv, sizeof lv, "L%d", k->level);
			FIELD(ty, k->type);
			snprintf(in, sizeof in, "%d", k->instances);
			snprintf(ln, sizeof ln, "%d B", k->line_bytes);
			const char *row[] = {
				lv, ty[0] ? ty : NULL,
				k->size_bytes ? rep_fmt_bytes(b, sizeof b, k->size_bytes) : NULL,
				k->instances > 0 ? in : NULL, k->line_bytes > 0 ? ln : NULL,
			};
			rep_table_add(tab, row);
		}
		fputc('\n', out);
		rep_table_print_indent(tab, out, REP_KV_INDENT);
		rep_table_delete(tab);
	}

	if (nn > 0) {
		static const char *const h[] = {"NUMA node", "Memory", "Cores"};
		struct rep_table *tab = rep_table_new(3, h);
		for (int i = 0; i < 3; i++)
			rep_table_align(tab, i, REP_RIGHT);
		for (int i = 0; tab && i < nn; i++) {
			const struct probe_numa *m = &t->numa[i];
			char id[16], co[16];
			snprintf(id, sizeof id, "%d", m->os_index);
			snprintf(co, sizeof co, "%d", m->cores);
			const char *row[] = {
				id, m->memory_bytes ? rep_fmt_bytes(b, sizeof b, m->memory_bytes) : NULL,
				m->cores > 0 ? co : NULL,
			};
			rep_table_add(tab, row);
		}
		fputc('\n', out);
		rep_table_print_indent(tab, out, REP_KV_INDENT);
		rep_table_delete(tab);
	}

	int np = clamp_n(t->n_pci, PROBE_MAX_PCI);
	if (np > 0) {
		static const char *const h[] = {"PCI device", "Kind", "Vendor", "Name", "NUMA",
						"Link"};
		struct rep_table *tab = rep_table_new(6, h);
		rep_table_align(tab, 4, REP_RIGHT);
		rep_table_align(tab, 5, REP_RIGHT);
		for (int i = 0; tab && i < np; i++) {
			const struct probe_pci *d = &t->pci[i];
			char bus[20], kind[20], ven[80], name[160], node[16], link[32], tmp[160];
			FIELD(bus, d->bus_id);
			FIELD(kind, d->kind);
			FIELD(tmp, d->vendor);
			if (tmp[0])
				rep_clip(ven, sizeof ven, tmp, VENDOR_COLS);
			else
				snprintf(ven, sizeof ven, "0x%04x", d->vendor_id);
			FIELD(tmp, d->name);
			if (tmp[0])
				rep_clip(name, sizeof name, tmp, NAME_COLS);
			else
				snprintf(name, sizeof name, "device 0x%04x", d->device_id);
			snprintf(node, sizeof node, "%d", d->numa_node);
			const char *row[] = {
				bus[0] ? bus : NULL, kind[0] ? kind : NULL, ven, name,
				d->numa_node >= 0 ? node : NULL,
				isfinite(d->link_gbps) ? rep_fmt_gbps(link, sizeof link, d->link_gbps)
						       : NULL,
			};
			rep_table_add(tab, row);
		}
		fputc('\n', out);
		rep_table_print_indent(tab, out, REP_KV_INDENT);
		rep_table_delete(tab);
	}
}

static void section_memory(FILE *out, const struct probe_memory *m)
{
	char a[64], prov[200];
	fputc('\n', out);
	rep_section(out, "Memory");
	PROV(prov, m->src, m->method);
	kv_fig(out, "Total", m->total_bytes > 0 ? rep_fmt_bytes(a, sizeof a, m->total_bytes)
	       : "unknown", prov, 0);
	kv_fig(out, "Available", m->available_bytes > 0
	       ? rep_fmt_bytes(a, sizeof a, m->available_bytes) : "unknown", prov, 0);

	const struct probe_latency *l = &m->latency;
	if (l->src == PROBE_SRC_UNKNOWN && !isfinite(l->ns)) {
		rep_kv(out, "Latency", "unknown (not measured)");
		return;
	}
	char how[320], v[32];
	snprintf(how, sizeof how, "(%s", probe_src_name(l->src));
	const char *sep = ": ";
	char meth[80];
	FIELD(meth, l->method);
	if (meth[0]) {
		cat(how, sizeof how, "%s%s", sep, meth);
		sep = ", ";
	}
	if (l->buffer_bytes > 0) {
		cat(how, sizeof how, "%s%s buffer", sep, rep_fmt_bytes(a, sizeof a, l->buffer_bytes));
		sep = ", ";
	}
	int n = clamp_n(l->stat.n, PROBE_MAX_SAMPLES);
	if (n > 1) {
		cat(how, sizeof how, "%smedian of %d passes", sep, n);
		sep = ", ";
		if (isfinite(l->stat.best))
			cat(how, sizeof how, ", best %s", fmt_fig(v, sizeof v, l->stat.best));
	}
	if (l->loads_per_pass > 0)
		cat(how, sizeof how, "%s%llu loads per pass", sep,
		    (unsigned long long)l->loads_per_pass);
	cat(how, sizeof how, ")");
	char fig[64];
	fmt_fig(fig, sizeof fig, l->ns);
	cat(fig, sizeof fig, "%s", isfinite(l->ns) ? " ns per dependent load" : "");
	kv_fig(out, "Latency", fig, how, 1);
}

static void section_bandwidth(FILE *out, const struct probe_profile *p)
{
	const struct probe_memory *m = &p->mem;
	int cores = p->cpu.cores > 0 ? p->cpu.cores : p->topo.cores;
	fputc('\n', out);
	rep_section(out, "Bandwidth");
	bw_line(out, "Read", &m->read, cores);
	bw_line(out, "Copy", &m->copy, cores);
	bw_line(out, "Triad", &m->triad, cores);
	bw_line(out, "Read, 1 thread", &m->read1, cores);
	bw_line(out, "Copy, 1 thread", &m->copy1, cores);
	bw_line(out, "Triad, 1 thread", &m->triad1, cores);

	static const char *const h[] = {"Kernel", "1 thread GB/s", "All cores GB/s", "Threads",
					"Median", "Passes"};
	struct rep_table *tab = rep_table_new(6, h);
	if (!tab)
		return;
	for (int i = 1; i < 6; i++)
		rep_table_align(tab, i, REP_RIGHT);
	const struct probe_bw *all[] = {&m->read, &m->copy, &m->triad};
	const struct probe_bw *one[] = {&m->read1, &m->copy1, &m->triad1};
	static const char *const names[] = {"read", "copy", "triad"};
	for (int i = 0; i < 3; i++) {
		char g1[32], ga[32], th[16], md[32], ps[16];
		fmt_fig(g1, sizeof g1, one[i]->gbps);
		fmt_fig(ga, sizeof ga, all[i]->gbps);
		fmt_fig(md, sizeof md, all[i]->stat.median);
		snprintf(th, sizeof th, "%d", all[i]->threads);
		snprintf(ps, sizeof ps, "%d", all[i]->passes);
		const char *row[] = {
			names[i], isfinite(one[i]->gbps) ? g1 : NULL,
			isfinite(all[i]->gbps) ? ga : NULL, all[i]->threads > 0 ? th : NULL,
			isfinite(all[i]->stat.median) ? md : NULL, all[i]->passes > 0 ? ps : NULL,
		};
		rep_table_add(tab, row);
	}
	fputc('\n', out);
	rep_table_print_indent(tab, out, REP_KV_INDENT);
	rep_table_delete(tab);
}

static void section_compute(FILE *out, const struct probe_profile *p)
{
	const struct probe_compute *c = &p->compute;
	int cores = p->cpu.cores > 0 ? p->cpu.cores : p->topo.cores;
	fputc('\n', out);
	rep_section(out, "Compute");
	peak_line(out, "FP32", &c->fp32, "GFLOPS", cores);
	peak_line(out, "FP32, 1 core", &c->fp32_1, "GFLOPS", cores);
	peak_line(out, "INT8", &c->int8, "GOPS", cores);
	peak_line(out, "INT8, 1 core", &c->int8_1, "GOPS", cores);
}

/* "4 MiB", "2.63 MiB", "4 KiB": block sizes without a needless ".0". */
static char *fmt_block(char *buf, size_t n, uint64_t bytes)
{
	if (bytes && bytes % (1u << 20) == 0)
		snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes && bytes % 1024 == 0 && bytes < (1u << 20))
		snprintf(buf, n, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		rep_fmt_bytes(buf, n, bytes);
	return buf;
}

/* The headline figure of one pattern: "1.52 GB/s (measured: cold, 4 MiB
 * blocks, depth 32, 3.0 s, 4.50 GiB read)". */
static void io_line(FILE *out, const char *key, const struct probe_storage *st,
		    const char *pattern, int want_iops, double headline)
{
	const struct probe_io *io = NULL;
	for (int i = 0; i < clamp_n(st->n_io, PROBE_MAX_IO); i++) {
		char pat[sizeof st->io[i].pattern + 1];
		FIELD(pat, st->io[i].pattern);
		double v = want_iops ? st->io[i].iops : st->io[i].gbps;
		if (strcmp(pat, pattern) == 0 && v == headline && isfinite(v))
			io = &st->io[i];
	}
	char fig[48], how[200], blk[32], rd[32], sec[32];
	if (!io) {
		kv_fig(out, key, "unknown (not measured)", "", 0);
		return;
	}
	if (want_iops)
		snprintf(fig, sizeof fig, "%.0f IOPS", io->iops);
	else
		rep_fmt_gbps(fig, sizeof fig, io->gbps);
	fmt_block(blk, sizeof blk, io->block_bytes);
	rep_fmt_bytes(rd, sizeof rd, io->bytes);
	fmt_fig(sec, sizeof sec, io->seconds);
	snprintf(how, sizeof how, "(%s: %s, %s blocks, depth %d, %s s, %s read", probe_src_name(io->src),
		 io->cold ? "cold" : "page cache", blk, io->depth, sec, rd);
	if (isfinite(io->lat_p50_us))
		cat(how, sizeof how, ", p50 %.0f us, p99 %.0f us", io->lat_p50_us, io->lat_p99_us);
	cat(how, sizeof how, ")");
	kv_fig(out, key, fig, how, 1);
}

static void storage_table(FILE *out, const struct probe_storage *st)
{
	static const char *const h[] = {"Pattern", "Block", "Depth", "Cache", "GB/s", "IOPS",
					"p50 us", "p99 us", "Seconds", "Read"};
	struct rep_table *tab = rep_table_new(10, h);
	if (!tab)
		return;
	for (int i = 1; i < 10; i++)
		if (i != 3)
			rep_table_align(tab, i, REP_RIGHT);
	for (int i = 0; i < clamp_n(st->n_io, PROBE_MAX_IO); i++) {
		const struct probe_io *io = &st->io[i];
		char pat[sizeof io->pattern + 1], blk[32], dep[16], g[32], iops[32], p50[32],
			p99[32], sec[32], rd[32];
		FIELD(pat, io->pattern);
		fmt_block(blk, sizeof blk, io->block_bytes);
		snprintf(dep, sizeof dep, "%d", io->depth);
		fmt_fig(g, sizeof g, io->gbps);
		snprintf(iops, sizeof iops, "%.0f", io->iops);
		snprintf(p50, sizeof p50, "%.0f", io->lat_p50_us);
		snprintf(p99, sizeof p99, "%.0f", io->lat_p99_us);
		fmt_fig(sec, sizeof sec, io->seconds);
		rep_fmt_bytes(rd, sizeof rd, io->bytes);
		const char *row[] = {
			pat, blk, dep, io->cold ? "cold" : "warm", isfinite(io->gbps) ? g : NULL,
			isfinite(io->iops) ? iops : NULL, isfinite(io->lat_p50_us) ? p50 : NULL,
			isfinite(io->lat_p99_us) ? p99 : NULL, isfinite(io->seconds) ? sec : NULL,
			io->bytes ? rd : NULL,
		};
		rep_table_add(tab, row);
	}
	fputc('\n', out);
	rep_table_print_indent(tab, out, REP_KV_INDENT);
	rep_table_delete(tab);
}

static void section_storage(FILE *out, const struct probe_profile *p)
{
	fputc('\n', out);
	rep_section(out, "Storage");
	int n = clamp_n(p->n_storage, PROBE_MAX_STORAGE);
	if (n == 0) {
		rep_wrap(out, "  ", 2, 4, "not measured (`llmcap probe` or `llmcap probe --storage` "
			 "measures it; --quick does not)");
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct probe_storage *st = &p->storage[i];
		char path[sizeof st->path + 1], why[sizeof st->why + 1], dev[sizeof st->device + 1],
			model[sizeof st->model + 1], tr[sizeof st->transport + 1],
			fs[sizeof st->fs_type + 1], eng[sizeof st->engine + 1],
			cold[sizeof st->cold_method + 1], b1[32], b2[32], b3[32], line[400];
		FIELD(path, st->path);
		FIELD(why, st->why);
		FIELD(dev, st->device);
		FIELD(model, st->model);
		FIELD(tr, st->transport);
		FIELD(fs, st->fs_type);
		FIELD(eng, st->engine);
		FIELD(cold, st->cold_method);
		if (i > 0)
			fputc('\n', out);
		rep_kv(out, "Path", "%s%s%s%s", path, why[0] ? " (" : "", why, why[0] ? ")" : "");
		snprintf(line, sizeof line, "%s", dev[0] ? dev : "no block device");
		if (tr[0])
			cat(line, sizeof line, ", %s", tr);
		if (st->rotational >= 0)
			cat(line, sizeof line, ", %s", st->rotational ? "rotational" : "non-rotational");
		if (model[0])
			cat(line, sizeof line, ", model %s", model);
		kv_fig(out, "Device", line, "(reported: sysfs)", 0);
		snprintf(line, sizeof line, "%s, %s free of %s", fs[0] ? fs : "unknown",
			 rep_fmt_bytes(b1, sizeof b1, st->fs_free_bytes),
			 rep_fmt_bytes(b2, sizeof b2, st->fs_total_bytes));
		kv_fig(out, "Filesystem", line, "(reported: statfs)", 0);
		snprintf(line, sizeof line, "%s; cold reads: %s; %s %s", eng, cold,
			 rep_fmt_bytes(b3, sizeof b3, st->file_bytes),
			 st->temp_file ? "temporary file, removed afterwards" : "file, read-only");
		rep_kv(out, "Method", "%s", line);
		io_line(out, "Sequential read", st, "seq", 0, st->seq_read_gbps);
		io_line(out, "Random 4 KiB", st, "rand4k", 1, st->rand4k_read_iops);
		io_line(out, "Expert chunks", st, "expert", 0, st->expert_read_gbps);
		io_line(out, "Page cache", st, "warm", 0, st->warm_read_gbps);
		io_line(out, "mmap faults", st, "mmap", 0, st->mmap_read_gbps);
		storage_table(out, st);
	}
}

/* ---- accelerators --------------------------------------------------------- */

/* "2950 GB/s (measured: cuMemcpyDtoDAsync 1 GiB, ..., median 2940)" */
static void accel_fig_line(FILE *out, const char *key, const struct probe_accel_fig *f,
			   const char *unit, const char *what)
{
	char val[32], med[32], m[sizeof f->method + 1], how[320], fig[96];
	if (f->src != PROBE_SRC_MEASURED || !isfinite(f->value)) {
		rep_kv(out, key, "unknown (not measured)");
		return;
	}
	fmt_fig(val, sizeof val, f->value);
	FIELD(m, f->method);
	snprintf(how, sizeof how, "(%s%s%s", probe_src_name(f->src), m[0] ? ": " : "", m);
	if (clamp_n(f->stat.n, PROBE_MAX_SAMPLES) > 1 && isfinite(f->stat.median))
		cat(how, sizeof how, ", median %s", fmt_fig(med, sizeof med, f->stat.median));
	cat(how, sizeof how, ")");
	snprintf(fig, sizeof fig, "%s %s%s%s", val, unit, what ? " " : "", what ? what : "");
	kv_fig(out, key, fig, how, 1);
}

static void accel_one(FILE *out, const struct probe_accel *a)
{
	char name[sizeof a->name + 1], be[sizeof a->backend + 1], kind[sizeof a->kind + 1];
	char rt[sizeof a->runtime + 1], drv[sizeof a->driver + 1], bus[sizeof a->bus_id + 1];
	char node[sizeof a->dev_node + 1], st[sizeof a->status + 1], line[400], b1[32], b2[32];
	FIELD(name, a->name);
	FIELD(be, a->backend);
	FIELD(kind, a->kind);
	FIELD(rt, a->runtime);
	FIELD(drv, a->driver);
	FIELD(bus, a->bus_id);
	FIELD(node, a->dev_node);
	FIELD(st, a->status);
	rep_kv(out, "Device", "%s (%s, %s)", name[0] ? name : "unknown", kind, be);
	line[0] = 0;
	if (a->cc_major > 0)
		cat(line, sizeof line, "compute capability %d.%d, ", a->cc_major, a->cc_minor);
	if (a->compute_units > 0)
		cat(line, sizeof line, "%d %s, ", a->compute_units,
		    strcmp(be, "cuda") == 0 ? "SMs" : "compute units");
	if (a->memory_bytes)
		cat(line, sizeof line, "%s%s, ", rep_fmt_bytes(b1, sizeof b1, a->memory_bytes),
		    a->unified_memory ? " shared with the host" : "");
	if (isfinite(a->core_mhz))
		cat(line, sizeof line, "%s MHz core, ", fmt_fig(b2, sizeof b2, a->core_mhz));
	if (isfinite(a->memory_mhz))
		cat(line, sizeof line, "%s MHz memory, ", fmt_fig(b2, sizeof b2, a->memory_mhz));
	if (a->memory_bus_bits > 0)
		cat(line, sizeof line, "%d-bit bus, ", a->memory_bus_bits);
	if (a->pcie_gen > 0)
		cat(line, sizeof line, "PCIe gen %d x%d now (max gen %d x%d), ", a->pcie_gen,
		    a->pcie_width, a->pcie_gen_max, a->pcie_width_max);
	if (isfinite(a->power_limit_w))
		cat(line, sizeof line, "power limit %s W, ", fmt_fig(b2, sizeof b2, a->power_limit_w));
	if (bus[0])
		cat(line, sizeof line, "PCI %s, ", bus);
	if (a->numa_node >= 0)
		cat(line, sizeof line, "NUMA node %d, ", a->numa_node);
	if (node[0])
		cat(line, sizeof line, "%s, ", node);
	if (drv[0])
		cat(line, sizeof line, "driver %s, ", drv);
	size_t l = strlen(line);
	if (l >= 2)
		line[l - 2] = 0;
	if (line[0]) {
		char how[160];
		snprintf(how, sizeof how, "(reported%s%s)", rt[0] ? ": " : "", rt);
		kv_fig(out, "Identity", line, how, 1);
	}
	rep_kv(out, "Status", "%s", st[0] ? st : "not measured");
	if (isfinite(a->spec_bandwidth_gbps)) {
		char v[32];
		rep_fmt_gbps(v, sizeof v, a->spec_bandwidth_gbps);
		kv_fig(out, "Memory bw spec", v, "(spec: memory clock x 2 x bus width, as the "
		       "driver reports them)", 0);
	}
	int runtime = strcmp(be, "accel") != 0;
	if (!runtime)
		return;   /* an NPU without a runtime: nothing was measured, no line says a figure */
	accel_fig_line(out, "Memory copy", &a->copy, "GB/s", "(read+write)");
	if (strcmp(be, "cuda") == 0)
		accel_fig_line(out, "Memory read", &a->read, "GB/s", NULL);
	accel_fig_line(out, "Host to device", &a->h2d, "GB/s", strcmp(be, "cuda") == 0 ?
		       "pinned" : NULL);
	accel_fig_line(out, "Device to host", &a->d2h, "GB/s", strcmp(be, "cuda") == 0 ?
		       "pinned" : NULL);
	if (strcmp(be, "cuda") == 0) {
		accel_fig_line(out, "H2D pageable", &a->h2d_pageable, "GB/s", NULL);
		accel_fig_line(out, "D2H pageable", &a->d2h_pageable, "GB/s", NULL);
	}
	accel_fig_line(out, "FP16 matrix", &a->fp16, "TFLOPS", NULL);
	if (strcmp(be, "cuda") == 0)
		accel_fig_line(out, "Kernel launch", &a->launch, "us", "(to completion)");
}

static void section_accel(FILE *out, const struct probe_profile *p)
{
	fputc('\n', out);
	rep_section(out, "Accelerators");
	int n = clamp_n(p->n_accel, PROBE_MAX_ACCEL);
	char note[sizeof p->accel_note + 1];
	FIELD(note, p->accel_note);
	if (n == 0 && !note[0]) {
		rep_wrap(out, "  ", 2, 4, "not probed (`llmcap probe` looks for CUDA, OpenCL and "
			 "Linux accel devices)");
		return;
	}
	if (note[0])
		rep_wrap(out, "  ", 2, 4, note);
	for (int i = 0; i < n; i++) {
		fputc('\n', out);
		accel_one(out, &p->accel[i]);
	}
}

static void section_warnings(FILE *out, const struct probe_profile *p)
{
	fputc('\n', out);
	rep_section(out, "Warnings");
	int n = clamp_n(p->n_warnings, PROBE_MAX_WARNINGS);
	if (n == 0) {
		rep_wrap(out, "  ", 2, 4, "none");
		return;
	}
	for (int i = 0; i < n; i++) {
		char w[PROBE_WARNING_LEN];
		FIELD(w, p->warnings[i]);
		rep_wrap(out, "  - ", 4, 4, w);
	}
}

void rep_profile_text(const struct probe_profile *p, FILE *out)
{
	if (!p || !out)
		return;
	section_profile(out, p);
	section_cpu(out, &p->cpu);
	section_topo(out, &p->topo);
	section_memory(out, &p->mem);
	section_bandwidth(out, p);
	section_compute(out, p);
	section_storage(out, p);
	section_accel(out, p);
	section_warnings(out, p);
}
