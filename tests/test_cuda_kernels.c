/*
 * kernels/cuda: every CUDA kernel against the CPU kernels or a float64
 * reference on random inputs (never zeros; outputs poisoned before each
 * run, so an unwritten element fails):
 *
 *  - activation quantization (with and without RMSNorm) bit for bit
 *    against the same rule computed here;
 *  - matrix-vector and matrix-matrix products of every weight type, 1 to
 *    11 tokens, row counts that are not multiples of the warps, widths
 *    that take several loads per lane, with bias and residual add: against
 *    float64 sums of the CPU's dequantized weights times the GPU's
 *    quantized activations (float rounding only), and against the CPU's
 *    own matvec (its activation rounding);
 *  - the embedding lookup (row dequantization) against kern_dequantize_row;
 *  - RoPE (pairs and NEOX, qwen3's head norm) against kern_rope;
 *  - attention over an F16 cache (GQA, several 128-position chunks)
 *    against kern_attention; SwiGLU against kern_swiglu.
 *
 * Skipped with a message when no GPU can be used: built without nvcc, no
 * driver (as in CI), no device.
 */
#include "test_util.h"

#include <math.h>

#include "kernels/kern_cuda.h"
#include "kernels/kern_internal.h"

static char why[512];

static int setup(void **state)
{
	struct kern_cuda *c = NULL;
	if (kern_cuda_open(&c, 0, why, sizeof why) != 0)
		c = NULL;
	else
		fprintf(stderr, "GPU: %s\n", kern_cuda_device_name(c));
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	kern_cuda_close(*state);
	return 0;
}

#define NEED_GPU(state)                                                                       \
	struct kern_cuda *c = *(state);                                                       \
	if (!c) {                                                                             \
		fprintf(stderr, "skipped: no GPU for the CUDA kernels: %s\n", why);           \
		skip();                                                                       \
	}

static void rand_vec(float *v, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (float)tu_randf(s);
}

static double rel_err(const float *a, const double *ref, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(a[i]))
			return INFINITY;
		num += (a[i] - ref[i]) * (a[i] - ref[i]);
		den += ref[i] * ref[i];
	}
	return sqrt(num / (den > 0 ? den : 1));
}

/* Without a usable GPU: a clear message and -1, never a crash. */
static void test_open_message(void **state)
{
	struct kern_cuda *c = NULL;
	char err[512] = "";
	int rc = kern_cuda_open(&c, 0, err, sizeof err);
	if (rc == 0) {
		assert_non_null(c);
		kern_cuda_close(c);
		/* a device number that does not exist */
		assert_int_equal(kern_cuda_open(&c, 999, err, sizeof err), -1);
		assert_non_null(strstr(err, "no CUDA device 999"));
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(c);
	assert_true(strlen(err) > 10);
	if (!kern_cuda_built())
		assert_non_null(strstr(err, "built without CUDA kernels (nvcc was not found at build time)"));
	fprintf(stderr, "no GPU here: %s\n", err);
	(void)state;
}

/* The quantization rule of kernels/cuda/common.cuh (quant32), in C. */
static void quant_ref(const float *x, int64_t n, int8_t *q, float *d, float *slo, float *shi)
{
	for (int64_t b = 0; b < n / 32; b++) {
		float amax = 0;
		for (int i = 0; i < 32; i++)
			amax = fmaxf(amax, fabsf(x[32 * b + i]));
		const float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
		int s0 = 0, s1 = 0;
		for (int i = 0; i < 32; i++) {
			const int v = (int)nearbyintf(x[32 * b + i] * id);
			q[32 * b + i] = (int8_t)v;
			if (i < 16)
				s0 += v;
			else
				s1 += v;
		}
		d[b] = db;
		slo[b] = db * (float)s0;
		shi[b] = db * (float)s1;
	}
}

static void test_quantize(void **state)
{
	NEED_GPU(state);
	const int rows = 3;
	const int64_t n = 4096;
	uint64_t s = 0x1234;
	float *x = malloc(sizeof(float) * rows * n), *w = malloc(sizeof(float) * n);
	float *xn = malloc(sizeof(float) * rows * n), *ref = malloc(sizeof(float) * n);
	int8_t *q = malloc(rows * n), *qr = malloc(n);
	float d[3 * 128], lo[3 * 128], hi[3 * 128], dr[128], lor[128], hir[128];
	char err[512];
	rand_vec(x, (size_t)(rows * n), &s);
	rand_vec(w, (size_t)n, &s);
	for (int i = 0; i < 7; i++)
		x[100 + i] *= 40.0f;   /* an outlier block */
	for (int norm = 0; norm < 2; norm++) {
		if (kern_cuda_quantize(c, x, rows, n, norm, w, 1e-5f, q, d, lo, hi, xn, err, sizeof err))
			fail_msg("%s", err);
		for (int r = 0; r < rows; r++) {
			const float *xr = x + r * n;
			if (norm) {
				kern_rmsnorm(ref, xr, w, n, 1e-5f);
				for (int64_t i = 0; i < n; i++)
					assert_true(fabsf(xn[r * n + i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])));
			} else {
				for (int64_t i = 0; i < n; i++)
					assert_true(xn[r * n + i] == xr[i]);
			}
			/* the GPU's own normalised values quantized by the rule here:
			 * identical bits */
			quant_ref(xn + r * n, n, qr, dr, lor, hir);
			assert_memory_equal(q + r * n, qr, (size_t)n);
			for (int b = 0; b < n / 32; b++) {
				assert_true(d[r * 128 + b] == dr[b]);
				assert_true(lo[r * 128 + b] == lor[b] && hi[r * 128 + b] == hir[b]);
			}
		}
	}
	free(x), free(w), free(xn), free(ref), free(q), free(qr);
}

