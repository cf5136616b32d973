/*
 * kernels: every row kernel of every backend this CPU can run, on random
 * inputs (never zeros), against float64 references:
 *
 *  - dot: against sum(w_i * a_i) in double, w and a dequantized by the
 *    generic kernels. Tolerance 2e-5 * sum|w_i a_i| (float accumulation
 *    over blocks), plus for Q4_1 . Q8_1 the fp16 rounding of the block sum
 *    s that ggml stores (2^-11 * sum_blocks |m * s|).
 *  - dot with float activations: against sum(w_i * x_i) in double with x
 *    unquantized: the tolerance above plus sum_i |w_i| * d_i / 2 (the
 *    quantization step of each activation block, plus the fp16 rounding
 *    of the Q8_0/Q8_1 scale: 127 * 2^-11 steps), a strict bound.
 *  - dequantize: SIMD against generic within 2^-21 relative (an FMA may
 *    round once where the generic code rounds twice); the generic one
 *    against hand-built blocks exactly.
 *  - quantize: the round trip within that same per-value bound; SIMD quantizers
 *    bit-identical to the generic ones (ggml-cpu's x86 quantizers).
 *
 * Rows of odd block counts (1, 7, 3 super-blocks) and float rows of odd
 * length exercise every tail. Backends the CPU cannot run are skipped
 * with a message (on x86 the NEON ones are not built: make test-neon runs
 * this program under qemu-aarch64, with and without the dot-product
 * instructions).
 */
#include "test_util.h"

#include <math.h>

#include "kernels/kernels.h"

static const int wtypes[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K,
			     QT_F16, QT_BF16, QT_F32};
#define N_WTYPES ((int)(sizeof wtypes / sizeof wtypes[0]))

static const struct kern_backend *backend_at(int i)
{
	const struct kern_backend *const *b = kern_backends();
	for (int k = 0; b[k]; k++)
		if (k == i)
			return b[k];
	return NULL;
}

static const struct kern_backend *generic(void)
{
	return backend_at(0);
}

static uint16_t rand_half(uint64_t *s, float lo, float hi)
{
	float v = lo + (hi - lo) * (float)(0.5 * (tu_randf(s) + 1.0));
	return kern_fp32_to_fp16(v);
}

/* A random row of n values of type: random quants, sane random scales. */
static void *rand_row(int type, int64_t n, uint64_t *s)
{
	size_t bytes = kern_row_bytes(type, n);
	assert_true(bytes > 0);
	uint8_t *p = malloc(bytes);
	assert_non_null(p);
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)tu_rand(s);
	switch (type) {
	case QT_F32:
		for (int64_t i = 0; i < n; i++)
			((float *)p)[i] = (float)tu_randf(s);
		break;
	case QT_F16:
		for (int64_t i = 0; i < n; i++)
			((uint16_t *)p)[i] = kern_fp32_to_fp16((float)tu_randf(s));
		break;
	case QT_BF16:
		for (int64_t i = 0; i < n; i++)
			((uint16_t *)p)[i] = kern_fp32_to_bf16((float)tu_randf(s));
		break;
	case QT_Q4_0: case QT_Q5_0: case QT_Q8_0: {
		/* d leads every block of these types */
		size_t bs = type == QT_Q4_0 ? sizeof(struct block_q4_0)
			  : type == QT_Q5_0 ? sizeof(struct block_q5_0) : sizeof(struct block_q8_0);
		for (int64_t b = 0; b < n / 32; b++) {
			uint16_t d = rand_half(s, 0.001f, 0.05f);
			memcpy(p + (size_t)b * bs, &d, 2);
		}
		break;
	}
	case QT_Q4_1: {
		struct block_q4_1 *x = (void *)p;
		for (int64_t b = 0; b < n / 32; b++) {
			x[b].d = rand_half(s, 0.001f, 0.05f);
			x[b].m = rand_half(s, -0.3f, 0.3f);
		}
		break;
	}
	case QT_Q4_K: case QT_Q5_K: {
		for (int64_t b = 0; b < n / QK_K; b++) {
			uint16_t d = rand_half(s, 0.0005f, 0.005f), dm = rand_half(s, 0.0005f, 0.005f);
			size_t bs = type == QT_Q4_K ? sizeof(struct block_q4_K) : sizeof(struct block_q5_K);
			memcpy(p + (size_t)b * bs, &d, 2);
			memcpy(p + (size_t)b * bs + 2, &dm, 2);
		}
		break;
	}
	case QT_Q6_K: {
		struct block_q6_K *x = (void *)p;
		for (int64_t b = 0; b < n / QK_K; b++)
			x[b].d = rand_half(s, 0.0001f, 0.002f);
		break;
	}
	default:
		fail_msg("no generator for type %d", type);
	}
	return p;
}

