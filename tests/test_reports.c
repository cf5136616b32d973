/* reports: tables, units, key/value text, the profile as JSON (round trip,
 * schema keys, hostile input) and as text (golden files), atomic files.
 *
 * Golden files live in tests/fixtures/reports/. After a deliberate change
 * of the output, check the new text by eye and regenerate them with
 *   LLMCAP_UPDATE_GOLDEN=1 build/tests/test_reports
 * (run from the repository root, as make test does). */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>

#include <cjson/cJSON.h>   /* an independent reader of the JSON written */

#include "probe/probe.h"
#include "reports/report.h"

#define GOLDEN "tests/fixtures/reports/"

/* ---- helpers ------------------------------------------------------------ */

/* What f(out) prints, as a malloc'd string. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static char *cap_close(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	return c->buf;
}

static size_t cps(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			w++;
	return w;
}

/* Every line within max code points, none ending in a blank. */
static void check_lines(const char *text, size_t max)
{
	int line = 1;
	for (const char *p = text; *p; line++) {
		const char *e = strchr(p, '\n');
		assert_non_null(e);   /* text ends with a newline */
		size_t w = cps(p, (size_t)(e - p));
		if (w > max || (e > p && e[-1] == ' ')) {
			fprintf(stderr, "line %d (%zu columns%s): '%.*s'\n", line, w,
				e > p && e[-1] == ' ' ? ", trailing blank" : "", (int)(e - p), p);
			fail();
		}
		p = e + 1;
	}
}

/* Compares text with the golden file; LLMCAP_UPDATE_GOLDEN=1 rewrites it. */
static void check_golden(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, GOLDEN "%s", name);
	const char *upd = getenv("LLMCAP_UPDATE_GOLDEN");
	if (upd && *upd && strcmp(upd, "0") != 0) {
		char err[512];
		assert_int_equal(rep_write_atomic(path, text, strlen(text), err, sizeof err), 0);
		fprintf(stderr, "updated golden file %s\n", path);
		return;
	}
	char *want = NULL, err[512] = "";
	size_t n = 0;
	if (rep_read_file(path, 1 << 20, &want, &n, err, sizeof err) != 0) {
		fprintf(stderr, "%s (run from the repository root)\n", err);
		fail();
	}
	if (strcmp(want, text) != 0) {
		const char *a = want, *b = text;
		int line = 1;
		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++, b++;
		}
		while (a > want && a[-1] != '\n')
			a--, b--;
		fprintf(stderr, "%s differs at line %d\n  expected: '%.*s'\n  actual:   '%.*s'\n"
			"full output:\n%s\n(if the change is intended, check it by eye and rerun "
			"with LLMCAP_UPDATE_GOLDEN=1)\n", path, line,
			(int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b, text);
		free(want);
		fail();
	}
	free(want);
}

/* cJSON node at a dotted path ("memory.bandwidth.read_gbps"). */
static const cJSON *jpath(const cJSON *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	const cJSON *o = root;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
	return o;
}

/* ---- fixed and random profiles ------------------------------------------ */

static void set_stat(struct probe_stat *st, int n, double base, double step, int higher)
{
	st->n = n;
	for (int i = 0; i < n; i++)
		st->samples[i] = base + step * ((i * 7) % 5) - step * (i % 3);
	probe_stat_compute(st, higher);
}

static void set_bw(struct probe_bw *b, const char *kernel, double base, int threads, int arrays)
{
	b->src = PROBE_SRC_MEASURED;
	snprintf(b->kernel, sizeof b->kernel, "%s", kernel);
	b->threads = threads;
	b->arrays = arrays;
	b->array_bytes = 512ull << 20;
	b->passes = 20;
	b->bytes_per_pass = b->array_bytes * (uint64_t)arrays;
	set_stat(&b->stat, 20, base, base * 0.01, 1);
	b->gbps = b->stat.best;
}

static void set_peak(struct probe_peak *k, const char *kernel, double base, int threads)
{
	k->src = PROBE_SRC_MEASURED;
	snprintf(k->kernel, sizeof k->kernel, "%s", kernel);
	k->threads = threads;
	k->passes = 10;
	set_stat(&k->stat, 10, base, base * 0.005, 1);
	k->gops = k->stat.best;
}

