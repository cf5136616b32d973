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
#include "model_db/model.h"

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
	/* for "--hw this": MEASURED when llmcap probe timed the figure on
	 * this machine; UNKNOWN (0) for catalog and user entries (spec) */
	enum probe_src memory_bandwidth_src, fp16_src, link_src;
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
	char price_date[8];          /* "YYYY-MM" of price_usd; "" unknown */
	double power_w;
	char source[640];
	struct hw_host host;
	int n_accel;
	struct hw_accel accel[HW_MAX_ACCEL];
	double storage_read_gbps;
	/* measured by llmcap probe --storage (NAN otherwise; not in the JSON
	 * schema): reads through mmap page faults, as llama.cpp loads weights */
	double storage_mmap_read_gbps;
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

/* ---- hardware catalog (model_db/hw_catalog.c) ------------------------ */
/* The built-in catalog (model_db/data/hardware.json) plus user additions
 * from $XDG_CONFIG_HOME/llmcap/hardware/NAME.json (default
 * ~/.config/llmcap/hardware), each file one llmcap.hardware/1 object; a
 * user entry with a built-in id replaces it. Errors name the file (or
 * "built-in catalog"), the entry id, the field and what was expected. */
struct mdb_hw_catalog {
	struct hw_spec *items;       /* n entries, built-in first, then user files by name */
	int n;
	int n_builtin;
};

/* Parses one llmcap.hardware/1 object from text (len bytes, need not be
 * NUL-terminated) into out; origin names the input in messages (a path).
 * Strict: types, ranges (capacities >= 0, bandwidths > 0), string
 * lengths, at most HW_MAX_ACCEL accelerators. Missing optional numbers
 * are NAN; fp16_tflops is optional too (unknown when not published).
 * A unified-memory accelerator without memory_gb / bandwidth gets the
 * host's. 0, or -2 with err set. */
int mdb_hw_parse(const char *text, size_t len, const char *origin,
		 struct hw_spec *out, char *err, size_t errlen);

/* Loads the built-in catalog and the user files. 0; -2 bad input (a bad
 * user file: err names it); -1 out of memory. Free with
 * mdb_hw_catalog_free (also safe after a failed load). */
int mdb_hw_catalog_load(struct mdb_hw_catalog *c, char *err, size_t errlen);
/* Only the built-in catalog. Same returns. */
int mdb_hw_catalog_load_builtin(struct mdb_hw_catalog *c, char *err, size_t errlen);
void mdb_hw_catalog_free(struct mdb_hw_catalog *c);
/* The entry with this id, or NULL. Points into c. */
const struct hw_spec *mdb_hw_catalog_find(const struct mdb_hw_catalog *c, const char *id);
/* The user directory into buf: 0, or -1 when neither XDG_CONFIG_HOME nor
 * HOME is set. */
int mdb_hw_user_dir(char *buf, size_t n);

/* mdb_hw_resolve's return for "this": the caller builds the description
 * from the cached probe profile (mdb_hw_from_profile). */
#define MDB_HW_THIS 1
/* The --hw argument: "this" -> MDB_HW_THIS (out untouched); a catalog id
 * (built-in or user) -> 0; otherwise a path to a hardware JSON file -> 0.
 * -2 when it is neither an id nor a readable file, or the file (or a user
 * catalog file) is invalid: err says which and how to fix it; -1 out of
 * memory. */
int mdb_hw_resolve(const char *h, struct hw_spec *out, char *err, size_t errlen);

#endif
