/*
 * kernels: the mixture-of-experts forward pass against llama.cpp.
 *
 * Two tiny random MoE models (tests/fixtures/kernels/tiny-*.config.json):
 * qwen3moe (8 experts, top 2, Q4_0) and Mixtral's layout (arch llama with
 * experts; 4 experts, top 2, Q4_0). The test writes each GGUF itself with
 * kern_write_synth_gguf from the seed recorded in the fixture, the same
 * bytes tests/fixtures/make_moe_logits.py gave llama.cpp (llama-cpp-python)
 * through `llmcap synth`, and compares llmcap's logits with llama.cpp's
 * (moe_NAME.txt: argmax and top 16 logits of 64 positions):
 *
 *  - the same greedy token at every one of the 64 positions (the seed is
 *    the first whose llama.cpp top-1 leads its top-2 by TOL_ABS
 *    everywhere);
 *  - max |ours - llama.cpp| over the top 16 logits of every position
 *    within TOL_ABS + twice llama.cpp's own decode-vs-prefill difference.
 *
 * Prefill in one call, decode one token at a time, and prefill then
 * decode; 1 and 2 threads; the best kernels, AVX2 and the generic C ones.
 * Also: kern_moe_route on known values, and malformed MoE files (a
 * missing expert tensor, a wrong expert count, more experts used than
 * there are) are clear errors.
 */
#include "test_util.h"

#include <math.h>

#include "kernels/kernels.h"
#include "model_db/model_db.h"

#define FIXTURE_DIR "tests/fixtures/kernels/"
#define MAX_POS 128
#define TOPK 16
/* Logits of these models have a standard deviation of 2-3.5. llmcap and
 * llama.cpp quantize the same activations the same way and differ by
 * float summation order only (1e-6 in the logits), but now and then
 * that moves an 8-bit activation quant across a rounding boundary, and
 * these random networks amplify one such flip to 0.02-0.08 (sweep of
 * seeds 1-24 in tests/fixtures/make_moe_logits.py). */
#define TOL_ABS 0.1

struct fixture {
	char name[32], config[128], quant[16];
	uint64_t seed;
	double self_diff, min_gap;
	int self_mismatch;
	int n_vocab, n_tok, k;
	int32_t tokens[MAX_POS];
	int argmax[MAX_POS];
	int top_id[MAX_POS][TOPK];
	float top_logit[MAX_POS][TOPK];
};

static void load_fixture(struct fixture *f, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURE_DIR "moe_%s.txt", name);
	FILE *fp = fopen(path, "r");
	if (!fp)
		fail_msg("%s: cannot open (run make test from the repository root)", path);
	char word[64];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	int pos_seen = 0;
	while (fscanf(fp, "%63s", word) == 1) {
		if (!strcmp(word, "config")) {
			assert_int_equal(fscanf(fp, "%127s", f->config), 1);
		} else if (!strcmp(word, "quant")) {
			assert_int_equal(fscanf(fp, "%15s", f->quant), 1);
		} else if (!strcmp(word, "seed")) {
			unsigned long long s;
			assert_int_equal(fscanf(fp, "%llu", &s), 1);
			f->seed = s;
		} else if (!strcmp(word, "llama_decode_vs_prefill")) {
			assert_int_equal(fscanf(fp, "%lf %d", &f->self_diff, &f->self_mismatch), 2);
		} else if (!strcmp(word, "min_top_gap")) {
			assert_int_equal(fscanf(fp, "%lf", &f->min_gap), 1);
		} else if (!strcmp(word, "n_vocab")) {
			assert_int_equal(fscanf(fp, "%d", &f->n_vocab), 1);
		} else if (!strcmp(word, "n_tokens")) {
			assert_int_equal(fscanf(fp, "%d", &f->n_tok), 1);
			assert_true(f->n_tok >= 32 && f->n_tok <= MAX_POS);
		} else if (!strcmp(word, "k")) {
			assert_int_equal(fscanf(fp, "%d", &f->k), 1);
			assert_true(f->k >= 2 && f->k <= TOPK);
		} else if (!strcmp(word, "tokens")) {
			for (int i = 0; i < f->n_tok; i++)
				assert_int_equal(fscanf(fp, "%d", &f->tokens[i]), 1);
		} else if (!strcmp(word, "pos")) {
			int p;
			assert_true(pos_seen < f->n_tok);
			assert_int_equal(fscanf(fp, "%d %d", &p, &f->argmax[pos_seen]), 2);
			assert_int_equal(p, pos_seen);
			for (int j = 0; j < f->k; j++)
				assert_int_equal(fscanf(fp, "%d:%f", &f->top_id[p][j], &f->top_logit[p][j]), 2);
			pos_seen++;
		} else {
			int ch;
			while ((ch = fgetc(fp)) != EOF && ch != '\n')
				;
		}
	}
	fclose(fp);
	assert_int_equal(pos_seen, f->n_tok);
	assert_true(f->config[0] && f->quant[0] && f->seed);
}

