/*
 * probe: NVIDIA GPUs through the CUDA driver API (libcuda.so.1), NVML
 * (libnvidia-ml.so.1) and, for matrix throughput, cuBLAS (libcublas.so),
 * each loaded with dlopen: the binary links none of them and needs no CUDA
 * header. The driver API comes from cudrv/ (shared with kernels/kern_cuda.c);
 * the few NVML and cuBLAS types and prototypes used are declared here.
 *
 * Discovery: name, compute capability, SMs, memory, clocks and memory bus
 * (NVML, else the driver's attributes), PCIe generation and width (NVML),
 * power limit (NVML).
 * Measurement, per device, in its primary context (so cuBLAS shares it):
 *   copy     cuMemcpyDtoDAsync of a large buffer, CUDA events per copy;
 *            GB/s counts bytes read + bytes written (2 x size), the
 *            convention of STREAM's copy and of bandwidthTest
 *   read     a read-only PTX kernel (16-byte loads) over the same buffer
 *   h2d/d2h  cuMemcpy{HtoD,DtoH}Async from cuMemHostAlloc memory (events);
 *            pageable: synchronous copies from malloc memory (host clock)
 *   launch   an empty PTX kernel, launch + cuStreamSynchronize, host clock
 *   fp16     cublasGemmEx FP16 x FP16 -> FP16, FP32 accumulate, square
 *            matrices; without cuBLAS a PTX fma.rn.f16x2 kernel on the CUDA
 *            cores (no tensor cores) — the method string says which.
 *            LLMCAP_NO_CUBLAS=1 in the environment forces the kernel.
 * Every buffer holds random FP16 pairs (never zeros). Warm-up first, then
 * N timed samples; the best is the figure, all samples are kept.
 */
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudrv/cudrv.h"
#include "probe/accel.h"
#include "probe/accel_cuda_ptx.h"
#include "probe/probe_internal.h"

/* ---- NVML ----------------------------------------------------------------- */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
enum { NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 };

/* ---- cuBLAS ---------------------------------------------------------------- */
typedef int cublasStatus_t;
typedef struct cublasContext *cublasHandle_t;
#define CUBLAS_OP_N 0
#define CUDA_R_16F 2
#define CUBLAS_COMPUTE_32F 68
#define CUBLAS_GEMM_DEFAULT (-1)

struct cuda_api {
	struct cudrv cu;             /* the driver API (cudrv/) */
	void *nvml, *cublas;

	char nvml_driver[64];
	nvmlReturn_t (*nvmlShutdown)(void);
	nvmlReturn_t (*nvmlDeviceGetHandleByPciBusId)(const char *, nvmlDevice_t *);
	nvmlReturn_t (*nvmlDeviceGetMaxClockInfo)(nvmlDevice_t, int, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetMemoryBusWidth)(nvmlDevice_t, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetCurrPcieLinkGeneration)(nvmlDevice_t, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetCurrPcieLinkWidth)(nvmlDevice_t, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetMaxPcieLinkGeneration)(nvmlDevice_t, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetMaxPcieLinkWidth)(nvmlDevice_t, unsigned *);
	nvmlReturn_t (*nvmlDeviceGetEnforcedPowerLimit)(nvmlDevice_t, unsigned *);

	int cublas_tried;
	char cublas_name[64];
	int cublas_version;
	cublasStatus_t (*cublasCreate)(cublasHandle_t *);
	cublasStatus_t (*cublasDestroy)(cublasHandle_t);
	cublasStatus_t (*cublasSetStream)(cublasHandle_t, CUstream);
	cublasStatus_t (*cublasGetVersion)(cublasHandle_t, int *);
	cublasStatus_t (*cublasGemmEx)(cublasHandle_t, int, int, int, int, int, const void *,
				       const void *, int, int, const void *, int, int,
				       const void *, void *, int, int, int, int);
};

/* dlsym into a function pointer without a cast warning */
#define SYM(lib, dst, name) (*(void **)&(dst) = dlsym((lib), (name)))

static const char *cu_err(const struct cuda_api *api, CUresult r)
{
	return cudrv_err(&api->cu, r);
}