static float *rand_floats(int64_t n, uint64_t *s)
{
	float *x = malloc((size_t)n * sizeof *x);
	assert_non_null(x);
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)tu_randf(s);
	return x;
}

static float *dequant(int type, const void *row, int64_t n)
{
	float *f = malloc((size_t)n * sizeof *f);
	assert_non_null(f);
	assert_non_null(generic()->to_float[type]);
	generic()->to_float[type](row, f, n);
	return f;
}

/* Largest error of one dequantized activation of the block holding
 * element i: half a step, plus for the fp16 scale of Q8_0 / Q8_1 its
 * rounding times the largest quant (127 * 2^-11 of a step). */
static double act_err(int atype, const void *a, int64_t i)
{
	const double fp16 = 0.5 + 127.0 / 2048.0;
	if (atype == QT_Q8_0)
		return fabs(kern_fp16_to_fp32(((const struct block_q8_0 *)a)[i / 32].d)) * fp16;
	if (atype == QT_Q8_1)
		return fabs(kern_fp16_to_fp32(((const struct block_q8_1 *)a)[i / 32].d)) * fp16;
	if (atype == QT_Q8_K)
		return fabs(((const struct block_q8_K *)a)[i / QK_K].d) * 0.5;
	return 0;
}

static int64_t row_len(int type, int k)
{
	/* odd block counts and, for float rows, odd lengths */
	static const int64_t n32[] = {32, 7 * 32, 4096, 33 * 32};
	static const int64_t nk[] = {256, 3 * 256, 4096, 11 * 256};
	static const int64_t nf[] = {37, 16, 4096, 1001};
	if (type == QT_F32 || type == QT_F16 || type == QT_BF16)
		return nf[k];
	if (type == QT_Q4_K || type == QT_Q5_K || type == QT_Q6_K)
		return nk[k];
	return n32[k];
}

static int skip_unusable(const struct kern_backend *b)
{
	unsigned f = kern_cpu_features();
	if (kern_backend_usable(b, f))
		return 0;
	char need[128], have[128];
	kern_features_str(b->requires, need, sizeof need);
	kern_features_str(f, have, sizeof have);
	print_message("skipped: backend %s needs [%s]; this CPU has [%s]\n", b->name, need, have);
	return 1;
}

