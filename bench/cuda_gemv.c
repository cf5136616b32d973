/*
 * bench/cuda_gemv: llmcap's CUDA matrix-vector kernels (decode) against a
 * device-to-device copy timed in the same run. For each weight type and
 * shape: GB/s of weights read (median of samples, each many products
 * over distinct matrices far beyond the L2 cache) and the ratio to the
 * copy's GB/s (bytes read + written, as llmcap probe counts it).
 *
 *   cuda_gemv [--bpsm N[,N...]] [--types q4_0,q8_0,...] [--quick]
 *
 * --bpsm 0 (the default) lets the library size the grid to one wave.
 *
 * Built by scripts/cuda-check.sh against build/libllmcap.a.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kern_cuda.h"

int main(int argc, char **argv)
{
	const char *bpsm_s = "0", *types_s = "q4_0,q4_1,q5_0,q8_0,q4_K,q5_K,q6_K,f16,bf16,f32";
	int quick = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bpsm") && i + 1 < argc)
			bpsm_s = argv[++i];
		else if (!strcmp(argv[i], "--types") && i + 1 < argc)
			types_s = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else {
			fprintf(stderr, "usage: cuda_gemv [--bpsm N,...] [--types q4_0,...] [--quick]\n");
			return 2;
		}
	}
	char err[512];
	struct kern_cuda *c;
	int rc = kern_cuda_open(&c, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "cuda_gemv: %s\n", err);
		return rc == -1 ? 77 : 1;
	}
	printf("GPU: %s\n", kern_cuda_device_name(c));
	double copy = 0;
	if (kern_cuda_bench_copy(c, (size_t)1 << 30, 10, &copy, err, sizeof err)) {
		fprintf(stderr, "cuda_gemv: %s\n", err);
		return 1;
	}
	printf("device-to-device copy, 1 GiB: %.0f GB/s (read + write, best of 10)\n\n", copy);
	static const int64_t shapes[][2] = {{4096, 14336}, {14336, 4096}, {4096, 4096}, {128256, 4096}};
	const int n_shapes = quick ? 2 : 4;
	printf("%-5s %-13s %5s %10s %10s %7s\n", "type", "rows x cols", "bpsm", "us/product", "GB/s", "of copy");
	char types[256];
	snprintf(types, sizeof types, "%s", types_s);
	for (char *tn = strtok(types, ","); tn; tn = strtok(NULL, ",")) {
		const struct mdb_qtraits *q = mdb_qtype_by_name(tn);
		if (!q) {
			fprintf(stderr, "cuda_gemv: unknown type %s\n", tn);
			return 2;
		}
		for (int s = 0; s < n_shapes; s++) {
			char bl[128];
			snprintf(bl, sizeof bl, "%s", bpsm_s);
			char *save = NULL;
			for (char *b = strtok_r(bl, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
				kern_cuda_set_blocks_per_sm(c, atoi(b));
				const size_t bytes = kern_row_bytes(q->id, shapes[s][1]) * (size_t)shapes[s][0];
				int n_mats = (int)(((size_t)512 << 20) / bytes) + 2;
				if (n_mats > 48)
					n_mats = 48;
				struct kern_bench kb;
				if (kern_cuda_bench_matvec(c, q->id, shapes[s][0], shapes[s][1], n_mats,
							   n_mats * 4, 9, &kb, err, sizeof err)) {
					fprintf(stderr, "cuda_gemv: %s %lldx%lld: %s\n", q->name,
						(long long)shapes[s][0], (long long)shapes[s][1], err);
					return 1;
				}
				char shp[32];
				snprintf(shp, sizeof shp, "%lldx%lld", (long long)shapes[s][0], (long long)shapes[s][1]);
				printf("%-5s %-13s %5s %10.1f %10.0f %6.1f%%\n", q->name, shp, b, kb.median_s * 1e6,
				       kb.median_gbps, 100 * kb.median_gbps / copy);
				fflush(stdout);
			}
		}
	}
	kern_cuda_close(c);
	return 0;
}