static void load_nvml(struct cuda_api *api)
{
	nvmlReturn_t (*init)(void) = NULL;
	nvmlReturn_t (*version)(char *, unsigned) = NULL;
	api->nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!api->nvml)
		return;
	SYM(api->nvml, init, "nvmlInit_v2");
	SYM(api->nvml, api->nvmlShutdown, "nvmlShutdown");
	SYM(api->nvml, api->nvmlDeviceGetHandleByPciBusId, "nvmlDeviceGetHandleByPciBusId_v2");
	if (!init || !api->nvmlShutdown || !api->nvmlDeviceGetHandleByPciBusId || init() != 0) {
		dlclose(api->nvml);
		api->nvml = NULL;
		api->nvmlShutdown = NULL;
		return;
	}
	SYM(api->nvml, version, "nvmlSystemGetDriverVersion");
	if (version && version(api->nvml_driver, sizeof api->nvml_driver) != 0)
		api->nvml_driver[0] = 0;
	SYM(api->nvml, api->nvmlDeviceGetMaxClockInfo, "nvmlDeviceGetMaxClockInfo");
	SYM(api->nvml, api->nvmlDeviceGetMemoryBusWidth, "nvmlDeviceGetMemoryBusWidth");
	SYM(api->nvml, api->nvmlDeviceGetCurrPcieLinkGeneration,
	    "nvmlDeviceGetCurrPcieLinkGeneration");
	SYM(api->nvml, api->nvmlDeviceGetCurrPcieLinkWidth, "nvmlDeviceGetCurrPcieLinkWidth");
	SYM(api->nvml, api->nvmlDeviceGetMaxPcieLinkGeneration,
	    "nvmlDeviceGetMaxPcieLinkGeneration");
	SYM(api->nvml, api->nvmlDeviceGetMaxPcieLinkWidth, "nvmlDeviceGetMaxPcieLinkWidth");
	SYM(api->nvml, api->nvmlDeviceGetEnforcedPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
}

static void cuda_cleanup(void *priv)
{
	struct cuda_api *api = priv;
	if (!api)
		return;
	if (api->nvml) {
		api->nvmlShutdown();
		dlclose(api->nvml);
	}
	/* libcuda and libcublas stay loaded: unloading the driver or cuBLAS
	 * while the process runs is not safe (their exit handlers). */
	free(api);
}

static void nvml_fill(const struct cuda_api *api, struct probe_accel *a)
{
	nvmlDevice_t dev;
	unsigned v, w;
	if (!api->nvml || !a->bus_id[0] || api->nvmlDeviceGetHandleByPciBusId(a->bus_id, &dev) != 0)
		return;
	if (api->nvmlDeviceGetMaxClockInfo) {
		if (api->nvmlDeviceGetMaxClockInfo(dev, NVML_CLOCK_SM, &v) == 0 && v)
			a->core_mhz = v;
		if (api->nvmlDeviceGetMaxClockInfo(dev, NVML_CLOCK_MEM, &v) == 0 && v)
			a->memory_mhz = v;
	}
	if (api->nvmlDeviceGetMemoryBusWidth && api->nvmlDeviceGetMemoryBusWidth(dev, &v) == 0 && v)
		a->memory_bus_bits = (int)v;
	if (api->nvmlDeviceGetCurrPcieLinkGeneration &&
	    api->nvmlDeviceGetCurrPcieLinkGeneration(dev, &v) == 0 &&
	    api->nvmlDeviceGetCurrPcieLinkWidth && api->nvmlDeviceGetCurrPcieLinkWidth(dev, &w) == 0) {
		a->pcie_gen = (int)v;
		a->pcie_width = (int)w;
	}
	if (api->nvmlDeviceGetMaxPcieLinkGeneration &&
	    api->nvmlDeviceGetMaxPcieLinkGeneration(dev, &v) == 0 &&
	    api->nvmlDeviceGetMaxPcieLinkWidth && api->nvmlDeviceGetMaxPcieLinkWidth(dev, &w) == 0) {
		a->pcie_gen_max = (int)v;
		a->pcie_width_max = (int)w;
	}
	if (api->nvmlDeviceGetEnforcedPowerLimit && api->nvmlDeviceGetEnforcedPowerLimit(dev, &v) == 0)
		a->power_limit_w = v / 1000.0;
}

