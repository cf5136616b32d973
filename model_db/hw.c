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

/* The probe's GPUs as accelerators of h: memory, bandwidth (the read
 * kernel when measured, else the device copy, else the driver's spec
 * figure), FP16 matrix throughput, host link (pinned host-to-device).
 * NPUs and OpenCL CPU devices are left out (no engine runs models on
 * them through llmcap yet); so is a GPU with neither memory size nor any
 * bandwidth figure. Writes a short account into how. */
static void hw_accels_from_profile(struct hw_spec *h, const struct probe_profile *p,
				   char *how, size_t howlen)
{
	const double gib = 1024.0 * 1024.0 * 1024.0;
	int left = 0;
	for (int i = 0; i < p->n_accel && i < PROBE_MAX_ACCEL; i++) {
		const struct probe_accel *a = &p->accel[i];
		if (strcmp(a->kind, "gpu") != 0) {
			left++;
			continue;
		}
		double bw = NAN;
		enum probe_src bw_src = PROBE_SRC_UNKNOWN;
		if (a->read.src == PROBE_SRC_MEASURED && a->read.value > 0) {
			bw = a->read.value;
			bw_src = PROBE_SRC_MEASURED;
		} else if (a->copy.src == PROBE_SRC_MEASURED && a->copy.value > 0) {
			bw = a->copy.value;
			bw_src = PROBE_SRC_MEASURED;
		} else if (a->spec_bandwidth_gbps > 0) {
			bw = a->spec_bandwidth_gbps;
			bw_src = PROBE_SRC_REPORTED;
		}
		if (!a->memory_bytes || !(bw > 0) || h->n_accel >= HW_MAX_ACCEL) {
			left++;
			continue;
		}
		struct hw_accel *x = &h->accel[h->n_accel++];
		snprintf(x->name, sizeof x->name, "%s", a->name);
		snprintf(x->kind, sizeof x->kind, "gpu");
		snprintf(x->backend, sizeof x->backend, "%s", a->backend);
		x->memory_gb = (double)a->memory_bytes / gib;
		x->memory_bandwidth_gbps = bw;
		x->memory_bandwidth_src = bw_src;
		if (a->fp16.src == PROBE_SRC_MEASURED && a->fp16.value > 0) {
			x->fp16_tflops = a->fp16.value;
			x->fp16_src = PROBE_SRC_MEASURED;
		}
		if (a->h2d.src == PROBE_SRC_MEASURED && a->h2d.value > 0) {
			x->link_gbps = a->h2d.value;
			x->link_src = PROBE_SRC_MEASURED;
		}
		x->unified_memory = a->unified_memory;
	}
	if (h->n_accel == 0)
		snprintf(how, howlen, "gpu: %s", p->accel_note[0] ? "none found" : "not probed");
	else
		snprintf(how, howlen, "gpu: %d (read or copy bandwidth, fp16 matrix, pinned h2d)%s",
			 h->n_accel, left ? ", others unused" : "");
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
	char accel_how[120] = "";
	hw_accels_from_profile(h, p, accel_how, sizeof accel_how);
	h->measured = 1;
	h->measured_unix = p->created_unix;
	snprintf(h->fingerprint, sizeof h->fingerprint, "%s", p->fingerprint);
	snprintf(h->measured_method, sizeof h->measured_method,
		 "memory bandwidth: %s, %d threads; fp32: %s; int8: %s; %s",
		 p->mem.read.kernel[0] ? p->mem.read.kernel : "not measured", p->mem.read.threads,
		 p->compute.fp32.kernel[0] ? p->compute.fp32.kernel : "not measured",
		 p->compute.int8.kernel[0] ? p->compute.int8.kernel : "not measured", accel_how);
}
