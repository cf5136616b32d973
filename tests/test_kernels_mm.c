/*
 * kernels: matrix-vector and matrix-matrix products, one and two threads,
 * every backend this CPU runs, against float64 references from the
 * dequantized weights and dequantized activations (tolerance 2e-5 *
 * sum|w a| per output, plus the fp16 block-sum term of Q4_1 . Q8_1) and
 * against the row dot kernel itself (bit-identical: the products only
 * split and tile rows). Odd row counts (37, 101) and token counts (1, 7,
 * 70 > one tile of 64). Packed matrices (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K
 * where the table's backend has their packed product; tiles of 16 rows x
 * 1..8 tokens, 1..4 for the k-quants) against the same float64 reference
 * and tolerance, with rows not a multiple of 16 and token counts 1, 2, 3,
 * 7, 70 (every tile width). NEON: the plain table (SMULL) besides the
 * best one (SDOT where the CPU has it). AMX (Q4_0, Q4_1, Q8_0, Q4_K prefill of
 * whole pairs of panels: 16, 32 and 64 of the 70 tokens, more blocks than
 * one run of staged weights in 1056 columns) where the CPU has it and
 * Linux grants the tile data (asked for with LLMCAP_AMX=1 by the test
 * itself: the AMX prefill is off by default), and the AVX-512 VNNI path
 * beside it; skipped with a message anywhere else. The thread pool: every
 * thread runs every task, across sleeps. With LLMCAP_KERN_BENCH=1, matvec
 * GB/s on 4096 x 4096 Q4_0 and Q8_0 (median of 5 samples) and prefill GOPS
 * of 128 tokens, AMX against the VNNI tile where the CPU has AMX, are
 * printed.
 */
#include "test_util.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "kernels/kernels.h"

static const int mtypes[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K,
			     QT_F16, QT_BF16, QT_F32};
#define N_MTYPES ((int)(sizeof mtypes / sizeof mtypes[0]))

struct shape { int64_t rows, cols, n_tok; };

static const struct shape shapes[] = {{37, 512, 7}, {101, 768, 70}, {64, 256, 1}, {48, 1024, 3},
				      {16, 64, 2}, {45, 1056, 33}, {32, 128, 16}};

/* float64 reference of Y = W X^T with X quantized as the kernels do. */
static void reference(const struct kern_table *g, const struct kern_mat *w, const float *X,
		      int64_t n_tok, double *ref, double *mag, double *extra)
{
	const int at = kern_act_type(w->type);
	const int64_t cols = w->cols;
	float *wf = malloc((size_t)cols * sizeof *wf), *af = malloc((size_t)cols * sizeof *af);
	void *aq = malloc(kern_row_bytes(at == QT_F32 ? QT_Q8_0 : at, cols) + (size_t)cols * 4);
	assert_true(wf && af && aq);
	for (int64_t i = 0; i < n_tok; i++) {
		if (at == QT_F32) {
			memcpy(af, X + i * cols, (size_t)cols * sizeof *af);
		} else {
			g->quantize[at](X + i * cols, aq, cols);
			g->to_float[at](aq, af, cols);
		}
		for (int64_t r = 0; r < w->rows; r++) {
			const uint8_t *row = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
			g->to_float[w->type](row, wf, cols);
			double s = 0, m = 0, e = 0;
			for (int64_t c = 0; c < cols; c++) {
				s += (double)wf[c] * af[c];
				m += fabs((double)wf[c] * af[c]);
			}
			if (w->type == QT_Q4_1) {
				const struct block_q4_1 *xb = (const void *)row;
				const struct block_q8_1 *yb = aq;
				for (int64_t b = 0; b < cols / 32; b++)
					e += fabs(kern_fp16_to_fp32(xb[b].m) * kern_fp16_to_fp32(yb[b].s)) * 0x1.0p-11;
			}
			ref[i * w->rows + r] = s;
			mag[i * w->rows + r] = m;
			extra[i * w->rows + r] = e;
		}
	}
	free(wf);
	free(af);
	free(aq);
}

