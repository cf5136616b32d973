/* cli: the memory read bandwidth measured now, for verify and calibrate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/resolve.h"
#include "kernels/kernels.h"
#include "probe/probe.h"

int cli_read_bw_now(struct kern_pool *pool, double *gbps, char *err, size_t errlen)
{
	struct probe_profile *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	struct probe_options opt = {0};
	opt.quick = 1;
	opt.max_threads = kern_pool_threads(pool);
	opt.mem_read_only = 1;
	if (probe_identify(p, err, errlen) == 0) {
		/* the probe's threads inherit this thread's binding (the pool's core
		 * 0), and it sizes its team from that affinity: without this it
		 * measured one core's bandwidth */
		kern_pool_caller_unbind(pool);
		probe_measure_memory(p, &opt);
		kern_pool_caller_rebind(pool);
		if (p->mem.read.src == PROBE_SRC_MEASURED && p->mem.read.gbps > 0 && isfinite(p->mem.read.gbps)) {
			*gbps = p->mem.read.gbps;
			rc = 0;
		} else {
			snprintf(err, errlen, "the memory read bandwidth could not be measured%s%s",
				 p->n_warnings > 0 ? ": " : "", p->n_warnings > 0 ? p->warnings[p->n_warnings - 1] : "");
		}
	}
	free(p);
	return rc;
}
