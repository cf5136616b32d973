/*
 * Tests for the probe's measurement machinery: every bandwidth and compute
 * kernel this CPU supports against its float64 / int64 reference, the
 * Sattolo permutation and the pointer chase, probe_stat_compute, the
 * thread team, and the memory and compute measurement paths at small
 * sizes (no timing thresholds: the machine may be busy).
 */
#include "tests/test_util.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"
#include "probe/probe_kern.h"

static const size_t lengths[] = { 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64,
				  65, 127, 129, 255, 257, 1000, 1023, 4097 };
#define N_LENGTHS (sizeof lengths / sizeof lengths[0])
#define GUARD 16
#define SENTINEL 12345.678

static uint32_t cpu_isa(void)
{
	return probe_isa_effective(NULL);
}

static int supported(uint32_t requires)
{
	return (requires & ~cpu_isa()) == 0;
}

/* n + GUARD doubles after off leading ones, random, guards = SENTINEL. */
static double *rand_array(size_t n, size_t off, uint64_t *seed)
{
	double *x = malloc((off + n + GUARD) * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < off + n + GUARD; i++)
		x[i] = (i >= off && i < off + n) ? tu_randf(seed) : SENTINEL;
	return x;
}

static void assert_guards(const double *x, size_t n, size_t off)
{
	for (size_t i = 0; i < off; i++)
		assert_true(x[i] == SENTINEL);
	for (size_t i = off + n; i < off + n + GUARD; i++)
		assert_true(x[i] == SENTINEL);
}

/* --- bandwidth kernels ------------------------------------------------- */

static void test_bw_kernels_match_reference(void **state)
{
	(void)state;
	uint64_t seed = 42;
	int tested = 0;
	for (int k = 0; probe_bw_all[k]; k++) {
		const struct probe_bw_kernels *kern = probe_bw_all[k];
		if (!supported(kern->requires))
			continue;
		tested++;
		for (size_t li = 0; li < N_LENGTHS; li++) {
			for (size_t off = 0; off < 4; off += 3) {
				size_t n = lengths[li];
				double *a = rand_array(n, off, &seed);
				double *b = rand_array(n, off, &seed);
				double *c = rand_array(n, off, &seed);

				/* read: float64 sum; reordering costs <= n eps sum|a| */
				double ref = 0, mag = 0;
				for (size_t i = 0; i < n; i++) {
					ref += a[off + i];
					mag += fabs(a[off + i]);
				}
				double got = kern->read(a + off, n);
				assert_true(fabs(got - ref) <= (double)(n + 8) * DBL_EPSILON * mag);

				/* copy: exact, nothing outside [0, n) written */
				kern->copy(b + off, a + off, n);
				for (size_t i = 0; i < n; i++)
					assert_true(b[off + i] == a[off + i]);
				assert_guards(b, n, off);

				/* triad: fused or not, within 2 ulp of the terms */
				double *a2 = rand_array(n, off, &seed);
				double *b2 = rand_array(n, off, &seed);
				double s = tu_randf(&seed) * 4;
				kern->triad(a2 + off, b2 + off, c + off, s, n);
				for (size_t i = 0; i < n; i++) {
					double want = b2[off + i] + s * c[off + i];
					double tol = 2 * DBL_EPSILON *
						(fabs(b2[off + i]) + fabs(s * c[off + i]));
					assert_true(fabs(a2[off + i] - want) <= tol);
				}
				assert_guards(a2, n, off);
				assert_guards(a, n, off);
				assert_guards(c, n, off);
				free(a);
				free(b);
				free(c);
				free(a2);
				free(b2);
			}
		}
	}
	assert_true(tested >= 1);
}