static void test_dot(void **state)
{
	const struct kern_backend *b = backend_at((int)(intptr_t)*state);
	assert_non_null(b);
	if (skip_unusable(b)) {
		skip();
		return;
	}
	uint64_t s = 0x1234567 + (uint64_t)(intptr_t)*state;
	for (int t = 0; t < N_WTYPES; t++) {
		const int wt = wtypes[t], at = kern_act_type(wt);
		kern_dot_fn dot = b->dot[wt];
		if (!dot) {
			print_message("  %s: no %s dot of its own (falls back)\n", b->name, mdb_qtype(wt)->name);
			continue;
		}
		double worst = 0, worst_f = 0;
		for (int k = 0; k < 4; k++) {
			const int64_t n = row_len(wt, k);
			void *w = rand_row(wt, n, &s);
			float *x = rand_floats(n, &s);
			void *a = malloc(kern_row_bytes(at, n));
			assert_non_null(a);
			if (at == QT_F32)
				memcpy(a, x, (size_t)n * sizeof(float));
			else
				generic()->quantize[at](x, a, n);
			float *wf = dequant(wt, w, n);
			float *af = at == QT_F32 ? x : dequant(at, a, n);
			double ref = 0, refx = 0, mag = 0, step = 0, extra = 0;
			for (int64_t i = 0; i < n; i++) {
				ref += (double)wf[i] * af[i];
				refx += (double)wf[i] * x[i];
				mag += fabs((double)wf[i] * af[i]);
				step += fabs((double)wf[i]) * act_err(at, a, i);
			}
			if (wt == QT_Q4_1) {
				const struct block_q4_1 *xw = w;
				const struct block_q8_1 *ya = a;
				for (int64_t i = 0; i < n / 32; i++)
					extra += fabs(kern_fp16_to_fp32(xw[i].m) * kern_fp16_to_fp32(ya[i].s)) *
						 0x1.0p-11;
			}
			const double tol = 2e-5 * mag + extra + 1e-30;
			const double got = dot(n, w, a);
			const double err = fabs(got - ref), errx = fabs(got - refx);
			if (err > tol || errx > tol + step)
				fail_msg("%s %s n=%lld: dot %.9g, float64 ref %.9g (err %.3g > tol %.3g) "
					 "ref with float x %.9g (err %.3g, tol %.3g)",
					 b->name, mdb_qtype(wt)->name, (long long)n, got, ref, err, tol, refx,
					 errx, tol + step);
			worst = fmax(worst, err / (mag + 1e-30));
			worst_f = fmax(worst_f, errx / (mag + 1e-30));
			free(w);
			free(x);
			free(a);
			free(wf);
			if (af != x)
				free(af);
		}
		print_message("  %-7s %-5s dot: max |err| / sum|w a| = %.2e (quantized a), %.2e (float x)\n",
			      b->name, mdb_qtype(wt)->name, worst, worst_f);
	}
}

static void test_dequantize(void **state)
{
	const struct kern_backend *b = backend_at((int)(intptr_t)*state);
	assert_non_null(b);
	if (skip_unusable(b)) {
		skip();
		return;
	}
	uint64_t s = 0xabcdef + (uint64_t)(intptr_t)*state;
	const int types[] = {QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K,
			     QT_F16, QT_BF16, QT_F32, QT_Q8_1, QT_Q8_K};
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		const int ty = types[t];
		if (!b->to_float[ty])
			continue;
		for (int k = 0; k < 4; k++) {
			const int64_t n = ty == QT_Q8_K ? row_len(QT_Q4_K, k) : ty == QT_Q8_1 ? row_len(QT_Q8_0, k)
											  : row_len(ty, k);
			void *w;
			if (ty == QT_Q8_1 || ty == QT_Q8_K) {
				float *x = rand_floats(n, &s);
				w = malloc(kern_row_bytes(ty, n));
				generic()->quantize[ty](x, w, n);
				free(x);
			} else {
				w = rand_row(ty, n, &s);
			}
			float *ref = dequant(ty, w, n);
			float *got = malloc((size_t)n * sizeof *got);
			b->to_float[ty](w, got, n);
			for (int64_t i = 0; i < n; i++)
				if (fabsf(got[i] - ref[i]) > 0x1.0p-21f * fabsf(ref[i]) + 1e-30f)
					fail_msg("%s dequantize %s n=%lld [%lld]: %.9g, generic %.9g", b->name,
						 mdb_qtype(ty)->name, (long long)n, (long long)i, got[i], ref[i]);
			free(w);
			free(ref);
			free(got);
		}
	}
}