static int cuda_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			 int max, char *note, size_t notelen)
{
	(void)ctx;
	*priv = NULL;
	struct cuda_api *api = calloc(1, sizeof *api);
	if (!api) {
		snprintf(note, notelen, "out of memory");
		return -1;
	}
	*priv = api;
	if (cudrv_load(&api->cu, note, notelen) != 0 || cudrv_init(&api->cu, note, notelen) != 0)
		return 0;
	CUresult r;
	int count = 0;
	if ((r = api->cu.cuDeviceGetCount(&count)) != 0 || count <= 0) {
		snprintf(note, notelen, "libcuda.so.1 found, no CUDA device%s%s",
			 r ? ": " : "", r ? cu_err(api, r) : "");
		return 0;
	}
	load_nvml(api);
	int n = 0;
	for (int i = 0; i < count && n < max; i++) {
		CUdevice dev;
		if (api->cu.cuDeviceGet(&dev, i) != 0)
			continue;
		struct probe_accel *a = &out[n++];
		probe_accel_init(a);
		a->index = i;
		snprintf(a->backend, sizeof a->backend, "cuda");
		snprintf(a->kind, sizeof a->kind, "gpu");
		snprintf(a->vendor, sizeof a->vendor, "NVIDIA");
		if (api->cu.cuDeviceGetName(a->name, (int)sizeof a->name, dev) != 0)
			snprintf(a->name, sizeof a->name, "CUDA device %d", i);
		size_t mem = 0;
		if (api->cu.cuDeviceTotalMem(&mem, dev) == 0)
			a->memory_bytes = mem;
		int v = 0;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_CC_MAJOR, dev) == 0)
			a->cc_major = v;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_CC_MINOR, dev) == 0)
			a->cc_minor = v;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_MULTIPROCESSOR_COUNT, dev) == 0)
			a->compute_units = v;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_INTEGRATED, dev) == 0)
			a->unified_memory = v != 0;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_CLOCK_RATE, dev) == 0 && v > 0)
			a->core_mhz = v / 1000.0;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_MEMORY_CLOCK_RATE, dev) == 0 && v > 0)
			a->memory_mhz = v / 1000.0;
		if (api->cu.cuDeviceGetAttribute(&v, CU_ATTR_GLOBAL_MEMORY_BUS_WIDTH, dev) == 0 && v > 0)
			a->memory_bus_bits = v;
		char bus[32];
		if (api->cu.cuDeviceGetPCIBusId(bus, (int)sizeof bus, dev) == 0)
			snprintf(a->bus_id, sizeof a->bus_id, "%.15s", bus);
		nvml_fill(api, a);   /* NVML's clocks win: the driver's are deprecated */
		if (a->memory_mhz > 0 && a->memory_bus_bits > 0)
			a->spec_bandwidth_gbps = a->memory_mhz * 1e6 * 2 * a->memory_bus_bits / 8 / 1e9;
		snprintf(a->driver, sizeof a->driver, "%s", api->nvml_driver);
		snprintf(a->runtime, sizeof a->runtime, "CUDA driver API %d.%d%s",
			 api->cu.driver_version / 1000, api->cu.driver_version % 1000 / 10,
			 api->nvml ? " + NVML" : "");
	}
	return n;
}

/* ---- measurement ---------------------------------------------------------- */

struct run {
	const struct cuda_api *api;
	CUstream stream;
	CUevent ev0, ev1;
	CUmodule mod;
	CUfunction f_empty, f_fill, f_read, f_fma;
	char err[96];               /* first failure */
};

/* Records the first failure; returns r. */
static CUresult check(struct run *R, CUresult r, const char *what)
{
	if (r != 0 && !R->err[0])
		snprintf(R->err, sizeof R->err, "%s: %s", what, cu_err(R->api, r));
	return r;
}