static const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K,
			    QT_Q5_K, QT_Q6_K, QT_F16, QT_BF16, QT_F32};
#define N_TYPES ((int)(sizeof types / sizeof types[0]))

/* A random matrix of type: GGUF bytes (malloc'd) and its rows dequantized
 * by the CPU's generic kernels (float64). */
static uint8_t *rand_mat(int type, int64_t rows, int64_t cols, uint64_t *s, struct kern_mat *m,
			 double **deq)
{
	const size_t rb = kern_row_bytes(type, cols);
	uint8_t *data = malloc(rb * (size_t)rows);
	float *row = malloc(sizeof(float) * (size_t)cols);
	*deq = malloc(sizeof(double) * (size_t)(rows * cols));
	struct kern_table t;
	kern_table_init(&t, 0);
	for (int64_t r = 0; r < rows; r++) {
		assert_int_equal(kern_random_row(type, cols, s, data + (size_t)r * rb), 0);
		assert_int_equal(kern_dequantize_row(&t, type, data + (size_t)r * rb, row, cols, NULL, 0), 0);
		for (int64_t i = 0; i < cols; i++)
			(*deq)[r * cols + i] = row[i];
	}
	assert_int_equal(kern_mat_init(m, type, rows, cols, data, NULL, 0), 0);
	free(row);
	return data;
}