/* Hand-built blocks with known values (d = 0.5, m = 0.25). */
static void test_dequantize_known_blocks(void **state)
{
	(void)state;
	const uint16_t half = 0x3800, quarter = 0x3400;
	float y[32];
	struct block_q4_0 q40 = {.d = half};
	struct block_q4_1 q41 = {.d = half, .m = quarter};
	struct block_q5_0 q50 = {.d = half, .qh = {0x0F, 0, 0, 0x80}};
	struct block_q8_0 q80 = {.d = half};
	for (int j = 0; j < 16; j++) {
		q40.qs[j] = q41.qs[j] = q50.qs[j] = (uint8_t)((j & 15) | ((15 - j) << 4));
	}
	for (int j = 0; j < 32; j++)
		q80.qs[j] = (int8_t)(j * 8 - 128 + 1);
	generic()->to_float[QT_Q4_0](&q40, y, 32);
	for (int j = 0; j < 16; j++) {
		assert_float_equal(y[j], (j - 8) * 0.5f, 0);
		assert_float_equal(y[j + 16], (15 - j - 8) * 0.5f, 0);
	}
	generic()->to_float[QT_Q4_1](&q41, y, 32);
	for (int j = 0; j < 16; j++) {
		assert_float_equal(y[j], j * 0.5f + 0.25f, 0);
		assert_float_equal(y[j + 16], (15 - j) * 0.5f + 0.25f, 0);
	}
	/* qh bits 0..3 set (weights 0..3 get +16), bit 31 (weight 31) */
	generic()->to_float[QT_Q5_0](&q50, y, 32);
	for (int j = 0; j < 16; j++) {
		assert_float_equal(y[j], ((j | (j < 4 ? 16 : 0)) - 16) * 0.5f, 0);
		assert_float_equal(y[j + 16], (((15 - j) | (j == 15 ? 16 : 0)) - 16) * 0.5f, 0);
	}
	generic()->to_float[QT_Q8_0](&q80, y, 32);
	for (int j = 0; j < 32; j++)
		assert_float_equal(y[j], (j * 8 - 127) * 0.5f, 0);

	/* Q4_K, d = dmin = 1: scales[0..3] give sc 0..3 = 1..4; scales[8..11]
	 * the low bits of sc 4..7 = 5..8; scales[4..7] = 64 set the high bits
	 * of mins 4..7 (m = 16; mins 0..3 = 0) */
	struct block_q4_K k4;
	memset(&k4, 0, sizeof k4);
	k4.d = 0x3C00;
	k4.dmin = 0x3C00;
	for (int j = 0; j < 4; j++) {
		k4.scales[j] = (uint8_t)(j + 1);
		k4.scales[j + 4] = (uint8_t)(1 << 6);
		k4.scales[j + 8] = (uint8_t)(j + 5);
	}
	for (int l = 0; l < 128; l++)
		k4.qs[l] = 0x21;  /* low nibble 1 (even sub-blocks), high 2 (odd) */
	float yk[QK_K];
	generic()->to_float[QT_Q4_K](&k4, yk, QK_K);
	for (int j = 0; j < 8; j++)
		assert_float_equal(yk[32 * j + 5], (float)((j + 1) * (j & 1 ? 2 : 1) - (j < 4 ? 0 : 16)), 0);

	/* Q6_K, d = 1, scales 1..16: weight w of a half = sc[w / 16] * (q - 32)
	 * with q's low bits 0x5 / 0xA in ql nibbles and high bits 2 in qh */
	struct block_q6_K k6;
	memset(&k6, 0, sizeof k6);
	k6.d = 0x3C00;
	for (int g = 0; g < 16; g++)
		k6.scales[g] = (int8_t)(g + 1);
	memset(k6.ql, 0xA5, sizeof k6.ql);
	memset(k6.qh, 0xAA, sizeof k6.qh);  /* 2 in every 2-bit field */
	generic()->to_float[QT_Q6_K](&k6, yk, QK_K);
	for (int w = 0; w < QK_K; w++) {
		const int lo = (w % 128) < 64 ? 5 : 10;
		assert_float_equal(yk[w], (float)((w / 16 + 1) * ((lo | 32) - 32)), 0);
	}
}