/* Seconds between the two events around what was enqueued; NAN on failure. */
static double ev_seconds(struct run *R)
{
	float ms = 0;
	if (check(R, R->api->cu.cuEventSynchronize(R->ev1), "cuEventSynchronize") != 0 ||
	    check(R, R->api->cu.cuEventElapsedTime(&ms, R->ev0, R->ev1), "cuEventElapsedTime") != 0)
		return NAN;
	return ms / 1e3;
}

static void add_sample(struct probe_accel_fig *f, double v)
{
	if (isfinite(v) && v > 0 && f->stat.n < PROBE_MAX_SAMPLES)
		f->stat.samples[f->stat.n++] = v;
}

static int launch(struct run *R, CUfunction f, unsigned grid, unsigned block, void **args)
{
	return check(R, R->api->cu.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, R->stream, args, NULL),
		     "cuLaunchKernel");
}

/* Random FP16 pairs into words 32-bit words at p. */
static int fill(struct run *R, CUdeviceptr p, size_t words, uint32_t seed, int sms)
{
	unsigned long long n = words;
	void *args[] = {&p, &n, &seed};
	if (!R->f_fill)
		return -1;
	return launch(R, R->f_fill, (unsigned)(sms > 0 ? sms * 8 : 256), 256, args);
}

/* Allocates up to want bytes, halving down to floor; 0 or -1. */
static int alloc_down(struct run *R, CUdeviceptr *p, size_t *bytes, size_t floor)
{
	for (size_t b = *bytes; b >= floor; b /= 2)
		if (R->api->cu.cuMemAlloc(p, b) == 0) {
			*bytes = b;
			return 0;
		}
	snprintf(R->err, sizeof R->err, "cuMemAlloc of %zu MiB failed (device memory in use?)",
		 floor >> 20);
	return -1;
}

static const char *size_text(char *buf, size_t n, size_t bytes)
{
	if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
		snprintf(buf, n, "%zu GiB", bytes >> 30);
	else
		snprintf(buf, n, "%zu MiB", bytes >> 20);
	return buf;
}

static void measure_memory(struct run *R, struct probe_accel *a, int quick)
{
	const struct cuda_api *api = R->api;
	size_t freeb = 0, total = 0, bytes = quick ? (256u << 20) : (1u << 30);
	if (api->cu.cuMemGetInfo(&freeb, &total) == 0 && freeb / 4 < bytes)
		bytes = (freeb / 4) & ~(size_t)((1u << 20) - 1);
	CUdeviceptr src = 0, dst = 0, out = 0;
	if (bytes < (16u << 20) || alloc_down(R, &src, &bytes, 16u << 20) != 0)
		return;
	if (api->cu.cuMemAlloc(&dst, bytes) != 0) {
		snprintf(R->err, sizeof R->err, "cuMemAlloc failed (device memory in use?)");
		goto out;
	}
	fill(R, src, bytes / 4, 0x1234u, a->compute_units);
	fill(R, dst, bytes / 4, 0x5678u, a->compute_units);
	char sz[24];
	size_text(sz, sizeof sz, bytes);
	int reps = quick ? 5 : 20;
	for (int i = 0; i < reps + 2 && !R->err[0]; i++) {
		check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
		check(R, api->cu.cuMemcpyDtoDAsync(dst, src, bytes, R->stream), "cuMemcpyDtoDAsync");
		check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
		double s = ev_seconds(R);
		if (i >= 2)   /* two warm-up copies */
			add_sample(&a->copy, 2.0 * bytes / s / 1e9);
	}
	a->copy.bytes = 2 * (uint64_t)bytes;
	snprintf(a->copy.method, sizeof a->copy.method,
		 "cuMemcpyDtoDAsync %s, CUDA events, read+write counted (2 x %s per copy), "
		 "best of %d", sz, sz, a->copy.stat.n);
	accel_fig_finish(&a->copy, 1);

	/* read kernel: same buffer, 16-byte loads */
	unsigned grid = (unsigned)(a->compute_units > 0 ? a->compute_units * 8 : 1024), block = 256;
	if (R->f_read && api->cu.cuMemAlloc(&out, (size_t)grid * block * 4) == 0) {
		unsigned long long n = bytes / 16;
		void *args[] = {&src, &n, &out};
		for (int i = 0; i < reps + 2 && !R->err[0]; i++) {
			check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
			launch(R, R->f_read, grid, block, args);
			check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
			double s = ev_seconds(R);
			if (i >= 2)
				add_sample(&a->read, bytes / s / 1e9);
		}
		a->read.bytes = bytes;
		snprintf(a->read.method, sizeof a->read.method,
			 "PTX read kernel, 16-byte loads, %u x %u threads, %s, CUDA events, "
			 "best of %d", grid, block, sz, a->read.stat.n);
		accel_fig_finish(&a->read, 1);
	}
out:
	if (out)
		api->cu.cuMemFree(out);
	if (dst)
		api->cu.cuMemFree(dst);
	if (src)
		api->cu.cuMemFree(src);
}

