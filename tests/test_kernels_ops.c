/*
 * kernels: transformer ops against float64 references on random inputs.
 * Tolerances (relative to the largest reference magnitude involved):
 * RMSNorm 1e-6, RoPE 4e-6 at the angle ggml computes (float products,
 * itself within (i + 1) * 1e-6 relative of the exact angle; positions up
 * to 4095, both modes, partial rotation), softmax 1e-6, SwiGLU (every
 * backend's, arguments to +-95 where e^-g overflows) 1.2e-5 absolute, attention (GQA 8 query heads over
 * 2 KV heads, F32 and F16 caches, the reference reading the same stored
 * cache values) 1e-5; with the F16 cache the reference rounds q and the
 * probabilities to F16 as llama.cpp does, and a probability on an F16
 * rounding boundary may land one F16 step away: 2^-10 * sum|v|. The
 * grouped attention (kern_attention_gqa: each backend's kernel) against
 * the same reference and tolerances, head sizes 64, 128 and 96, 1, 37
 * and 64 positions.
 */
#include "test_util.h"

#include <math.h>

#include "kernels/kernels.h"

static void fill(float *x, int64_t n, uint64_t *s, double scale)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(tu_randf(s) * scale);
}

static void test_rmsnorm(void **state)
{
	(void)state;
	uint64_t s = 7;
	const int64_t n = 577;
	float x[577], w[577], out[577];
	fill(x, n, &s, 3.0);
	fill(w, n, &s, 1.0);
	double ss = 0;
	for (int64_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	const double sc = 1.0 / sqrt(ss / n + 1e-5);
	kern_rmsnorm(out, x, w, n, 1e-5f);
	for (int64_t i = 0; i < n; i++)
		assert_true(fabs(out[i] - x[i] * sc * w[i]) <= 1e-6 * fabs(x[i] * sc) + 1e-7);
	kern_rmsnorm(x, x, NULL, n, 1e-5f);  /* in place, no weight */
	for (int64_t i = 0; i < n; i++)
		assert_true(fabs(x[i] * w[i] - out[i]) <= 1e-6 * fabs(out[i] / w[i]) + 1e-7);
}

static void test_rope(void **state)
{
	(void)state;
	uint64_t s = 11;
	const int n_head = 3, hd = 64;
	float x[192], y[192];
	const int64_t positions[] = {0, 1, 17, 4095};
	const enum kern_rope_mode modes[] = {KERN_ROPE_NORM, KERN_ROPE_NEOX};
	const int rots[] = {64, 32};
	for (int m = 0; m < 2; m++)
		for (int r = 0; r < 2; r++)
			for (int p = 0; p < 4; p++) {
				fill(x, 192, &s, 2.0);
				memcpy(y, x, sizeof x);
				const int n_rot = rots[r];
				kern_rope(y, n_head, hd, n_rot, positions[p], 10000.0f, modes[m]);
				for (int h = 0; h < n_head; h++) {
					const float *a = x + h * hd, *b = y + h * hd;
					for (int i = 0; i < n_rot / 2; i++) {
						const int i0 = modes[m] == KERN_ROPE_NEOX ? i : 2 * i;
						const int i1 = modes[m] == KERN_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
						/* ggml's angle: float products of powf(base, -2/n_rot) */
						float thf = (float)positions[p];
						for (int k = 0; k < i; k++)
							thf *= powf(10000.0f, -2.0f / n_rot);
						const double th = thf;
						const double exact = positions[p] * pow(10000.0, -2.0 * i / n_rot);
						assert_true(fabs(th - exact) <= fabs(exact) * 1e-6 * (i + 1));
						const double r0 = a[i0] * cos(th) - a[i1] * sin(th);
						const double r1 = a[i0] * sin(th) + a[i1] * cos(th);
						assert_true(fabs(b[i0] - r0) <= 1e-6 * 4);
						assert_true(fabs(b[i1] - r1) <= 1e-6 * 4);
					}
					for (int i = n_rot; i < hd; i++)
						assert_true(a[i] == b[i]);
				}
			}
	/* NORM rotates neighbours: at pos 1, dims (0, 1) turn by 1 radian */
	float v[4] = {1, 0, 1, 0};
	kern_rope(v, 1, 4, 4, 1, 10000.0f, KERN_ROPE_NORM);
	assert_float_equal(v[0], cosf(1), 1e-6);
	assert_float_equal(v[1], sinf(1), 1e-6);
	float u[4] = {1, 1, 0, 0};
	kern_rope(u, 1, 4, 4, 1, 10000.0f, KERN_ROPE_NEOX);
	assert_float_equal(u[0], cosf(1), 1e-6);
	assert_float_equal(u[2], sinf(1), 1e-6);
}

static void test_softmax_swiglu(void **state)
{
	(void)state;
	uint64_t s = 13;
	float x[301], g[301], u[301], o[301];
	fill(x, 301, &s, 20.0);
	double mx = -1e30, sum = 0;
	for (int i = 0; i < 301; i++)
		mx = fmax(mx, x[i]);
	for (int i = 0; i < 301; i++)
		sum += exp(x[i] - mx);
	float y[301];
	memcpy(y, x, sizeof x);
	kern_softmax(y, 301);
	for (int i = 0; i < 301; i++)
		assert_true(fabs(y[i] - exp(x[i] - mx) / sum) <= 1e-6);
	fill(g, 301, &s, 6.0);
	fill(u, 301, &s, 2.0);
	g[7] = -95.0f;  /* e^-g overflows */
	g[8] = 95.0f;
	kern_swiglu(o, g, u, 301);
	for (int i = 0; i < 301; i++) {
		const double r = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
		assert_true(fabs(o[i] - r) <= 1e-6 * 12);
	}
	/* each backend's SwiGLU (in place, odd length), same reference */
	const unsigned all = kern_cpu_features(), sets[4] = {0, KERN_F_AVX2, KERN_F_NEON, all};
	for (int k = 0; k < 4; k++) {
		if ((sets[k] & all) != sets[k] || (k == 3 && (all == KERN_F_AVX2 || all == KERN_F_NEON)))
			continue;
		struct kern_table t;
		kern_table_init(&t, sets[k]);
		assert_non_null(t.swiglu);
		float gi[301];
		memcpy(gi, g, sizeof gi);
		t.swiglu(gi, gi, u, 301);
		for (int i = 0; i < 301; i++) {
			const double r = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
			if (!(fabs(gi[i] - r) <= 1e-6 * 12))
				fail_msg("swiglu features %#x at %d: %.9g, float64 %.9g", sets[k], i, gi[i], r);
		}
	}
}

/* kern_attention (gqa 0) or kern_attention_gqa (1) with head size hd. */
static void check_attention(const struct kern_table *t, int type, int hd, int gqa, int n_pos)
{
	uint64_t s = 17 + (uint64_t)type + (uint64_t)hd;
	const int n_head = 8, n_kv = 2, n_ctx = 64;
	const size_t esz = type == QT_F16 ? 2 : 4;
	struct kern_kv kv = {type, n_ctx, n_kv, hd, NULL, NULL};
	kv.k = malloc(esz * n_ctx * n_kv * hd);
	kv.v = malloc(esz * n_ctx * n_kv * hd);
	float kr[256], vr[256];
	for (int p = 0; p < n_pos; p++) {
		fill(kr, n_kv * hd, &s, 1.0);
		fill(vr, n_kv * hd, &s, 1.0);
		kern_kv_store(&kv, p, kr, vr);
	}
	float q[1024], out[1024], scratch[4 * 64];
	fill(q, n_head * hd, &s, 2.0);
	if (gqa)
		kern_attention_gqa(t, &kv, n_head, q, n_pos, out, scratch, 0, n_head);
	else
		kern_attention(t, &kv, n_head, q, n_pos, out, scratch, 0, n_head);
	/* the stored values, read back as floats */
	float *kf = malloc(sizeof(float) * n_pos * n_kv * hd), *vf = malloc(sizeof(float) * n_pos * n_kv * hd);
	for (int i = 0; i < n_pos * n_kv * hd; i++) {
		kf[i] = type == QT_F16 ? kern_fp16_to_fp32(((uint16_t *)kv.k)[i]) : ((float *)kv.k)[i];
		vf[i] = type == QT_F16 ? kern_fp16_to_fp32(((uint16_t *)kv.v)[i]) : ((float *)kv.v)[i];
	}
	for (int h = 0; h < n_head; h++) {
		const int kh = h / (n_head / n_kv);
		double sc[64], mx = -1e300, sum = 0;
		for (int p = 0; p < n_pos; p++) {
			double d = 0;
			for (int i = 0; i < hd; i++) {
				double qi = q[h * hd + i];
				if (type == QT_F16)
					qi = kern_fp16_to_fp32(kern_fp32_to_fp16(q[h * hd + i]));
				d += qi * kf[(p * n_kv + kh) * hd + i];
			}
			sc[p] = d / sqrt((double)hd);
			mx = fmax(mx, sc[p]);
		}
		for (int p = 0; p < n_pos; p++)
			sum += (sc[p] = exp(sc[p] - mx));
		for (int i = 0; i < hd; i++) {
			double o = 0, mag = 0;
			for (int p = 0; p < n_pos; p++) {
				double pr = sc[p] / sum;
				if (type == QT_F16)
					pr = kern_fp16_to_fp32(kern_fp32_to_fp16((float)pr));
				o += pr * vf[(p * n_kv + kh) * hd + i];
				mag += fabs(vf[(p * n_kv + kh) * hd + i]);
			}
			const double tol = type == QT_F16 ? 1e-5 + 0x1.0p-10 * mag / n_pos : 1e-5;
			if (fabs(out[h * hd + i] - o) > tol)
				fail_msg("attention%s %s hd %d positions %d head %d dim %d: %.9g, float64 %.9g",
					 gqa ? " (grouped)" : "", type == QT_F16 ? "f16" : "f32", hd, n_pos, h, i,
					 out[h * hd + i], o);
		}
	}
	/* a head range computes only those heads (grouped: one that cuts a
	 * group of 4 too) */
	float out2[1024];
	memset(out2, 0, sizeof out2);
	const int h0 = gqa ? 3 : 4;
	if (gqa)
		kern_attention_gqa(t, &kv, n_head, q, n_pos, out2, scratch, h0, 8);
	else
		kern_attention(t, &kv, n_head, q, n_pos, out2, scratch, h0, 8);
	for (int i = 0; i < h0 * hd; i++)
		assert_true(out2[i] == 0);
	for (int i = h0 * hd; i < 8 * hd; i++)
		assert_true(out2[i] == out[i]);
	free(kf);
	free(vf);
	free(kv.k);
	free(kv.v);
}

/* Every backend the CPU runs (the table built from each feature set). */
static void each_table(int type)
{
	const unsigned all = kern_cpu_features();
	const unsigned sets[4] = {0, KERN_F_AVX2, KERN_F_NEON, all};
	for (int k = 0; k < 4; k++) {
		if ((sets[k] & all) != sets[k] || (k == 3 && (all == KERN_F_AVX2 || all == KERN_F_NEON)))
			continue;
		struct kern_table t;
		kern_table_init(&t, sets[k]);
		check_attention(&t, type, 64, 0, 37);
		/* grouped: head sizes 64 and 128 (registers) and 96 (any other
		 * multiple of 16), position counts on and off 16 */
		static const int hds[3] = {64, 128, 96}, nps[3] = {1, 37, 64};
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 3; b++)
				check_attention(&t, type, hds[a], 1, nps[b]);
	}
}

static void test_attention_f32(void **state)
{
	(void)state;
	each_table(QT_F32);
}

static void test_attention_f16(void **state)
{
	(void)state;
	each_table(QT_F16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rmsnorm),
		cmocka_unit_test(test_rope),
		cmocka_unit_test(test_softmax_swiglu),
		cmocka_unit_test(test_attention_f32),
		cmocka_unit_test(test_attention_f16),
	};
	return cmocka_run_group_tests_name("kernels_ops", tests, NULL, NULL);
}
