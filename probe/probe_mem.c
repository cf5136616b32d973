/*
 * probe: memory bandwidth (read, copy, triad; one thread and all cores)
 * and latency (dependent pointer chase), STREAM-style.
 *
 * Bandwidth. Three arrays a, b, c share one mapping; thread t of the team
 * (bound to its own core) owns slice t of each and writes it first, so its
 * pages land on its NUMA node (slices are whole 2 MiB huge pages). The
 * one-thread blocks run thread 0 over the whole arrays; when the team
 * spans several NUMA nodes thread 0 maps and touches private arrays of
 * the same size for them instead, so that they stay local. read sums a
 * (a[i] = 1: every pass's sum must equal the length), copy sets c = a,
 * triad sets b = a + s c with s = 3 in the one-thread blocks and 5 in the
 * all-core ones, which run last. Each kernel is idempotent, so passes
 * repeat; afterwards a == 1, c == 1 and b == 6 (4 in private one-thread
 * arrays) everywhere, which is checked (STREAM's validation). Bytes are counted by STREAM rules: 8 per element
 * read, 16 copied, 24 per triad element. A block is one warm-up pass
 * (dropped) and N timed passes (as many as fit the block's time, within
 * bounds); a pass starts when every thread has left a spin barrier and
 * ends when the last one finishes: latest end minus earliest start.
 *
 * Latency. A buffer far beyond the last-level cache (thread 0's bandwidth
 * mapping when it is large enough, already touched), cut into 64-byte
 * nodes linked in the order of one random cycle (Sattolo), transparent
 * huge pages asked for so that TLB misses count as little as possible;
 * ns per dependent load, per pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "probe/probe_internal.h"
#include "probe/probe_kern.h"

#define MIB (1024ull * 1024ull)
#define HUGE_BYTES (2ull * MIB)
#define ARRAY_GAP 1088            /* 17 lines between arrays: no 4K aliasing */
#define NODE_BYTES 64
#define READ_VALUE 1.0            /* a[] */
#define COPY_INIT 2.0             /* c[] before the first copy */
#define TRIAD_INIT (-1.0)         /* b[] before the first triad */
#define TRIAD_SCALAR_ONE 3.0      /* one-thread blocks: b becomes 4 */
#define TRIAD_SCALAR_ALL 5.0      /* all-core blocks: b becomes 6 */
#define TRIAD_VALUE(s) (READ_VALUE + (s) * READ_VALUE)

/* --- ISA and kernel choice --------------------------------------------- */

const struct probe_bw_kernels *const probe_bw_all[] = {
#if defined(__x86_64__)
	&probe_bw_avx512,
	&probe_bw_avx2,
#endif
	&probe_bw_generic,
	NULL,
};

uint32_t probe_isa_effective(const struct probe_cpu *cpu)
{
	uint32_t given = cpu ? cpu->isa : 0;
#if defined(__x86_64__)
	uint32_t checked = 0, have = 0;
	__builtin_cpu_init();
#define CHECK(bit, name)                                                     \
	do {                                                                 \
		checked |= PROBE_ISA_BIT(bit);                               \
		if (__builtin_cpu_supports(name))                            \
			have |= PROBE_ISA_BIT(bit);                          \
	} while (0)
	CHECK(PROBE_ISA_SSE42, "sse4.2");
	CHECK(PROBE_ISA_AVX, "avx");
	CHECK(PROBE_ISA_AVX2, "avx2");
	CHECK(PROBE_ISA_FMA, "fma");
	CHECK(PROBE_ISA_AVX512F, "avx512f");
	CHECK(PROBE_ISA_AVX512BW, "avx512bw");
	CHECK(PROBE_ISA_AVX512VL, "avx512vl");
	CHECK(PROBE_ISA_AVX512VNNI, "avx512vnni");
#undef CHECK
	/* AVX-VNNI: CPUID.(7,1):EAX[4]; not every compiler knows the name.
	 * The OS saves YMM state when avx2 is reported. */
	unsigned a, b, c, d;
	checked |= PROBE_ISA_BIT(PROBE_ISA_AVX_VNNI);
	if ((have & PROBE_ISA_BIT(PROBE_ISA_AVX2)) &&
	    __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u))
		have |= PROBE_ISA_BIT(PROBE_ISA_AVX_VNNI);
	if (!given)
		return have;
	/* never run what this CPU and OS cannot, whatever the profile says */
	return (given & ~checked) | (given & have);
#else
	return given;
#endif
}

