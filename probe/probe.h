/*
 * probe: measures this machine.
 *
 * The probe fills a struct probe_profile: CPU identity (libcpuid plus the
 * CPUID leaves it does not decode), topology (hwloc), memory size, memory
 * bandwidth and latency, CPU compute peaks. It never knows about models.
 *
 * Every figure carries where it came from (enum probe_src) and, when it
 * was measured, how: kernel, threads, buffer size, passes, median and best.
 * Unknown numbers are NAN (doubles) or 0 with src == PROBE_SRC_UNKNOWN.
 *
 * Errors: functions return 0 on success, a negative value on failure and,
 * when err is not NULL, write a message that names the problem into it.
 * A part of the machine the probe cannot read is not a failure: that part
 * is marked unknown and a warning is added to the profile.
 */
#ifndef LLMCAP_PROBE_H
#define LLMCAP_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_SCHEMA "llmcap.profile/1"
#define PROBE_MAX_SAMPLES 128
#define PROBE_MAX_CACHES 8
#define PROBE_MAX_NUMA 16
#define PROBE_MAX_PCI 32
#define PROBE_MAX_WARNINGS 16
#define PROBE_WARNING_LEN 200

/* Where a figure comes from. */
enum probe_src {
	PROBE_SRC_UNKNOWN = 0,  /* could not be read or measured */
	PROBE_SRC_MEASURED,     /* timed by llmcap on this machine */
	PROBE_SRC_REPORTED,     /* read from the OS, firmware or CPUID */
	PROBE_SRC_SPEC,         /* a published specification */
	PROBE_SRC_ASSUMED,      /* a default llmcap assumed */
};

/* "measured", "reported", ...; never NULL. */
const char *probe_src_name(enum probe_src src);

/* ISA features that matter to inference kernels. */
enum probe_isa {
	PROBE_ISA_SSE42 = 0,
	PROBE_ISA_AVX,
	PROBE_ISA_AVX2,
	PROBE_ISA_FMA,
	PROBE_ISA_F16C,
	PROBE_ISA_AVX_VNNI,
	PROBE_ISA_AVX512F,
	PROBE_ISA_AVX512BW,
	PROBE_ISA_AVX512VL,
	PROBE_ISA_AVX512VNNI,
	PROBE_ISA_AVX512BF16,
	PROBE_ISA_AVX512FP16,
	PROBE_ISA_AMX_TILE,
	PROBE_ISA_AMX_INT8,
	PROBE_ISA_AMX_BF16,
	PROBE_ISA_NEON,
	PROBE_ISA_DOTPROD,
	PROBE_ISA_I8MM,
	PROBE_ISA_SVE,
	PROBE_ISA_SVE2,
	PROBE_ISA_COUNT
};

/* "avx2", "avx512_vnni", ...; NULL for an out-of-range value. */
const char *probe_isa_name(enum probe_isa isa);
/* The feature named name, or -1. */
int probe_isa_from_name(const char *name);

/* Summary statistics of timed samples (seconds or rates, as documented
 * where used). Samples are kept in the order they were taken. */
struct probe_stat {
	int n;
	double samples[PROBE_MAX_SAMPLES];
	double median, best, worst, mean, stddev;
};

/* Fills median/best/worst/mean/stddev from samples[0..n). When
 * higher_is_better, best is the maximum, else the minimum. */
void probe_stat_compute(struct probe_stat *st, int higher_is_better);

struct probe_cpu {
	enum probe_src src;          /* REPORTED when libcpuid identified it */
	char method[96];             /* "libcpuid 0.6.2 + CPUID leaf 7", ... */
	char arch[16];               /* "x86_64", "aarch64" */
	char vendor[32];
	char brand[96];
	char codename[64];
	int family, model, stepping; /* display family/model (ext applied) */
	int cores;                   /* physical cores, whole machine */
	int threads;                 /* hardware threads, whole machine */
	double base_mhz;
	enum probe_src base_mhz_src;
	char base_mhz_method[64];
	double max_mhz;
	enum probe_src max_mhz_src;
	char max_mhz_method[64];
	uint32_t isa;                /* bit (1u << enum probe_isa) */
	char isa_method[96];         /* how isa was established */
};

static inline int probe_cpu_has(const struct probe_cpu *c, enum probe_isa f)
{
	return (c->isa >> f) & 1u;
}

struct probe_cache {
	int level;                   /* 1, 2, 3, 4 */
	char type[16];               /* "data", "instruction", "unified" */
	uint64_t size_bytes;         /* one instance */
	int instances;
	int line_bytes;
};

struct probe_numa {
	int os_index;
	uint64_t memory_bytes;       /* as the node reports it */
	int cores;
};

