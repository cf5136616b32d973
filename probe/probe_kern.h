/*
 * Private to probe/: the measurement kernels (one generic C file plus one
 * file per ISA with the same signatures), the kernel tables the probe
 * picks from, a spin barrier for timed passes, and the sized entry points
 * the tests use. Nothing outside probe/ and tests/ includes this file.
 *
 * Kernel tables list the widest first and end with the generic one, which
 * needs nothing and is the reference the others are tested against.
 * x86 ISA tables exist only on x86-64 builds (the Makefile drops the
 * *_avx2.c / *_avxvnni.c / *_avx512.c files elsewhere).
 */
#ifndef LLMCAP_PROBE_KERN_H
#define LLMCAP_PROBE_KERN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"

#define PROBE_ISA_BIT(f) (1u << (f))

/* --- memory bandwidth kernels (double arrays, n elements, any n) ------- */

/* Sum of a[0..n): the checksum that keeps the loads alive. */
typedef double (*probe_read_fn)(const double *a, size_t n);
/* b[i] = a[i] (arrays must not overlap). */
typedef void (*probe_copy_fn)(double *restrict b, const double *restrict a,
			      size_t n);
/* a[i] = b[i] + s * c[i] (arrays must not overlap; may be fused). */
typedef void (*probe_triad_fn)(double *restrict a, const double *restrict b,
			       const double *restrict c, double s, size_t n);

struct probe_bw_kernels {
	const char *isa;             /* "generic", "avx2", "avx512" */
	uint32_t requires;           /* PROBE_ISA_BIT()s the CPU needs */
	probe_read_fn read;
	probe_copy_fn copy;
	probe_triad_fn triad;
};

extern const struct probe_bw_kernels probe_bw_generic;
#if defined(__x86_64__)
extern const struct probe_bw_kernels probe_bw_avx2;
extern const struct probe_bw_kernels probe_bw_avx512;
#endif
/* Widest first, NULL-terminated; the last entry is probe_bw_generic. */
extern const struct probe_bw_kernels *const probe_bw_all[];

/* Follows loads pointers from p (each node's first word points to the
 * next node) and returns where it ends. */
const void *probe_chase(const void *p, uint64_t loads);

/* Sattolo's algorithm: p becomes a random cyclic permutation of 0..n-1
 * with a single cycle (p[i] is the successor of i). seed is advanced. */
void probe_sattolo(uint32_t *p, uint32_t n, uint64_t *seed);

/* --- compute peak kernels ---------------------------------------------- */

/* FP32: accs vector accumulators of lanes floats; accumulator k starts at
 * PROBE_FP32_START(x0, k) in every lane (distinct starts, so that no
 * compiler may merge the chains), then iters times acc = acc * mul + add
 * (one FMA). Returns the sum of every lane of every accumulator.
 * Ops per iteration: 2 * lanes * accs. */
#define PROBE_FP32_START(x0, k) ((float)(x0) + (float)(k) * 0.015625f)
struct probe_fp32_kernel {
	const char *name;            /* "fp32 fma avx512" */
	uint32_t requires;
	int lanes, accs;
	double (*run)(uint64_t iters, float x0, float mul, float add);
};

/* INT8: accs accumulators of int32 lanes, each iteration adding the dot
 * product of the first pairs bytes of a (unsigned) and b (signed), 64
 * bytes each. Accumulator k's lanes start at k+1, -(k+1), k+1, ...
 * (distinct per accumulator, summing to 0), so the result, the sum over
 * all lanes, is iters * accs * dot while nothing wraps (long timed runs
 * wrap; that is fine). Ops per iteration: 2 * pairs * accs. The AVX2
 * kernel saturates 16-bit pair sums (keep a[j] <= 127 and |b[j]| <= 64
 * when comparing with the reference). */
#define PROBE_INT8_START64(k) \
	((int64_t)(((uint64_t)(uint32_t)-(int32_t)((k) + 1) << 32) | (uint32_t)((k) + 1)))
struct probe_int8_kernel {
	const char *name;            /* "int8 vnni avx512" */
	uint32_t requires;
	int pairs, accs;
	int64_t (*run)(uint64_t iters, const uint8_t a[64], const int8_t b[64]);
};

extern const struct probe_fp32_kernel probe_fp32_generic;
extern const struct probe_int8_kernel probe_int8_generic;
#if defined(__x86_64__)
extern const struct probe_fp32_kernel probe_fp32_avx2, probe_fp32_avx512;
extern const struct probe_int8_kernel probe_int8_avx2, probe_int8_avxvnni,
	probe_int8_avx512;
#endif
/* Widest first, NULL-terminated; the last entries are the generic ones. */
extern const struct probe_fp32_kernel *const probe_fp32_all[];
extern const struct probe_int8_kernel *const probe_int8_all[];

/* --- ISA selection ----------------------------------------------------- */

/* The ISA bits the kernels may use: cpu->isa (cpu may be NULL), or when it
 * is 0 (unknown) what this CPU and OS support per the compiler's CPU
 * detection. On x86 the features that detection knows are also removed
 * from cpu->isa when this CPU lacks them, so a profile that claims too
 * much never selects a kernel that would fault. */
uint32_t probe_isa_effective(const struct probe_cpu *cpu);
/* First table entry whose requires are all in isa (never NULL). */
const struct probe_bw_kernels *probe_bw_select(uint32_t isa);
const struct probe_fp32_kernel *probe_fp32_select(uint32_t isa);
const struct probe_int8_kernel *probe_int8_select(uint32_t isa);

/* NUMA nodes the team's threads sit on (1 when unknown or unbound). */
int probe_team_numa_span(const struct probe_team *t);

/* --- spin barrier for timed passes (probe_team.c) ---------------------- */

/* All n threads call probe_spin_wait; none returns before all arrived.
 * Spins (pausing, yielding after a while) so that release is fast. */
struct probe_spin {
	atomic_uint count;
	atomic_uint gen;
	unsigned n;
};
void probe_spin_init(struct probe_spin *b, unsigned n);
void probe_spin_wait(struct probe_spin *b);

/* --- sized entry points (the tests use small sizes) -------------------- */

struct probe_mem_plan {
	int threads;                 /* all-core threads (>= 1) */
	uint64_t array_bytes;        /* each array, all threads together */
	int min_passes, max_passes;  /* timed passes per block (<= 32) */
	double block_seconds;        /* passes = this / warm-up pass, bounded */
	uint64_t lat_bytes;          /* pointer-chase buffer */
	uint64_t lat_loads;          /* dependent loads per pass */
	int lat_passes;              /* timed chase passes (<= 32) */
	int read_only;               /* only the all-core read (no latency) */
};

/* Measures with explicit sizes; fills p->mem (not its sizes) as
 * probe_measure_memory does. Returns 0, or -1 with a warning added and
 * the figures that could not be measured unknown. */
int probe_memory_measure_plan(struct probe_profile *p,
			      const struct probe_options *opt,
			      const struct probe_mem_plan *plan);

struct probe_compute_plan {
	int threads;                 /* all-core threads (>= 1) */
	double pass_seconds;         /* calibrated length of one pass */
	int passes;                  /* timed passes (<= 32) */
};

/* Fills p->compute as probe_measure_compute does; 0, or -1 with a
 * warning added and the peaks unknown. */
int probe_compute_measure_plan(struct probe_profile *p,
			       const struct probe_options *opt,
			       const struct probe_compute_plan *plan);

#endif