/* A workstation, every figure known: the golden text's subject. */
static void fixed_profile(struct probe_profile *p)
{
	probe_profile_init(p);
	snprintf(p->tool_version, sizeof p->tool_version, "0.1.0");
	p->created_unix = 1790000000;
	snprintf(p->fingerprint, sizeof p->fingerprint, "3f9a1c0e5b7d2468");
	snprintf(p->hostname, sizeof p->hostname, "workstation");
	p->seconds = 12.34;

	struct probe_cpu *c = &p->cpu;
	c->src = PROBE_SRC_REPORTED;
	snprintf(c->method, sizeof c->method, "libcpuid 0.6.2 + CPUID leaf 7");
	snprintf(c->arch, sizeof c->arch, "x86_64");
	snprintf(c->vendor, sizeof c->vendor, "AuthenticAMD");
	snprintf(c->brand, sizeof c->brand, "AMD Ryzen 9 7950X 16-Core Processor");
	snprintf(c->codename, sizeof c->codename, "Raphael (Zen 4)");
	c->family = 25;
	c->model = 97;
	c->stepping = 2;
	c->cores = 16;
	c->threads = 32;
	c->base_mhz = 4500;
	c->base_mhz_src = PROBE_SRC_REPORTED;
	snprintf(c->base_mhz_method, sizeof c->base_mhz_method, "CPUID leaf 16h");
	c->max_mhz = 5881;
	c->max_mhz_src = PROBE_SRC_REPORTED;
	snprintf(c->max_mhz_method, sizeof c->max_mhz_method, "cpufreq cpuinfo_max_freq");
	const enum probe_isa isa[] = {PROBE_ISA_SSE42, PROBE_ISA_AVX, PROBE_ISA_AVX2,
		PROBE_ISA_FMA, PROBE_ISA_F16C, PROBE_ISA_AVX512F, PROBE_ISA_AVX512BW,
		PROBE_ISA_AVX512VL, PROBE_ISA_AVX512VNNI, PROBE_ISA_AVX512BF16};
	for (size_t i = 0; i < sizeof isa / sizeof isa[0]; i++)
		c->isa |= 1u << isa[i];
	snprintf(c->isa_method, sizeof c->isa_method, "CPUID leaves 1, 7 and 7.1");

	struct probe_topo *t = &p->topo;
	t->src = PROBE_SRC_REPORTED;
	snprintf(t->method, sizeof t->method, "hwloc 2.9.0");
	t->packages = 1;
	t->cores = 16;
	t->pus = 32;
	t->n_numa = 1;
	t->numa[0] = (struct probe_numa){.os_index = 0, .memory_bytes = 66571993088ull, .cores = 16};
	t->n_caches = 4;
	t->caches[0] = (struct probe_cache){1, "data", 32768, 16, 64};
	t->caches[1] = (struct probe_cache){1, "instruction", 32768, 16, 64};
	t->caches[2] = (struct probe_cache){2, "unified", 1048576, 16, 64};
	t->caches[3] = (struct probe_cache){3, "unified", 33554432, 2, 64};
	t->llc_total_bytes = 67108864;
	t->n_pci = 2;
	t->pci[0] = (struct probe_pci){"0000:01:00.0", 0x10de, 0x2684, 0x0300, "display",
		"NVIDIA Corporation", "AD102 [GeForce RTX 4090]", 0, 31.5};
	t->pci[1] = (struct probe_pci){"0000:0e:00.0", 0x1022, 0x14ba, 0x1200, "accelerator",
		"", "", -1, NAN};

	struct probe_memory *m = &p->mem;
	m->src = PROBE_SRC_REPORTED;
	snprintf(m->method, sizeof m->method, "/proc/meminfo");
	m->total_bytes = 66571993088ull;
	m->available_bytes = 60129542144ull;
	set_bw(&m->read, "read avx512", 62.3, 16, 1);
	set_bw(&m->copy, "copy avx512", 55.1, 16, 2);
	set_bw(&m->triad, "triad avx512", 57.8, 16, 3);
	set_bw(&m->read1, "read avx512", 38.2, 1, 1);
	set_bw(&m->copy1, "copy avx512", 29.4, 1, 2);
	set_bw(&m->triad1, "triad avx512", 31.7, 1, 3);
	m->latency.src = PROBE_SRC_MEASURED;
	snprintf(m->latency.method, sizeof m->latency.method, "pointer chase, random cycle");
	m->latency.buffer_bytes = 1ull << 30;
	m->latency.loads_per_pass = 4000000;
	set_stat(&m->latency.stat, 9, 84.2, 0.4, 0);
	m->latency.ns = m->latency.stat.median;

	set_peak(&p->compute.fp32, "fp32 fma avx512", 2391.5, 16);
	set_peak(&p->compute.fp32_1, "fp32 fma avx512", 176.4, 1);
	set_peak(&p->compute.int8, "int8 vnni avx512", 9408.2, 16);
	set_peak(&p->compute.int8_1, "int8 vnni avx512", 690.7, 1);

	p->n_storage = 1;
	struct probe_storage *st = &p->storage[0];
	st->src = PROBE_SRC_MEASURED;
	snprintf(st->path, sizeof st->path, "/home/user/.cache/huggingface/hub");
	snprintf(st->why, sizeof st->why, "Hugging Face cache");
	snprintf(st->device, sizeof st->device, "nvme0n1");
	snprintf(st->model, sizeof st->model, "Samsung SSD 990 PRO 2TB");
	snprintf(st->transport, sizeof st->transport, "nvme");
	st->rotational = 0;
	snprintf(st->fs_type, sizeof st->fs_type, "ext4");
	st->fs_total_bytes = 1967317549056ull;
	st->fs_free_bytes = 812345671680ull;
	st->file_bytes = 1ull << 30;
	st->temp_file = 1;
	snprintf(st->engine, sizeof st->engine, "io_uring (liburing)");
	st->direct = 1;
	snprintf(st->cold_method, sizeof st->cold_method, "O_DIRECT");
	st->seconds = 14.2;
	static const struct probe_io ios[] = {
		{PROBE_SRC_MEASURED, "seq", 4u << 20, 32, 1, 6.81, 1623.6, NAN, NAN, 1.5,
		 10213130240ull, "io_uring O_DIRECT"},
		{PROBE_SRC_MEASURED, "rand4k", 4096, 32, 1, 2.92, 712345.0, 41.0, 97.0, 1.0,
		 2920000000ull, "io_uring O_DIRECT"},
		{PROBE_SRC_MEASURED, "expert", 2758656, 16, 1, 5.93, 2149.6, 6890.0, 9120.0, 1.0,
		 5930000000ull, "io_uring O_DIRECT"},
		{PROBE_SRC_MEASURED, "warm", 1u << 20, 1, 0, 11.4, 10872.0, NAN, NAN, 0.5,
		 5700000000ull, "pread, page cache"},
		{PROBE_SRC_MEASURED, "mmap", 4096, 1, 1, 1.83, 446777.0, NAN, NAN, 0.59,
		 1073741824ull, "mmap faults, cache dropped"},
	};
	st->n_io = (int)(sizeof ios / sizeof ios[0]);
	memcpy(st->io, ios, sizeof ios);
	st->seq_read_gbps = 6.81;
	st->rand4k_read_iops = 712345.0;
	st->expert_read_gbps = 5.93;
	st->warm_read_gbps = 11.4;
	st->mmap_read_gbps = 1.83;

	probe_warn(p, "memory bandwidth: threads could not be bound to cores (hwloc: Operation "
		   "not permitted); the figures may vary between runs by several percent");
	probe_warn(p, "no accelerator probed");
}

/* A string filling the whole array: quotes, escapes, control characters,
 * 2- and 3-byte UTF-8, never NUL. */
static void rand_str(uint64_t *s, char *dst, size_t cap)
{
	static const char *const pieces[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t",
		"\x01", "\x7f", "{", "]", ",", ":", "\xc3\xa9", "\xe2\x86\x92"};
	size_t o = 0;
	while (o < cap - 1) {
		const char *pc = pieces[tu_rand(s) % (sizeof pieces / sizeof pieces[0])];
		size_t l = strlen(pc);
		if (o + l > cap - 1)
			pc = "x", l = 1;
		memcpy(dst + o, pc, l);
		o += l;
	}
	dst[o] = '\0';
}
#define RAND_STR(s, field) rand_str(s, field, sizeof(field))

/* Finite doubles over many magnitudes, some NAN, none -0. */
static double rand_double(uint64_t *s)
{
	if (tu_rand(s) % 8 == 0)
		return NAN;
	double e = (double)(int)(tu_rand(s) % 40) - 20;
	return tu_randf(s) * pow(10.0, e);
}

static int rand_int(uint64_t *s)
{
	return (int)(uint32_t)tu_rand(s);
}

static uint64_t rand_u64(uint64_t *s)
{
	return tu_rand(s) >> (11 + tu_rand(s) % 50);   /* below 2^53: exact in JSON */
}

static void rand_stat(uint64_t *s, struct probe_stat *st)
{
	st->n = PROBE_MAX_SAMPLES;
	for (int i = 0; i < st->n; i++)
		st->samples[i] = rand_double(s);
	st->median = rand_double(s);
	st->best = rand_double(s);
	st->worst = rand_double(s);
	st->mean = rand_double(s);
	st->stddev = rand_double(s);
}

static enum probe_src rand_src(uint64_t *s)
{
	return (enum probe_src)(tu_rand(s) % (PROBE_SRC_ASSUMED + 1));
}

static void rand_bw(uint64_t *s, struct probe_bw *b)
{
	b->src = rand_src(s);
	b->gbps = rand_double(s);
	rand_stat(s, &b->stat);
	RAND_STR(s, b->kernel);
	b->threads = rand_int(s);
	b->array_bytes = rand_u64(s);
	b->arrays = rand_int(s);
	b->bytes_per_pass = rand_u64(s);
	b->passes = rand_int(s);
}