static void check_products(unsigned features, const char *label)
{
	struct kern_table t, g;
	kern_table_init(&t, features);
	kern_table_init(&g, 0);
	char err[256];
	struct kern_pool *pool2 = NULL;
	assert_int_equal(kern_pool_new(&pool2, 2, 1, err, sizeof err), 0);
	struct kern_pool *pools[2] = {NULL, pool2};
	uint64_t seed = 42;
	double worst = 0, worst_pk = 0;
	for (int ti = 0; ti < N_MTYPES; ti++) {
		const int type = mtypes[ti];
		for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
			struct shape sh = shapes[si];
			if (type == QT_Q4_K || type == QT_Q5_K || type == QT_Q6_K)
				sh.cols = (sh.cols + 255) / 256 * 256;
			const size_t rb = kern_row_bytes(type, sh.cols);
			uint8_t *wd = malloc(rb * (size_t)sh.rows);
			for (int64_t r = 0; r < sh.rows; r++)
				assert_int_equal(kern_random_row(type, sh.cols, &seed, wd + (size_t)r * rb), 0);
			struct kern_mat w;
			assert_int_equal(kern_mat_init(&w, type, sh.rows, sh.cols, wd, err, sizeof err), 0);
			float *X = malloc((size_t)(sh.n_tok * sh.cols) * sizeof *X);
			for (int64_t i = 0; i < sh.n_tok * sh.cols; i++)
				X[i] = (float)tu_randf(&seed);
			const size_t n_out = (size_t)(sh.n_tok * sh.rows);
			double *ref = malloc(n_out * sizeof *ref), *mag = malloc(n_out * sizeof *mag);
			double *extra = malloc(n_out * sizeof *extra);
			reference(&g, &w, X, sh.n_tok, ref, mag, extra);
			float *Y = malloc(n_out * sizeof *Y), *Yv = malloc(n_out * sizeof *Yv);
			void *work = malloc(kern_matmul_work_size(&w, sh.n_tok) + 1);
			const int at = kern_act_type(type);
			void *aq = malloc(kern_row_bytes(at, sh.cols));
			/* packed (Q4_0, Q4_1, Q8_0): the same integer block dots, other
			 * float order: against float64 only */
			struct kern_mat wp = w;
			const int pk = kern_mat_pack(&t, &wp, pool2, err, sizeof err);
			assert_true(pk == 0 || pk == 1);
			assert_int_equal(pk == 0, kern_mat_packable(&t, type));
			void *pwork = malloc(kern_matmul_work_size(&wp, sh.n_tok) + 1);
			for (int p = 0; pk == 0 && p < 2; p++) {
				for (int64_t i = 0; i < sh.n_tok; i++)
					assert_int_equal(kern_matvec(&t, pools[p], &wp, X + i * sh.cols,
								     Yv + i * sh.rows, pwork, err, sizeof err), 0);
				memset(Y, 0, n_out * sizeof *Y);
				assert_int_equal(kern_matmul(&t, pools[p], &wp, X, sh.cols, sh.n_tok, Y, sh.rows,
							     pwork, err, sizeof err), 0);
				for (size_t o = 0; o < n_out; o++) {
					const double tol = 2e-5 * mag[o] + extra[o] + 1e-30;
					if (fabs(Y[o] - ref[o]) > tol || fabs(Yv[o] - ref[o]) > tol)
						fail_msg("%s packed %s %lldx%lld out %zu threads %d: matmul %.9g "
							 "matvec %.9g ref %.9g tol %.3g", label, mdb_qtype(type)->name,
							 (long long)sh.rows, (long long)sh.cols, o, p + 1, Y[o], Yv[o],
							 ref[o], tol);
					worst_pk = fmax(worst_pk, fmax(fabs(Y[o] - ref[o]), fabs(Yv[o] - ref[o])) /
								  (mag[o] + 1e-30));
				}
			}
			kern_mat_unpack(&wp);
			assert_null(wp.packed);
			free(pwork);
			for (int p = 0; p < 2; p++) {
				/* decode: one matvec per token */
				for (int64_t i = 0; i < sh.n_tok; i++)
					assert_int_equal(kern_matvec(&t, pools[p], &w, X + i * sh.cols,
								     Yv + i * sh.rows, work, err, sizeof err), 0);
				/* prefill */
				memset(Y, 0, n_out * sizeof *Y);
				assert_int_equal(kern_matmul(&t, pools[p], &w, X, sh.cols, sh.n_tok, Y, sh.rows,
							     work, err, sizeof err), 0);
				for (int64_t i = 0; i < sh.n_tok; i++) {
					kern_quantize_row(&t, at, X + i * sh.cols, aq, sh.cols, NULL, 0);
					for (int64_t r = 0; r < sh.rows; r++) {
						const size_t o = (size_t)(i * sh.rows + r);
						const float d = t.dot[type](sh.cols, wd + (size_t)r * rb, aq);
						const double tol = 2e-5 * mag[o] + extra[o] + 1e-30;
						if (Y[o] != d || Yv[o] != d || fabs(Y[o] - ref[o]) > tol)
							fail_msg("%s %s %lldx%lld tok %lld row %lld threads %d: "
								 "matmul %.9g matvec %.9g dot %.9g ref %.9g tol %.3g",
								 label, mdb_qtype(type)->name, (long long)sh.rows,
								 (long long)sh.cols, (long long)i, (long long)r,
								 p + 1, Y[o], Yv[o], d, ref[o], tol);
						worst = fmax(worst, fabs(Y[o] - ref[o]) / (mag[o] + 1e-30));
					}
				}
			}
			free(wd);
			free(X);
			free(ref);
			free(mag);
			free(extra);
			free(Y);
			free(Yv);
			free(work);
			free(aq);
		}
	}
	print_message("  %s: matvec = matmul = row dot exactly; max |err| / sum|w a| vs float64 %.2e; "
		      "packed (%s%s%s) %.2e\n", label, worst,
		      t.gemm_isa[QT_Q4_0] ? t.gemm_isa[QT_Q4_0] : "none",
		      t.gemm_batch_isa[QT_Q4_0] ? ", prefill batches " : "",
		      t.gemm_batch_isa[QT_Q4_0] ? t.gemm_batch_isa[QT_Q4_0] : "", worst_pk);
	kern_pool_delete(pool2);
}