static void measure_link(struct run *R, struct probe_accel *a, int quick)
{
	const struct cuda_api *api = R->api;
	size_t bytes = quick ? (64u << 20) : (256u << 20);
	int reps = quick ? 4 : 10;
	CUdeviceptr d = 0;
	void *pinned = NULL, *pageable = NULL;
	char sz[24];
	if (alloc_down(R, &d, &bytes, 16u << 20) != 0)
		return;
	size_text(sz, sizeof sz, bytes);
	if (check(R, api->cu.cuMemHostAlloc(&pinned, bytes, 0), "cuMemHostAlloc") == 0) {
		uint32_t *w = pinned;
		for (size_t i = 0; i < bytes / 4; i++)
			w[i] = (uint32_t)(i * 2654435761u) | 0x01000100u;
		for (int dir = 0; dir < 2; dir++) {
			struct probe_accel_fig *f = dir == 0 ? &a->h2d : &a->d2h;
			for (int i = 0; i < reps + 1 && !R->err[0]; i++) {
				check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
				if (dir == 0)
					check(R, api->cu.cuMemcpyHtoDAsync(d, pinned, bytes, R->stream),
					      "cuMemcpyHtoDAsync");
				else
					check(R, api->cu.cuMemcpyDtoHAsync(pinned, d, bytes, R->stream),
					      "cuMemcpyDtoHAsync");
				check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
				double s = ev_seconds(R);
				if (i >= 1)
					add_sample(f, bytes / s / 1e9);
			}
			f->bytes = bytes;
			snprintf(f->method, sizeof f->method, "%s %s from cuMemHostAlloc (pinned) "
				 "memory, CUDA events, best of %d",
				 dir == 0 ? "cuMemcpyHtoDAsync" : "cuMemcpyDtoHAsync", sz, f->stat.n);
			accel_fig_finish(f, 1);
		}
	}
	pageable = malloc(bytes);
	if (pageable) {
		memset(pageable, 0x5a, bytes);   /* touched: no page faults timed */
		for (int dir = 0; dir < 2; dir++) {
			struct probe_accel_fig *f = dir == 0 ? &a->h2d_pageable : &a->d2h_pageable;
			for (int i = 0; i < reps + 1 && !R->err[0]; i++) {
				check(R, api->cu.cuCtxSynchronize(), "cuCtxSynchronize");
				double t0 = probe_now();
				if (dir == 0)
					check(R, api->cu.cuMemcpyHtoD(d, pageable, bytes), "cuMemcpyHtoD");
				else
					check(R, api->cu.cuMemcpyDtoH(pageable, d, bytes), "cuMemcpyDtoH");
				check(R, api->cu.cuCtxSynchronize(), "cuCtxSynchronize");
				double s = probe_now() - t0;
				if (i >= 1)
					add_sample(f, bytes / s / 1e9);
			}
			f->bytes = bytes;
			snprintf(f->method, sizeof f->method, "%s %s from malloc (pageable) memory, "
				 "host clock to completion, best of %d",
				 dir == 0 ? "cuMemcpyHtoD" : "cuMemcpyDtoH", sz, f->stat.n);
			accel_fig_finish(f, 1);
		}
		free(pageable);
	}
	if (pinned)
		api->cu.cuMemFreeHost(pinned);
	api->cu.cuMemFree(d);
}