static void rand_peak(uint64_t *s, struct probe_peak *k)
{
	k->src = rand_src(s);
	k->gops = rand_double(s);
	rand_stat(s, &k->stat);
	RAND_STR(s, k->kernel);
	k->threads = rand_int(s);
	k->passes = rand_int(s);
}

/* Every field set, every array full. */
static void random_profile(struct probe_profile *p, uint64_t seed)
{
	uint64_t s = seed;
	probe_profile_init(p);
	RAND_STR(&s, p->tool_version);
	p->created_unix = (int64_t)(tu_rand(&s) >> 11) - (1ll << 52);
	RAND_STR(&s, p->fingerprint);
	RAND_STR(&s, p->hostname);
	p->quick = (int)(tu_rand(&s) & 1);
	p->seconds = rand_double(&s);

	struct probe_cpu *c = &p->cpu;
	c->src = rand_src(&s);
	RAND_STR(&s, c->method);
	RAND_STR(&s, c->arch);
	RAND_STR(&s, c->vendor);
	RAND_STR(&s, c->brand);
	RAND_STR(&s, c->codename);
	c->family = rand_int(&s);
	c->model = rand_int(&s);
	c->stepping = rand_int(&s);
	c->cores = rand_int(&s);
	c->threads = rand_int(&s);
	c->base_mhz = rand_double(&s);
	c->base_mhz_src = rand_src(&s);
	RAND_STR(&s, c->base_mhz_method);
	c->max_mhz = rand_double(&s);
	c->max_mhz_src = rand_src(&s);
	RAND_STR(&s, c->max_mhz_method);
	c->isa = (uint32_t)tu_rand(&s) & ((1u << PROBE_ISA_COUNT) - 1);
	RAND_STR(&s, c->isa_method);

	struct probe_topo *t = &p->topo;
	t->src = rand_src(&s);
	RAND_STR(&s, t->method);
	t->packages = rand_int(&s);
	t->cores = rand_int(&s);
	t->pus = rand_int(&s);
	t->n_numa = PROBE_MAX_NUMA;
	for (int i = 0; i < PROBE_MAX_NUMA; i++) {
		t->numa[i].os_index = rand_int(&s);
		t->numa[i].memory_bytes = rand_u64(&s);
		t->numa[i].cores = rand_int(&s);
	}
	t->n_caches = PROBE_MAX_CACHES;
	for (int i = 0; i < PROBE_MAX_CACHES; i++) {
		struct probe_cache *k = &t->caches[i];
		k->level = rand_int(&s);
		RAND_STR(&s, k->type);
		k->size_bytes = rand_u64(&s);
		k->instances = rand_int(&s);
		k->line_bytes = rand_int(&s);
	}
	t->llc_total_bytes = rand_u64(&s);
	t->n_pci = PROBE_MAX_PCI;
	for (int i = 0; i < PROBE_MAX_PCI; i++) {
		struct probe_pci *d = &t->pci[i];
		RAND_STR(&s, d->bus_id);
		d->vendor_id = (uint16_t)tu_rand(&s);
		d->device_id = (uint16_t)tu_rand(&s);
		d->class_id = (uint16_t)tu_rand(&s);
		RAND_STR(&s, d->kind);
		RAND_STR(&s, d->vendor);
		RAND_STR(&s, d->name);
		d->numa_node = rand_int(&s);
		d->link_gbps = rand_double(&s);
	}

	struct probe_memory *m = &p->mem;
	m->src = rand_src(&s);
	m->total_bytes = rand_u64(&s);
	m->available_bytes = rand_u64(&s);
	RAND_STR(&s, m->method);
	rand_bw(&s, &m->read1);
	rand_bw(&s, &m->copy1);
	rand_bw(&s, &m->triad1);
	rand_bw(&s, &m->read);
	rand_bw(&s, &m->copy);
	rand_bw(&s, &m->triad);
	m->latency.src = rand_src(&s);
	m->latency.ns = rand_double(&s);
	rand_stat(&s, &m->latency.stat);
	m->latency.buffer_bytes = rand_u64(&s);
	m->latency.loads_per_pass = rand_u64(&s);
	RAND_STR(&s, m->latency.method);

	rand_peak(&s, &p->compute.fp32_1);
	rand_peak(&s, &p->compute.fp32);
	rand_peak(&s, &p->compute.int8_1);
	rand_peak(&s, &p->compute.int8);

	p->n_storage = PROBE_MAX_STORAGE;
	for (int i = 0; i < PROBE_MAX_STORAGE; i++) {
		struct probe_storage *st = &p->storage[i];
		st->src = rand_src(&s);
		RAND_STR(&s, st->path);
		RAND_STR(&s, st->why);
		RAND_STR(&s, st->device);
		RAND_STR(&s, st->model);
		RAND_STR(&s, st->transport);
		st->rotational = (int)(tu_rand(&s) % 3) - 1;
		RAND_STR(&s, st->fs_type);
		st->fs_total_bytes = rand_u64(&s);
		st->fs_free_bytes = rand_u64(&s);
		st->file_bytes = rand_u64(&s);
		st->temp_file = (int)(tu_rand(&s) % 2);
		RAND_STR(&s, st->engine);
		st->direct = (int)(tu_rand(&s) % 2);
		RAND_STR(&s, st->cold_method);
		st->seconds = rand_double(&s);
		st->seq_read_gbps = rand_double(&s);
		st->rand4k_read_iops = rand_double(&s);
		st->expert_read_gbps = rand_double(&s);
		st->warm_read_gbps = rand_double(&s);
		st->mmap_read_gbps = rand_double(&s);
		st->n_io = PROBE_MAX_IO;
		for (int k = 0; k < PROBE_MAX_IO; k++) {
			struct probe_io *io = &st->io[k];
			io->src = rand_src(&s);
			RAND_STR(&s, io->pattern);
			io->block_bytes = rand_u64(&s);
			io->depth = rand_int(&s);
			io->cold = (int)(tu_rand(&s) % 2);
			io->gbps = rand_double(&s);
			io->iops = rand_double(&s);
			io->lat_p50_us = rand_double(&s);
			io->lat_p99_us = rand_double(&s);
			io->seconds = rand_double(&s);
			io->bytes = rand_u64(&s);
			RAND_STR(&s, io->method);
		}
	}

	p->n_warnings = PROBE_MAX_WARNINGS;
	for (int i = 0; i < PROBE_MAX_WARNINGS; i++)
		rand_str(&s, p->warnings[i], PROBE_WARNING_LEN);
}