static void test_quantize(void **state)
{
	const struct kern_backend *b = backend_at((int)(intptr_t)*state);
	assert_non_null(b);
	if (skip_unusable(b)) {
		skip();
		return;
	}
	uint64_t s = 0x5eed + (uint64_t)(intptr_t)*state;
	const int atypes[] = {QT_Q8_0, QT_Q8_1, QT_Q8_K};
	for (int t = 0; t < 3; t++) {
		const int at = atypes[t];
		if (!b->quantize[at])
			continue;
		for (int k = 0; k < 4; k++) {
			const int64_t n = at == QT_Q8_K ? row_len(QT_Q4_K, k) : row_len(QT_Q8_0, k);
			float *x = rand_floats(n, &s);
			/* a wide dynamic range and exact ties (0.5 steps) */
			for (int64_t i = 0; i < n; i += 7)
				x[i] *= 100.0f;
			if (k == 1)
				for (int64_t i = 0; i < n; i++)
					x[i] = (float)((int)(x[i] * 254.0f)) / 2.0f + 0.25f;
			size_t bytes = kern_row_bytes(at, n);
			void *q = malloc(bytes), *qref = malloc(bytes);
			b->quantize[at](x, q, n);
			generic()->quantize[at](x, qref, n);
			if (memcmp(q, qref, bytes) != 0)
				fail_msg("%s quantize %s n=%lld differs from the reference quantizer", b->name,
					 mdb_qtype(at)->name, (long long)n);
			float *back = dequant(at, q, n);
			for (int64_t i = 0; i < n; i++) {
				const double bound = act_err(at, q, i);
				if (fabs((double)back[i] - x[i]) > bound * 1.0001 + 1e-7 * fabs(x[i]))
					fail_msg("%s %s round trip [%lld]: %.9g -> %.9g (bound %.3g)", b->name,
						 mdb_qtype(at)->name, (long long)i, x[i], back[i], bound);
			}
			if (at == QT_Q8_1) {
				const struct block_q8_1 *y = q;
				for (int64_t i = 0; i < n / 32; i++) {
					int sum = 0;
					for (int j = 0; j < 32; j++)
						sum += y[i].qs[j];
					const double want = sum * (double)kern_fp16_to_fp32(kern_fp32_to_fp16(
						kern_fp16_to_fp32(y[i].d)));
					assert_true(fabs(kern_fp16_to_fp32(y[i].s) - want) <=
						    fabs(want) * 0x1.0p-10 + 1e-6);
				}
			}
			if (at == QT_Q8_K) {
				const struct block_q8_K *y = q;
				for (int64_t i = 0; i < n / QK_K; i++)
					for (int g = 0; g < QK_K / 16; g++) {
						int sum = 0;
						for (int j = 0; j < 16; j++)
							sum += y[i].qs[16 * g + j];
						assert_int_equal(sum, y[i].bsums[g]);
					}
			}
			free(x);
			free(q);
			free(qref);
			free(back);
		}
	}
}

static void test_half_conversions(void **state)
{
	(void)state;
	/* every finite half survives half -> float -> half */
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7C00) == 0x7C00)
			continue;
		assert_int_equal(kern_fp32_to_fp16(kern_fp16_to_fp32((uint16_t)h)), h);
	}
	assert_float_equal(kern_fp16_to_fp32(0x3C00), 1.0f, 0);
	assert_float_equal(kern_fp16_to_fp32(0xC000), -2.0f, 0);
	assert_float_equal(kern_fp16_to_fp32(0x0001), 0x1.0p-24f, 0);
	assert_int_equal(kern_fp32_to_fp16(65520.0f), 0x7C00);   /* rounds to inf */
	assert_int_equal(kern_fp32_to_fp16(1.0f + 0x1.0p-11f), 0x3C00);  /* tie to even */
	assert_int_equal(kern_fp32_to_bf16(1.0f), 0x3F80);
	assert_float_equal(kern_bf16_to_fp32(0x4049), 3.140625f, 0);
}

