/*
 * cli: --device on verify and calibrate — bad values are refused before
 * anything runs, the help names the option, and without a usable GPU the
 * GPU run ends with a message, never a crash. (The GPU runs themselves are
 * scripts/cuda-check.sh's, on a machine with one.)
 */
#include "test_util.h"

#include "kernels/kern_cuda.h"

static void test_bad_device(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "verify --model smollm2-135m --device tpu");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--device tpu: use cpu or gpu"));
	tu_run_free(&r);
	r = tu_llmcap("", "calibrate --device npu");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--device npu: use cpu or gpu"));
	tu_run_free(&r);
}

static void test_help(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "verify --help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--device D"));
	assert_non_null(strstr(r.out, "CUDA kernels"));
	tu_run_free(&r);
	r = tu_llmcap("", "calibrate --help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--device gpu"));
	tu_run_free(&r);
}

/* Without a GPU (no driver, or built without nvcc): exit 1 and a line that
 * says why. A profile without a GPU is written to a scratch cache so no
 * probe runs. */
static void test_no_gpu(void **state)
{
	(void)state;
	struct kern_cuda *c = NULL;
	char err[512];
	if (kern_cuda_open(&c, 0, err, sizeof err) == 0) {
		kern_cuda_close(c);
		fprintf(stderr, "skipped: a GPU is usable here (scripts/cuda-check.sh runs verify --device gpu)\n");
		skip();
	}
	char dir[256], env[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(env, sizeof env, "XDG_CACHE_HOME=%s", dir);
	/* a quick profile of this machine, without storage */
	struct tu_run r = tu_llmcap(env, "probe --quick --json");
	if (r.status != 0) {
		tu_run_free(&r);
		tu_rmrf(dir);
		fprintf(stderr, "skipped: llmcap probe --quick failed here\n");
		skip();
	}
	tu_run_free(&r);
	r = tu_llmcap(env, "verify --model smollm2-135m --device gpu --layers 1 --prompt 8 --gen 4");
	assert_int_equal(r.status, 1);
	assert_true(strstr(r.err, "no NVIDIA GPU") || strstr(r.err, "built without CUDA kernels") ||
		    strstr(r.err, "libcuda"));
	tu_run_free(&r);
	r = tu_llmcap(env, "calibrate --device gpu");
	assert_int_equal(r.status, 1);
	assert_true(strstr(r.err, "no NVIDIA GPU") || strstr(r.err, "built without CUDA kernels") ||
		    strstr(r.err, "libcuda"));
	tu_run_free(&r);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_device),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_no_gpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