static void check_matmul(struct kern_cuda *c, int type, int64_t rows, int64_t cols, int n_tok, int extras,
			 uint64_t *s)
{
	char err[512];
	struct kern_mat m;
	double *deq;
	uint8_t *data = rand_mat(type, rows, cols, s, &m, &deq);
	const size_t nx = (size_t)n_tok * (size_t)cols, ny = (size_t)n_tok * (size_t)rows;
	float *X = malloc(sizeof(float) * nx), *Y = malloc(sizeof(float) * ny);
	float *Y0 = malloc(sizeof(float) * ny), *bias = malloc(sizeof(float) * (size_t)rows);
	float *xa = malloc(sizeof(float) * nx);
	double *ref = malloc(sizeof(double) * ny);
	rand_vec(X, nx, s);
	rand_vec(Y0, ny, s);
	rand_vec(bias, (size_t)rows, s);
	const int quant = type != QT_F32 && type != QT_F16 && type != QT_BF16;
	/* the activations as the GPU sees them */
	if (quant) {
		int8_t *q = malloc(nx);
		float *d = malloc(sizeof(float) * nx / 32), *lo = malloc(sizeof(float) * nx / 32);
		float *hi = malloc(sizeof(float) * nx / 32);
		if (kern_cuda_quantize(c, X, n_tok, cols, 0, NULL, 0, q, d, lo, hi, NULL, err, sizeof err))
			fail_msg("%s", err);
		for (size_t i = 0; i < nx; i++)
			xa[i] = (float)q[i] * d[i / 32];
		free(q), free(d), free(lo), free(hi);
	} else {
		memcpy(xa, X, sizeof(float) * nx);
	}
	for (int t = 0; t < n_tok; t++)
		for (int64_t r = 0; r < rows; r++) {
			double acc = 0;
			for (int64_t i = 0; i < cols; i++)
				acc += deq[r * cols + i] * xa[t * cols + i];
			ref[t * rows + r] = acc + (extras ? (double)bias[r] + Y0[t * rows + r] : 0);
		}
	memcpy(Y, Y0, sizeof(float) * ny);
	if (kern_cuda_matmul(c, &m, X, n_tok, extras ? bias : NULL, extras, Y, err, sizeof err))
		fail_msg("%s %lldx%lld, %d tokens: %s", mdb_qtype(type)->name, (long long)rows,
			 (long long)cols, n_tok, err);
	/* float rounding only (the quantized activations are the reference's
	 * too, their block sums exact integers) */
	const double tol = quant ? 1e-4 : 2e-5;
	const double e = rel_err(Y, ref, ny);
	if (!(e < tol))
		fail_msg("%s %lldx%lld, %d tokens%s: relative error %.3g (tolerance %.1g)",
			 mdb_qtype(type)->name, (long long)rows, (long long)cols, n_tok,
			 extras ? ", bias + residual" : "", e, tol);
	/* against the CPU's own matvec (its activation quantization) */
	if (n_tok == 1 && !extras) {
		struct kern_table t;
		kern_table_init(&t, kern_cpu_features());
		void *work = malloc(kern_matmul_work_size(&m, 1) + 64);
		float *yc = malloc(sizeof(float) * (size_t)rows);
		assert_int_equal(kern_matvec(&t, NULL, &m, X, yc, work, NULL, 0), 0);
		double *rc = malloc(sizeof(double) * (size_t)rows);
		for (int64_t r = 0; r < rows; r++)
			rc[r] = yc[r];
		const double e2 = rel_err(Y, rc, (size_t)rows);
		if (!(e2 < 2e-2))
			fail_msg("%s: GPU vs CPU matvec relative difference %.3g", mdb_qtype(type)->name, e2);
		free(work), free(yc), free(rc);
	}
	free(data), free(deq), free(X), free(Y), free(Y0), free(bias), free(xa), free(ref);
}

static void test_matmul(void **state)
{
	NEED_GPU(state);
	uint64_t s = 0xabcdef;
	for (int k = 0; k < N_TYPES; k++) {
		const int kq = types[k] == QT_Q4_K || types[k] == QT_Q5_K || types[k] == QT_Q6_K;
		/* rows not a multiple of 8 warps; widths: one load per lane, and
		 * several rounds of UNR loads */
		check_matmul(c, types[k], 67, kq ? 512 : 96, 1, 0, &s);
		check_matmul(c, types[k], 131, kq ? 4352 : 4160, 1, 0, &s);
		check_matmul(c, types[k], 45, kq ? 768 : 544, 3, 1, &s);
		check_matmul(c, types[k], 29, kq ? 256 : 320, 11, 1, &s);
		/* rows for the tensor cores' 16-row blocks (a block per SM) and
		 * 64-row blocks on a GPU of up to 140 SMs */
		check_matmul(c, types[k], 16 * 140 + 5, kq ? 256 : 64, 12, 1, &s);
		check_matmul(c, types[k], 64 * 140 + 5, kq ? 256 : 64, 12, 1, &s);
	}
}

static void test_dequantize_row(void **state)
{
	NEED_GPU(state);
	uint64_t s = 0x77;
	char err[512];
	for (int k = 0; k < N_TYPES; k++) {
		struct kern_mat m;
		double *deq;
		const int64_t cols = 512;
		uint8_t *data = rand_mat(types[k], 5, cols, &s, &m, &deq);
		float out[512];
		for (int row = 0; row < 5; row += 3) {
			if (kern_cuda_dequantize_row(c, &m, row, out, err, sizeof err))
				fail_msg("%s", err);
			for (int64_t i = 0; i < cols; i++) {
				const double r = deq[row * cols + i];
				if (!(fabs(out[i] - r) <= 1e-6 * (1 + fabs(r))))
					fail_msg("%s row %d [%lld]: %g vs %g", mdb_qtype(types[k])->name, row,
						 (long long)i, out[i], r);
			}
		}
		free(data), free(deq);
	}
}