static void test_products_generic(void **state)
{
	(void)state;
	check_products(0, "generic");
}

/* The best table short of AMX (off unless LLMCAP_AMX is set;
 * test_products_amx runs the tiles). */
static void test_products_best(void **state)
{
	(void)state;
	unsigned f = kern_cpu_features() & ~(unsigned)KERN_F_AMX;
	char buf[128];
	if (!f) {
		print_message("skipped: no SIMD features on this CPU (generic tested above)\n");
		skip();
		return;
	}
	kern_features_str(f, buf, sizeof buf);
	check_products(f, buf);
}

/* The CPU's features with the AMX prefill asked for (LLMCAP_AMX=1 for the
 * call, the caller's setting restored), so that the tiles are tested
 * wherever the CPU and the OS allow them, whatever the default. */
static unsigned features_with_amx(void)
{
	const char *e = getenv("LLMCAP_AMX");
	char *old = e ? strdup(e) : NULL;
	setenv("LLMCAP_AMX", "1", 1);
	const unsigned f = kern_cpu_features();
	if (old)
		setenv("LLMCAP_AMX", old, 1);
	else
		unsetenv("LLMCAP_AMX");
	free(old);
	return f;
}

static int amx_or_skip(void)
{
	if (features_with_amx() & KERN_F_AMX)
		return 1;
	print_message("skipped: no AMX tiles here (no AMX-INT8 on this CPU, or the OS refused the "
		      "tile data); prefill runs on the AVX-512 VNNI tile (tested above)\n");
	skip();
	return 0;
}

/* The tiles (kern_amx.c) for the types they take, through every product
 * check above; the table names them only with KERN_F_AMX. */
static void test_products_amx(void **state)
{
	(void)state;
	if (!amx_or_skip())
		return;
	const unsigned f = features_with_amx();
	struct kern_table t;
	kern_table_init(&t, f & ~(unsigned)KERN_F_AMX);
	assert_null(t.gemm_batch[QT_Q4_0]);
	kern_table_init(&t, f);
	const int amx[] = {QT_Q4_0, QT_Q4_1, QT_Q8_0, QT_Q4_K};
	for (int i = 0; i < 4; i++) {
		assert_non_null(t.gemm_batch_isa[amx[i]]);
		assert_string_equal(t.gemm_batch_isa[amx[i]], "amx");
		assert_int_equal(kern_mat_packable(&t, amx[i]), 1);
	}
	char buf[128];
	check_products(f, kern_features_str(f, buf, sizeof buf));
}

static void test_products_avx2(void **state)
{
	(void)state;
	unsigned f = kern_cpu_features();
	if (!(f & KERN_F_AVX2)) {
		print_message("skipped: this CPU has no AVX2\n");
		skip();
		return;
	}
	check_products(KERN_F_AVX2, "avx2");
}

/* Plain NEON even where the CPU has the dot-product instructions (the
 * best table then takes those): both integer paths on one CPU. */