struct probe_pci {
	char bus_id[16];             /* "0000:01:00.0" */
	uint16_t vendor_id, device_id;
	uint16_t class_id;           /* PCI class << 8 | subclass */
	char kind[16];               /* "display", "3d", "accelerator", "processing" */
	char vendor[64];             /* "" when unknown */
	char name[128];              /* "" when unknown */
	int numa_node;               /* -1 when unknown */
	double link_gbps;            /* NAN when unknown */
};

struct probe_topo {
	enum probe_src src;
	char method[64];             /* "hwloc 2.9.0" */
	int packages;
	int cores;
	int pus;                     /* hardware threads */
	int n_numa;
	struct probe_numa numa[PROBE_MAX_NUMA];
	int n_caches;
	struct probe_cache caches[PROBE_MAX_CACHES];
	uint64_t llc_total_bytes;    /* sum over instances of the last level */
	int n_pci;
	struct probe_pci pci[PROBE_MAX_PCI];
};

/* One bandwidth figure (GB/s = 1e9 bytes/s). */
struct probe_bw {
	enum probe_src src;
	double gbps;                 /* best pass */
	struct probe_stat stat;      /* per-pass GB/s */
	char kernel[48];             /* "read avx512", "triad avx2", ... */
	int threads;
	uint64_t array_bytes;        /* each array, all threads together */
	int arrays;                  /* arrays the kernel touches */
	uint64_t bytes_per_pass;     /* bytes counted per pass (STREAM rules) */
	int passes;                  /* timed passes (warm-up not counted) */
};

struct probe_latency {
	enum probe_src src;
	double ns;                   /* median ns per dependent load */
	struct probe_stat stat;      /* ns per load, per pass */
	uint64_t buffer_bytes;
	uint64_t loads_per_pass;
	char method[64];
};

struct probe_memory {
	enum probe_src src;
	uint64_t total_bytes;
	uint64_t available_bytes;    /* MemAvailable, bounded by cgroup limit */
	char method[64];
	struct probe_bw read1, copy1, triad1;   /* one thread */
	struct probe_bw read, copy, triad;      /* all cores */
	struct probe_latency latency;
};

/* A compute peak (GFLOPS or GOPS; 1 FMA = 2 ops). */
struct probe_peak {
	enum probe_src src;
	double gops;                 /* best pass */
	struct probe_stat stat;
	char kernel[48];             /* "fp32 fma avx512", "int8 vnni avx512" */
	int threads;
	int passes;
};

struct probe_compute {
	struct probe_peak fp32_1, fp32;   /* one core, all cores */
	struct probe_peak int8_1, int8;
};

/* ---- storage: how fast model weights come off the disk --------------- */

#define PROBE_MAX_STORAGE 4
#define PROBE_MAX_IO 24

/* One read pattern, timed. */
struct probe_io {
	enum probe_src src;
	char pattern[16];            /* "seq", "rand4k", "expert", "warm", "mmap" */
	uint64_t block_bytes;        /* bytes per request */
	int depth;                   /* requests in flight (queue depth or readers) */
	int cold;                    /* 1: from the device (O_DIRECT or cache
				      * dropped); 0: from the page cache */
	double gbps;                 /* 1e9 bytes/s */
	double iops;
	double lat_p50_us, lat_p99_us;   /* per request; NAN when not timed */
	double seconds;              /* measured duration */
	uint64_t bytes;              /* bytes read */
	char method[64];             /* "io_uring O_DIRECT", "pread x32, cache dropped" */
};

struct probe_storage {
	enum probe_src src;
	char path[256];              /* directory (or file) measured */
	char why[96];                /* why this place: "--path", "Hugging Face cache", ... */
	char device[64];             /* "nvme0n1", "vda"; "" unknown */
	char model[96];              /* the device's model string; "" unknown */
	char transport[16];          /* "nvme", "sata", "scsi", "virtio", "mmc", "usb", "" */
	int rotational;              /* 1, 0; -1 unknown */
	char fs_type[16];            /* "ext4", "xfs", "btrfs", "tmpfs", ... */
	uint64_t fs_total_bytes, fs_free_bytes;
	uint64_t file_bytes;         /* size of what was read */
	int temp_file;               /* 1: llmcap's own temporary file; 0: --file */
	char engine[48];             /* "io_uring (liburing)" or "pread threads" */
	int direct;                  /* 1: cold reads through O_DIRECT */
	char cold_method[96];        /* how cold reads avoided the page cache */
	double seconds;              /* wall time of the storage probe */
	int n_io;
	struct probe_io io[PROBE_MAX_IO];
	/* headline figures (GB/s, IOPS; NAN unknown) taken from io[] */
	double seq_read_gbps;        /* cold, large blocks, deep queue */
	double rand4k_read_iops;     /* cold, 4 KiB, QD32 */
	double expert_read_gbps;     /* cold, expert-sized chunks, best parallelism */
	double warm_read_gbps;       /* page cache */
	double mmap_read_gbps;       /* cold, through mmap page faults */
};