/* Fails naming the first differing byte offset. */
static void assert_same_profile(const struct probe_profile *a, const struct probe_profile *b)
{
	const unsigned char *x = (const void *)a, *y = (const void *)b;
	for (size_t i = 0; i < sizeof *a; i++) {
		if (x[i] != y[i]) {
			fprintf(stderr, "profiles differ at byte %zu of %zu (cpu at %zu, topo at %zu, "
				"mem at %zu, compute at %zu, warnings at %zu)\n", i, sizeof *a,
				offsetof(struct probe_profile, cpu), offsetof(struct probe_profile, topo),
				offsetof(struct probe_profile, mem),
				offsetof(struct probe_profile, compute),
				offsetof(struct probe_profile, warnings));
			fail();
		}
	}
}

/* json -> profile, asserting success. */
static void parse_ok(const char *json, struct probe_profile *p)
{
	char err[512] = "";
	int rc = rep_profile_from_json(json, strlen(json), p, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "parse failed: %s\n", err);
	assert_int_equal(rc, 0);
}

/* ---- tables -------------------------------------------------------------- */

static char *sample_table(void)
{
	static const char *const h[] = {"Name", "Größe", "µs", "Note"};
	struct rep_table *t = rep_table_new(4, h);
	assert_non_null(t);
	rep_table_align(t, 1, REP_RIGHT);
	rep_table_align(t, 2, REP_RIGHT);
	const char *r1[] = {"α", "1", "12.5", "first"};
	const char *r2[] = {"longer name", NULL, "3", NULL};
	assert_int_equal(rep_table_add(t, r1), 0);
	assert_int_equal(rep_table_add(t, r2), 0);
	assert_int_equal(rep_table_addf(t, "日本語\t%d\t%.1f\t%s", 42, 0.5, "tab\tinside"), 0);
	assert_int_equal(rep_table_addf(t, "only two\t%s", "2"), 0);
	assert_int_equal(rep_table_addf(t, "%s", "line\nbreak"), 0);
	struct capture c;
	rep_table_print(t, cap_open(&c));
	rep_table_delete(t);
	return cap_close(&c);
}

static void test_table_golden(void **state)
{
	(void)state;
	char *s = sample_table();
	check_golden("table.txt", s);
	free(s);
}

/* Layout rules checked directly, independent of the golden file. */
static void test_table_layout(void **state)
{
	(void)state;
	char *s = sample_table();
	check_lines(s, 200);
	/* the "µs" column is right-aligned: each value ends where the header does */
	const char *lines[8];
	int n = 0;
	for (char *p = s; *p && n < 8; p = strchr(p, '\n') + 1)
		lines[n++] = p;
	assert_int_equal(n, 7);  /* header, rule, 5 rows */
	size_t hdr_end = cps(lines[0], (size_t)(strstr(lines[0], "µs") - lines[0])) + 2;
	assert_non_null(strstr(lines[2], "12.5"));
	assert_int_equal(cps(lines[2], (size_t)(strstr(lines[2], "12.5") - lines[2])) + 4, hdr_end);
	assert_int_equal(cps(lines[4], (size_t)(strstr(lines[4], "0.5") - lines[4])) + 3, hdr_end);
	/* rule of '-' under each column, as wide as the widest cell */
	assert_true(strncmp(lines[1], "-----------  -----", 18) == 0);
	/* NULL and missing cells print "-"; a tab inside the last cell is a blank */
	assert_non_null(strstr(lines[3], "longer name"));
	assert_non_null(strstr(lines[4], "tab inside"));
	assert_non_null(strstr(lines[5], "only two"));
	assert_non_null(strstr(lines[6], "line break"));
	free(s);

	/* edge cases: no columns, no rows, bad column index, NULL table */
	assert_null(rep_table_new(0, NULL));
	struct rep_table *t = rep_table_new(2, NULL);
	assert_non_null(t);
	rep_table_align(t, 5, REP_RIGHT);
	rep_table_align(t, -1, REP_RIGHT);
	assert_int_equal(rep_table_add(t, NULL), 0);
	struct capture c;
	rep_table_print(t, cap_open(&c));
	rep_table_print(NULL, c.f);
	rep_table_delete(t);
	rep_table_delete(NULL);
	s = cap_close(&c);
	assert_string_equal(s, "\n-  -\n-  -\n");
	free(s);
	assert_int_equal(rep_table_add(NULL, NULL), -1);
}

/* ---- units and key/value text ------------------------------------------- */

static void test_fmt_bytes(void **state)
{
	(void)state;
	char b[32];
	const struct { uint64_t v; const char *want; } cases[] = {
		{0, "0 B"}, {1, "1 B"}, {512, "512 B"}, {1023, "1023 B"},
		{1024, "1.00 KiB"}, {1536, "1.50 KiB"}, {48 * 1024, "48.0 KiB"},
		{1048575, "1.00 MiB"}, {1048576, "1.00 MiB"}, {1310720, "1.25 MiB"},
		{32ull << 20, "32.0 MiB"}, {512ull << 20, "512.0 MiB"},
		{(uint64_t)(23.5 * 1073741824.0), "23.5 GiB"}, {66571993088ull, "62.0 GiB"},
		{(uint64_t)(1.2 * 1099511627776.0), "1.20 TiB"}, {UINT64_MAX, "16.0 EiB"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(rep_fmt_bytes(b, sizeof b, cases[i].v), cases[i].want);
	/* a short buffer truncates, stays terminated; n == 0 writes nothing */
	char small[5];
	assert_string_equal(rep_fmt_bytes(small, sizeof small, 48 * 1024), "48.0");
	small[0] = 'x';
	rep_fmt_bytes(small, 0, 1);
	assert_int_equal(small[0], 'x');
}

static void test_fmt_numbers(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(rep_fmt_gbps(b, sizeof b, 41.2), "41.2 GB/s");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, 41.25), "41.2 GB/s");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, 3.254), "3.25 GB/s");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, 3350.4), "3350 GB/s");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, 0), "0.00 GB/s");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, NAN), "unknown");
	assert_string_equal(rep_fmt_gbps(b, sizeof b, INFINITY), "unknown");
	assert_string_equal(rep_fmt_num(b, sizeof b, NAN, 2), "unknown");
	assert_string_equal(rep_fmt_num(b, sizeof b, 84.25, 1), "84.2");
	assert_string_equal(rep_fmt_num(b, sizeof b, 2391.5, 0), "2392");
	assert_string_equal(rep_fmt_num(b, sizeof b, -1.5, 3), "-1.500");
	assert_string_equal(rep_fmt_num(b, sizeof b, 7, -4), "7");
}