static void test_kernel_selection(void **state)
{
	(void)state;
	/* nothing known: the generic kernels */
	assert_ptr_equal(probe_bw_select(0), &probe_bw_generic);
	assert_ptr_equal(probe_fp32_select(0), &probe_fp32_generic);
	assert_ptr_equal(probe_int8_select(0), &probe_int8_generic);
	/* everything: the first (widest) entry of each list */
	assert_ptr_equal(probe_bw_select(~0u), probe_bw_all[0]);
	assert_ptr_equal(probe_fp32_select(~0u), probe_fp32_all[0]);
	assert_ptr_equal(probe_int8_select(~0u), probe_int8_all[0]);
#if defined(__x86_64__)
	uint32_t avx2 = PROBE_ISA_BIT(PROBE_ISA_AVX2) | PROBE_ISA_BIT(PROBE_ISA_FMA);
	assert_ptr_equal(probe_bw_select(avx2), &probe_bw_avx2);
	assert_ptr_equal(probe_fp32_select(avx2), &probe_fp32_avx2);
	assert_ptr_equal(probe_int8_select(avx2), &probe_int8_avx2);
	assert_ptr_equal(probe_int8_select(avx2 | PROBE_ISA_BIT(PROBE_ISA_AVX_VNNI)),
			 &probe_int8_avxvnni);
	uint32_t avx512 = avx2 | PROBE_ISA_BIT(PROBE_ISA_AVX512F);
	assert_ptr_equal(probe_bw_select(avx512), &probe_bw_avx512);
	assert_ptr_equal(probe_int8_select(avx512), &probe_int8_avx2);
	assert_ptr_equal(probe_int8_select(avx512 | PROBE_ISA_BIT(PROBE_ISA_AVX512VNNI)),
			 &probe_int8_avx512);
#endif
	/* a known ISA limits the choice: nothing beyond it is added, and
	 * features the compiler cannot check pass through */
	struct probe_cpu cpu;
	memset(&cpu, 0, sizeof cpu);
	uint32_t detected = probe_isa_effective(NULL);
	cpu.isa = PROBE_ISA_BIT(PROBE_ISA_AVX512FP16) | (detected & PROBE_ISA_BIT(PROBE_ISA_AVX2));
	assert_int_equal(probe_isa_effective(&cpu), cpu.isa);
#if defined(__x86_64__)
	/* and what this CPU lacks is dropped from a profile that claims it */
	for (int f = PROBE_ISA_SSE42; f <= PROBE_ISA_AVX512VNNI; f++) {
		if (f == PROBE_ISA_F16C)
			continue;  /* not checked: passes through */
		cpu.isa = PROBE_ISA_BIT(f);
		assert_int_equal(probe_isa_effective(&cpu), detected & PROBE_ISA_BIT(f));
	}
#endif
}

/* --- compute kernels --------------------------------------------------- */

static void test_fp32_kernels_match_reference(void **state)
{
	(void)state;
	static const uint64_t iters[] = { 1, 2, 3, 17, 1000 };
	uint64_t seed = 7;
	int tested = 0;
	for (int k = 0; probe_fp32_all[k]; k++) {
		const struct probe_fp32_kernel *kern = probe_fp32_all[k];
		if (!supported(kern->requires))
			continue;
		tested++;
		assert_true(kern->lanes >= 1 && kern->accs >= 1);
		for (size_t t = 0; t < sizeof iters / sizeof iters[0]; t++) {
			float x0 = (float)tu_randf(&seed);
			float mul = (float)(0.75 + 0.24 * tu_randf(&seed));
			float add = (float)(0.1 * tu_randf(&seed));
			double want = 0;
			for (int j = 0; j < kern->accs; j++) {
				double x = PROBE_FP32_START(x0, j);
				for (uint64_t i = 0; i < iters[t]; i++)
					x = x * mul + add;
				want += (double)kern->lanes * x;
			}
			double chains = (double)kern->lanes * kern->accs;
			/* float rounding contracts with |mul| < 1: bounded by
			 * eps_f * scale / (1 - |mul|) per chain */
			double scale = fabs(x0) + 0.25 + fabs(add) / (1.0 - fabs(mul));
			double tol = chains * 8 * FLT_EPSILON * scale / (1.0 - fabs(mul));
			double got = kern->run(iters[t], x0, mul, add);
			assert_true(fabs(got - want) <= tol);
		}
	}
	assert_true(tested >= 1);
}