static void test_table(void **state)
{
	(void)state;
	struct kern_table t;
	assert_int_equal(kern_table_init(&t, 0), 0);
	for (int i = 0; i < N_WTYPES; i++) {
		assert_non_null(t.dot[wtypes[i]]);
		assert_non_null(t.to_float[wtypes[i]]);
		assert_string_equal(t.dot_isa[wtypes[i]], "generic");
	}
	unsigned f = kern_cpu_features();
	char buf[128];
	kern_table_init(&t, f);
	print_message("  CPU features: [%s]; Q4_0 dot: %s, Q4_K dot: %s, Q8_K quantize: %s\n",
		      kern_features_str(f, buf, sizeof buf), t.dot_isa[QT_Q4_0], t.dot_isa[QT_Q4_K],
		      t.quantize_isa[QT_Q8_K]);
	/* LLMCAP_TEST_EXPECT_FEATURES (make test-neon sets it per emulated
	 * CPU model): the features run-time detection must report */
	const char *want = getenv("LLMCAP_TEST_EXPECT_FEATURES");
	if (want && *want && strcmp(want, buf) != 0)
		fail_msg("CPU features detected [%s], expected [%s]", buf, want);
	if (f & KERN_F_NEON) {
		assert_string_equal(t.dot_isa[QT_Q4_0], f & KERN_F_NEONDOT ? "neondot" : "neon");
		assert_string_equal(t.quantize_isa[QT_Q8_K], "neon");
		assert_int_equal(kern_mat_packable(&t, QT_Q4_0), 1);
		assert_int_equal(kern_mat_packable(&t, QT_Q6_K), 1);
		assert_int_equal(kern_mat_packable(&t, QT_Q5_K), 0);  /* no tiles for Q5_0, Q5_K */
	}
	assert_int_equal(kern_act_type(QT_Q4_1), QT_Q8_1);
	assert_int_equal(kern_act_type(QT_Q6_K), QT_Q8_K);
	assert_int_equal(kern_act_type(QT_BF16), QT_F32);
	assert_int_equal(kern_act_type(QT_IQ2_XXS), -1);
	assert_int_equal(kern_row_bytes(QT_Q4_0, 64), 36);
	assert_int_equal(kern_row_bytes(QT_Q4_0, 33), 0);
	char err[200];
	float y[64];
	assert_int_equal(kern_dequantize_row(&t, QT_Q4_0, NULL, y, 33, err, sizeof err), -1);
	assert_non_null(strstr(err, "multiple"));
	assert_int_equal(kern_dequantize_row(&t, QT_IQ2_XXS, NULL, y, 256, err, sizeof err), -1);
	assert_non_null(strstr(err, "not supported"));
	assert_int_equal(kern_dequantize_row(&t, 99, NULL, y, 256, err, sizeof err), -1);
}

int main(void)
{
	struct CMUnitTest tests[32];
	int n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_table);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_half_conversions);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dequantize_known_blocks);
	static const char *names[3][8];
	static char buf[3][8][48];
	const struct kern_backend *const *b = kern_backends();
	for (int k = 0; b[k] && k < 8; k++) {
		static const char *what[3] = {"dot", "dequantize", "quantize"};
		void (*fn[3])(void **) = {test_dot, test_dequantize, test_quantize};
		for (int w = 0; w < 3; w++) {
			snprintf(buf[w][k], sizeof buf[w][k], "%s_%s", what[w], b[k]->name);
			names[w][k] = buf[w][k];
			tests[n++] = (struct CMUnitTest){names[w][k], fn[w], NULL, NULL, (void *)(intptr_t)k};
		}
	}
	return _cmocka_run_group_tests("kernels", tests, (size_t)n, NULL, NULL);
}
