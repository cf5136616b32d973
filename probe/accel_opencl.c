/*
 * probe: OpenCL devices through the ICD loader (libOpenCL.so.1, Debian's
 * ocl-icd), loaded with dlopen; no OpenCL header is needed. Every platform
 * and device: name, vendor, type, memory, compute units, clock, driver.
 * Measured where a context can be made: device copy bandwidth
 * (clEnqueueCopyBuffer, read+write bytes counted) and host<->device
 * (clEnqueueWriteBuffer / clEnqueueReadBuffer, blocking, from malloc
 * memory), each timed on the host clock to clFinish. No matrix kernel:
 * fp16 stays unknown and the method says so. PoCL on the CPU runs this
 * path on machines without a GPU (CI).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/accel.h"
#include "probe/probe_internal.h"

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef struct _cl_platform_id *cl_platform_id;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_context *cl_context;
typedef struct _cl_command_queue *cl_command_queue;
typedef struct _cl_mem *cl_mem;
typedef struct _cl_event *cl_event;
typedef intptr_t cl_context_properties;

#define CL_PLATFORM_VERSION 0x0901
#define CL_PLATFORM_NAME 0x0902
#define CL_DEVICE_TYPE 0x1000
#define CL_DEVICE_MAX_COMPUTE_UNITS 0x1002
#define CL_DEVICE_MAX_CLOCK_FREQUENCY 0x100C
#define CL_DEVICE_MAX_MEM_ALLOC_SIZE 0x1010
#define CL_DEVICE_GLOBAL_MEM_SIZE 0x101F
#define CL_DEVICE_NAME 0x102B
#define CL_DEVICE_VENDOR 0x102C
#define CL_DRIVER_VERSION 0x102D
#define CL_DEVICE_HOST_UNIFIED_MEMORY 0x1035
#define CL_DEVICE_PCI_BUS_INFO_KHR 0x410F
#define CL_DEVICE_TYPE_CPU (1u << 1)
#define CL_DEVICE_TYPE_GPU (1u << 2)
#define CL_DEVICE_TYPE_ACCELERATOR (1u << 3)
#define CL_DEVICE_TYPE_ALL 0xFFFFFFFFu
#define CL_MEM_READ_WRITE (1u << 0)

#define OCL_MAX_PLATFORMS 8
#define OCL_MAX_DEVICES 16

struct ocl_api {
	void *lib;
	cl_device_id dev[PROBE_MAX_ACCEL];   /* by probe_accel.index */
	int n_dev;
	cl_int (*clGetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *);
	cl_int (*clGetPlatformInfo)(cl_platform_id, cl_uint, size_t, void *, size_t *);
	cl_int (*clGetDeviceIDs)(cl_platform_id, cl_ulong, cl_uint, cl_device_id *, cl_uint *);
	cl_int (*clGetDeviceInfo)(cl_device_id, cl_uint, size_t, void *, size_t *);
	cl_context (*clCreateContext)(const cl_context_properties *, cl_uint, const cl_device_id *,
				      void (*)(const char *, const void *, size_t, void *), void *,
				      cl_int *);
	cl_command_queue (*clCreateCommandQueue)(cl_context, cl_device_id, cl_ulong, cl_int *);
	cl_mem (*clCreateBuffer)(cl_context, cl_ulong, size_t, void *, cl_int *);
	cl_int (*clEnqueueCopyBuffer)(cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t,
				      cl_uint, const cl_event *, cl_event *);
	cl_int (*clEnqueueWriteBuffer)(cl_command_queue, cl_mem, cl_uint, size_t, size_t,
				       const void *, cl_uint, const cl_event *, cl_event *);
	cl_int (*clEnqueueReadBuffer)(cl_command_queue, cl_mem, cl_uint, size_t, size_t, void *,
				      cl_uint, const cl_event *, cl_event *);
	cl_int (*clFinish)(cl_command_queue);
	cl_int (*clReleaseMemObject)(cl_mem);
	cl_int (*clReleaseCommandQueue)(cl_command_queue);
	cl_int (*clReleaseContext)(cl_context);
};

#define SYM(lib, dst, name) (*(void **)&(dst) = dlsym((lib), (name)))

