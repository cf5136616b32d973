/* probe: the whole probe, in order — identity, topology, memory, compute,
 * accelerators. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"

static void progress(const struct probe_options *opt, const char *step, double f)
{
	if (opt && opt->progress)
		opt->progress(step, f, opt->progress_user);
}

/* Maps a stage's own 0..1 progress into [lo, hi] of the whole probe. */
struct stage {
	const struct probe_options *outer;
	double lo, hi;
};

static void stage_progress(const char *step, double f, void *user)
{
	const struct stage *st = user;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	st->outer->progress(step, st->lo + f * (st->hi - st->lo), st->outer->progress_user);
}

static struct probe_options stage_options(const struct probe_options *opt, struct stage *st,
					  double lo, double hi)
{
	struct probe_options o = *opt;
	st->outer = opt;
	st->lo = lo;
	st->hi = hi;
	if (opt->progress) {
		o.progress = stage_progress;
		o.progress_user = st;
	}
	return o;
}

/* CPU identity, topology and memory size: fast, no timing. Returns the
 * number of parts that could be read (0..3). */
static int identify(struct probe_profile *p, struct probe_profile *warn_to)
{
	int parts = 0;
	parts += probe_cpu_identify(&p->cpu, warn_to) == 0;
	if (probe_topo_read(&p->topo, NULL, warn_to) == 0) {
		/* libcpuid counts one package; hwloc counts the machine */
		p->cpu.cores = p->topo.cores;
		p->cpu.threads = p->topo.pus;
		parts++;
	} else if (p->cpu.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		p->cpu.threads = n > 0 ? (int)n : 0;
	}
	parts += probe_memory_size(&p->mem, warn_to) == 0;
	uint64_t numa_sum = 0;
	for (int i = 0; i < p->topo.n_numa; i++)
		numa_sum += p->topo.numa[i].memory_bytes;
	if (warn_to && numa_sum && p->mem.total_bytes &&
	    (numa_sum < p->mem.total_bytes * 0.9 || numa_sum > p->mem.total_bytes * 1.1))
		probe_warn(warn_to, "NUMA nodes report %.1f GiB but the OS reports %.1f GiB in total "
			   "(memory outside the NUMA nodes, as some VMs add it); sizes use the OS figure",
			   numa_sum / 1073741824.0, p->mem.total_bytes / 1073741824.0);
	return parts;
}

int probe_identify(struct probe_profile *p, char *err, size_t errlen)
{
	probe_profile_init(p);
	p->created_unix = (int64_t)time(NULL);
	if (gethostname(p->hostname, sizeof p->hostname) != 0)
		p->hostname[0] = 0;
	p->hostname[sizeof p->hostname - 1] = 0;
	if (identify(p, p) == 0) {
		if (err)
			snprintf(err, errlen, "could not read CPU, topology or memory size of this "
				 "machine (libcpuid, hwloc and /proc all failed)");
		return -1;
	}
	probe_fingerprint(p, p->fingerprint, sizeof p->fingerprint);
	return 0;
}

int probe_run(struct probe_profile *p, const struct probe_options *opt,
	      char *err, size_t errlen)
{
	double t0 = probe_now();
	struct probe_options none = {0};
	if (!opt)
		opt = &none;

	progress(opt, "CPU identity and topology", 0.0);
	if (probe_identify(p, err, errlen) != 0)
		return -1;
	p->quick = opt->quick;
	progress(opt, "CPU clock", 0.03);
	probe_cpu_clocks(&p->cpu, p);

	struct stage st;
	struct probe_options o = stage_options(opt, &st, 0.05, 0.8);
	probe_measure_memory(p, &o);
	o = stage_options(opt, &st, 0.8, 0.93);
	probe_measure_compute(p, &o);
	if (!opt->no_accel) {
		progress(opt, "accelerators", 0.93);
		probe_measure_accel(p, opt);
	}
	progress(opt, "done", 1.0);
	p->seconds = probe_now() - t0;
	return 0;
}

void probe_machine_fingerprint(char *out, size_t outlen)
{
	struct probe_profile here;
	probe_profile_init(&here);
	identify(&here, NULL);
	probe_fingerprint(&here, out, outlen);
}
