/*
 * probe: CPU compute peaks that prefill predictions need: FP32 FMA
 * GFLOPS and INT8 dot-product GOPS, one core and all cores.
 *
 * The widest kernel the CPU has runs from registers only (no memory
 * traffic): independent FMA / vpdpbusd chains, enough of them to hide the
 * latency. The iteration count is calibrated on thread 0 so that a pass
 * lasts plan->pass_seconds; a block is one warm-up pass (dropped) and N
 * timed passes, each timed from the earliest start to the latest end over
 * the team's threads. 1 FMA lane = 2 FLOP; 1 int8 multiply-add pair = 2 OP.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"
#include "probe/probe_kern.h"

const struct probe_fp32_kernel *const probe_fp32_all[] = {
#if defined(__x86_64__)
	&probe_fp32_avx512,
	&probe_fp32_avx2,
#endif
	&probe_fp32_generic,
	NULL,
};

const struct probe_int8_kernel *const probe_int8_all[] = {
#if defined(__x86_64__)
	&probe_int8_avx512,
	&probe_int8_avxvnni,
	&probe_int8_avx2,
#endif
	&probe_int8_generic,
	NULL,
};

const struct probe_fp32_kernel *probe_fp32_select(uint32_t isa)
{
	for (int i = 0; probe_fp32_all[i]; i++)
		if ((probe_fp32_all[i]->requires & ~isa) == 0)
			return probe_fp32_all[i];
	return &probe_fp32_generic;
}

const struct probe_int8_kernel *probe_int8_select(uint32_t isa)
{
	for (int i = 0; probe_int8_all[i]; i++)
		if ((probe_int8_all[i]->requires & ~isa) == 0)
			return probe_int8_all[i];
	return &probe_int8_generic;
}

struct cmp_slot {
	_Alignas(64) double ts[PROBE_MAX_SAMPLES + 1];
	double te[PROBE_MAX_SAMPLES + 1];
	double sink;                 /* results, so no pass is dead code */
};

struct cmp_ctx {
	const struct probe_compute_plan *plan;
	const struct probe_fp32_kernel *f;
	const struct probe_int8_kernel *q;
	int int8;                    /* which of the two runs */
	uint64_t iters;              /* per pass and thread */
	int active;
	int npass;
	struct probe_spin bar;
	struct cmp_slot *slots;      /* (team threads) */
	double pass_s[PROBE_MAX_SAMPLES + 1];  /* [0] is the warm-up */
	uint8_t a[64];
	int8_t b[64];
};

static double run_kernel(struct cmp_ctx *c, uint64_t iters)
{
	if (c->int8)
		return (double)c->q->run(iters, c->a, c->b);
	return c->f->run(iters, 0.5f, 0.9999f, 1e-4f);
}

static double ops_per_iter(const struct cmp_ctx *c)
{
	if (c->int8)
		return 2.0 * c->q->pairs * c->q->accs;
	return 2.0 * c->f->lanes * c->f->accs;
}

/* Thread 0: the iteration count that makes one pass last pass_seconds. */
static void calibrate_fn(int tid, int n, void *arg)
{
	struct cmp_ctx *c = arg;
	(void)n;
	if (tid != 0)
		return;
	double target = c->plan->pass_seconds;
	uint64_t iters = 256;
	for (;;) {
		double t0 = probe_now();
		c->slots[0].sink += run_kernel(c, iters);
		double t = probe_now() - t0;
		if (t >= target / 4 || iters >= (1ull << 40)) {
			double scale = t > 0 ? target / t : 1.0;
			double it = (double)iters * scale;
			c->iters = it < 1 ? 1 : (uint64_t)it;
			return;
		}
		iters *= t < target / 64 ? 8 : 2;
	}
}

static void block_fn(int tid, int n, void *arg)
{
	struct cmp_ctx *c = arg;
	(void)n;
	if (tid >= c->active)
		return;
	struct cmp_slot *s = &c->slots[tid];
	for (int i = 0; i <= c->npass; i++) {
		probe_spin_wait(&c->bar);
		s->ts[i] = probe_now();
		s->sink += run_kernel(c, c->iters);
		s->te[i] = probe_now();
	}
}

static void run_block(struct probe_team *team, struct cmp_ctx *c, int active,
		      struct probe_peak *out)
{
	c->active = active;
	c->npass = c->plan->passes;
	probe_spin_init(&c->bar, (unsigned)active);
	probe_team_run(team, block_fn, c);