static void test_int8_kernels_match_reference(void **state)
{
	(void)state;
	static const uint64_t iters[] = { 1, 2, 3, 10, 33 };
	uint64_t seed = 9;
	int tested = 0;
	for (int k = 0; probe_int8_all[k]; k++) {
		const struct probe_int8_kernel *kern = probe_int8_all[k];
		if (!supported(kern->requires))
			continue;
		tested++;
		assert_true(kern->pairs >= 1 && kern->pairs <= 64 && kern->accs >= 1);
		for (size_t t = 0; t < sizeof iters / sizeof iters[0]; t++) {
			uint8_t a[64];
			int8_t b[64];
			/* never zero; small enough that 16-bit pair sums of the
			 * AVX2 kernel do not saturate */
			for (int j = 0; j < 64; j++) {
				a[j] = (uint8_t)(1 + tu_rand(&seed) % 127);
				int v = (int)(tu_rand(&seed) % 127) - 63;
				b[j] = (int8_t)(v == 0 ? 1 : v);
			}
			int64_t dot = 0;
			for (int j = 0; j < kern->pairs; j++)
				dot += (int64_t)a[j] * b[j];
			int64_t want = (int64_t)iters[t] * kern->accs * dot;
			assert_int_equal(kern->run(iters[t], a, b), want);
		}
	}
	assert_true(tested >= 1);
}

/* --- Sattolo and the chase --------------------------------------------- */

static void test_sattolo_single_cycle(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 2, 3, 4, 5, 16, 1000, 65537 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		for (uint64_t s0 = 1; s0 <= 3; s0++) {
			uint32_t n = sizes[si];
			uint64_t seed = s0 * 0x9e3779b97f4a7c15ull;
			uint32_t *p = malloc(n * sizeof *p);
			unsigned char *seen = calloc(n, 1);
			assert_non_null(p);
			assert_non_null(seen);
			probe_sattolo(p, n, &seed);
			uint32_t at = 0, steps = 0;
			do {
				assert_true(p[at] < n);
				assert_int_equal(seen[at], 0);  /* no shorter cycle */
				seen[at] = 1;
				at = p[at];
				steps++;
			} while (at != 0 && steps <= n);
			assert_int_equal(steps, n);         /* back at 0 after n */
			for (uint32_t i = 0; i < n; i++)
				assert_int_equal(seen[i], 1);
			free(p);
			free(seen);
		}
	}
}

struct node {
	const struct node *next;
	char pad[56];
};

static void test_chase_follows_permutation(void **state)
{
	(void)state;
	const uint32_t n = 4099;
	uint64_t seed = 11;
	uint32_t *p = malloc(n * sizeof *p);
	struct node *nodes = malloc(n * sizeof *nodes);
	assert_non_null(p);
	assert_non_null(nodes);
	assert_int_equal(sizeof(struct node), 64);
	probe_sattolo(p, n, &seed);
	for (uint32_t i = 0; i < n; i++)
		nodes[i].next = &nodes[p[i]];
	static const uint64_t loads[] = { 0, 1, 7, 8, 9, 100, 4098, 4099, 8198, 10001 };
	for (size_t k = 0; k < sizeof loads / sizeof loads[0]; k++) {
		uint32_t at = 5;
		for (uint64_t i = 0; i < loads[k]; i++)
			at = p[at];
		assert_ptr_equal(probe_chase(&nodes[5], loads[k]), &nodes[at]);
	}
	/* a full cycle returns to the start */
	assert_ptr_equal(probe_chase(&nodes[0], n), &nodes[0]);
	free(p);
	free(nodes);
}

/* --- statistics -------------------------------------------------------- */

static void test_stat_odd_count(void **state)
{
	(void)state;
	struct probe_stat st;
	memset(&st, 0, sizeof st);
	st.n = 3;
	st.samples[0] = 3;
	st.samples[1] = 1;
	st.samples[2] = 2;
	probe_stat_compute(&st, 1);
	assert_true(st.median == 2.0);
	assert_true(st.best == 3.0);
	assert_true(st.worst == 1.0);
	assert_true(fabs(st.mean - 2.0) < 1e-12);
	assert_true(fabs(st.stddev - 1.0) < 1e-12);
	/* samples stay in the order they were taken */
	assert_true(st.samples[0] == 3 && st.samples[1] == 1 && st.samples[2] == 2);
	probe_stat_compute(&st, 0);
	assert_true(st.best == 1.0);
	assert_true(st.worst == 3.0);
	assert_true(st.median == 2.0);
}

