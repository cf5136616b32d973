/*
 * cudrv: libcuda.so.1 through dlopen; see cudrv.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "cudrv/cudrv.h"

/* the launch structs must match cuda.h's (64-bit) */
_Static_assert(sizeof(CUlaunchAttribute) == 72 && offsetof(CUlaunchAttribute, value) == 8,
	       "CUlaunchAttribute layout");
_Static_assert(sizeof(CUlaunchConfig) == 56 && offsetof(CUlaunchConfig, hStream) == 32,
	       "CUlaunchConfig layout");

static const struct {
	size_t off;
	const char *name;
	int optional;
} syms[] = {
#define S(field, name) {offsetof(struct cudrv, field), name, 0}
#define O(field, name) {offsetof(struct cudrv, field), name, 1}
	S(cuInit, "cuInit"), S(cuDriverGetVersion, "cuDriverGetVersion"),
	S(cuGetErrorName, "cuGetErrorName"), S(cuDeviceGetCount, "cuDeviceGetCount"),
	S(cuDeviceGet, "cuDeviceGet"), S(cuDeviceGetName, "cuDeviceGetName"),
	S(cuDeviceTotalMem, "cuDeviceTotalMem_v2"),
	S(cuDeviceGetAttribute, "cuDeviceGetAttribute"),
	S(cuDeviceGetPCIBusId, "cuDeviceGetPCIBusId"),
	S(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	S(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease"),
	S(cuCtxSetCurrent, "cuCtxSetCurrent"), S(cuCtxSynchronize, "cuCtxSynchronize"),
	S(cuMemGetInfo, "cuMemGetInfo_v2"), S(cuMemAlloc, "cuMemAlloc_v2"),
	S(cuMemFree, "cuMemFree_v2"), S(cuMemHostAlloc, "cuMemHostAlloc"),
	S(cuMemFreeHost, "cuMemFreeHost"), S(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
	S(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	S(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"), S(cuMemcpyHtoD, "cuMemcpyHtoD_v2"),
	S(cuMemcpyDtoH, "cuMemcpyDtoH_v2"), S(cuMemsetD8Async, "cuMemsetD8Async"),
	S(cuStreamCreate, "cuStreamCreate"), S(cuStreamDestroy, "cuStreamDestroy_v2"),
	S(cuStreamSynchronize, "cuStreamSynchronize"), S(cuEventCreate, "cuEventCreate"),
	S(cuEventDestroy, "cuEventDestroy_v2"), S(cuEventRecord, "cuEventRecord"),
	S(cuEventSynchronize, "cuEventSynchronize"),
	S(cuEventElapsedTime, "cuEventElapsedTime"),
	S(cuModuleLoadData, "cuModuleLoadData"), S(cuModuleUnload, "cuModuleUnload"),
	S(cuModuleGetFunction, "cuModuleGetFunction"), S(cuLaunchKernel, "cuLaunchKernel"),
	O(cuFuncSetAttribute, "cuFuncSetAttribute"), O(cuLaunchKernelEx, "cuLaunchKernelEx"),
	O(cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor"),
	O(cuStreamBeginCapture, "cuStreamBeginCapture_v2"),
	O(cuStreamEndCapture, "cuStreamEndCapture"),
	O(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"),
	O(cuGraphLaunch, "cuGraphLaunch"), O(cuGraphExecDestroy, "cuGraphExecDestroy"),
	O(cuGraphDestroy, "cuGraphDestroy"),
#undef S
#undef O
};

int cudrv_load(struct cudrv *d, char *note, size_t notelen)
{
	memset(d, 0, sizeof *d);
	d->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!d->lib) {
		snprintf(note, notelen, "no libcuda.so.1 (no NVIDIA driver)");
		return -1;
	}
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *f = dlsym(d->lib, syms[i].name);
		if (!f && !syms[i].optional) {
			snprintf(note, notelen, "libcuda.so.1 lacks %s: the NVIDIA driver is too "
				 "old; update it", syms[i].name);
			return -1;
		}
		memcpy((char *)d + syms[i].off, &f, sizeof f);
	}
	/* the _v2 release exists from CUDA 11; prefer it */
	void *rel = dlsym(d->lib, "cuDevicePrimaryCtxRelease_v2");
	if (rel)
		memcpy(&d->cuDevicePrimaryCtxRelease, &rel, sizeof rel);
	/* graphs are used only when every graph entry point is there */
	if (!d->cuStreamBeginCapture || !d->cuStreamEndCapture || !d->cuGraphInstantiateWithFlags ||
	    !d->cuGraphLaunch || !d->cuGraphExecDestroy || !d->cuGraphDestroy)
		d->cuGraphLaunch = NULL;
	return 0;
}

const char *cudrv_err(const struct cudrv *d, CUresult r)
{
	const char *s = NULL;
	if (d && d->cuGetErrorName && d->cuGetErrorName(r, &s) == 0 && s)
		return s;
	return "CUDA error";
}

int cudrv_init(struct cudrv *d, char *note, size_t notelen)
{
	CUresult r = d->cuInit(0);
	if (r != CUDA_SUCCESS) {
		if (r == CUDA_ERROR_NO_DEVICE)
			snprintf(note, notelen, "libcuda.so.1 found, no CUDA device (%s)",
				 cudrv_err(d, r));
		else if (r == CUDA_ERROR_INSUFFICIENT_DRIVER)
			snprintf(note, notelen, "cuInit: %s: the NVIDIA kernel driver is too old "
				 "for libcuda.so.1; update the driver", cudrv_err(d, r));
		else
			snprintf(note, notelen, "cuInit failed: %s", cudrv_err(d, r));
		return -1;
	}
	d->cuDriverGetVersion(&d->driver_version);
	return 0;
}