static void test_rope(void **state)
{
	NEED_GPU(state);
	uint64_t s = 0x99;
	char err[512];
	const int hds[2] = {64, 128};
	const int64_t poss[3] = {0, 7, 1000};
	float x[8 * 128], ref[8 * 128], nw[128];
	for (int a = 0; a < 2; a++)
		for (int mode = 0; mode <= 2; mode += 2)
			for (int p = 0; p < 3; p++)
				for (int qn = 0; qn < 2; qn++) {
					const int hd = hds[a], nh = 8, n_rot = qn ? hd : hd - 32;
					rand_vec(x, (size_t)(nh * hd), &s);
					rand_vec(nw, (size_t)hd, &s);
					memcpy(ref, x, sizeof(float) * (size_t)(nh * hd));
					if (qn)
						for (int h = 0; h < nh; h++)
							kern_rmsnorm(ref + h * hd, ref + h * hd, nw, hd, 1e-6f);
					kern_rope(ref, nh, hd, n_rot, poss[p], 10000.0f, (enum kern_rope_mode)mode);
					if (kern_cuda_rope(c, x, nh, hd, n_rot, poss[p], 10000.0f,
							   (enum kern_rope_mode)mode, qn ? nw : NULL, 1e-6f, err,
							   sizeof err))
						fail_msg("%s", err);
					for (int i = 0; i < nh * hd; i++)
						if (!(fabsf(x[i] - ref[i]) <= 2e-5f * (1 + fabsf(ref[i]))))
							fail_msg("rope hd %d mode %d pos %lld norm %d [%d]: %g vs %g",
								 hd, mode, (long long)poss[p], qn, i, x[i], ref[i]);
				}
}

static void test_attention(void **state)
{
	NEED_GPU(state);
	uint64_t s = 0x5151;
	char err[512];
	const int hds[2] = {64, 128}, npos[4] = {1, 5, 129, 300};
	struct kern_table t;
	kern_table_init(&t, kern_cpu_features());
	for (int a = 0; a < 2; a++) {
		const int hd = hds[a], n_kv = 2, nh = 8, n_ctx = 300;
		struct kern_kv kv = {QT_F16, n_ctx, n_kv, hd, NULL, NULL};
		const size_t kvn = (size_t)n_ctx * n_kv * hd;
		kv.k = malloc(kvn * 2);
		kv.v = malloc(kvn * 2);
		float *row = malloc(sizeof(float) * (size_t)(2 * n_kv * hd));
		for (int p = 0; p < n_ctx; p++) {
			rand_vec(row, (size_t)(2 * n_kv * hd), &s);
			for (int i = 0; i < n_kv * hd; i++)
				row[i] *= 3;   /* peaked softmax, not uniform */
			kern_kv_store(&kv, p, row, row + n_kv * hd);
		}
		float q[8 * 128], out[8 * 128], ref[8 * 128], scratch[300];
		for (int k = 0; k < 4; k++) {
			rand_vec(q, (size_t)(nh * hd), &s);
			kern_attention(&t, &kv, nh, q, npos[k], ref, scratch, 0, nh);
			if (kern_cuda_attention(c, &kv, nh, q, npos[k], out, err, sizeof err))
				fail_msg("%s", err);
			double *rd = malloc(sizeof(double) * (size_t)(nh * hd));
			for (int i = 0; i < nh * hd; i++)
				rd[i] = ref[i];
			const double e = rel_err(out, rd, (size_t)(nh * hd));
			free(rd);
			/* the CPU rounds the probabilities to F16 (as llama.cpp) */
			if (!(e < 2e-3))
				fail_msg("attention hd %d, %d positions: relative error %.3g", hd, npos[k], e);
		}
		free(kv.k), free(kv.v), free(row);
	}
}

static void test_swiglu(void **state)
{
	NEED_GPU(state);
	uint64_t s = 0x3333;
	char err[512];
	const int64_t n = 1536;
	float g[1536], u[1536], out[1536], ref[1536];
	rand_vec(g, n, &s);
	rand_vec(u, n, &s);
	for (int i = 0; i < n; i++)
		g[i] *= 6;
	kern_swiglu(ref, g, u, n);
	if (kern_cuda_swiglu(c, g, u, n, out, err, sizeof err))
		fail_msg("%s", err);
	for (int i = 0; i < n; i++)
		assert_true(fabsf(out[i] - ref[i]) <= 1e-6f * (1 + fabsf(ref[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_message),
		cmocka_unit_test(test_quantize),
		cmocka_unit_test(test_matmul),
		cmocka_unit_test(test_dequantize_row),
		cmocka_unit_test(test_rope),
		cmocka_unit_test(test_attention),
		cmocka_unit_test(test_swiglu),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