	probe_peak_unknown(out);
	double ops = (double)active * (double)c->iters * ops_per_iter(c);
	for (int i = 0; i <= c->npass; i++) {
		double t0 = c->slots[0].ts[i], t1 = c->slots[0].te[i];
		for (int j = 1; j < active; j++) {
			if (c->slots[j].ts[i] < t0)
				t0 = c->slots[j].ts[i];
			if (c->slots[j].te[i] > t1)
				t1 = c->slots[j].te[i];
		}
		c->pass_s[i] = t1 - t0;
	}
	out->src = PROBE_SRC_MEASURED;
	snprintf(out->kernel, sizeof out->kernel, "%s",
		 c->int8 ? c->q->name : c->f->name);
	out->threads = active;
	out->passes = c->npass;
	out->stat.n = c->npass;
	for (int i = 0; i < c->npass; i++)
		out->stat.samples[i] = ops / c->pass_s[i + 1] / 1e9;
	probe_stat_compute(&out->stat, 1);
	out->gops = out->stat.best;
}

static void progress(const struct probe_options *opt, const char *step, double f)
{
	if (opt && opt->progress)
		opt->progress(step, f, opt->progress_user);
}

int probe_compute_measure_plan(struct probe_profile *p, const struct probe_options *opt,
			       const struct probe_compute_plan *plan)
{
	struct probe_compute *pc = &p->compute;
	probe_peak_unknown(&pc->fp32_1);
	probe_peak_unknown(&pc->fp32);
	probe_peak_unknown(&pc->int8_1);
	probe_peak_unknown(&pc->int8);
	if (plan->threads < 1 || plan->passes < 1 || plan->passes > PROBE_MAX_SAMPLES ||
	    !(plan->pass_seconds > 0)) {
		probe_warn(p, "compute: invalid measurement plan");
		return -1;
	}

	int rc = -1;
	char err[128] = "";
	struct probe_team *team = NULL;
	struct cmp_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		probe_warn(p, "compute: out of memory");
		return -1;
	}
	uint32_t isa = probe_isa_effective(&p->cpu);
	c->plan = plan;
	c->f = probe_fp32_select(isa);
	c->q = probe_int8_select(isa);
	for (int j = 0; j < 64; j++) {
		c->a[j] = (uint8_t)(1 + (j * 37) % 120);
		c->b[j] = (int8_t)((j * 53) % 120 - 60);
	}

	progress(opt, "compute: starting threads", 0.0);
	team = probe_team_new(plan->threads, err, sizeof err);
	if (!team) {
		probe_warn(p, "compute: %s", err);
		goto out;
	}
	int T = probe_team_threads(team);
	c->slots = aligned_alloc(64, (size_t)T * sizeof *c->slots);
	if (!c->slots) {
		probe_warn(p, "compute: out of memory");
		goto out;
	}
	memset(c->slots, 0, (size_t)T * sizeof *c->slots);

	for (int int8 = 0; int8 <= 1; int8++) {
		c->int8 = int8;
		progress(opt, int8 ? "compute: int8, 1 thread" : "compute: fp32, 1 thread",
			 int8 ? 0.5 : 0.0);
		probe_team_run(team, calibrate_fn, c);
		run_block(team, c, 1, int8 ? &pc->int8_1 : &pc->fp32_1);
		progress(opt, int8 ? "compute: int8, all cores" : "compute: fp32, all cores",
			 int8 ? 0.75 : 0.25);
		run_block(team, c, T, int8 ? &pc->int8 : &pc->fp32);
	}
	rc = 0;
out:
	progress(opt, "compute: done", 1.0);
	free(c->slots);
	probe_team_delete(team);
	free(c);
	return rc;
}

int probe_measure_compute(struct probe_profile *p, const struct probe_options *opt)
{
	static const struct probe_options none = { 0 };
	if (!opt)
		opt = &none;
	struct probe_compute_plan plan = { 0 };
	plan.threads = probe_physical_cores();
	if (opt->max_threads > 0 && opt->max_threads < plan.threads)
		plan.threads = opt->max_threads;
	plan.pass_seconds = opt->quick ? 0.02 : 0.05;
	plan.passes = opt->quick ? 5 : 12;
	return probe_compute_measure_plan(p, opt, &plan);
}