static double tolerance(const struct fixture *f)
{
	return TOL_ABS + 2.0 * f->self_diff;
}

/* The model of the fixture's config.json. */
static void load_shape(const struct fixture *f, struct mdb_model *m)
{
	char path[300], err[512];
	snprintf(path, sizeof path, FIXTURE_DIR "%s", f->config);
	char *text = tu_slurp(path);
	if (!text)
		fail_msg("%s: cannot read", path);
	if (mdb_model_from_hf_config(text, strlen(text), path, m, err, sizeof err) != 0)
		fail_msg("%s: %s", path, err);
	free(text);
}

/* Writes the fixture's model into dir; path gets its name. */
static void write_model(const struct fixture *f, const char *dir, char *path, size_t n)
{
	struct mdb_model m;
	char err[512];
	load_shape(f, &m);
	const struct mdb_qtraits *q = mdb_qtype_by_name(f->quant);
	assert_non_null(q);
	snprintf(path, n, "%s/%s.gguf", dir, f->name);
	if (kern_write_synth_gguf(path, &m, q->id, 0, f->seed, err, sizeof err) != 0)
		fail_msg("write %s: %s", path, err);
}

static double compare(const struct fixture *f, const float *lg, int p0, int n, const char *what,
		      int *mismatches)
{
	double worst = 0;
	for (int i = 0; i < n; i++) {
		const int p = p0 + i;
		const float *row = lg + (size_t)i * (size_t)f->n_vocab;
		int best = 0;
		for (int v = 1; v < f->n_vocab; v++)
			if (row[v] > row[best])
				best = v;
		if (best != f->argmax[p]) {
			print_message("  %s: position %d: argmax %d (%.4f), llama.cpp %d (%.4f)\n", what, p,
				      best, row[best], f->argmax[p], row[f->argmax[p]]);
			(*mismatches)++;
		}
		for (int j = 0; j < f->k; j++)
			worst = fmax(worst, fabs(row[f->top_id[p][j]] - f->top_logit[p][j]));
	}
	return worst;
}

static void check(const struct fixture *f, double d, int mismatches, const char *what)
{
	print_message("  %-8s %-34s max |logit - llama.cpp| %.5f (tolerance %.5f), greedy token "
		      "%d/%d\n", f->name, what, d, tolerance(f), f->n_tok - mismatches, f->n_tok);
	if (d > tolerance(f) || mismatches)
		fail_msg("%s %s: logits differ from llama.cpp beyond the tolerance or greedy tokens differ",
			 f->name, what);
}