static void test_kv_and_sections(void **state)
{
	(void)state;
	struct capture c;
	FILE *f = cap_open(&c);
	rep_section(f, "Memory");
	rep_kv(f, "Total", "%s", "62.0 GiB");
	rep_kv(f, "Größe", "%d", 7);              /* 5 code points, 7 bytes */
	rep_kv(f, "A key longer than eighteen", "x");
	rep_kv(f, "Empty", "%s", "");
	rep_kv(f, "Evil", "a\x1b[31mred");          /* escape shown as '?' */
	char *s = cap_close(&c);
	assert_string_equal(s,
		"Memory\n"
		"  Total             62.0 GiB\n"
		"  Größe             7\n"
		"  A key longer than eighteen x\n"
		"  Empty\n"
		"  Evil              a?[31mred\n");
	free(s);

	/* a long value wraps at 100 columns under the value column, losing no word */
	char words[1200] = "";
	for (int i = 0; i < 120; i++)
		snprintf(words + strlen(words), sizeof words - strlen(words), "%sw%dé", i ? " " : "", i);
	f = cap_open(&c);
	rep_kv(f, "Long", "%s", words);
	s = cap_close(&c);
	check_lines(s, 100);
	const char *start = "  Long              w0é w1é ";
	assert_true(strncmp(s, start, strlen(start)) == 0);
	char joined[1400] = "";
	int nlines = 0;
	for (char *p = s; *p; nlines++) {
		char *e = strchr(p, '\n');
		assert_true(strncmp(p, "                    ", 20) == 0 || p == s);
		p += 20;
		snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%.*s",
			 joined[0] ? " " : "", (int)(e - p), p);
		p = e + 1;
	}
	assert_true(nlines >= 8);
	assert_string_equal(joined, words);
	free(s);
}

/* ---- profile JSON --------------------------------------------------------- */

static void test_profile_round_trip_random(void **state)
{
	(void)state;
	struct probe_profile *p = malloc(sizeof *p), *q = malloc(sizeof *q);
	assert_non_null(p);
	assert_non_null(q);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		random_profile(p, seed * 0x9e3779b97f4a7c15ull);
		for (int pretty = 0; pretty <= 1; pretty++) {
			char *json = rep_profile_json(p, pretty);
			assert_non_null(json);
			memset(q, 0xa5, sizeof *q);
			parse_ok(json, q);
			assert_same_profile(p, q);
			char *again = rep_profile_json(q, pretty);
			assert_string_equal(json, again);
			free(again);
			free(json);
		}
		/* the text of a hostile profile stays sane: no crash, no raw escapes */
		struct capture c;
		rep_profile_text(p, cap_open(&c));
		char *s = cap_close(&c);
		assert_null(strchr(s, '\x01'));
		assert_null(strchr(s, '\x7f'));
		assert_null(strchr(s, '\t'));
		free(s);
	}
	free(p);
	free(q);
}

static void test_profile_round_trip_fixed_and_unknown(void **state)
{
	(void)state;
	struct probe_profile p, q;
	fixed_profile(&p);
	char *json = rep_profile_json(&p, 1);
	assert_non_null(json);
	parse_ok(json, &q);
	assert_same_profile(&p, &q);
	free(json);

	/* nothing known: NAN written as null, read back as NAN; ints as init */
	probe_profile_init(&p);
	json = rep_profile_json(&p, 0);
	assert_non_null(json);
	parse_ok(json, &q);
	assert_same_profile(&p, &q);
	assert_true(isnan(q.mem.read.gbps));
	assert_int_equal(q.cpu.family, -1);
	assert_int_equal(q.topo.pci[3].numa_node, -1);
	cJSON *root = cJSON_Parse(json);
	assert_non_null(root);
	assert_true(cJSON_IsNull(jpath(root, "memory.latency_ns")));
	assert_true(cJSON_IsNull(jpath(root, "cpu.base_mhz")));
	assert_true(cJSON_IsNull(jpath(root, "memory.bandwidth.read.gbps")));
	assert_true(cJSON_IsNull(jpath(root, "created")));
	assert_string_equal(jpath(root, "memory.bandwidth.read.source")->valuestring, "unknown");
	cJSON_Delete(root);
	free(json);
}

/* The keys scripts and tests depend on: every name of the schema. */
static void test_profile_json_keys(void **state)
{
	(void)state;
	struct probe_profile p;
	fixed_profile(&p);
	char *json = rep_profile_json(&p, 1);
	cJSON *root = cJSON_Parse(json);
	assert_non_null(root);

	/* the required list, with types */
	assert_string_equal(jpath(root, "schema")->valuestring, "llmcap.profile/1");
	assert_string_equal(jpath(root, "cpu.brand")->valuestring,
			    "AMD Ryzen 9 7950X 16-Core Processor");
	assert_int_equal(jpath(root, "cpu.cores")->valuedouble, 16);
	assert_int_equal(jpath(root, "cpu.threads")->valuedouble, 32);
	const cJSON *isa = jpath(root, "cpu.isa");
	assert_true(cJSON_IsArray(isa));
	const char *want_isa[] = {"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
				  "avx512vl", "avx512_vnni", "avx512_bf16"};
	assert_int_equal(cJSON_GetArraySize(isa), 10);
	for (int i = 0; i < 10; i++) {
		const cJSON *e = cJSON_GetArrayItem(isa, i);
		assert_true(cJSON_IsString(e));
		assert_string_equal(e->valuestring, want_isa[i]);   /* enum order */
	}
	assert_int_equal(jpath(root, "memory.total_bytes")->valuedouble, 66571993088.0);
	assert_int_equal(jpath(root, "memory.available_bytes")->valuedouble, 60129542144.0);
	assert_true(jpath(root, "memory.bandwidth.read_gbps")->valuedouble == p.mem.read.gbps);
	assert_true(jpath(root, "memory.bandwidth.copy_gbps")->valuedouble == p.mem.copy.gbps);
	assert_true(jpath(root, "memory.bandwidth.triad_gbps")->valuedouble == p.mem.triad.gbps);
	assert_int_equal(jpath(root, "memory.bandwidth.threads")->valuedouble, 16);
	assert_true(jpath(root, "memory.latency_ns")->valuedouble == p.mem.latency.ns);
	assert_true(jpath(root, "compute.fp32_gflops")->valuedouble == p.compute.fp32.gops);
	assert_true(jpath(root, "compute.int8_gops")->valuedouble == p.compute.int8.gops);
	assert_string_equal(jpath(root, "created")->valuestring, "2026-09-21T14:13:20Z");
	assert_int_equal(jpath(root, "created_unix")->valuedouble, 1790000000);
	assert_true(cJSON_IsFalse(jpath(root, "quick")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(jpath(root, "topology.pci"), 1), "link_gbps")));

	/* every other name of the schema is present */
	static const char *const names[] = {
		"tool_version", "created_unix", "created", "fingerprint", "hostname", "quick",
		"probe_seconds",
		"cpu.source", "cpu.method", "cpu.arch", "cpu.vendor", "cpu.codename", "cpu.family",
		"cpu.model", "cpu.stepping", "cpu.base_mhz", "cpu.base_mhz_source",
		"cpu.base_mhz_method", "cpu.max_mhz", "cpu.max_mhz_source", "cpu.max_mhz_method",
		"cpu.isa_method",
		"topology.source", "topology.method", "topology.packages", "topology.cores",
		"topology.pus", "topology.numa", "topology.caches", "topology.llc_total_bytes",
		"topology.pci",
		"memory.source", "memory.method", "memory.latency.source", "memory.latency.method",
		"memory.latency.buffer_bytes", "memory.latency.loads_per_pass", "memory.latency.ns",
		"memory.latency.stat.samples",
		"memory.bandwidth.single_thread.read_gbps", "memory.bandwidth.single_thread.copy_gbps",
		"memory.bandwidth.single_thread.triad_gbps",
		"compute.fp32_gflops_1core", "compute.int8_gops_1core",
		"warnings",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!jpath(root, names[i]))
			fprintf(stderr, "missing key %s\n", names[i]);
		assert_non_null(jpath(root, names[i]));
	}
	static const char *const bws[] = {"memory.bandwidth.read", "memory.bandwidth.copy",
		"memory.bandwidth.triad", "memory.bandwidth.single_thread.read",
		"memory.bandwidth.single_thread.copy", "memory.bandwidth.single_thread.triad"};
	static const char *const bw_keys[] = {"source", "gbps", "kernel", "threads", "array_bytes",
		"arrays", "bytes_per_pass", "passes", "stat.n", "stat.median", "stat.best",
		"stat.worst", "stat.mean", "stat.stddev", "stat.samples"};
	static const char *const peaks[] = {"compute.fp32", "compute.fp32_1core", "compute.int8",
		"compute.int8_1core"};
	static const char *const peak_keys[] = {"source", "gops", "kernel", "threads", "passes",
		"stat.n", "stat.samples"};
	char k[128];
	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < sizeof bw_keys / sizeof bw_keys[0]; j++) {
			snprintf(k, sizeof k, "%s.%s", bws[i], bw_keys[j]);
			if (!jpath(root, k))
				fprintf(stderr, "missing key %s\n", k);
			assert_non_null(jpath(root, k));
		}
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < sizeof peak_keys / sizeof peak_keys[0]; j++) {
			snprintf(k, sizeof k, "%s.%s", peaks[i], peak_keys[j]);
			assert_non_null(jpath(root, k));
		}
	assert_int_equal(cJSON_GetArraySize(jpath(root, "memory.bandwidth.read.stat.samples")), 20);
	assert_string_equal(jpath(root, "memory.bandwidth.read.source")->valuestring, "measured");
	const cJSON *numa0 = cJSON_GetArrayItem(jpath(root, "topology.numa"), 0);
	for (const char *const *n = (const char *const[]){"os_index", "memory_bytes", "cores", NULL};
	     *n; n++)
		assert_non_null(cJSON_GetObjectItemCaseSensitive(numa0, *n));
	const cJSON *cache0 = cJSON_GetArrayItem(jpath(root, "topology.caches"), 0);
	for (const char *const *n = (const char *const[]){"level", "type", "size_bytes",
			"instances", "line_bytes", NULL}; *n; n++)
		assert_non_null(cJSON_GetObjectItemCaseSensitive(cache0, *n));
	const cJSON *pci0 = cJSON_GetArrayItem(jpath(root, "topology.pci"), 0);
	for (const char *const *n = (const char *const[]){"bus_id", "vendor_id", "device_id",
			"class_id", "kind", "vendor", "name", "numa_node", "link_gbps", NULL}; *n; n++)
		assert_non_null(cJSON_GetObjectItemCaseSensitive(pci0, *n));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(pci0, "vendor_id")->valuedouble, 0x10de);
	assert_int_equal(cJSON_GetArraySize(jpath(root, "warnings")), 2);
	cJSON_Delete(root);
	free(json);
}