static void ocl_cleanup(void *priv)
{
	struct ocl_api *api = priv;
	if (!api)
		return;
	/* the ICD loader and its drivers stay loaded (PoCL and vendor ICDs
	 * register exit handlers) */
	free(api);
}

/* A string property, cut to n bytes (asked for in a large buffer: a
 * driver refuses a buffer shorter than the whole string). */
static void dev_str(const struct ocl_api *api, cl_device_id d, cl_uint what, char *buf, size_t n)
{
	char big[512] = "";
	if (api->clGetDeviceInfo(d, what, sizeof big, big, NULL) != 0)
		big[0] = 0;
	big[sizeof big - 1] = 0;
	snprintf(buf, n, "%s", big);
	/* trailing blanks some drivers add */
	for (size_t len = strlen(buf); len && (buf[len - 1] == ' ' || buf[len - 1] == '\n'); len--)
		buf[len - 1] = 0;
}

static int ocl_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			int max, char *note, size_t notelen)
{
	(void)ctx;
	*priv = NULL;
	struct ocl_api *api = calloc(1, sizeof *api);
	if (!api) {
		snprintf(note, notelen, "out of memory");
		return -1;
	}
	*priv = api;
	api->lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!api->lib) {
		snprintf(note, notelen, "no libOpenCL.so.1 (no OpenCL ICD loader)");
		return 0;
	}
	SYM(api->lib, api->clGetPlatformIDs, "clGetPlatformIDs");
	SYM(api->lib, api->clGetPlatformInfo, "clGetPlatformInfo");
	SYM(api->lib, api->clGetDeviceIDs, "clGetDeviceIDs");
	SYM(api->lib, api->clGetDeviceInfo, "clGetDeviceInfo");
	SYM(api->lib, api->clCreateContext, "clCreateContext");
	SYM(api->lib, api->clCreateCommandQueue, "clCreateCommandQueue");
	SYM(api->lib, api->clCreateBuffer, "clCreateBuffer");
	SYM(api->lib, api->clEnqueueCopyBuffer, "clEnqueueCopyBuffer");
	SYM(api->lib, api->clEnqueueWriteBuffer, "clEnqueueWriteBuffer");
	SYM(api->lib, api->clEnqueueReadBuffer, "clEnqueueReadBuffer");
	SYM(api->lib, api->clFinish, "clFinish");
	SYM(api->lib, api->clReleaseMemObject, "clReleaseMemObject");
	SYM(api->lib, api->clReleaseCommandQueue, "clReleaseCommandQueue");
	SYM(api->lib, api->clReleaseContext, "clReleaseContext");
	if (!api->clGetPlatformIDs || !api->clGetPlatformInfo || !api->clGetDeviceIDs ||
	    !api->clGetDeviceInfo) {
		snprintf(note, notelen, "libOpenCL.so.1 lacks the OpenCL 1.0 entry points");
		return 0;
	}
	cl_platform_id plats[OCL_MAX_PLATFORMS];
	cl_uint np = 0;
	if (api->clGetPlatformIDs(OCL_MAX_PLATFORMS, plats, &np) != 0 || np == 0) {
		snprintf(note, notelen, "libOpenCL.so.1 found, no OpenCL platform (no ICD installed)");
		return 0;
	}
	if (np > OCL_MAX_PLATFORMS)
		np = OCL_MAX_PLATFORMS;
	int n = 0;
	for (cl_uint p = 0; p < np && n < max && n < PROBE_MAX_ACCEL; p++) {
		char pname[512] = "", pver[512] = "";
		if (api->clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL))
			pname[0] = 0;
		if (api->clGetPlatformInfo(plats[p], CL_PLATFORM_VERSION, sizeof pver, pver, NULL))
			pver[0] = 0;
		pname[sizeof pname - 1] = pver[sizeof pver - 1] = 0;
		cl_device_id devs[OCL_MAX_DEVICES];
		cl_uint nd = 0;
		if (api->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, devs, &nd) != 0)
			continue;
		if (nd > OCL_MAX_DEVICES)
			nd = OCL_MAX_DEVICES;
		for (cl_uint d = 0; d < nd && n < max && n < PROBE_MAX_ACCEL; d++) {
			struct probe_accel *a = &out[n];
			probe_accel_init(a);
			a->index = n;
			api->dev[n] = devs[d];
			snprintf(a->backend, sizeof a->backend, "opencl");
			dev_str(api, devs[d], CL_DEVICE_NAME, a->name, sizeof a->name);
			dev_str(api, devs[d], CL_DEVICE_VENDOR, a->vendor, sizeof a->vendor);
			dev_str(api, devs[d], CL_DRIVER_VERSION, a->driver, sizeof a->driver);
			snprintf(a->runtime, sizeof a->runtime, "%.40s (%.20s)", pver, pname);
			cl_ulong type = 0, mem = 0;
			cl_uint cu = 0, mhz = 0, unified = 0;
			api->clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
			snprintf(a->kind, sizeof a->kind, "%s",
				 type & CL_DEVICE_TYPE_GPU ? "gpu" :
				 type & CL_DEVICE_TYPE_CPU ? "cpu" :
				 type & CL_DEVICE_TYPE_ACCELERATOR ? "npu" : "other");
			if (api->clGetDeviceInfo(devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem,
						 NULL) == 0)
				a->memory_bytes = mem;
			if (api->clGetDeviceInfo(devs[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu,
						 NULL) == 0)
				a->compute_units = (int)cu;
			if (api->clGetDeviceInfo(devs[d], CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz,
						 &mhz, NULL) == 0 && mhz)
				a->core_mhz = mhz;
			if (api->clGetDeviceInfo(devs[d], CL_DEVICE_HOST_UNIFIED_MEMORY,
						 sizeof unified, &unified, NULL) == 0)
				a->unified_memory = unified != 0;
			cl_uint bus[4];
			if (api->clGetDeviceInfo(devs[d], CL_DEVICE_PCI_BUS_INFO_KHR, sizeof bus, bus,
						 NULL) == 0)
				snprintf(a->bus_id, sizeof a->bus_id, "%04x:%02x:%02x.%x",
					 bus[0] & 0xffff, bus[1] & 0xff, bus[2] & 0x1f, bus[3] & 7);
			if (!a->name[0])
				snprintf(a->name, sizeof a->name, "OpenCL device %d", n);
			n++;
		}
	}
	api->n_dev = n;
	if (n == 0)
		snprintf(note, notelen, "libOpenCL.so.1 found, no OpenCL device");
	return n;
}

