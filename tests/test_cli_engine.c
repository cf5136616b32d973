/*
 * CLI tests of engines: --engine picks the measured profile and says so;
 * calibrate --engine llama.cpp names the fix when no llama-bench is
 * found, runs one end to end (tests/fixtures/engine/fake-llama-bench.sh
 * stands in for llama.cpp, which CI lacks), leaves no file behind, and
 * its profile then drives plan --hw this; verify --engine llama.cpp
 * compares with llama-bench on the same file; --from refits a record.
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

#define FAKE "tests/fixtures/engine/fake-llama-bench.sh"

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

static void plan_names_profile(void **state)
{
	struct env *e = *state;
	struct tu_run r = tu_llmcap(e->prefix, "plan --model llama-3.1-8b --quant Q4_0 --hw rtx4090-7950x-64g --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "llama.cpp cuda profile measured on NVIDIA H100"));
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "plan --model llama-3.1-8b --quant Q4_0 --hw mbp16-m1max-32g --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "metal profile derived"));
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "fit --hw rtx4090-7950x-64g --engine vllm");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "vllm"));
	tu_run_free(&r);
	/* the two engines differ on the same machine */
	/* (--gpu-layers 0: on a machine with a GPU the layers would go there, under its profile) */
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q4_0 --hw this --gpu-layers 0 --json");
	struct tu_run r2 = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q4_0 --hw this --engine llmcap --json");
	assert_int_equal(r.status, 0);
	assert_int_equal(r2.status, 0);
	assert_non_null(strstr(r.out, "\"engine\":\t\"llama.cpp\""));
	assert_non_null(strstr(r2.out, "\"engine\":\t\"llmcap\""));
	tu_run_free(&r);
	tu_run_free(&r2);
}

static void calibrate_without_llama_bench(void **state)
{
	struct env *e = *state;
	char pre[1100];
	snprintf(pre, sizeof pre, "%s PATH=/nonexistent", e->prefix);
	struct tu_run r = tu_llmcap(pre, "calibrate --engine llama.cpp");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "no llama-bench found on PATH"));
	assert_non_null(strstr(r.err, "--llama-bench"));
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "calibrate --engine llama.cpp --llama-bench /nonexistent/llama-bench");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "calibrate --full");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
	/* --rounds: llmcap's CPU calibration only, 1 to 15 */
	const char *bad[] = {"calibrate --rounds 0", "calibrate --rounds 16", "calibrate --rounds x",
			     "calibrate --engine llama.cpp --rounds 2", "calibrate --device gpu --rounds 2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = tu_llmcap(e->prefix, bad[i]);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, "--rounds"));
		tu_run_free(&r);
	}
}

static void calibrate_end_to_end(void **state)
{
	struct env *e = *state;
	char args[600], path[400];
	/* a failing llama-bench: its reason, exit 1, nothing left behind */
	char pre[1100];
	snprintf(pre, sizeof pre, "%s FAKE_LB_FAIL=1", e->prefix);
	snprintf(args, sizeof args, "calibrate --engine llama.cpp --quick --llama-bench %s", FAKE);
	struct tu_run r = tu_llmcap(pre, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "failed to load model"));
	tu_run_free(&r);
	assert_int_equal(tu_count_entries(e->tmp), 0);
	/* the real run */
	snprintf(args, sizeof args, "calibrate --engine llama.cpp --quick --llama-bench %s --save-runs %s/runs.json",
		 FAKE, e->dir);
	r = tu_llmcap(e->prefix, args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "llama.cpp cpu profile"));
	assert_non_null(strstr(r.out, "smollm2-135m"));
	tu_run_free(&r);
	assert_int_equal(tu_count_entries(e->tmp), 0);
	snprintf(path, sizeof path, "%s/llmcap/engine-llama.cpp.json", e->dir);
	char *t = tu_slurp(path);
	assert_non_null(strstr(t, "\"status\":\t\"calibrated\""));
	free(t);
	/* plan --hw this now uses it; a catalog machine does not */
	/* (--gpu-layers 0: on a machine with a GPU the layers would go there, under its profile) */
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q4_0 --hw this --gpu-layers 0 --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "cpu profile calibrated"));
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "plan --model llama-3.2-1b --quant Q4_0 --hw rtx4090-7950x-64g --gpu-layers 0 --json");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "cpu profile calibrated"));
	tu_run_free(&r);
	/* the saved runs refit to the same profile */
	snprintf(args, sizeof args, "calibrate --engine llama.cpp --from %s/runs.json --json", e->dir);
	r = tu_llmcap(e->prefix, args);
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "llmcap.engines/1");
	cJSON_Delete(j);
	tu_run_free(&r);
}

static void verify_llama(void **state)
{
	struct env *e = *state;
	char args[600];
	snprintf(args, sizeof args, "verify --engine llama.cpp --llama-bench %s --model smollm2-135m "
		 "--quant Q8_0 --layers 4 --prompt 64 --gen 16 --json", FAKE);
	struct tu_run r = tu_llmcap(e->prefix, args);
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "engine")->valuestring, "llama.cpp");
	const cJSON *me = cJSON_GetObjectItem(j, "measured"), *pr = cJSON_GetObjectItem(j, "predicted"),
		    *ep = cJSON_GetObjectItem(j, "error_pct");
	assert_true(cJSON_GetObjectItem(me, "decode_tps")->valuedouble > 0);
	assert_true(cJSON_GetObjectItem(me, "prefill_tps")->valuedouble > 0);
	assert_true(cJSON_GetObjectItem(pr, "decode_tps")->valuedouble > 0);
	double m = cJSON_GetObjectItem(me, "decode_tps")->valuedouble,
	       p = cJSON_GetObjectItem(pr, "decode_tps")->valuedouble;
	assert_true(fabs(cJSON_GetObjectItem(ep, "decode")->valuedouble - 100 * (p - m) / m) < 1e-6);
	cJSON_Delete(j);
	tu_run_free(&r);
	assert_int_equal(tu_count_entries(e->tmp), 0);
	r = tu_llmcap(e->prefix, "verify --model smollm2-135m --llama-bench /x");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
	r = tu_llmcap(e->prefix, "verify --model smollm2-135m --engine vllm");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
}

static void refit_record(void **state)
{
	struct env *e = *state;
	struct tu_run r = tu_llmcap(e->prefix, "calibrate --engine llama.cpp --from tests/fixtures/engine/h100-record.json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "llama.cpp cuda profile"));
	assert_non_null(strstr(r.out, "largest error over the 16 runs"));
	tu_run_free(&r);
	char path[400], args[600];
	snprintf(path, sizeof path, "%s/bad.json", e->dir);
	tu_write_file(path, "{\"schema\": \"llmcap.enginebench/1\", \"engine\": \"llama.cpp\"");
	snprintf(args, sizeof args, "calibrate --engine llama.cpp --from %s", path);
	r = tu_llmcap(e->prefix, args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "bad.json"));
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_names_profile),
		cmocka_unit_test(calibrate_without_llama_bench),
		cmocka_unit_test(calibrate_end_to_end),
		cmocka_unit_test(verify_llama),
		cmocka_unit_test(refit_record),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
