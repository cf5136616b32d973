/*
 * model_db: what models, quantizations and machines are.
 *
 * This header starts with the machine side: struct hw_spec is the
 * hardware description of DESIGN.md (llmcap.hardware/1). A catalog entry,
 * a user's JSON file and "this machine" (built from the probe's profile)
 * are all a struct hw_spec; the simulator takes only this type.
 *
 * Unknown numbers are NAN. Capacities: memory_gb is GiB (2^30 bytes), the
 * unit memory is sold in; bandwidths are GB/s (1e9 bytes/s).
 */
#ifndef LLMCAP_MODEL_DB_H
#define LLMCAP_MODEL_DB_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"
#include "model_db/gguf.h"
#include "model_db/quant.h"

#define HW_SCHEMA "llmcap.hardware/1"
#define HW_MAX_ACCEL 8

struct hw_accel {
	char name[96];
	char kind[8];                /* "gpu" | "npu" */
	char backend[16];            /* "cuda", "metal", "opencl", ... */
	double memory_gb;
	double memory_bandwidth_gbps;
	double fp16_tflops;
	double int8_tops;
	double link_gbps;
	int unified_memory;
};

/* Where each host figure came from, for "--hw this" (measured) versus a
 * catalog entry (spec). */
struct hw_host {
	char cpu[96];
	int cores;
	double memory_gb;
	double memory_available_gb;  /* usable now; NAN for catalog entries */
	double memory_bandwidth_gbps;
	double fp32_gflops;
	double int8_gops;
	enum probe_src memory_bandwidth_src, fp32_src, int8_src;
};

struct hw_spec {
	char id[64];
	char name[160];
	double price_usd;
	double power_w;
	char source[200];
	struct hw_host host;
	int n_accel;
	struct hw_accel accel[HW_MAX_ACCEL];
	double storage_read_gbps;
	/* "measured" block: set when built from a probe profile */
	int measured;
	char measured_method[200];
	int64_t measured_unix;
	char fingerprint[24];
};

/* Zeroes h and sets every number to NAN. */
void mdb_hw_init(struct hw_spec *h);

/* "this machine" as a hardware description: host figures from the
 * profile's measurements (all-core read bandwidth, FP32 and INT8 peaks).
 * Accelerators are not filled yet (the probe does not measure them). */
void mdb_hw_from_profile(struct hw_spec *h, const struct probe_profile *p);

#endif