static int ocl_measure(const struct accel_ctx *ctx, void *priv, struct probe_accel *a)
{
	struct ocl_api *api = priv;
	int quick = ctx ? ctx->quick : 0;
	cl_int e = 0;
	cl_context cx = NULL;
	cl_command_queue q = NULL;
	cl_mem src = NULL, dst = NULL;
	void *host = NULL;
	char err[96] = "";
	if (!api || a->index < 0 || a->index >= api->n_dev || !api->clCreateContext ||
	    !api->clCreateCommandQueue || !api->clCreateBuffer || !api->clEnqueueCopyBuffer ||
	    !api->clEnqueueWriteBuffer || !api->clEnqueueReadBuffer || !api->clFinish ||
	    !api->clReleaseMemObject || !api->clReleaseCommandQueue || !api->clReleaseContext) {
		snprintf(a->status, sizeof a->status, "not measured: OpenCL entry points missing");
		return -1;
	}
	cl_device_id d = api->dev[a->index];
	cl_ulong maxalloc = 0;
	api->clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
	/* a CPU device measures host memory: small buffers, the path is what counts */
	size_t bytes = strcmp(a->kind, "gpu") == 0 ? (quick ? (64u << 20) : (256u << 20))
						    : (16u << 20);
	while (bytes > (1u << 20) && ((maxalloc && bytes > maxalloc) ||
				      (a->memory_bytes && bytes > a->memory_bytes / 8)))
		bytes /= 2;
	int reps = quick ? 3 : 8;
	cx = api->clCreateContext(NULL, 1, &d, NULL, NULL, &e);
	if (!cx || e) {
		snprintf(err, sizeof err, "clCreateContext error %d", (int)e);
		goto out;
	}
	q = api->clCreateCommandQueue(cx, d, 0, &e);
	if (!q || e) {
		snprintf(err, sizeof err, "clCreateCommandQueue error %d", (int)e);
		goto out;
	}
	src = api->clCreateBuffer(cx, CL_MEM_READ_WRITE, bytes, NULL, &e);
	if (src && !e)
		dst = api->clCreateBuffer(cx, CL_MEM_READ_WRITE, bytes, NULL, &e);
	host = malloc(bytes);
	if (!src || !dst || e || !host) {
		snprintf(err, sizeof err, "buffers of %zu MiB: error %d", bytes >> 20, (int)e);
		goto out;
	}
	uint32_t *w = host;
	for (size_t i = 0; i < bytes / 4; i++)
		w[i] = (uint32_t)(i * 2654435761u) | 0x01000100u;
	/* host -> device (also fills src with non-zero data), device -> host */
	for (int dir = 0; dir < 2 && !err[0]; dir++) {
		struct probe_accel_fig *f = dir == 0 ? &a->h2d : &a->d2h;
		for (int i = 0; i < reps + 1; i++) {
			double t0 = probe_now();
			e = dir == 0 ? api->clEnqueueWriteBuffer(q, src, 1, 0, bytes, host, 0, NULL, NULL)
				     : api->clEnqueueReadBuffer(q, src, 1, 0, bytes, host, 0, NULL, NULL);
			if (!e)
				e = api->clFinish(q);
			if (e) {
				snprintf(err, sizeof err, "%s error %d", dir == 0 ?
					 "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", (int)e);
				break;
			}
			double s = probe_now() - t0;
			if (i >= 1 && s > 0 && f->stat.n < PROBE_MAX_SAMPLES)
				f->stat.samples[f->stat.n++] = bytes / s / 1e9;
		}
		f->bytes = bytes;
		snprintf(f->method, sizeof f->method, "%s %zu MiB, blocking, malloc host memory, "
			 "host clock, best of %d", dir == 0 ? "clEnqueueWriteBuffer" :
			 "clEnqueueReadBuffer", bytes >> 20, f->stat.n);
		accel_fig_finish(f, 1);
	}
	for (int i = 0; i < reps + 1 && !err[0]; i++) {
		double t0 = probe_now();
		e = api->clEnqueueCopyBuffer(q, src, dst, 0, 0, bytes, 0, NULL, NULL);
		if (!e)
			e = api->clFinish(q);
		if (e) {
			snprintf(err, sizeof err, "clEnqueueCopyBuffer error %d", (int)e);
			break;
		}
		double s = probe_now() - t0;
		if (i >= 1 && s > 0 && a->copy.stat.n < PROBE_MAX_SAMPLES)
			a->copy.stat.samples[a->copy.stat.n++] = 2.0 * bytes / s / 1e9;
	}
	a->copy.bytes = 2 * (uint64_t)bytes;
	snprintf(a->copy.method, sizeof a->copy.method, "clEnqueueCopyBuffer %zu MiB, host clock "
		 "to clFinish, read+write counted (2 x size), best of %d", bytes >> 20,
		 a->copy.stat.n);
	accel_fig_finish(&a->copy, 1);
out:
	snprintf(a->method, sizeof a->method, "OpenCL via dlopen; copy: clEnqueueCopyBuffer, "
		 "read+write bytes; h2d: clEnqueueWriteBuffer (pageable); fp16: not measured "
		 "(no OpenCL matrix kernel)");
	free(host);
	if (dst)
		api->clReleaseMemObject(dst);
	if (src)
		api->clReleaseMemObject(src);
	if (q)
		api->clReleaseCommandQueue(q);
	if (cx)
		api->clReleaseContext(cx);
	if (err[0]) {
		snprintf(a->status, sizeof a->status, "partly measured: %s", err);
		return -1;
	}
	snprintf(a->status, sizeof a->status, "measured (no FP16 matrix kernel for OpenCL)");
	return 0;
}

const struct accel_ops accel_opencl_ops = {
	.version = ACCEL_OPS_VERSION,
	.name = "opencl",
	.caps = ACCEL_CAP_MEASURE,
	.discover = ocl_discover,
	.measure = ocl_measure,
	.cleanup = ocl_cleanup,
};