static void test_stat_even_count(void **state)
{
	(void)state;
	struct probe_stat st;
	memset(&st, 0, sizeof st);
	st.n = 4;
	st.samples[0] = 4;
	st.samples[1] = 1;
	st.samples[2] = 3;
	st.samples[3] = 2;
	probe_stat_compute(&st, 0);
	assert_true(fabs(st.median - 2.5) < 1e-12);
	assert_true(st.best == 1.0);
	assert_true(st.worst == 4.0);
	assert_true(fabs(st.mean - 2.5) < 1e-12);
	assert_true(fabs(st.stddev - sqrt(5.0 / 3.0)) < 1e-12);
	probe_stat_compute(&st, 1);
	assert_true(st.best == 4.0);
	assert_true(st.worst == 1.0);

	st.n = 1;
	probe_stat_compute(&st, 1);
	assert_true(st.median == 4.0 && st.best == 4.0 && st.worst == 4.0);
	assert_true(st.stddev == 0.0);

	st.n = 0;
	probe_stat_compute(&st, 1);
	assert_true(isnan(st.median) && isnan(st.best) && isnan(st.worst));
}

/* --- team -------------------------------------------------------------- */

#define TEAM_N 3

struct team_probe {
	atomic_int calls[TEAM_N];
	atomic_int bad_n;
	pthread_t who[TEAM_N];
};

static void team_count_fn(int tid, int n, void *arg)
{
	struct team_probe *tp = arg;
	if (n != TEAM_N || tid < 0 || tid >= TEAM_N) {
		atomic_fetch_add(&tp->bad_n, 1);
		return;
	}
	/* late finishers: probe_team_run must wait for them */
	usleep((useconds_t)(tid * 3000));
	atomic_fetch_add(&tp->calls[tid], 1);
	tp->who[tid] = pthread_self();
}

