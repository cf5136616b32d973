/*
 * kernels: synthetic random weights and the matrix-vector and
 * matrix-matrix microbenchmarks (warm-up, samples, median and best, bytes
 * counted explicitly).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kern_internal.h"

double kern_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [lo, hi). */
static float rndf(uint64_t *s, float lo, float hi)
{
	return lo + (hi - lo) * (float)((double)(rnd(s) >> 11) / 9007199254740992.0);
}

int kern_random_row(int type, int64_t n, uint64_t *seed, void *dst)
{
	const size_t bytes = kern_row_bytes(type, n);
	if (!kern_type_supported(type) || bytes == 0)
		return -1;
	uint8_t *p = dst;
	size_t i = 0;
	for (; i + 8 <= bytes; i += 8) {
		uint64_t r = rnd(seed);
		memcpy(p + i, &r, 8);
	}
	for (; i < bytes; i++)
		p[i] = (uint8_t)rnd(seed);
	switch (type) {
	case QT_F32:
		for (int64_t k = 0; k < n; k++)
			((float *)dst)[k] = rndf(seed, -1, 1);
		break;
	case QT_F16:
		for (int64_t k = 0; k < n; k++)
			((uint16_t *)dst)[k] = kern_fp32_to_fp16(rndf(seed, -1, 1));
		break;
	case QT_BF16:
		for (int64_t k = 0; k < n; k++)
			((uint16_t *)dst)[k] = kern_fp32_to_bf16(rndf(seed, -1, 1));
		break;
	case QT_Q4_0:
		for (int64_t b = 0; b < n / 32; b++)
			((struct block_q4_0 *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.001f, 0.05f));
		break;
	case QT_Q5_0:
		for (int64_t b = 0; b < n / 32; b++)
			((struct block_q5_0 *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.001f, 0.05f));
		break;
	case QT_Q8_0:
		for (int64_t b = 0; b < n / 32; b++)
			((struct block_q8_0 *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.0002f, 0.005f));
		break;
	case QT_Q4_1:
		for (int64_t b = 0; b < n / 32; b++) {
			((struct block_q4_1 *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.001f, 0.05f));
			((struct block_q4_1 *)dst)[b].m = kern_fp32_to_fp16(rndf(seed, -0.3f, 0.3f));
		}
		break;
	case QT_Q4_K:
		for (int64_t b = 0; b < n / QK_K; b++) {
			((struct block_q4_K *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.0005f, 0.005f));
			((struct block_q4_K *)dst)[b].dmin = kern_fp32_to_fp16(rndf(seed, 0.0005f, 0.005f));
		}
		break;
	case QT_Q5_K:
		for (int64_t b = 0; b < n / QK_K; b++) {
			((struct block_q5_K *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.0005f, 0.005f));
			((struct block_q5_K *)dst)[b].dmin = kern_fp32_to_fp16(rndf(seed, 0.0005f, 0.005f));
		}
		break;
	case QT_Q6_K:
		for (int64_t b = 0; b < n / QK_K; b++)
			((struct block_q6_K *)dst)[b].d = kern_fp32_to_fp16(rndf(seed, 0.0001f, 0.002f));
		break;
	default:
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int kern_bench_matvec(const struct kern_table *t, struct kern_pool *pool, int type, int64_t rows,
		      int64_t cols, int n_mats, int iters, int n_samples, struct kern_bench *out,
		      char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct kern_mat *m = NULL;
	uint8_t *w = NULL;
	float *x = NULL, *y = NULL;
	void *work = NULL;
	int rc = -1;
	if (n_mats < 1 || n_samples < 1 || n_samples > KERN_BENCH_MAX_SAMPLES) {
		if (err)
			snprintf(err, errlen, "bench: n_mats >= 1 and 1..%d samples", KERN_BENCH_MAX_SAMPLES);
		return -1;
	}
	if (iters < 1)
		iters = 1;
	const size_t rb = kern_row_bytes(type, cols);
	if (!kern_type_supported(type) || rb == 0 || rows <= 0) {
		if (err)
			snprintf(err, errlen, "bench: unsupported type %d or shape %lld x %lld", type,
				 (long long)rows, (long long)cols);
		return -1;
	}
	const size_t mat_bytes = rb * (size_t)rows;
	m = calloc((size_t)n_mats, sizeof *m);
	w = aligned_alloc(64, (mat_bytes * (size_t)n_mats + 63) & ~(size_t)63);
	x = malloc((size_t)cols * sizeof *x);
	y = malloc((size_t)rows * sizeof *y);
	size_t ws = kern_row_bytes(QT_Q8_K, cols) + (size_t)(cols / 32) * sizeof(struct kern_qa) +
		    (size_t)(cols / QK_K) * sizeof(struct kern_qk) + 64;
	work = malloc(ws);
	if (!m || !w || !x || !y || !work) {
		if (err)
			snprintf(err, errlen, "bench: out of memory for %zu bytes of weights",
				 mat_bytes * (size_t)n_mats);
		rc = -2;
		goto out;
	}
	uint64_t seed = 0x5eed0001;
	for (int k = 0; k < n_mats; k++) {
		for (int64_t r = 0; r < rows; r++)
			kern_random_row(type, cols, &seed, w + (size_t)k * mat_bytes + (size_t)r * rb);
		if (kern_mat_init(&m[k], type, rows, cols, w + (size_t)k * mat_bytes, err, errlen))
			goto out;
	}
	/* as the forward pass runs them: packed where the table has packed
	 * products (a matrix left unpacked, out of memory, runs on rows) */
	for (int k = 0; k < n_mats; k++)
		kern_mat_pack(t, &m[k], pool, NULL, 0);
	for (int64_t c = 0; c < cols; c++)
		x[c] = rndf(&seed, -1, 1);
	/* warm-up: one pass over every matrix */
	for (int k = 0; k < n_mats; k++)
		if (kern_matvec(t, pool, &m[k], x, y, work, err, errlen))
			goto out;
	for (int s = 0; s < n_samples; s++) {
		const double t0 = kern_now();
		for (int it = 0; it < iters; it++)
			kern_matvec(t, pool, &m[it % n_mats], x, y, work, NULL, 0);
		out->samples_s[s] = (kern_now() - t0) / iters;
	}
	double sorted[KERN_BENCH_MAX_SAMPLES];
	memcpy(sorted, out->samples_s, sizeof(double) * (size_t)n_samples);
	qsort(sorted, (size_t)n_samples, sizeof(double), cmp_double);
	out->type = type;
	out->rows = rows;
	out->cols = cols;
	out->n_mats = n_mats;
	out->n_threads = kern_pool_threads(pool);
	out->iters = iters;
	out->n_samples = n_samples;
	out->bytes_per_product = mat_bytes;
	out->median_s = n_samples % 2 ? sorted[n_samples / 2]
				      : 0.5 * (sorted[n_samples / 2 - 1] + sorted[n_samples / 2]);
	out->best_s = sorted[0];
	out->median_gbps = (double)mat_bytes / out->median_s * 1e-9;
	out->best_gbps = (double)mat_bytes / out->best_s * 1e-9;
	rc = 0;
out:
	for (int k = 0; m && k < n_mats; k++)
		kern_mat_unpack(&m[k]);
	free(m);
	free(w);
	free(x);
	free(y);
	free(work);
	return rc;
}

int kern_bench_matmul(const struct kern_table *t, struct kern_pool *pool, int type, int64_t rows,
		      int64_t cols, int64_t n_tok, int iters, int n_samples, struct kern_bench *out,
		      char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct kern_mat m;
	memset(&m, 0, sizeof m);
	uint8_t *w = NULL;
	float *x = NULL, *y = NULL;
	void *xq = NULL;
	int rc = -1;
	const size_t rb = kern_row_bytes(type, cols);
	if (n_samples < 1 || n_samples > KERN_BENCH_MAX_SAMPLES || n_tok < 1 || rows <= 0 ||
	    !kern_type_supported(type) || rb == 0) {
		if (err)
			snprintf(err, errlen, "bench: type %d, %lld x %lld x %lld tokens, 1..%d samples", type,
				 (long long)rows, (long long)cols, (long long)n_tok, KERN_BENCH_MAX_SAMPLES);
		return -1;
	}
	if (iters < 1)
		iters = 1;
	const size_t mat_bytes = rb * (size_t)rows;
	w = aligned_alloc(64, (mat_bytes + 63) & ~(size_t)63);
	x = malloc((size_t)(n_tok * cols) * sizeof *x);
	y = malloc((size_t)(n_tok * rows) * sizeof *y);
	if (!w || !x || !y) {
		if (err)
			snprintf(err, errlen, "bench: out of memory for %zu bytes of weights", mat_bytes);
		rc = -2;
		goto out;
	}
	uint64_t seed = 0x5eed0002;
	for (int64_t r = 0; r < rows; r++)
		kern_random_row(type, cols, &seed, w + (size_t)r * rb);
	if (kern_mat_init(&m, type, rows, cols, w, err, errlen))
		goto out;
	if (kern_mat_pack(t, &m, pool, err, errlen) < 0) {
		rc = -2;
		goto out;
	}
	for (int64_t i = 0; i < n_tok * cols; i++)
		x[i] = rndf(&seed, -1, 1);
	const size_t ws = kern_matmul_work_size(&m, n_tok);
	if (ws && !(xq = malloc(ws))) {
		if (err)
			snprintf(err, errlen, "bench: out of memory for %zu bytes of activations", ws);
		rc = -2;
		goto out;
	}
	if (kern_act_quantize(t, pool, &m, x, cols, n_tok, xq, err, errlen) ||
	    kern_matmul_q(t, pool, &m, xq ? xq : (void *)x, n_tok, y, rows, err, errlen))
		goto out;
	for (int s = 0; s < n_samples; s++) {
		const double t0 = kern_now();
		for (int it = 0; it < iters; it++)
			kern_matmul_q(t, pool, &m, xq ? xq : (void *)x, n_tok, y, rows, NULL, 0);
		out->samples_s[s] = (kern_now() - t0) / iters;
	}
	double sorted[KERN_BENCH_MAX_SAMPLES];
	memcpy(sorted, out->samples_s, sizeof(double) * (size_t)n_samples);
	qsort(sorted, (size_t)n_samples, sizeof(double), cmp_double);
	out->type = type;
	out->rows = rows;
	out->cols = cols;
	out->n_mats = 1;
	out->n_threads = kern_pool_threads(pool);
	out->iters = iters;
	out->n_samples = n_samples;
	out->bytes_per_product = mat_bytes;
	out->median_s = n_samples % 2 ? sorted[n_samples / 2]
				      : 0.5 * (sorted[n_samples / 2 - 1] + sorted[n_samples / 2]);
	out->best_s = sorted[0];
	out->median_gbps = (double)mat_bytes / out->median_s * 1e-9;
	out->best_gbps = (double)mat_bytes / out->best_s * 1e-9;
	rc = 0;
out:
	kern_mat_unpack(&m);
	free(w);
	free(x);
	free(y);
	free(xq);
	return rc;
}