static void test_products_neon(void **state)
{
	(void)state;
	unsigned f = kern_cpu_features();
	if (!(f & KERN_F_NEON)) {
		print_message("skipped: not an AArch64 CPU (make test-neon runs this under qemu)\n");
		skip();
		return;
	}
	check_products(KERN_F_NEON, "neon");
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct kern_table t;
	kern_table_init(&t, kern_cpu_features());
	struct kern_mat w;
	char err[256];
	uint8_t data[64] = {0};
	assert_int_equal(kern_mat_init(&w, QT_Q4_0, 2, 33, data, err, sizeof err), -1);
	assert_non_null(strstr(err, "multiple"));
	assert_int_equal(kern_mat_init(&w, QT_IQ2_XXS, 2, 256, data, err, sizeof err), -1);
	assert_non_null(strstr(err, "iq2_xxs"));
	assert_int_equal(kern_mat_init(&w, QT_Q4_0, 1, 32, data, err, sizeof err), 0);
	float x[32] = {1}, y[1];
	assert_int_equal(kern_matvec(&t, NULL, &w, x, y, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "work"));
	assert_int_equal(kern_matmul(&t, NULL, &w, x, 16, 1, y, 1, data, err, sizeof err), -1);
	assert_non_null(strstr(err, "shape"));
}

struct count_task { atomic_int hits[8]; };

static void count_fn(void *arg, int ith, int nth)
{
	struct count_task *c = arg;
	assert_true(ith >= 0 && ith < nth && nth <= 8);
	atomic_fetch_add(&c->hits[ith], 1);
}

static void test_pool(void **state)
{
	(void)state;
	char err[256];
	for (int n = 1; n <= 3; n++) {
		struct kern_pool *p;
		assert_int_equal(kern_pool_new(&p, n, 1, err, sizeof err), 0);
		assert_int_equal(kern_pool_threads(p), n);
		struct count_task c;
		for (int i = 0; i < 8; i++)
			atomic_init(&c.hits[i], 0);
		/* 3 threads on this 2-core machine share cores: fewer rounds */
		const int rounds = n <= kern_physical_cores() ? 20000 : 500;
		for (int k = 0; k < rounds; k++)
			kern_pool_run(p, count_fn, &c);
		/* let the workers fall asleep, then wake them */
		struct timespec ts = {0, 60 * 1000 * 1000};
		nanosleep(&ts, NULL);
		kern_pool_run(p, count_fn, &c);
		for (int i = 0; i < n; i++)
			assert_int_equal(atomic_load(&c.hits[i]), rounds + 1);
		if (n == 2)
			print_message("  pool of 2: bound to cores %s (machine: %d physical cores)\n",
				      kern_pool_bound(p) ? "yes" : "no", kern_physical_cores());
		kern_pool_delete(p);
	}
	kern_pool_run(NULL, NULL, NULL);
}

static int cpus_allowed_now(void)
{
	cpu_set_t s;
	return sched_getaffinity(0, sizeof s, &s) == 0 ? CPU_COUNT(&s) : -1;
}

/* The calling thread is bound to core 0 while the pool lives; between
 * tasks kern_pool_caller_unbind gives it back its former binding (so the
 * threads a probe starts from it may use every core) and
 * kern_pool_caller_rebind takes core 0 again. */
static void test_pool_caller_binding(void **state)
{
	(void)state;
	char err[256];
	int before = cpus_allowed_now();
	assert_true(before >= 1);
	struct kern_pool *p;
	assert_int_equal(kern_pool_new(&p, 2, 1, err, sizeof err), 0);
	if (!kern_pool_bound(p)) {
		kern_pool_delete(p);
		print_message("skipped: the pool could not bind its threads to cores here\n");
		skip();
		return;
	}
	int bound = cpus_allowed_now();
	assert_true(bound >= 1 && bound <= before);
	kern_pool_caller_unbind(p);
	assert_int_equal(cpus_allowed_now(), before);
	kern_pool_caller_rebind(p);
	assert_int_equal(cpus_allowed_now(), bound);
	kern_pool_delete(p);
	assert_int_equal(cpus_allowed_now(), before);
	if (before > 1)
		assert_true(bound < before); /* (else the test shows nothing) */
}