static void run_model(const struct fixture *f, const char *path, unsigned features, int threads)
{
	struct kern_table t;
	kern_table_init(&t, features);
	char err[512], what[128];
	struct kern_model *m;
	if (kern_model_open(&m, path, &t, 128, QT_F16, err, sizeof err))
		fail_msg("open %s: %s", path, err);
	const struct kern_model_cfg *cfg = kern_model_config(m);
	assert_int_equal(cfg->n_vocab, f->n_vocab);
	assert_true(cfg->n_expert >= 4 && cfg->n_expert_used == 2);
	assert_true(cfg->expert_bytes > 0 && cfg->weight_bytes > 0);
	struct kern_pool *pool = NULL;
	if (threads > 1)
		assert_int_equal(kern_pool_new(&pool, threads, 1, err, sizeof err), 0);
	float *lg = malloc((size_t)f->n_tok * (size_t)f->n_vocab * sizeof *lg);
	assert_non_null(lg);
	const char *isa = !features ? "generic" : (features & KERN_F_AVX512) ? "avx512" : "avx2";
	int mis = 0;
	/* prefill: one call */
	assert_int_equal(kern_model_eval(m, pool, f->tokens, f->n_tok, 1, lg, err, sizeof err), 0);
	snprintf(what, sizeof what, "prefill %s %dT", isa, threads);
	double d = compare(f, lg, 0, f->n_tok, what, &mis);
	check(f, d, mis, what);
	/* decode: one token at a time */
	kern_model_reset(m);
	mis = 0;
	for (int i = 0; i < f->n_tok; i++)
		assert_int_equal(kern_model_eval(m, pool, &f->tokens[i], 1, 0,
						 lg + (size_t)i * (size_t)f->n_vocab, err, sizeof err), 0);
	snprintf(what, sizeof what, "decode %s %dT", isa, threads);
	d = compare(f, lg, 0, f->n_tok, what, &mis);
	check(f, d, mis, what);
	/* prefill of half, then decode */
	kern_model_reset(m);
	mis = 0;
	const int np = f->n_tok / 2;
	assert_int_equal(kern_model_eval(m, pool, f->tokens, np, 1, lg, err, sizeof err), 0);
	d = compare(f, lg, 0, np, what, &mis);
	for (int i = np; i < f->n_tok; i++) {
		assert_int_equal(kern_model_eval(m, pool, &f->tokens[i], 1, 1, lg, err, sizeof err), 0);
		d = fmax(d, compare(f, lg, i, 1, what, &mis));
	}
	snprintf(what, sizeof what, "prefill %d + decode %s %dT", np, isa, threads);
	check(f, d, mis, what);
	free(lg);
	kern_pool_delete(pool);
	kern_model_close(m);
}

static void test_model(const char *name)
{
	struct fixture *f = malloc(sizeof *f);
	assert_non_null(f);
	load_fixture(f, name);
	char dir[256], path[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	write_model(f, dir, path, sizeof path);
	print_message("  %s: %s %s seed %llu; llama.cpp's smallest top-1 lead %.4f, its decode vs "
		      "prefill %.5f\n", name, f->config, f->quant, (unsigned long long)f->seed,
		      f->min_gap, f->self_diff);
	const unsigned best = kern_cpu_features();
	run_model(f, path, best, 1);
	run_model(f, path, best, 2);
	if (best & KERN_F_AVX512) {
		if (best & KERN_F_AVX2)
			run_model(f, path, KERN_F_AVX2, 2);
	}
	run_model(f, path, 0, 2);
	tu_rmrf(dir);
	free(f);
}

static void test_qwen3moe(void **state)
{
	(void)state;
	test_model("qwen3moe");
}

static void test_mixtral(void **state)
{
	(void)state;
	test_model("mixtral");
}

static void test_route(void **state)
{
	(void)state;
	const float lg[6] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f, 0.0f};
	float probs[6], w[3];
	int sel[3];
	kern_moe_route(lg, 6, 3, probs, sel, w, 0);
	double z = 0;
	for (int e = 0; e < 6; e++)
		z += exp(lg[e] - 2.0);
	for (int e = 0; e < 6; e++)
		assert_true(fabs(probs[e] - exp(lg[e] - 2.0) / z) < 1e-6);
	/* best first, the tie (experts 1 and 3) to the lower index */
	assert_int_equal(sel[0], 1);
	assert_int_equal(sel[1], 3);
	assert_int_equal(sel[2], 4);
	const double s = 2 * exp(0.0) + exp(-1.0);
	assert_true(fabs(w[0] - 1 / s) < 1e-6 && fabs(w[1] - 1 / s) < 1e-6);
	assert_true(fabs(w[2] - exp(-1.0) / s) < 1e-6);
	assert_true(fabs(w[0] + w[1] + w[2] - 1) < 1e-6);
	/* k = 1: weight 1; a scale multiplies it */
	kern_moe_route(lg, 6, 1, probs, sel, w, 2.5f);
	assert_int_equal(sel[0], 1);
	assert_true(fabs(w[0] - 2.5) < 1e-6);
}

/* The file at path with the bytes of `from` (first occurrence after the
 * 24-byte header) replaced by `to` (same length). */