static void expect_error(const char *text, size_t len, const char *needle)
{
	struct probe_profile p;
	char err[512] = "";
	int rc = rep_profile_from_json(text, len, &p, err, sizeof err);
	if (rc != -2 || !strstr(err, needle))
		fprintf(stderr, "input '%.60s': rc %d, err '%s', expected -2 and '%s'\n",
			text ? text : "(null)", rc, err, needle);
	assert_int_equal(rc, -2);
	assert_non_null(strstr(err, needle));
	assert_true(isnan(p.mem.read.gbps));  /* left as unknown */
}

static void test_profile_parse_errors(void **state)
{
	(void)state;
	expect_error("", 0, "not valid JSON");
	expect_error("{", 1, "not valid JSON");
	expect_error("hello", 5, "not valid JSON");
	expect_error(NULL, 0, "no text");
	expect_error("[1, 2]", 6, "not a JSON object");
	expect_error("\"llmcap.profile/1\"", 18, "not a JSON object");
	expect_error("{}", 2, "\"schema\" is missing");
	expect_error("{\"schema\": 5}", 13, "\"schema\" is not a string");
	expect_error("{\"schema\": \"llmcap.profile/2\"}", 30, "\"llmcap.profile/2\"");
	expect_error("{\"Schema\": \"llmcap.profile/1\"}", 30, "\"schema\" is missing");
	const char *trail = "{\"schema\": \"llmcap.profile/1\"} {}";
	expect_error(trail, strlen(trail), "text after");
	/* explicit length: the text need not end in NUL, and what follows is not read */
	struct probe_profile p;
	char err[256] = "";
	assert_int_equal(rep_profile_from_json(trail, 30, &p, err, sizeof err), 0);
	const char nul_then_junk[] = "{\"schema\": \"llmcap.profile/1\"}\0junk";
	expect_error(nul_then_junk, sizeof nul_then_junk - 1, "text after");
	const char nul_end[] = "{\"schema\": \"llmcap.profile/1\"}\n\0";
	assert_int_equal(rep_profile_from_json(nul_end, sizeof nul_end, &p, err, sizeof err), 0);
	/* cut in the middle: not JSON */
	expect_error(trail, 20, "not valid JSON");
	/* err may be NULL or tiny */
	assert_int_equal(rep_profile_from_json("[]", 2, &p, NULL, 0), -2);
	char tiny[4];
	assert_int_equal(rep_profile_from_json("[]", 2, &p, tiny, sizeof tiny), -2);
	assert_int_equal(strlen(tiny), 3);
	/* nesting too deep for the parser is an error, not a crash */
	size_t n = 200000;
	char *deep = malloc(n + 64);
	assert_non_null(deep);
	int o = sprintf(deep, "{\"schema\": \"llmcap.profile/1\", \"x\": ");
	memset(deep + o, '[', n);
	expect_error(deep, (size_t)o + n, "not valid JSON");
	free(deep);
}