/* ---- accelerators: GPUs and NPUs (probe/accel*.c) --------------------- */

#define PROBE_MAX_ACCEL 8

/* One accelerator figure: a rate (GB/s, TFLOPS) or a time (microseconds). */
struct probe_accel_fig {
	enum probe_src src;          /* MEASURED, REPORTED (from the driver), UNKNOWN */
	double value;                /* best sample (GB/s, TFLOPS: highest; us: lowest) */
	struct probe_stat stat;      /* every timed sample, same unit */
	uint64_t bytes;              /* bytes (or FLOPs for matrix throughput) per sample */
	char method[128];            /* how: "cuMemcpyDtoDAsync 1 GiB, events, read+write" */
};

struct probe_accel {
	char name[96];               /* "NVIDIA H100 80GB HBM3" */
	char backend[16];            /* "cuda", "opencl", "accel" (Linux NPU) */
	char kind[8];                /* "gpu", "npu", "cpu" (an OpenCL CPU device), "other" */
	char vendor[64];
	char driver[64];             /* "580.159.04", kernel driver name "intel_vpu", ... */
	char runtime[64];            /* "CUDA driver 13.0", "OpenCL 3.0 PoCL 3.1" */
	char bus_id[16];             /* PCI "0000:01:00.0"; "" unknown */
	char dev_node[32];           /* "/dev/accel/accel0"; "" none */
	int index;                   /* the backend's own device index */
	int numa_node;               /* from hwloc's PCI object; -1 unknown */
	double pci_link_gbps;        /* hwloc's PCI link speed, GB/s; NAN unknown */
	int cc_major, cc_minor;      /* CUDA compute capability; 0 unknown */
	int compute_units;           /* SMs (CUDA), compute units (OpenCL); 0 unknown */
	uint64_t memory_bytes;       /* device memory; 0 unknown */
	int unified_memory;          /* 1: shares the host's memory (integrated) */
	double core_mhz;             /* max SM / core clock; NAN unknown */
	double memory_mhz;           /* max memory clock; NAN unknown */
	int memory_bus_bits;         /* 0 unknown */
	int pcie_gen, pcie_width;    /* current link (may train down when idle); 0 unknown */
	int pcie_gen_max, pcie_width_max;
	double power_limit_w;        /* NAN unknown */
	/* reported: memory clock x 2 (DDR) x bus width; NAN unknown */
	double spec_bandwidth_gbps;
	char status[128];            /* "measured", "present: no compute runtime to measure", ... */
	/* measured, NAN / PROBE_SRC_UNKNOWN where not */
	struct probe_accel_fig copy;          /* device memory copy, GB/s, read+write bytes */
	struct probe_accel_fig read;          /* device memory read kernel, GB/s */
	struct probe_accel_fig h2d, d2h;      /* host link, pinned host memory, GB/s */
	struct probe_accel_fig h2d_pageable, d2h_pageable;
	struct probe_accel_fig fp16;          /* FP16 matrix throughput, TFLOPS */
	struct probe_accel_fig launch;        /* kernel launch to completion, us */
	char method[160];            /* one line: how the headline figures were obtained */
};

/* Marks every figure of a unknown: zeroed, NAN numbers, numa_node -1. */
void probe_accel_init(struct probe_accel *a);

struct probe_profile {
	char schema[24];             /* PROBE_SCHEMA */
	char tool_version[16];
	int64_t created_unix;
	char fingerprint[24];        /* 16 hex digits, see probe_fingerprint */
	char hostname[64];
	int quick;                   /* 1 when made by --quick */
	double seconds;              /* wall time the probe took */
	struct probe_cpu cpu;
	struct probe_topo topo;
	struct probe_memory mem;
	struct probe_compute compute;
	int n_storage;
	struct probe_storage storage[PROBE_MAX_STORAGE];
	int n_accel;
	struct probe_accel accel[PROBE_MAX_ACCEL];
	char accel_note[256];        /* "no GPU found (...)", or what was searched; "" not probed */
	int n_warnings;
	char warnings[PROBE_MAX_WARNINGS][PROBE_WARNING_LEN];
};

/* Progress: called with a step name and the fraction done [0,1]. */
typedef void (*probe_progress_fn)(const char *step, double fraction, void *user);