static void measure_launch(struct run *R, struct probe_accel *a, int quick)
{
	const struct cuda_api *api = R->api;
	int reps = quick ? 50 : PROBE_MAX_SAMPLES;
	if (!R->f_empty)
		return;
	for (int i = 0; i < reps + 10 && !R->err[0]; i++) {
		double t0 = probe_now();
		launch(R, R->f_empty, 1, 32, NULL);
		check(R, api->cu.cuStreamSynchronize(R->stream), "cuStreamSynchronize");
		double s = probe_now() - t0;
		if (i >= 10)
			add_sample(&a->launch, s * 1e6);
	}
	snprintf(a->launch.method, sizeof a->launch.method,
		 "empty PTX kernel (1 x 32 threads): cuLaunchKernel + cuStreamSynchronize, "
		 "host clock, best of %d", a->launch.stat.n);
	accel_fig_finish(&a->launch, 0);
}

static void load_cublas(struct cuda_api *api)
{
	static const char *const names[] = {
		"libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11",
		"/usr/local/cuda/lib64/libcublas.so", "/usr/local/cuda/lib64/libcublas.so.13",
		"/usr/local/cuda/lib64/libcublas.so.12", NULL,
	};
	api->cublas_tried = 1;
	const char *off = getenv("LLMCAP_NO_CUBLAS");   /* tests the FMA kernel path */
	if (off && *off && strcmp(off, "0") != 0)
		return;
	for (int i = 0; names[i] && !api->cublas; i++) {
		api->cublas = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (api->cublas)
			snprintf(api->cublas_name, sizeof api->cublas_name, "%s", names[i]);
	}
	if (!api->cublas)
		return;
	SYM(api->cublas, api->cublasCreate, "cublasCreate_v2");
	SYM(api->cublas, api->cublasDestroy, "cublasDestroy_v2");
	SYM(api->cublas, api->cublasSetStream, "cublasSetStream_v2");
	SYM(api->cublas, api->cublasGetVersion, "cublasGetVersion_v2");
	SYM(api->cublas, api->cublasGemmEx, "cublasGemmEx");
	if (!api->cublasCreate || !api->cublasDestroy || !api->cublasSetStream ||
	    !api->cublasGetVersion || !api->cublasGemmEx)
		api->cublasGemmEx = NULL;
}