static void test_profile_parse_wrong_types(void **state)
{
	(void)state;
	struct probe_profile p;
	parse_ok("{\"schema\": \"llmcap.profile/1\", \"cpu\": \"x\", \"quick\": \"yes\","
		 " \"probe_seconds\": \"x\", \"created_unix\": 1e300, \"hostname\": 7,"
		 " \"topology\": {\"cores\": \"8\", \"numa\": {\"a\": 1},"
		 "   \"caches\": [1, \"x\", null, {\"level\": 2, \"type\": [1], \"size_bytes\": 1.5e400}],"
		 "   \"pci\": [{\"vendor_id\": 1e9, \"device_id\": -3, \"numa_node\": null,"
		 "              \"link_gbps\": \"fast\"}]},"
		 " \"memory\": {\"total_bytes\": -5, \"available_bytes\": 1e300,"
		 "   \"bandwidth\": {\"read\": [], \"copy\": {\"gbps\": \"fast\", \"threads\": 1e20,"
		 "     \"passes\": -1e20, \"source\": \"guessed\", \"stat\": {\"samples\": \"x\"}},"
		 "     \"triad\": {\"source\": 3, \"stat\": {\"samples\": [1, \"x\", null, true, 2.5, -0.0]}},"
		 "     \"read_gbps\": 41.5, \"single_thread\": 5},"
		 "   \"latency\": {\"ns\": null, \"source\": \"measured\"}, \"latency_ns\": 80},"
		 " \"compute\": null, \"warnings\": [1, null, \"real\", {}],"
		 " \"cpu_extra\": {\"deep\": [[[[[[[[[[{}]]]]]]]]]]}}", &p);
	assert_int_equal(p.cpu.family, -1);
	assert_int_equal(p.cpu.cores, 0);
	assert_int_equal(p.quick, 0);
	assert_true(isnan(p.seconds));
	assert_true(p.created_unix == INT64_MAX);
	assert_string_equal(p.hostname, "");
	assert_int_equal(p.topo.cores, 0);
	assert_int_equal(p.topo.n_numa, 0);
	assert_int_equal(p.topo.n_caches, 1);
	assert_int_equal(p.topo.caches[0].level, 2);
	assert_string_equal(p.topo.caches[0].type, "");
	assert_true(p.topo.caches[0].size_bytes == 0);  /* 1.5e400 is not finite: unknown */
	assert_int_equal(p.topo.n_pci, 1);
	assert_int_equal(p.topo.pci[0].vendor_id, 65535);
	assert_int_equal(p.topo.pci[0].device_id, 0);
	assert_int_equal(p.topo.pci[0].numa_node, -1);
	assert_true(isnan(p.topo.pci[0].link_gbps));
	assert_true(p.mem.total_bytes == 0);
	assert_true(p.mem.available_bytes == UINT64_MAX);
	assert_true(p.mem.read.gbps == 41.5);      /* the summary stands in */
	assert_int_equal(p.mem.read.src, PROBE_SRC_UNKNOWN);
	assert_true(isnan(p.mem.copy.gbps));
	assert_int_equal(p.mem.copy.threads, INT_MAX);
	assert_int_equal(p.mem.copy.passes, INT_MIN);
	assert_int_equal(p.mem.copy.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.mem.copy.stat.n, 0);
	assert_int_equal(p.mem.triad.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.mem.triad.stat.n, 6);
	assert_true(p.mem.triad.stat.samples[0] == 1);
	assert_true(isnan(p.mem.triad.stat.samples[1]));
	assert_true(isnan(p.mem.triad.stat.samples[3]));
	assert_true(p.mem.triad.stat.samples[4] == 2.5);
	assert_false(signbit(p.mem.triad.stat.samples[5]));
	assert_true(p.mem.latency.ns == 80);
	assert_int_equal(p.mem.latency.src, PROBE_SRC_MEASURED);
	assert_true(isnan(p.compute.fp32.gops));
	assert_int_equal(p.n_warnings, 1);
	assert_string_equal(p.warnings[0], "real");
	assert_string_equal(p.tool_version, "");   /* absent: not this build's version */

	/* -0 reads as 0 so that writing and reading again is stable */
	parse_ok("{\"schema\": \"llmcap.profile/1\", \"probe_seconds\": -0.0}", &p);
	assert_false(signbit(p.seconds));
}

/* Arrays beyond the struct's sizes and strings beyond its buffers are cut. */
static void test_profile_parse_clamps(void **state)
{
	(void)state;
	size_t cap = 4 << 20, o = 0;
	char *j = malloc(cap);
	assert_non_null(j);
#define PUT(...) (o += (size_t)snprintf(j + o, cap - o, __VA_ARGS__), assert_true(o < cap))
	PUT("{\"schema\": \"llmcap.profile/1\", \"cpu\": {\"brand\": \"");
	for (int i = 0; i < 200; i++)
		PUT("é");
	PUT("\", \"codename\": \"");
	for (int i = 0; i < 100; i++)
		PUT("→");
	PUT("\", \"vendor\": \"%s\", \"isa\": [\"avx2\", \"avx9000\", 3, \"avx2\", \"neon\"]},",
	    "x\\u0000hidden");
	PUT("\"topology\": {\"numa\": [");
	for (int i = 0; i < 1000; i++)
		PUT("%s{\"os_index\": %d}", i ? "," : "", i);
	PUT("], \"caches\": [");
	for (int i = 0; i < 100; i++)
		PUT("%s{\"level\": %d}", i ? "," : "", i);
	PUT("], \"pci\": [");
	for (int i = 0; i < 1000; i++)
		PUT("%s{\"name\": \"%0200d\"}", i ? "," : "", i);
	PUT("]}, \"memory\": {\"bandwidth\": {\"read\": {\"stat\": {\"n\": 5000, \"samples\": [");
	for (int i = 0; i < 1000; i++)
		PUT("%s%d", i ? "," : "", i);
	PUT("]}}}}, \"warnings\": [");
	for (int i = 0; i < 100; i++) {
		PUT("%s\"", i ? "," : "");
		for (int k = 0; k < 300; k++)
			PUT("w");
		PUT("\"");
	}
	PUT("]}");
#undef PUT
	struct probe_profile p;
	parse_ok(j, &p);
	free(j);
	/* 95 bytes of room: 47 two-byte characters, not half of the 48th */
	assert_int_equal(strlen(p.cpu.brand), 94);
	assert_int_equal(strlen(p.cpu.codename), 63);          /* 21 three-byte characters */
	assert_string_equal(p.cpu.vendor, "x");                 /* NUL ends a C string */
	assert_int_equal(p.cpu.isa, (1u << PROBE_ISA_AVX2) | (1u << PROBE_ISA_NEON));
	assert_int_equal(p.topo.n_numa, PROBE_MAX_NUMA);
	assert_int_equal(p.topo.numa[PROBE_MAX_NUMA - 1].os_index, PROBE_MAX_NUMA - 1);
	assert_int_equal(p.topo.n_caches, PROBE_MAX_CACHES);
	assert_int_equal(p.topo.n_pci, PROBE_MAX_PCI);
	assert_int_equal(strlen(p.topo.pci[PROBE_MAX_PCI - 1].name), sizeof p.topo.pci[0].name - 1);
	assert_int_equal(p.mem.read.stat.n, PROBE_MAX_SAMPLES);
	assert_true(p.mem.read.stat.samples[PROBE_MAX_SAMPLES - 1] == PROBE_MAX_SAMPLES - 1);
	assert_int_equal(p.n_warnings, PROBE_MAX_WARNINGS);
	assert_int_equal(strlen(p.warnings[PROBE_MAX_WARNINGS - 1]), PROBE_WARNING_LEN - 1);

	/* the clamped profile writes and reads back unchanged */
	char *json = rep_profile_json(&p, 0);
	struct probe_profile q;
	parse_ok(json, &q);
	assert_same_profile(&p, &q);
	free(json);
}

/* ---- profile text --------------------------------------------------------- */