const struct probe_bw_kernels *probe_bw_select(uint32_t isa)
{
	for (int i = 0; probe_bw_all[i]; i++)
		if ((probe_bw_all[i]->requires & ~isa) == 0)
			return probe_bw_all[i];
	return &probe_bw_generic;
}

/* --- page-aligned, huge-page-advised buffers ---------------------------- */

struct big_buf {
	void *raw;
	size_t raw_len;
	void *p;                     /* 2 MiB aligned */
	size_t len;
	int thp;                     /* madvise(MADV_HUGEPAGE) accepted */
};

static int big_alloc(struct big_buf *b, size_t len)
{
	memset(b, 0, sizeof *b);
	size_t raw_len = len + HUGE_BYTES;
	void *raw = mmap(NULL, raw_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	uintptr_t p = ((uintptr_t)raw + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
	b->raw = raw;
	b->raw_len = raw_len;
	b->p = (void *)p;
	b->len = len;
#ifdef MADV_HUGEPAGE
	b->thp = madvise(b->p, len, MADV_HUGEPAGE) == 0;
#endif
	return 0;
}

static void big_free(struct big_buf *b)
{
	if (b->raw)
		munmap(b->raw, b->raw_len);
	memset(b, 0, sizeof *b);
}

/* The share of the mapping holding p that transparent huge pages back,
 * per /proc/self/smaps (AnonHugePages / size), or -1 when unreadable. */
static double thp_share(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int in = 0;
	double share = -1, size = 0;
	uintptr_t at = (uintptr_t)p;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char dash;
		if (sscanf(line, "%lx%c%lx ", &lo, &dash, &hi) == 3 && dash == '-') {
			if (in)
				break;
			in = at >= lo && at < hi;
			size = (double)(hi - lo);
			continue;
		}
		long long kb;
		if (in && sscanf(line, "AnonHugePages: %lld kB", &kb) == 1) {
			share = size > 0 ? (double)kb * 1024.0 / size : 0.0;
			break;
		}
	}
	fclose(f);
	return share > 1.0 ? 1.0 : share;
}

/* --- bandwidth blocks ---------------------------------------------------- */

enum bw_kind { BW_READ, BW_COPY, BW_TRIAD };

static const char *const bw_kind_name[] = { "read", "copy", "triad" };
static const int bw_kind_arrays[] = { 1, 2, 3 };

/* a, b, c of n doubles each in one mapping, ARRAY_GAP apart modulo 2 MiB. */
struct bw_arrays {
	struct big_buf buf;
	double *a, *b, *c;
	size_t n;
};

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

/* Maps (does not touch) the arrays. 0 or -1. */
static int arrays_map(struct bw_arrays *ar, size_t n)
{
	size_t stride = round_up(n * sizeof(double) + 4096, HUGE_BYTES);
	if (big_alloc(&ar->buf, 3 * stride) != 0)
		return -1;
	char *base = ar->buf.p;
	ar->a = (double *)base;
	ar->b = (double *)(base + stride + ARRAY_GAP);
	ar->c = (double *)(base + 2 * stride + 2 * ARRAY_GAP);
	ar->n = n;
	return 0;
}

/* Writes the arrays' starting values; a read-only run touches a alone. */
static void arrays_init(const struct bw_arrays *ar, size_t lo, size_t hi, int read_only)
{
	for (size_t i = lo; i < hi; i++)
		ar->a[i] = READ_VALUE;
	if (read_only)
		return;
	for (size_t i = lo; i < hi; i++) {
		ar->b[i] = TRIAD_INIT;
		ar->c[i] = COPY_INIT;
	}
}

static long arrays_check(const struct bw_arrays *ar, size_t lo, size_t hi,
			 double b_value)
{
	long bad = 0;
	for (size_t i = lo; i < hi; i++)
		bad += (ar->a[i] != READ_VALUE) + (ar->c[i] != READ_VALUE) +
		       (ar->b[i] != b_value);
	return bad;
}

struct bw_slot {
	_Alignas(64) size_t lo, hi;  /* this thread's slice of the shared arrays */
	double ts[PROBE_MAX_SAMPLES + 1], te[PROBE_MAX_SAMPLES + 1];
	long bad_sums;               /* read checksums that were wrong */
	long bad_values;             /* elements wrong after the run */
};

struct mem_ctx {
	const struct probe_mem_plan *plan;
	const struct probe_bw_kernels *k;
	int nthreads;
	struct bw_slot *slots;       /* (nthreads) */
	struct bw_arrays shared;     /* sliced over the team */
	struct bw_arrays solo;       /* thread 0's own, when solo_private */
	int solo_private;
	int solo_failed;
	struct probe_spin bar;
	enum bw_kind kind;
	int active;                  /* threads in this block: 1 or nthreads */
	int solo_block;              /* a one-thread block (thread 0 alone, whole
				      * arrays), as opposed to an all-core block
				      * that may also have one thread */
	int npass;                   /* timed passes, set after the warm-up */
	double pass_s[PROBE_MAX_SAMPLES + 1];  /* [0] is the warm-up */
	/* latency, run by thread 0 */
	struct big_buf lat;          /* own buffer, when no array mapping fits */
	const struct big_buf *lat_in; /* the buffer the chase runs in */
	uint64_t lat_nodes;
	int lat_failed;
	double lat_ns[PROBE_MAX_SAMPLES];
	const void *lat_end;
	uint64_t seed;
};

static void bw_touch_fn(int tid, int n, void *arg)
{
	struct mem_ctx *c = arg;
	struct bw_slot *s = &c->slots[tid];
	(void)n;
	arrays_init(&c->shared, s->lo, s->hi, c->plan->read_only);
	/* the one-thread blocks' own arrays; a read-only run has none */
	if (tid == 0 && c->solo_private && !c->plan->read_only) {
		if (arrays_map(&c->solo, c->shared.n) != 0)
			c->solo_failed = 1;
		else
			arrays_init(&c->solo, 0, c->solo.n, 0);
	}
}

static void bw_check_fn(int tid, int n, void *arg)
{
	struct mem_ctx *c = arg;
	struct bw_slot *s = &c->slots[tid];
	(void)n;
	s->bad_values = arrays_check(&c->shared, s->lo, s->hi,
				     TRIAD_VALUE(TRIAD_SCALAR_ALL));
	if (tid == 0 && c->solo_private)
		s->bad_values += arrays_check(&c->solo, 0, c->solo.n,
					      TRIAD_VALUE(TRIAD_SCALAR_ONE));
}

static void bw_block_fn(int tid, int n, void *arg)
{
	struct mem_ctx *c = arg;
	(void)n;
	if (tid >= c->active)
		return;
	struct bw_slot *s = &c->slots[tid];
	const struct probe_bw_kernels *k = c->k;
	const struct bw_arrays *ar = &c->shared;
	size_t lo = s->lo, len = s->hi - s->lo;
	if (c->solo_block) {
		ar = c->solo_private ? &c->solo : &c->shared;
		lo = 0;
		len = ar->n;
	}
	double *a = ar->a + lo, *b = ar->b + lo, *cc = ar->c + lo;
	for (int i = 0;; i++) {
		probe_spin_wait(&c->bar);
		if (i > c->npass)
			break;
		s->ts[i] = probe_now();
		switch (c->kind) {
		case BW_READ:
			if (k->read(a, len) != (double)len * READ_VALUE)
				s->bad_sums++;
			break;
		case BW_COPY:
			k->copy(cc, a, len);
			break;
		case BW_TRIAD:
			k->triad(b, a, cc, c->solo_block ? TRIAD_SCALAR_ONE :
				 TRIAD_SCALAR_ALL, len);
			break;
		}
		s->te[i] = probe_now();
		probe_spin_wait(&c->bar);
		if (tid != 0)
			continue;
		double t0 = s->ts[i], t1 = s->te[i];
		for (int j = 1; j < c->active; j++) {
			if (c->slots[j].ts[i] < t0)
				t0 = c->slots[j].ts[i];
			if (c->slots[j].te[i] > t1)
				t1 = c->slots[j].te[i];
		}
		c->pass_s[i] = t1 - t0;
		if (i == 0) {
			/* as many passes as fit the block's time, within bounds */
			double t = c->pass_s[0] > 1e-9 ? c->pass_s[0] : 1e-9;
			double fit = c->plan->block_seconds / t;
			int np = fit > c->plan->max_passes ? c->plan->max_passes : (int)fit;
			c->npass = np < c->plan->min_passes ? c->plan->min_passes : np;
		}
	}
}

static void run_bw_block(struct probe_team *team, struct mem_ctx *c,
			 enum bw_kind kind, int all, struct probe_bw *out)
{
	int active = all ? c->nthreads : 1;
	c->kind = kind;
	c->active = active;
	c->solo_block = !all;
	c->npass = c->plan->max_passes;
	probe_spin_init(&c->bar, (unsigned)active);
	probe_team_run(team, bw_block_fn, c);

	uint64_t elems = 0;
	for (int t = 0; t < active; t++)
		elems += c->solo_block ? c->shared.n : c->slots[t].hi - c->slots[t].lo;
	uint64_t bytes = elems * sizeof(double) * (uint64_t)bw_kind_arrays[kind];

	probe_bw_unknown(out);
	out->src = PROBE_SRC_MEASURED;
	snprintf(out->kernel, sizeof out->kernel, "%s %s", bw_kind_name[kind], c->k->isa);
	out->threads = active;
	out->array_bytes = elems * sizeof(double);
	out->arrays = bw_kind_arrays[kind];
	out->bytes_per_pass = bytes;
	out->passes = c->npass;
	out->stat.n = c->npass;
	for (int i = 0; i < c->npass; i++)
		out->stat.samples[i] = (double)bytes / c->pass_s[i + 1] / 1e9;
	probe_stat_compute(&out->stat, 1);
	out->gbps = out->stat.best;
}

/* --- latency ----------------------------------------------------------- */

static void lat_fn(int tid, int n, void *arg)
{
	struct mem_ctx *c = arg;
	const struct probe_mem_plan *plan = c->plan;
	(void)n;
	if (tid != 0)
		return;
	uint64_t nodes = plan->lat_bytes / NODE_BYTES;
	if (nodes > UINT32_MAX)
		nodes = UINT32_MAX;
	if (nodes < 2)
		nodes = 2;
	c->lat_nodes = nodes;
	uint32_t *perm = malloc(nodes * sizeof *perm);
	if (!perm) {
		c->lat_failed = 1;
		return;
	}
	if (!c->lat_in) {
		if (big_alloc(&c->lat, nodes * NODE_BYTES) != 0) {
			free(perm);
			c->lat_failed = 1;
			return;
		}
		c->lat_in = &c->lat;
	}
	probe_sattolo(perm, (uint32_t)nodes, &c->seed);
	char *base = c->lat_in->p;
	for (uint64_t i = 0; i < nodes; i++)
		*(void **)(base + i * NODE_BYTES) = base + (uint64_t)perm[i] * NODE_BYTES;
	free(perm);

	const void *q = probe_chase(base, plan->lat_loads / 4 + 1);  /* warm-up */
	for (int i = 0; i < plan->lat_passes; i++) {
		double t0 = probe_now();
		q = probe_chase(q, plan->lat_loads);
		double t1 = probe_now();
		c->lat_ns[i] = (t1 - t0) * 1e9 / (double)plan->lat_loads;
	}
	c->lat_end = q;
}

/* --- clock ------------------------------------------------------------- */

/* The smallest step CLOCK_MONOTONIC shows (seconds). */
static double clock_tick(void)
{
	struct timespec res;
	double tick = clock_getres(CLOCK_MONOTONIC, &res) == 0 ?
		(double)res.tv_sec + (double)res.tv_nsec * 1e-9 : 1e-6;
	double best = 1.0;
	for (int i = 0; i < 8; i++) {
		double t0 = probe_now(), t1;
		do
			t1 = probe_now();
		while (t1 == t0);
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best > tick ? best : tick;
}

/* --- the measurement --------------------------------------------------- */

static void progress(const struct probe_options *opt, const char *step, double f)
{
	if (opt && opt->progress)
		opt->progress(step, f, opt->progress_user);
}

static void mem_unknown(struct probe_memory *m)
{
	probe_bw_unknown(&m->read1);
	probe_bw_unknown(&m->copy1);
	probe_bw_unknown(&m->triad1);
	probe_bw_unknown(&m->read);
	probe_bw_unknown(&m->copy);
	probe_bw_unknown(&m->triad);
}

static int plan_valid(const struct probe_mem_plan *pl)
{
	return pl->threads >= 1 && pl->array_bytes >= 64 * sizeof(double) &&
	       pl->min_passes >= 1 && pl->max_passes >= pl->min_passes &&
	       pl->max_passes <= PROBE_MAX_SAMPLES && pl->lat_bytes >= 2 * NODE_BYTES &&
	       pl->lat_loads >= 1 && pl->lat_passes >= 1 &&
	       pl->lat_passes <= PROBE_MAX_SAMPLES;
}

int probe_memory_measure_plan(struct probe_profile *p, const struct probe_options *opt,
			      const struct probe_mem_plan *plan)
{
	struct probe_memory *m = &p->mem;
	mem_unknown(m);
	probe_latency_unknown(&m->latency);
	if (!plan_valid(plan)) {
		probe_warn(p, "memory: invalid measurement plan");
		return -1;
	}

	int rc = -1;
	char err[128] = "";
	struct probe_team *team = NULL;
	struct mem_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		probe_warn(p, "memory: out of memory");
		return -1;
	}
	c->plan = plan;
	c->k = probe_bw_select(probe_isa_effective(&p->cpu));
	c->seed = 0x243f6a8885a308d3ull;
	progress(opt, "memory: starting threads", 0.0);
	team = probe_team_new(plan->threads, err, sizeof err);
	if (!team) {
		probe_warn(p, "memory: %s", err);
		goto out;
	}
	int T = probe_team_threads(team);
	if (!probe_team_bound(team))
		probe_warn(p, "memory: threads could not be bound to cores; figures may be low");
	c->nthreads = T;
	c->slots = aligned_alloc(64, (size_t)T * sizeof *c->slots);
	if (!c->slots) {
		probe_warn(p, "memory: out of memory");
		goto out;
	}
	memset(c->slots, 0, (size_t)T * sizeof *c->slots);

	/* slices of whole huge pages when they are that large, else lines */
	size_t n_want = plan->array_bytes / sizeof(double);
	size_t grain = n_want / (size_t)T >= HUGE_BYTES / sizeof(double) ?
		HUGE_BYTES / sizeof(double) : 8;
	size_t n_slice = n_want / (size_t)T / grain * grain;
	if (n_slice == 0)
		n_slice = 8;
	if (arrays_map(&c->shared, n_slice * (size_t)T) != 0) {
		probe_warn(p, "memory: could not map %llu MiB for bandwidth arrays",
			   (unsigned long long)(3 * n_slice * (size_t)T * sizeof(double) / MIB));
		goto out;
	}
	for (int t = 0; t < T; t++) {
		c->slots[t].lo = (size_t)t * n_slice;
		c->slots[t].hi = (size_t)(t + 1) * n_slice;
	}
	c->solo_private = probe_team_numa_span(team) > 1;

	/* --- bandwidth --- */
	progress(opt, "memory: touching arrays", 0.02);
	probe_team_run(team, bw_touch_fn, c);
	if (c->solo_failed) {
		probe_warn(p, "memory: could not map %llu MiB for one-thread arrays",
			   (unsigned long long)(3 * c->shared.n * sizeof(double) / MIB));
		goto out;
	}

	static const struct {
		enum bw_kind kind;
		int all;
		const char *step;
	} blocks[] = {
		{ BW_READ, 0, "memory: read, 1 thread" },
		{ BW_COPY, 0, "memory: copy, 1 thread" },
		{ BW_TRIAD, 0, "memory: triad, 1 thread" },
		{ BW_READ, 1, "memory: read, all cores" },
		{ BW_COPY, 1, "memory: copy, all cores" },
		{ BW_TRIAD, 1, "memory: triad, all cores" },
	};
	struct probe_bw *outs[] = { &m->read1, &m->copy1, &m->triad1,
				    &m->read, &m->copy, &m->triad };
	double shortest = INFINITY;
	for (int b = 0; b < 6; b++) {
		if (plan->read_only && !(blocks[b].kind == BW_READ && blocks[b].all))
			continue;
		progress(opt, blocks[b].step, 0.1 + 0.1 * b);
		run_bw_block(team, c, blocks[b].kind, blocks[b].all, outs[b]);
		for (int i = 1; i <= c->npass; i++)
			if (c->pass_s[i] < shortest)
				shortest = c->pass_s[i];
	}

	progress(opt, "memory: validating", 0.7);
	if (!plan->read_only) /* (a read-only run checks its sums only) */
		probe_team_run(team, bw_check_fn, c);
	long bad_sums = 0, bad_values = 0;
	for (int t = 0; t < T; t++) {
		bad_sums += c->slots[t].bad_sums;
		bad_values += c->slots[t].bad_values;
	}
	if (bad_sums || bad_values) {
		probe_warn(p, "memory: results failed validation (%ld read sums, %ld "
			   "elements wrong); bandwidth discarded", bad_sums, bad_values);
		mem_unknown(m);
		goto out;
	}
	double tick = clock_tick();
	if (shortest < 100 * tick)
		probe_warn(p, "memory: shortest pass %.3g s is under 100 clock ticks "
			   "(%.3g s); bandwidth is imprecise", shortest, tick);

	if (plan->read_only) {
		rc = 0;
		goto out;
	}
	/* --- latency: in thread 0's arrays when they are large enough --- */
	progress(opt, "memory: latency", 0.75);
	const struct big_buf *own = c->solo_private ? &c->solo.buf : &c->shared.buf;
	if (own->len >= plan->lat_bytes) {
		c->lat_in = own;
	} else {
		big_free(&c->solo.buf);
		big_free(&c->shared.buf);
	}
	probe_team_run(team, lat_fn, c);
	if (c->lat_failed) {
		probe_warn(p, "memory: could not map %llu MiB for the latency buffer",
			   (unsigned long long)(plan->lat_bytes / MIB));
		goto out;
	}
	struct probe_latency *l = &m->latency;
	l->src = PROBE_SRC_MEASURED;
	l->buffer_bytes = c->lat_nodes * NODE_BYTES;
	l->loads_per_pass = plan->lat_loads;
	l->stat.n = plan->lat_passes;
	memcpy(l->stat.samples, c->lat_ns, (size_t)plan->lat_passes * sizeof(double));
	probe_stat_compute(&l->stat, 0);
	l->ns = l->stat.median;
	double thp = c->lat_in->thp ? thp_share(c->lat_in->p) : 0.0;
	if (thp >= 0)
		snprintf(l->method, sizeof l->method,
			 "chase, 64 B nodes, Sattolo cycle, %.0f%% 2 MiB THP", 100.0 * thp);
	else
		snprintf(l->method, sizeof l->method,
			 "chase, 64 B nodes, Sattolo cycle, THP asked");
	rc = 0;
out:
	progress(opt, "memory: done", 1.0);
	probe_team_delete(team);
	big_free(&c->lat);
	big_free(&c->solo.buf);
	big_free(&c->shared.buf);
	free(c->slots);
	free(c);
	return rc;
}

int probe_measure_memory(struct probe_profile *p, const struct probe_options *opt)
{
	static const struct probe_options none = { 0 };
	if (!opt)
		opt = &none;
	uint64_t llc = p->topo.llc_total_bytes;
	if (llc == 0) {
		llc = 32 * MIB;
		probe_warn(p, "memory: last-level cache size unknown; arrays sized for 32 MiB");
	}
	uint64_t avail = p->mem.available_bytes;
	if (avail == 0) {
		long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		avail = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 1024 * MIB;
	}

	struct probe_mem_plan plan = { 0 };
	plan.threads = probe_physical_cores();
	if (opt->max_threads > 0 && opt->max_threads < plan.threads)
		plan.threads = opt->max_threads;

	uint64_t want = 4 * llc;
	uint64_t floor_bytes = (opt->quick ? 64 : 256) * MIB;
	if (want < floor_bytes)
		want = floor_bytes;
	/* three arrays; six when the one-thread blocks get their own because
	 * the cores span NUMA nodes (packages > 1 or NUMA nodes > 1) */
	int numa = p->topo.n_numa > 1 || p->topo.packages > 1;
	uint64_t cap = avail / 4 / (numa ? 6 : 3);
	plan.array_bytes = want;
	if (plan.array_bytes > cap) {
		plan.array_bytes = cap;
		if (cap < 4 * llc)
			probe_warn(p, "memory: arrays limited to %llu MiB by available memory, "
				   "under 4x the last-level cache; bandwidth may be high",
				   (unsigned long long)(cap / MIB));
	}
	if (plan.array_bytes < MIB) {
		probe_warn(p, "memory: too little available memory to measure");
		mem_unknown(&p->mem);
		probe_latency_unknown(&p->mem.latency);
		return -1;
	}
	plan.min_passes = opt->quick ? 3 : 5;
	plan.max_passes = opt->quick ? 80 : 120;
	plan.block_seconds = opt->quick ? 0.3 : 1.0;

	plan.lat_bytes = 8 * llc > 256 * MIB ? 8 * llc : 256 * MIB;
	if (plan.lat_bytes > avail / 4) {
		plan.lat_bytes = avail / 4;
		if (plan.lat_bytes < 4 * llc)
			probe_warn(p, "memory: latency buffer limited to %llu MiB by available "
				   "memory, under 4x the last-level cache; latency may be low",
				   (unsigned long long)(plan.lat_bytes / MIB));
	}
	plan.lat_loads = opt->quick ? (1u << 18) : (1u << 20);
	plan.lat_passes = opt->quick ? 3 : 9;
	plan.read_only = opt->mem_read_only;
	return probe_memory_measure_plan(p, opt, &plan);
}