static void patch_file(const char *src, const char *dst, const void *from, const void *to, size_t n)
{
	FILE *in = fopen(src, "rb");
	assert_non_null(in);
	fseek(in, 0, SEEK_END);
	const long size = ftell(in);
	fseek(in, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)size);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)size, in), (size_t)size);
	fclose(in);
	int done = 0;
	for (long i = 24; i + (long)n <= size && !done; i++) {
		if (memcmp(b + i, from, n) == 0) {
			memcpy(b + i, to, n);
			done = 1;
		}
	}
	assert_true(done);
	FILE *out = fopen(dst, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(b, 1, (size_t)size, out), (size_t)size);
	fclose(out);
	free(b);
}

static void test_bad_moe(void **state)
{
	(void)state;
	struct fixture *f = malloc(sizeof *f);
	assert_non_null(f);
	load_fixture(f, "qwen3moe");
	char dir[256], path[400], bad[420], err[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	write_model(f, dir, path, sizeof path);
	snprintf(bad, sizeof bad, "%s/bad.gguf", dir);
	struct kern_table t;
	kern_table_init(&t, kern_cpu_features());
	struct kern_model *m = NULL;
	/* a missing expert tensor */
	patch_file(path, bad, "blk.2.ffn_up_exps.weight", "blk.2.ffn_up_exps.weighX", 24);
	assert_int_equal(kern_model_open(&m, bad, &t, 64, QT_F16, err, sizeof err), -2);
	assert_null(m);
	print_message("  %s\n", err);
	assert_non_null(strstr(err, "blk.2.ffn_up_exps.weight is missing"));
	/* expert_count 8 -> 7: the 3-D tensors and the router have 8 */
	{
		const char key[] = "qwen3moe.expert_count";
		uint8_t from[sizeof key - 1 + 8], to[sizeof from];
		memcpy(from, key, sizeof key - 1);
		const uint32_t ty = 4, v8 = 8, v7 = 7;
		memcpy(from + sizeof key - 1, &ty, 4);
		memcpy(from + sizeof key - 1 + 4, &v8, 4);
		memcpy(to, from, sizeof from);
		memcpy(to + sizeof key - 1 + 4, &v7, 4);
		patch_file(path, bad, from, to, sizeof from);
		assert_int_equal(kern_model_open(&m, bad, &t, 64, QT_F16, err, sizeof err), -2);
		assert_null(m);
		print_message("  %s\n", err);
		assert_non_null(strstr(err, "ffn_gate_inp.weight has shape"));
	}
	/* more experts used than there are */
	{
		const char key[] = "qwen3moe.expert_used_count";
		uint8_t from[sizeof key - 1 + 8], to[sizeof from];
		memcpy(from, key, sizeof key - 1);
		const uint32_t ty = 4, v2 = 2, v9 = 9;
		memcpy(from + sizeof key - 1, &ty, 4);
		memcpy(from + sizeof key - 1 + 4, &v2, 4);
		memcpy(to, from, sizeof from);
		memcpy(to + sizeof key - 1 + 4, &v9, 4);
		patch_file(path, bad, from, to, sizeof from);
		assert_int_equal(kern_model_open(&m, bad, &t, 64, QT_F16, err, sizeof err), -2);
		assert_null(m);
		print_message("  %s\n", err);
		assert_non_null(strstr(err, "experts"));
	}
	/* a 3-D expert tensor whose expert dimension is wrong: ffn_down_exps
	 * [128, 256, 8] -> [128, 256, 4] */
	{
		const char nm[] = "blk.1.ffn_down_exps.weight";
		uint8_t from[sizeof nm - 1 + 4 + 24], to[sizeof from];
		memcpy(from, nm, sizeof nm - 1);
		const uint32_t nd = 3;
		const uint64_t d[3] = {128, 256, 8}, d4 = 4;
		memcpy(from + sizeof nm - 1, &nd, 4);
		memcpy(from + sizeof nm - 1 + 4, d, 24);
		memcpy(to, from, sizeof from);
		memcpy(to + sizeof nm - 1 + 4 + 16, &d4, 8);
		patch_file(path, bad, from, to, sizeof from);
		assert_int_equal(kern_model_open(&m, bad, &t, 64, QT_F16, err, sizeof err), -2);
		assert_null(m);
		print_message("  %s\n", err);
		assert_non_null(strstr(err, "blk.1.ffn_down_exps.weight has shape [128, 256, 4]"));
	}
	tu_rmrf(dir);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_qwen3moe),
		cmocka_unit_test(test_mixtral),
		cmocka_unit_test(test_bad_moe),
	};
	return cmocka_run_group_tests_name("kernels_moe", tests, NULL, NULL);
}
