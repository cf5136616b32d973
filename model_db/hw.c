/* model_db: the hardware description, and "this machine" from a profile. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model_db/model_db.h"

void mdb_hw_init(struct hw_spec *h)
{
	memset(h, 0, sizeof *h);
	h->price_usd = h->power_w = NAN;
	h->host.memory_gb = h->host.memory_available_gb = NAN;
	h->host.memory_bandwidth_gbps = h->host.fp32_gflops = h->host.int8_gops = NAN;
	h->storage_read_gbps = NAN;
	h->storage_mmap_read_gbps = NAN;
	for (int i = 0; i < HW_MAX_ACCEL; i++) {
		struct hw_accel *a = &h->accel[i];
		a->memory_gb = a->memory_bandwidth_gbps = a->fp16_tflops = NAN;
		a->int8_tops = a->link_gbps = NAN;
	}
}

void mdb_hw_from_profile(struct hw_spec *h, const struct probe_profile *p)
{
	const double gib = 1024.0 * 1024.0 * 1024.0;
	mdb_hw_init(h);
	snprintf(h->id, sizeof h->id, "this");
	snprintf(h->name, sizeof h->name, "this machine: %s, %d cores, %.0f GiB",
		 p->cpu.brand[0] ? p->cpu.brand : "unknown CPU", p->cpu.cores,
		 (double)p->mem.total_bytes / gib);
	snprintf(h->source, sizeof h->source, "llmcap probe %s%s", p->tool_version,
		 p->quick ? " --quick" : "");
	snprintf(h->host.cpu, sizeof h->host.cpu, "%s", p->cpu.brand);
	h->host.cores = p->cpu.cores;
	if (p->mem.total_bytes)
		h->host.memory_gb = (double)p->mem.total_bytes / gib;
	if (p->mem.available_bytes)
		h->host.memory_available_gb = (double)p->mem.available_bytes / gib;
	h->host.memory_bandwidth_gbps = p->mem.read.gbps;
	h->host.memory_bandwidth_src = p->mem.read.src;
	h->host.fp32_gflops = p->compute.fp32.gops;
	h->host.fp32_src = p->compute.fp32.src;
	h->host.int8_gops = p->compute.int8.gops;
	h->host.int8_src = p->compute.int8.src;
	/* storage: the first measured place (where models live) */
	for (int i = 0; i < p->n_storage; i++) {
		const struct probe_storage *st = &p->storage[i];
		if (!(st->seq_read_gbps > 0))
			continue;
		h->storage_read_gbps = st->seq_read_gbps;
		if (st->mmap_read_gbps > 0)
			h->storage_mmap_read_gbps = st->mmap_read_gbps;
		break;
	}
	h->measured = 1;
	h->measured_unix = p->created_unix;
	snprintf(h->fingerprint, sizeof h->fingerprint, "%s", p->fingerprint);
	snprintf(h->measured_method, sizeof h->measured_method,
		 "memory bandwidth: %s, %d threads; fp32: %s; int8: %s",
		 p->mem.read.kernel[0] ? p->mem.read.kernel : "not measured", p->mem.read.threads,
		 p->compute.fp32.kernel[0] ? p->compute.fp32.kernel : "not measured",
		 p->compute.int8.kernel[0] ? p->compute.int8.kernel : "not measured");
}