struct probe_options {
	int quick;                   /* short passes, smaller arrays: < 5 s */
	int mem_read_only;           /* probe_measure_memory: the all-core read only */
	int max_threads;             /* 0: all cores */
	const char *storage_path;    /* directory to measure; NULL: where models live */
	const char *storage_file;    /* an existing file to read instead, read-only */
	double storage_seconds;      /* time budget of the storage probe; 0: 15 s */
	uint64_t expert_bytes;       /* expert chunk size; 0: the default (see
				      * probe_storage.c) */
	int no_accel;                /* 1: skip the accelerator probe */
	probe_progress_fn progress;  /* may be NULL */
	void *progress_user;
};

/* Zeroes p and marks every figure unknown (NAN). */
void probe_profile_init(struct probe_profile *p);

/* Appends a printf-style warning to p (dropped when full). */
void probe_warn(struct probe_profile *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Identity only (no timing): profile initialised, hostname, time, CPU,
 * topology, memory size, fingerprint. 0, or -1 when nothing could be read. */
int probe_identify(struct probe_profile *p, char *err, size_t errlen);

/* Runs the whole probe. Returns 0, or -1 when nothing at all could be
 * measured (err says why). Parts that fail are marked unknown and warned. */
int probe_run(struct probe_profile *p, const struct probe_options *opt,
	      char *err, size_t errlen);

/* The identity parts only, fast (no timing): CPU, topology, memory size.
 * probe_cpu_identify leaves the clocks NAN; probe_cpu_clocks fills them
 * (OS/CPUID figures, else the running clock measured in ~150 ms). */
int probe_cpu_identify(struct probe_cpu *cpu, struct probe_profile *warn_to);
void probe_cpu_clocks(struct probe_cpu *cpu, struct probe_profile *warn_to);
int probe_topo_read(struct probe_topo *topo, const char *xml_path,
		    struct probe_profile *warn_to);
int probe_memory_size(struct probe_memory *mem, struct probe_profile *warn_to);

/* libcpuid from a recorded raw dump (cpuid_serialize_raw_data format):
 * used by tests; returns 0 or -1. ISA from the dump's CPUID leaves. */
int probe_cpu_from_raw_dump(struct probe_cpu *cpu, const char *path,
			    char *err, size_t errlen);

/* A stable 16-hex-digit fingerprint of this machine's identity: CPU brand,
 * family/model/stepping, thread count, total memory (rounded to GiB) and
 * /etc/machine-id when readable. Writes into out (>= 17 bytes). */
void probe_fingerprint(const struct probe_profile *p, char *out, size_t outlen);
/* The same fingerprint for the machine this runs on, from a fast identity
 * read (no timing). */
void probe_machine_fingerprint(char *out, size_t outlen);

/* Storage read speed (probe_storage.c) into st, on the filesystem of
 * opt->storage_path / opt->storage_file, else probe_storage_default_dir.
 * Writes only its own uniquely named temporary file there, sized from the
 * free space, and removes it on every exit path, SIGINT, SIGTERM and
 * SIGHUP included (the one global of the module: the path for the signal
 * handler). With a file, opens it read-only and writes nothing.
 * Returns 0; -2 for bad input (missing path, a file given as --path, a
 * read-only or full filesystem, an unreadable file; err names the
 * problem and the fix); -1 for a runtime failure (err says what). */
int probe_storage_measure(struct probe_storage *st, const struct probe_options *opt,
			  struct probe_profile *warn_to, char *err, size_t errlen);
/* The checks probe_storage_measure makes of its input before measuring,
 * alone and fast: the path exists and is a directory on a writable
 * filesystem with room for the temporary file, or the file is a regular,
 * readable file large enough to measure. 0, or -2 with err naming the
 * problem and the fix. */
int probe_storage_check(const struct probe_options *opt, char *err, size_t errlen);
/* The default place to measure: the first existing of $HF_HUB_CACHE,
 * $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub,
 * $OLLAMA_MODELS, ~/.ollama/models, LM Studio's (~/.lmstudio/models,
 * ~/.cache/lm-studio/models), $LLAMA_CACHE, ~/.cache/llama.cpp; else
 * $TMPDIR, else $HOME, else /tmp. Writes the
 * directory into dir and a short reason into why. */
void probe_storage_default_dir(char *dir, size_t n, char *why, size_t whylen);

/* Memory bandwidth, latency and compute peaks; see probe_mem.c. Each
 * fills its part of p and returns 0, or -1 with a warning added. */
int probe_measure_memory(struct probe_profile *p, const struct probe_options *opt);
int probe_measure_compute(struct probe_profile *p, const struct probe_options *opt);

/* Accelerators (probe/accel.c): every backend (CUDA, OpenCL, Linux accel
 * NPUs) discovers its devices, which are tied to hwloc's PCI objects and
 * measured where a compute runtime is present. No GPU, no driver or a
 * driver too old is not a failure: p->accel_note says what was found and
 * a warning is added. Returns the number of devices found (>= 0). */
int probe_measure_accel(struct probe_profile *p, const struct probe_options *opt);

#endif