static void test_team_runs_each_thread_once(void **state)
{
	(void)state;
	char err[128] = "";
	struct probe_team *t = probe_team_new(TEAM_N, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(probe_team_threads(t), TEAM_N);
	int b = probe_team_bound(t);
	assert_true(b == 0 || b == 1);
	struct team_probe tp;
	memset(&tp, 0, sizeof tp);
	pthread_t first[TEAM_N];
	for (int run = 1; run <= 5; run++) {
		probe_team_run(t, team_count_fn, &tp);
		assert_int_equal(atomic_load(&tp.bad_n), 0);
		for (int i = 0; i < TEAM_N; i++)
			assert_int_equal(atomic_load(&tp.calls[i]), run);
		if (run == 1)
			memcpy(first, tp.who, sizeof first);
		/* distinct threads, the same ones every run, not the caller */
		for (int i = 0; i < TEAM_N; i++) {
			assert_true(pthread_equal(tp.who[i], first[i]));
			assert_false(pthread_equal(tp.who[i], pthread_self()));
			for (int j = i + 1; j < TEAM_N; j++)
				assert_false(pthread_equal(tp.who[i], tp.who[j]));
		}
	}
	probe_team_delete(t);
	probe_team_delete(NULL);

	/* 0 threads: one per physical core */
	t = probe_team_new(0, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(probe_team_threads(t), probe_physical_cores());
	assert_true(probe_team_numa_span(t) >= 1);
	probe_team_delete(t);
}

struct spin_probe {
	struct probe_spin bar;
	atomic_int phase_count[8];
	atomic_int bad;
};

static void spin_fn(int tid, int n, void *arg)
{
	struct spin_probe *sp = arg;
	(void)tid;
	for (int ph = 0; ph < 8; ph++) {
		atomic_fetch_add(&sp->phase_count[ph], 1);
		probe_spin_wait(&sp->bar);
		/* after the barrier every thread has counted this phase */
		if (atomic_load(&sp->phase_count[ph]) != n)
			atomic_fetch_add(&sp->bad, 1);
		probe_spin_wait(&sp->bar);
	}
}

static void test_spin_barrier(void **state)
{
	(void)state;
	char err[128];
	struct probe_team *t = probe_team_new(TEAM_N, err, sizeof err);
	assert_non_null(t);
	struct spin_probe sp;
	memset(&sp, 0, sizeof sp);
	probe_spin_init(&sp.bar, TEAM_N);
	probe_team_run(t, spin_fn, &sp);
	assert_int_equal(atomic_load(&sp.bad), 0);
	for (int ph = 0; ph < 8; ph++)
		assert_int_equal(atomic_load(&sp.phase_count[ph]), TEAM_N);
	probe_team_delete(t);
}

static void test_clock_monotonic(void **state)
{
	(void)state;
	double t0 = probe_now();
	double t1 = probe_now();
	assert_true(t0 > 0 && t1 >= t0);
}

/* --- measurement paths at small sizes ---------------------------------- */

struct progress_log {
	int calls;
	double last;
	int backwards;
};

static void progress_fn(const char *step, double f, void *user)
{
	struct progress_log *pl = user;
	if (!step || !*step || f < pl->last || f < 0 || f > 1)
		pl->backwards++;
	pl->last = f;
	pl->calls++;
}

static void assert_bw(const struct probe_bw *b, const char *kind, int threads,
		      int arrays, uint64_t max_array_bytes, int min_p, int max_p)
{
	assert_int_equal(b->src, PROBE_SRC_MEASURED);
	assert_true(isfinite(b->gbps) && b->gbps > 0);
	assert_true(strncmp(b->kernel, kind, strlen(kind)) == 0);
	assert_true(strlen(b->kernel) > strlen(kind) + 1);
	assert_int_equal(b->threads, threads);
	assert_int_equal(b->arrays, arrays);
	assert_true(b->array_bytes > 0 && b->array_bytes <= max_array_bytes);
	assert_true(b->bytes_per_pass == b->array_bytes * (uint64_t)arrays);
	assert_true(b->passes >= min_p && b->passes <= max_p);
	assert_int_equal(b->stat.n, b->passes);
	assert_true(b->gbps == b->stat.best);
	assert_true(b->stat.worst <= b->stat.median && b->stat.median <= b->stat.best);
	for (int i = 0; i < b->stat.n; i++)
		assert_true(isfinite(b->stat.samples[i]) && b->stat.samples[i] > 0);
}

static void test_memory_small_plan(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	struct progress_log pl = { 0 };
	struct probe_options opt = { 0 };
	opt.progress = progress_fn;
	opt.progress_user = &pl;
	struct probe_mem_plan plan = {
		.threads = 2,
		.array_bytes = 1 << 20,
		.min_passes = 2,
		.max_passes = 3,
		.block_seconds = 0.002,
		.lat_bytes = 1 << 20,
		.lat_loads = 20000,
		.lat_passes = 3,
	};
	assert_int_equal(probe_memory_measure_plan(&p, &opt, &plan), 0);
	const struct probe_memory *m = &p.mem;
	assert_bw(&m->read1, "read", 1, 1, 1 << 20, 2, 3);
	assert_bw(&m->copy1, "copy", 1, 2, 1 << 20, 2, 3);
	assert_bw(&m->triad1, "triad", 1, 3, 1 << 20, 2, 3);
	assert_bw(&m->read, "read", 2, 1, 1 << 20, 2, 3);
	assert_bw(&m->copy, "copy", 2, 2, 1 << 20, 2, 3);
	assert_bw(&m->triad, "triad", 2, 3, 1 << 20, 2, 3);
	/* both runs cover the same arrays */
	assert_true(m->read.array_bytes == m->read1.array_bytes);

	const struct probe_latency *l = &m->latency;
	assert_int_equal(l->src, PROBE_SRC_MEASURED);
	assert_true(isfinite(l->ns) && l->ns > 0);
	assert_true(l->ns == l->stat.median);
	assert_int_equal(l->stat.n, 3);
	assert_true(l->stat.best <= l->stat.median && l->stat.median <= l->stat.worst);
	assert_true(l->buffer_bytes == 1 << 20);
	assert_true(l->loads_per_pass == 20000);
	assert_true(strstr(l->method, "Sattolo") != NULL);

	assert_true(pl.calls >= 8);
	assert_int_equal(pl.backwards, 0);
	assert_true(pl.last == 1.0);
}

/* A machine (or a taskset) with one CPU: the all-core blocks run one
 * thread too and must still validate (they once reused the one-thread
 * triad scalar and failed the check). */
static void test_memory_one_thread_team(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	struct probe_mem_plan plan = {
		.threads = 1,
		.array_bytes = 1 << 20,
		.min_passes = 2,
		.max_passes = 3,
		.block_seconds = 0.002,
		.lat_bytes = 1 << 20,
		.lat_loads = 20000,
		.lat_passes = 3,
	};
	assert_int_equal(probe_memory_measure_plan(&p, NULL, &plan), 0);
	for (int i = 0; i < p.n_warnings; i++)
		if (strstr(p.warnings[i], "validation"))
			fail_msg("%s", p.warnings[i]);
	assert_bw(&p.mem.read1, "read", 1, 1, 1 << 20, 2, 3);
	assert_bw(&p.mem.triad1, "triad", 1, 3, 1 << 20, 2, 3);
	assert_bw(&p.mem.read, "read", 1, 1, 1 << 20, 2, 3);
	assert_bw(&p.mem.triad, "triad", 1, 3, 1 << 20, 2, 3);
}

/* The read-only plan (verify, calibrate): the all-core read alone,
 * validated, everything else left unknown. */
static void test_memory_read_only(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	struct probe_mem_plan plan = {
		.threads = 2,
		.array_bytes = 1 << 20,
		.min_passes = 2,
		.max_passes = 3,
		.block_seconds = 0.002,
		.lat_bytes = 1 << 20,
		.lat_loads = 20000,
		.lat_passes = 3,
		.read_only = 1,
	};
	assert_int_equal(probe_memory_measure_plan(&p, NULL, &plan), 0);
	for (int i = 0; i < p.n_warnings; i++)
		if (strstr(p.warnings[i], "validation"))
			fail_msg("%s", p.warnings[i]);
	assert_bw(&p.mem.read, "read", 2, 1, 1 << 20, 2, 3);
	assert_int_equal(p.mem.read1.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.mem.copy.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.mem.triad.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.mem.latency.src, PROBE_SRC_UNKNOWN);
}

static void test_memory_invalid_plan(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	struct probe_mem_plan plan = {
		.threads = 1, .array_bytes = 1 << 20, .min_passes = 2, .max_passes = PROBE_MAX_SAMPLES + 1,
		.block_seconds = 0.01, .lat_bytes = 1 << 20, .lat_loads = 10, .lat_passes = 1,
	};
	assert_int_equal(probe_memory_measure_plan(&p, NULL, &plan), -1);
	assert_int_equal(p.n_warnings, 1);
	assert_int_equal(p.mem.read.src, PROBE_SRC_UNKNOWN);
	assert_true(isnan(p.mem.read.gbps));
	assert_true(isnan(p.mem.latency.ns));
}

static void assert_peak(const struct probe_peak *k, const char *kind, int threads,
			int passes)
{
	assert_int_equal(k->src, PROBE_SRC_MEASURED);
	assert_true(isfinite(k->gops) && k->gops > 0);
	assert_true(strncmp(k->kernel, kind, strlen(kind)) == 0);
	assert_int_equal(k->threads, threads);
	assert_int_equal(k->passes, passes);
	assert_int_equal(k->stat.n, passes);
	assert_true(k->gops == k->stat.best);
	assert_true(k->stat.worst <= k->stat.median && k->stat.median <= k->stat.best);
}

static void test_compute_small_plan(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	struct probe_compute_plan plan = { .threads = 2, .pass_seconds = 0.002, .passes = 3 };
	assert_int_equal(probe_compute_measure_plan(&p, NULL, &plan), 0);
	assert_peak(&p.compute.fp32_1, "fp32", 1, 3);
	assert_peak(&p.compute.fp32, "fp32", 2, 3);
	assert_peak(&p.compute.int8_1, "int8", 1, 3);
	assert_peak(&p.compute.int8, "int8", 2, 3);
	/* the widest kernel this CPU has */
	uint32_t isa = cpu_isa();
	assert_string_equal(p.compute.fp32.kernel, probe_fp32_select(isa)->name);
	assert_string_equal(p.compute.int8.kernel, probe_int8_select(isa)->name);

	plan.passes = 0;
	assert_int_equal(probe_compute_measure_plan(&p, NULL, &plan), -1);
	assert_int_equal(p.compute.fp32.src, PROBE_SRC_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bw_kernels_match_reference),
		cmocka_unit_test(test_kernel_selection),
		cmocka_unit_test(test_fp32_kernels_match_reference),
		cmocka_unit_test(test_int8_kernels_match_reference),
		cmocka_unit_test(test_sattolo_single_cycle),
		cmocka_unit_test(test_chase_follows_permutation),
		cmocka_unit_test(test_stat_odd_count),
		cmocka_unit_test(test_stat_even_count),
		cmocka_unit_test(test_team_runs_each_thread_once),
		cmocka_unit_test(test_spin_barrier),
		cmocka_unit_test(test_clock_monotonic),
		cmocka_unit_test(test_memory_small_plan),
		cmocka_unit_test(test_memory_one_thread_team),
		cmocka_unit_test(test_memory_read_only),
		cmocka_unit_test(test_memory_invalid_plan),
		cmocka_unit_test(test_compute_small_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