static char *profile_text(const struct probe_profile *p)
{
	struct capture c;
	rep_profile_text(p, cap_open(&c));
	return cap_close(&c);
}

static void check_profile_text(const char *s)
{
	check_lines(s, 100);
	const char *sections[] = {"Profile\n", "\nCPU\n", "\nTopology\n", "\nMemory\n",
				  "\nBandwidth\n", "\nCompute\n", "\nWarnings\n"};
	const char *prev = s;
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		const char *at = strstr(s, sections[i]);
		if (!at)
			fprintf(stderr, "section %s missing\n", sections[i]);
		assert_non_null(at);
		assert_true(at >= prev);   /* in this order */
		prev = at;
	}
	assert_null(strstr(s, "nan"));
	assert_null(strstr(s, "inf "));
}

static void test_profile_text_golden(void **state)
{
	(void)state;
	struct probe_profile p;
	fixed_profile(&p);
	char *s = profile_text(&p);
	check_profile_text(s);
	/* every figure says how it was obtained */
	assert_non_null(strstr(s, "(measured: read avx512, best of 20 passes, median "));
	assert_non_null(strstr(s, "(reported: /proc/meminfo)"));
	assert_non_null(strstr(s, "  Kernel  1 thread GB/s  All cores GB/s"));
	check_golden("profile.txt", s);
	free(s);
}

static void test_profile_text_unknown(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	snprintf(p.tool_version, sizeof p.tool_version, "0.1.0");
	char *s = profile_text(&p);
	check_profile_text(s);
	assert_non_null(strstr(s, "  Read              unknown (not measured)\n"));
	assert_non_null(strstr(s, "  Total             unknown"));
	check_golden("profile-unknown.txt", s);
	free(s);
}

/* ---- files ----------------------------------------------------------------- */

/* Entries of dir whose name contains ".tmp.". */
static int temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strstr(e->d_name, ".tmp."))
			n++, fprintf(stderr, "temporary file left: %s/%s\n", dir, e->d_name);
	closedir(d);
	return n;
}

static void test_write_atomic(void **state)
{
	(void)state;
	char dir[256], path[300], err[512] = "";
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/profile.json", dir);

	assert_int_equal(rep_write_atomic(path, "first version\n", 14, err, sizeof err), 0);
	char *got = NULL;
	size_t n = 0;
	assert_int_equal(rep_read_file(path, 1024, &got, &n, err, sizeof err), 0);
	assert_int_equal(n, 14);
	assert_string_equal(got, "first version\n");
	free(got);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	mode_t um = umask(022);
	umask(um);
	assert_int_equal(st.st_mode & 0777, 0666 & ~um);   /* as a new file would be */

	/* replacing keeps the old file's permissions and leaves no partial file */
	assert_int_equal(chmod(path, 0600), 0);
	const char bin[] = "two\0bytes";
	assert_int_equal(rep_write_atomic(path, bin, sizeof bin, err, sizeof err), 0);
	assert_int_equal(rep_read_file(path, 1024, &got, &n, err, sizeof err), 0);
	assert_int_equal(n, sizeof bin);
	assert_memory_equal(got, bin, sizeof bin);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rep_write_atomic(path, "", 0, err, sizeof err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);

	/* a failure after the temporary file exists (rename onto a directory)
	 * removes it */
	char sub[320];
	snprintf(sub, sizeof sub, "%s/adir", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(rep_write_atomic(sub, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, sub));
	assert_non_null(strstr(err, "check that the directory exists and is writable"));
	assert_int_equal(temp_files(dir), 0);

	/* bad arguments */
	assert_int_equal(rep_write_atomic("", "x", 1, err, sizeof err), -1);
	assert_int_equal(rep_write_atomic(NULL, "x", 1, NULL, 0), -1);
	tu_rmrf(dir);
}

static void test_write_atomic_missing_dir(void **state)
{
	(void)state;
	char dir[256], path[300], err[512] = "";
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/no/such/dir/out.json", dir);
	assert_int_equal(rep_write_atomic(path, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_non_null(strstr(err, "check that the directory exists and is writable"));
	assert_int_equal(temp_files(dir), 0);
	tu_rmrf(dir);

	/* /proc refuses new files even to root */
	snprintf(path, sizeof path, "/proc/llmcap-test-%d.json", (int)getpid());
	assert_int_equal(rep_write_atomic(path, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_write_atomic_readonly_dir(void **state)
{
	(void)state;
	if (geteuid() == 0) {
		fprintf(stderr, "skipped: running as root, where a read-only directory is still "
			"writable (the /proc case in test_write_atomic_missing_dir covers it)\n");
		skip();
	}
	char dir[256], path[300], err[512] = "";
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/out.json", dir);
	assert_int_equal(chmod(dir, 0555), 0);
	int rc = rep_write_atomic(path, "x", 1, err, sizeof err);
	chmod(dir, 0755);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(EACCES)));
	assert_int_equal(temp_files(dir), 0);
	assert_int_equal(access(path, F_OK), -1);
	tu_rmrf(dir);
}

static void test_read_file(void **state)
{
	(void)state;
	char dir[256], path[300], err[512] = "";
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/ten", dir);
	assert_int_equal(rep_write_atomic(path, "0123456789", 10, err, sizeof err), 0);
	char *got = (char *)1;
	size_t n = 99;
	assert_int_equal(rep_read_file(path, 10, &got, &n, err, sizeof err), 0);
	assert_int_equal(n, 10);
	assert_string_equal(got, "0123456789");
	free(got);
	got = (char *)1;
	assert_int_equal(rep_read_file(path, 9, &got, &n, err, sizeof err), -2);
	assert_null(got);
	assert_non_null(strstr(err, path));
	assert_int_equal(rep_read_file(path, 0, &got, NULL, err, sizeof err), -2);
	/* no size in stat: read until the end, limit still applies */
	assert_int_equal(rep_read_file("/proc/self/status", 1 << 20, &got, &n, err, sizeof err), 0);
	assert_true(n > 0 && strstr(got, "Pid:"));
	free(got);
	assert_int_equal(rep_read_file("/proc/self/status", 16, &got, &n, err, sizeof err), -2);
	/* missing file, directory */
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(rep_read_file(path, 100, &got, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(rep_read_file(dir, 100, &got, &n, err, sizeof err), -1);
	assert_null(got);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_golden),
		cmocka_unit_test(test_table_layout),
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_fmt_numbers),
		cmocka_unit_test(test_kv_and_sections),
		cmocka_unit_test(test_profile_round_trip_random),
		cmocka_unit_test(test_profile_round_trip_fixed_and_unknown),
		cmocka_unit_test(test_profile_json_keys),
		cmocka_unit_test(test_profile_parse_errors),
		cmocka_unit_test(test_profile_parse_wrong_types),
		cmocka_unit_test(test_profile_parse_clamps),
		cmocka_unit_test(test_profile_text_golden),
		cmocka_unit_test(test_profile_text_unknown),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_missing_dir),
		cmocka_unit_test(test_write_atomic_readonly_dir),
		cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