/* cuBLAS GEMM: 0 when measured, -1 to fall back to the FMA kernel. */
static int fp16_cublas(struct run *R, struct cuda_api *api, struct probe_accel *a, int quick,
		       char *why, size_t whylen)
{
	if (!api->cublas_tried)
		load_cublas(api);
	if (!api->cublas) {
		const char *off = getenv("LLMCAP_NO_CUBLAS");
		snprintf(why, whylen, "%s", off && *off && strcmp(off, "0") != 0 ?
			 "LLMCAP_NO_CUBLAS set" : "no libcublas.so found");
		return -1;
	}
	if (!api->cublasGemmEx) {
		snprintf(why, whylen, "%s lacks cublasGemmEx", api->cublas_name);
		return -1;
	}
	cublasHandle_t h = NULL;
	if (api->cublasCreate(&h) != 0) {
		snprintf(why, whylen, "cublasCreate failed");
		return -1;
	}
	int ver = 0;
	api->cublasGetVersion(h, &ver);
	if (ver < 11000) {   /* cublasComputeType_t arrived in cuBLAS 11 */
		api->cublasDestroy(h);
		snprintf(why, whylen, "cuBLAS %d is older than 11", ver);
		return -1;
	}
	api->cublasSetStream(h, R->stream);
	size_t freeb = 0, total = 0;
	api->cu.cuMemGetInfo(&freeb, &total);
	int n = quick ? 4096 : 8192;
	while (n > 1024 && (size_t)3 * n * n * 2 > freeb / 2)
		n /= 2;
	size_t mbytes = (size_t)n * n * 2;
	CUdeviceptr A = 0, B = 0, C = 0;
	int rc = -1;
	if (api->cu.cuMemAlloc(&A, mbytes) != 0 || api->cu.cuMemAlloc(&B, mbytes) != 0 ||
	    api->cu.cuMemAlloc(&C, mbytes) != 0) {
		snprintf(why, whylen, "cuMemAlloc of 3 x %zu MiB failed", mbytes >> 20);
		goto out;
	}
	fill(R, A, mbytes / 4, 0xa11ceu, a->compute_units);
	fill(R, B, mbytes / 4, 0xb0bu, a->compute_units);
	fill(R, C, mbytes / 4, 0xc0ffeeu, a->compute_units);
	float alpha = 1.0f, beta = 0.0f;
	double flop = 2.0 * n * (double)n * n;
	int reps = quick ? 4 : 12, done = 0;
	double spent = 0;
	for (int i = 0; i < reps + 2 && !R->err[0]; i++) {
		check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
		int st = api->cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha,
					   (const void *)(uintptr_t)A, CUDA_R_16F, n,
					   (const void *)(uintptr_t)B, CUDA_R_16F, n, &beta,
					   (void *)(uintptr_t)C, CUDA_R_16F, n, CUBLAS_COMPUTE_32F,
					   CUBLAS_GEMM_DEFAULT);
		if (st != 0) {
			snprintf(why, whylen, "cublasGemmEx returned status %d", st);
			goto out;
		}
		check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
		double s = ev_seconds(R);
		spent += s;
		if (i >= 2) {
			add_sample(&a->fp16, flop / s / 1e12);
			done++;
		}
		if (spent > (quick ? 0.5 : 2.0) && done >= 3)
			break;   /* a slow GPU: enough samples */
	}
	if (a->fp16.stat.n > 0) {
		a->fp16.bytes = (uint64_t)flop;
		snprintf(a->fp16.method, sizeof a->fp16.method,
			 "cuBLAS %d.%d.%d cublasGemmEx FP16 in/out, FP32 accumulate, %dx%dx%d, "
			 "CUDA events, best of %d", ver / 10000, ver / 100 % 100, ver % 100, n, n, n,
			 a->fp16.stat.n);
		accel_fig_finish(&a->fp16, 1);
		rc = 0;
	}
out:
	if (C)
		api->cu.cuMemFree(C);
	if (B)
		api->cu.cuMemFree(B);
	if (A)
		api->cu.cuMemFree(A);
	api->cublasDestroy(h);
	return rc;
}

static void fp16_fma(struct run *R, struct probe_accel *a, int quick, const char *why)
{
	const struct cuda_api *api = R->api;
	unsigned grid = (unsigned)(a->compute_units > 0 ? a->compute_units * 8 : 1024), block = 256;
	CUdeviceptr out = 0;
	if (!R->f_fma || api->cu.cuMemAlloc(&out, (size_t)grid * block * 4) != 0)
		return;
	int iters = 256;
	uint32_t seed = 0x5eedu;
	void *args[] = {&out, &iters, &seed};
	/* size the launch to about 20 ms */
	for (int k = 0; k < 8 && !R->err[0]; k++) {
		check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
		launch(R, R->f_fma, grid, block, args);
		check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
		double s = ev_seconds(R);
		if (!(s > 0) || s > 0.01 || iters > (1 << 24))
			break;
		iters *= 4;
	}
	int reps = quick ? 3 : 10;
	double flop = 128.0 * grid * block * iters;
	for (int i = 0; i < reps + 1 && !R->err[0]; i++) {
		check(R, api->cu.cuEventRecord(R->ev0, R->stream), "cuEventRecord");
		launch(R, R->f_fma, grid, block, args);
		check(R, api->cu.cuEventRecord(R->ev1, R->stream), "cuEventRecord");
		double s = ev_seconds(R);
		if (i >= 1)
			add_sample(&a->fp16, flop / s / 1e12);
	}
	a->fp16.bytes = (uint64_t)flop;
	snprintf(a->fp16.method, sizeof a->fp16.method,
		 "PTX fma.rn.f16x2 kernel on the CUDA cores, no tensor cores (%.40s), "
		 "best of %d", why, a->fp16.stat.n);
	accel_fig_finish(&a->fp16, 1);
	api->cu.cuMemFree(out);
}