static void test_bench_matvec(void **state)
{
	(void)state;
	const char *e = getenv("LLMCAP_KERN_BENCH");
	if (!e || strcmp(e, "1") != 0) {
		print_message("skipped: set LLMCAP_KERN_BENCH=1 to time matvec\n");
		skip();
		return;
	}
	struct kern_table t;
	kern_table_init(&t, kern_cpu_features());
	char err[256];
	const int types[] = {QT_Q4_0, QT_Q8_0};
	for (int n = 1; n <= 2; n++) {
		struct kern_pool *p;
		assert_int_equal(kern_pool_new(&p, n, 1, err, sizeof err), 0);
		for (int k = 0; k < 2; k++) {
			for (int mats = 1; mats <= 8; mats += 7) {
				struct kern_bench b;
				assert_int_equal(kern_bench_matvec(&t, p, types[k], 4096, 4096, mats, 40, 5, &b,
								   err, sizeof err), 0);
				print_message("  matvec %s 4096x4096 %d thread%s, %d matri%s (%.1f MB): median %.1f GB/s, "
					      "best %.1f GB/s, %.1f us\n", mdb_qtype(types[k])->name, n,
					      n > 1 ? "s" : "", mats, mats > 1 ? "ces" : "x",
					      b.bytes_per_product * mats / 1e6, b.median_gbps, b.best_gbps,
					      b.median_s * 1e6);
			}
		}
		kern_pool_delete(p);
	}
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Prefill GOPS (2 x rows x cols x tokens / median time) of 4096 x 4096 x
 * 128 tokens at 1 thread, half the cores and all of them: where the CPU
 * has AMX, the tables with and without it alternate, 5 rounds, and the
 * median of each is printed with every round (the lent Xeon's speed moves
 * by a third between seconds); else the best table's median alone. */
static void test_bench_matmul(void **state)
{
	(void)state;
	const char *e = getenv("LLMCAP_KERN_BENCH");
	if (!e || strcmp(e, "1") != 0) {
		print_message("skipped: set LLMCAP_KERN_BENCH=1 to time prefill products\n");
		skip();
		return;
	}
	enum { ROUNDS = 5 };
	const unsigned f = features_with_amx();
	struct kern_table tab[2];
	kern_table_init(&tab[0], f);
	kern_table_init(&tab[1], f & ~(unsigned)KERN_F_AMX);
	char err[256];
	const int types[] = {QT_Q4_0, QT_Q8_0, QT_Q4_1, QT_Q4_K, QT_Q6_K};
	const int cores = kern_physical_cores();
	const int threads[] = {1, cores / 2, cores};
	for (int n = 0; n < 3; n++) {
		if (threads[n] < 1 || (n > 0 && threads[n] == threads[n - 1]))
			continue;
		struct kern_pool *p;
		assert_int_equal(kern_pool_new(&p, threads[n], 1, err, sizeof err), 0);
		for (int k = 0; k < 5; k++) {
			const int n_tab = tab[0].gemm_batch[types[k]] ? 2 : 1;
			double g[2][ROUNDS], med[2];
			for (int r = 0; r < ROUNDS; r++)
				for (int i = 0; i < n_tab; i++) {
					struct kern_bench b;
					assert_int_equal(kern_bench_matmul(&tab[i], p, types[k], 4096, 4096, 128,
									   threads[n] > 1 ? 6 : 2, 5, &b, err, sizeof err), 0);
					g[i][r] = 2.0 * 4096 * 4096 * 128 / b.median_s * 1e-9;
				}
			char line[2][160];
			for (int i = 0; i < n_tab; i++) {
				int used = 0;
				for (int r = 0; r < ROUNDS; r++)
					used += snprintf(line[i] + used, sizeof line[i] - (size_t)used, " %.0f", g[i][r]);
				double sorted[ROUNDS];
				memcpy(sorted, g[i], sizeof sorted);
				qsort(sorted, ROUNDS, sizeof(double), cmp_double);
				med[i] = sorted[ROUNDS / 2];
			}
			const char *isa = tab[0].gemm_batch_isa[types[k]] ? tab[0].gemm_batch_isa[types[k]]
					  : tab[0].gemm_isa[types[k]] ? tab[0].gemm_isa[types[k]] : "rows";
			if (n_tab == 2)
				print_message("  matmul %s 4096x4096 x128 tokens, %2d thread%s: %s %.0f GOPS (%s), "
					      "without AMX %.0f (%s): x%.2f\n", mdb_qtype(types[k])->name, threads[n],
					      threads[n] > 1 ? "s" : " ", isa, med[0], line[0] + 1, med[1], line[1] + 1,
					      med[0] / med[1]);
			else
				print_message("  matmul %s 4096x4096 x128 tokens, %2d thread%s: %s %.0f GOPS (%s)\n",
					      mdb_qtype(types[k])->name, threads[n], threads[n] > 1 ? "s" : " ", isa,
					      med[0], line[0] + 1);
		}
		kern_pool_delete(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_pool_caller_binding),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_products_generic),
		cmocka_unit_test(test_products_avx2),
		cmocka_unit_test(test_products_neon),
		cmocka_unit_test(test_products_best),
		cmocka_unit_test(test_products_amx),
		cmocka_unit_test(test_bench_matvec),
		cmocka_unit_test(test_bench_matmul),
	};
	return cmocka_run_group_tests_name("kernels_mm", tests, NULL, NULL);
}
