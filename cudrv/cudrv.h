/*
 * cudrv: the CUDA driver API (libcuda.so.1) loaded at run time with
 * dlopen, so the binary links no GPU library and needs no CUDA header.
 * Shared by the accelerator probe (probe/accel_cuda.c) and llmcap's CUDA
 * kernels (kernels/kern_cuda.c): one table of entry points, one loader,
 * one set of messages for a machine without a driver or with one too old.
 *
 * Only the types, constants and prototypes llmcap uses are declared here,
 * with the driver's own names so the code reads like CUDA documentation.
 * A struct cudrv is plain data owned by its caller; libcuda.so.1 stays
 * loaded for the life of the process once opened (unloading the driver
 * while a process runs is not safe: its exit handlers).
 */
#ifndef LLMCAP_CUDRV_H
#define LLMCAP_CUDRV_H

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum {
	CU_ATTR_MAX_THREADS_PER_BLOCK = 1,
	CU_ATTR_CLOCK_RATE = 13,                 /* kHz */
	CU_ATTR_MULTIPROCESSOR_COUNT = 16,
	CU_ATTR_INTEGRATED = 18,
	CU_ATTR_MEMORY_CLOCK_RATE = 36,          /* kHz */
	CU_ATTR_GLOBAL_MEMORY_BUS_WIDTH = 37,
	CU_ATTR_L2_CACHE_SIZE = 38,
	CU_ATTR_CC_MAJOR = 75,
	CU_ATTR_CC_MINOR = 76,
	CU_ATTR_MAX_SHARED_PER_BLOCK_OPTIN = 97,
};
enum {
	CU_FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};
/* cuLaunchKernelEx's configuration (the layouts of cuda.h) */
#define CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION 6
typedef struct {
	int id;
	char pad[4];
	union {
		char pad[64];
		long long align_;
		int i;
	} value;
} CUlaunchAttribute;
typedef struct {
	unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes;
	CUstream hStream;
	CUlaunchAttribute *attrs;
	unsigned numAttrs;
} CUlaunchConfig;
#define CUDA_SUCCESS 0
#define CUDA_ERROR_OUT_OF_MEMORY 2
#define CUDA_ERROR_INSUFFICIENT_DRIVER 35
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_NO_BINARY_FOR_GPU 209
#define CU_STREAM_NON_BLOCKING 0x1
#define CU_STREAM_CAPTURE_MODE_THREAD_LOCAL 1
#define CU_EVENT_DISABLE_TIMING 0x2

/* The entry points. Every pointer is set by cudrv_load, except those
 * marked optional (NULL when this driver lacks them: check before use). */
struct cudrv {
	void *lib;                    /* dlopen handle of libcuda.so.1 */
	int driver_version;           /* 12040 for CUDA 12.4; 0 before cuInit */
	CUresult (*cuInit)(unsigned);
	CUresult (*cuDriverGetVersion)(int *);
	CUresult (*cuGetErrorName)(CUresult, const char **);
	CUresult (*cuDeviceGetCount)(int *);
	CUresult (*cuDeviceGet)(CUdevice *, int);
	CUresult (*cuDeviceGetName)(char *, int, CUdevice);
	CUresult (*cuDeviceTotalMem)(size_t *, CUdevice);
	CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*cuDeviceGetPCIBusId)(char *, int, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxSynchronize)(void);
	CUresult (*cuMemGetInfo)(size_t *, size_t *);
	CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
	CUresult (*cuMemFree)(CUdeviceptr);
	CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
	CUresult (*cuMemFreeHost)(void *);
	CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
	CUresult (*cuStreamCreate)(CUstream *, unsigned);
	CUresult (*cuStreamDestroy)(CUstream);
	CUresult (*cuStreamSynchronize)(CUstream);
	CUresult (*cuEventCreate)(CUevent *, unsigned);
	CUresult (*cuEventDestroy)(CUevent);
	CUresult (*cuEventRecord)(CUevent, CUstream);
	CUresult (*cuEventSynchronize)(CUevent);
	CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*cuModuleLoadData)(CUmodule *, const void *);
	CUresult (*cuModuleUnload)(CUmodule);
	CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
				   unsigned, unsigned, CUstream, void **, void **);
	/* optional */
	CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
	CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **, void **);
	CUresult (*cuOccupancyMaxActiveBlocksPerMultiprocessor)(int *, CUfunction, int, size_t);
	CUresult (*cuStreamBeginCapture)(CUstream, int);
	CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
	CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
	CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
	CUresult (*cuGraphExecDestroy)(CUgraphExec);
	CUresult (*cuGraphDestroy)(CUgraph);
};

/* Opens libcuda.so.1 and fills every entry point; does not call cuInit.
 * 0 on success; -1 when there is no libcuda.so.1 (no NVIDIA driver) or it
 * lacks an entry point (a driver too old): note gets a short line saying
 * which ("no libcuda.so.1 (no NVIDIA driver)"). Nothing to free. */
int cudrv_load(struct cudrv *d, char *note, size_t notelen);

/* cuInit(0) and the driver version: 0, or -1 with note saying why in the
 * probe's words: no device, a kernel driver too old for libcuda.so.1, or
 * the error's name. */
int cudrv_init(struct cudrv *d, char *note, size_t notelen);

/* The name of CUresult r ("CUDA_ERROR_OUT_OF_MEMORY"); static storage. */
const char *cudrv_err(const struct cudrv *d, CUresult r);

#endif