static int cuda_measure(const struct accel_ctx *ctx, void *priv, struct probe_accel *a)
{
	struct cuda_api *api = priv;
	struct run R = {.api = api};
	int quick = ctx ? ctx->quick : 0;
	CUdevice dev;
	CUcontext cx = NULL;
	if (!api || !api->cu.lib || api->cu.cuDeviceGet(&dev, a->index) != 0) {
		snprintf(a->status, sizeof a->status, "not measured: device %d not reachable",
			 a->index);
		return -1;
	}
	if (check(&R, api->cu.cuDevicePrimaryCtxRetain(&cx, dev), "cuDevicePrimaryCtxRetain") != 0 ||
	    check(&R, api->cu.cuCtxSetCurrent(cx), "cuCtxSetCurrent") != 0 ||
	    check(&R, api->cu.cuStreamCreate(&R.stream, 0), "cuStreamCreate") != 0 ||
	    check(&R, api->cu.cuEventCreate(&R.ev0, 0), "cuEventCreate") != 0 ||
	    check(&R, api->cu.cuEventCreate(&R.ev1, 0), "cuEventCreate") != 0)
		goto out;
	char modnote[96] = "";
	CUresult r = api->cu.cuModuleLoadData(&R.mod, accel_cuda_ptx);
	if (r != 0) {
		snprintf(modnote, sizeof modnote, "; PTX not loaded (%s): no read, launch or "
			 "FMA kernel", cu_err(api, r));
		R.mod = NULL;
	} else {
		api->cu.cuModuleGetFunction(&R.f_empty, R.mod, "llmcap_empty");
		api->cu.cuModuleGetFunction(&R.f_fill, R.mod, "llmcap_fill");
		api->cu.cuModuleGetFunction(&R.f_read, R.mod, "llmcap_read");
		api->cu.cuModuleGetFunction(&R.f_fma, R.mod, "llmcap_fma_f16");
	}
	measure_launch(&R, a, quick);
	if (!R.err[0])
		measure_memory(&R, a, quick);
	if (!R.err[0])
		measure_link(&R, a, quick);
	char why[96] = "";
	if (!R.err[0] && fp16_cublas(&R, api, a, quick, why, sizeof why) != 0 && !R.err[0])
		fp16_fma(&R, a, quick, why);
	snprintf(a->method, sizeof a->method, "CUDA driver API via dlopen; copy: DtoD, read+write "
		 "bytes; h2d: pinned; fp16: %s%s",
		 a->fp16.src != PROBE_SRC_MEASURED ? "not measured" :
		 strncmp(a->fp16.method, "cuBLAS", 6) == 0 ? "cuBLAS GEMM" : "FMA kernel (no cuBLAS)",
		 modnote);
out:
	if (R.mod)
		api->cu.cuModuleUnload(R.mod);
	if (R.ev1)
		api->cu.cuEventDestroy(R.ev1);
	if (R.ev0)
		api->cu.cuEventDestroy(R.ev0);
	if (R.stream)
		api->cu.cuStreamDestroy(R.stream);
	if (cx) {
		api->cu.cuCtxSetCurrent(NULL);
		api->cu.cuDevicePrimaryCtxRelease(dev);
	}
	if (R.err[0]) {
		snprintf(a->status, sizeof a->status, "partly measured: %s", R.err);
		return -1;
	}
	snprintf(a->status, sizeof a->status, "measured");
	return 0;
}

const struct accel_ops accel_cuda_ops = {
	.version = ACCEL_OPS_VERSION,
	.name = "cuda",
	.caps = ACCEL_CAP_MEASURE,
	.discover = cuda_discover,
	.measure = cuda_measure,
	.cleanup = cuda_cleanup,
};
