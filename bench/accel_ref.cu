/*
 * bench: the reference figures the accelerator probe is checked against,
 * through the CUDA runtime and cuBLAS linked the ordinary way (not through
 * llmcap's dlopen path): a large cudaMemcpy device-to-device timed with
 * events (GB/s counting bytes read + written, 2 x size: the probe's
 * convention) and cublasGemmEx FP16 in/out with FP32 accumulate on square
 * matrices. Prints one JSON object. Built and run by scripts/accel-check.sh
 * on a machine with a GPU.
 *   nvcc -O2 -arch=native -o accel_ref bench/accel_ref.cu -lcublas
 */
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cublas_v2.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
	fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_)); exit(1); } } while (0)
#define CB(x) do { cublasStatus_t s_ = (x); if (s_ != CUBLAS_STATUS_SUCCESS) { \
	fprintf(stderr, "%s: status %d\n", #x, (int)s_); exit(1); } } while (0)

__global__ void fill(uint32_t *a, size_t n, uint32_t seed)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		uint32_t x = (uint32_t)i * 2654435761u ^ seed;
		x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
		a[i] = (x & 0x83ff83ffu) | 0x38003800u;
	}
}

int main(int argc, char **argv)
{
	size_t bytes = (size_t)1 << 30;
	int n = 8192, reps = 20;
	cudaEvent_t e0, e1;
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	void *src, *dst;
	CK(cudaMalloc(&src, bytes));
	CK(cudaMalloc(&dst, bytes));
	fill<<<1024, 256>>>((uint32_t *)src, bytes / 4, 1);
	fill<<<1024, 256>>>((uint32_t *)dst, bytes / 4, 2);
	CK(cudaGetLastError());
	std::vector<double> copy;
	for (int i = 0; i < reps + 2; i++) {
		CK(cudaEventRecord(e0));
		CK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
		CK(cudaEventRecord(e1));
		CK(cudaEventSynchronize(e1));
		float ms;
		CK(cudaEventElapsedTime(&ms, e0, e1));
		if (i >= 2)
			copy.push_back(2.0 * bytes / (ms / 1e3) / 1e9);
	}
	CK(cudaFree(src));
	CK(cudaFree(dst));

	size_t mb = (size_t)n * n * 2;
	void *A, *B, *C;
	CK(cudaMalloc(&A, mb));
	CK(cudaMalloc(&B, mb));
	CK(cudaMalloc(&C, mb));
	fill<<<1024, 256>>>((uint32_t *)A, mb / 4, 3);
	fill<<<1024, 256>>>((uint32_t *)B, mb / 4, 4);
	CK(cudaGetLastError());
	cublasHandle_t h;
	CB(cublasCreate(&h));
	float alpha = 1, beta = 0;
	std::vector<double> tf;
	for (int i = 0; i < 14; i++) {
		CK(cudaEventRecord(e0));
		CB(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, A, CUDA_R_16F, n, B,
				CUDA_R_16F, n, &beta, C, CUDA_R_16F, n, CUBLAS_COMPUTE_32F,
				CUBLAS_GEMM_DEFAULT));
		CK(cudaEventRecord(e1));
		CK(cudaEventSynchronize(e1));
		float ms;
		CK(cudaEventElapsedTime(&ms, e0, e1));
		if (i >= 2)
			tf.push_back(2.0 * n * (double)n * n / (ms / 1e3) / 1e12);
	}
	/* one output element against a float64 dot product on the host */
	std::vector<__half> ha((size_t)n * n), hb((size_t)n * n), hc((size_t)n * n);
	CK(cudaMemcpy(ha.data(), A, mb, cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(hb.data(), B, mb, cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(hc.data(), C, mb, cudaMemcpyDeviceToHost));
	int r = 123, c = 4567;
	double ref = 0;
	for (int k = 0; k < n; k++)   /* column-major: C(r,c) = sum A(r,k) B(k,c) */
		ref += (double)__half2float(ha[(size_t)k * n + r]) * __half2float(hb[(size_t)c * n + k]);
	double got = __half2float(hc[(size_t)c * n + r]);
	int ver;
	CB(cublasGetVersion(h, &ver));
	std::sort(copy.begin(), copy.end());
	std::sort(tf.begin(), tf.end());
	printf("{\"copy_gbps_best\": %.1f, \"copy_gbps_median\": %.1f, \"copy_bytes\": %zu, "
	       "\"fp16_tflops_best\": %.1f, \"fp16_tflops_median\": %.1f, \"gemm_n\": %d, "
	       "\"cublas_version\": %d, \"gemm_check\": {\"got\": %.4f, \"ref\": %.4f}}\n",
	       copy.back(), copy[copy.size() / 2], bytes, tf.back(), tf[tf.size() / 2], n, ver,
	       got, ref);
	return 0;
}
