/*
 * The hardware catalog: the built-in entries load and are complete, spot
 * checks against the published specs they cite, strict validation of
 * malformed input, user additions, --hw resolution, and `llmcap hardware`.
 */
#include <math.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"
#include "tests/test_util.h"

#define ERRLEN 512

static struct mdb_hw_catalog load_builtin(void)
{
	struct mdb_hw_catalog c;
	char err[ERRLEN] = "";
	int rc = mdb_hw_catalog_load_builtin(&c, err, sizeof err);
	if (rc != 0)
		fail_msg("built-in catalog: %s", err);
	return c;
}

static void test_builtin_loads_and_is_complete(void **state)
{
	(void)state;
	struct mdb_hw_catalog c = load_builtin();
	assert_true(c.n >= 40);
	assert_int_equal(c.n, c.n_builtin);
	int priced = 0;
	for (int i = 0; i < c.n; i++) {
		const struct hw_spec *h = &c.items[i];
		if (!h->source[0] || !h->name[0])
			fail_msg("%s: no source or name", h->id);
		if (!(h->host.memory_gb > 0) || !(h->host.memory_bandwidth_gbps > 0) ||
		    h->host.cores < 1)
			fail_msg("%s: host memory, bandwidth or cores missing", h->id);
		/* a price always comes with its month, and most entries have one */
		if (isfinite(h->price_usd)) {
			priced++;
			if (strlen(h->price_date) != 7)
				fail_msg("%s: price without a date", h->id);
		} else if (!strstr(h->source, "unknown")) {
			fail_msg("%s: no price and the source does not say it is unknown", h->id);
		}
		for (int j = 0; j < c.n; j++)
			if (j != i && !strcmp(c.items[j].id, h->id))
				fail_msg("duplicate id %s", h->id);
		int unified = 0, gpu = 0;
		for (int k = 0; k < h->n_accel; k++) {
			const struct hw_accel *a = &h->accel[k];
			if (!(a->memory_bandwidth_gbps > 0) || !(a->memory_gb >= 0))
				fail_msg("%s: accelerator %d without memory or bandwidth", h->id, k);
			if (a->unified_memory) {
				unified = 1;
				if (a->memory_gb != h->host.memory_gb ||
				    a->memory_bandwidth_gbps != h->host.memory_bandwidth_gbps)
					fail_msg("%s: unified accelerator does not share host memory", h->id);
			}
			if (!strcmp(a->kind, "gpu"))
				gpu = 1;
		}
		if (unified && !gpu)
			fail_msg("%s: unified memory without a GPU", h->id);
		/* a GPU without FP16 figure says so; a computed figure says how */
		for (int k = 0; k < h->n_accel; k++)
			if (!strcmp(h->accel[k].kind, "gpu") && isnan(h->accel[k].fp16_tflops) &&
			    !(strstr(h->source, "FP16") && strstr(h->source, "unknown")))
				fail_msg("%s: GPU FP16 missing and the source does not say it is "
					 "unknown", h->id);
		if (isfinite(h->host.fp32_gflops) && !strstr(h->source, "host fp32 computed"))
			fail_msg("%s: host fp32_gflops without its computation", h->id);
	}
	assert_true(priced >= 40);
	assert_null(mdb_hw_catalog_find(&c, "no-such-machine"));
	mdb_hw_catalog_free(&c);
}

/* Every entry gives its stock SSD's sequential read speed (the simulator
 * streams weights from it), or its source says why the figure is unknown. */
static void test_builtin_storage_speed_or_reason(void **state)
{
	(void)state;
	struct mdb_hw_catalog c = load_builtin();
	int with_speed = 0;
	for (int i = 0; i < c.n; i++) {
		const struct hw_spec *h = &c.items[i];
		if (isfinite(h->storage_read_gbps)) {
			with_speed++;
			/* microSD (0.09) up to PCIe 5.0 NVMe and Apple's fastest (~14) */
			if (!(h->storage_read_gbps >= 0.05 && h->storage_read_gbps <= 20))
				fail_msg("%s: storage_read_gbps %g out of range", h->id,
					 h->storage_read_gbps);
			if (!strstr(h->source, "SSD") && !strstr(h->source, "storage"))
				fail_msg("%s: storage_read_gbps without its source", h->id);
		} else if (!strstr(h->source, "SSD read speed unknown")) {
			fail_msg("%s: no storage_read_gbps and the source does not say "
				 "\"SSD read speed unknown\"", h->id);
		}
	}
	assert_true(with_speed >= 25);
	/* spot checks against the cited figures */
	const struct hw_spec *h = mdb_hw_catalog_find(&c, "raspberry-pi-5-8g");
	assert_non_null(h);
	assert_true(fabs(h->storage_read_gbps - 0.09) < 1e-9);
	h = mdb_hw_catalog_find(&c, "macbook-air-m2-8g"); /* one NAND chip */
	assert_non_null(h);
	assert_true(fabs(h->storage_read_gbps - 1.58) < 1e-9);
	h = mdb_hw_catalog_find(&c, "mbp14-m5-16g");
	assert_non_null(h);
	assert_true(fabs(h->storage_read_gbps - 6.32) < 1e-9);
	h = mdb_hw_catalog_find(&c, "rtx4090-7950x-64g"); /* assumed 990 PRO */
	assert_non_null(h);
	assert_true(fabs(h->storage_read_gbps - 7.45) < 1e-9);
	assert_non_null(strstr(h->source, "990 PRO"));
	h = mdb_hw_catalog_find(&c, "dgx-spark-128g");
	assert_non_null(h);
	assert_true(isnan(h->storage_read_gbps));
	mdb_hw_catalog_free(&c);
}

static const struct hw_spec *must_find(const struct mdb_hw_catalog *c, const char *id)
{
	const struct hw_spec *h = mdb_hw_catalog_find(c, id);
	if (!h)
		fail_msg("catalog has no %s", id);
	return h;
}

static void test_spot_checks_against_specs(void **state)
{
	(void)state;
	struct mdb_hw_catalog c = load_builtin();
	const struct hw_spec *h = must_find(&c, "rtx4090-7950x-64g");
	assert_int_equal(h->n_accel, 1);
	assert_true(h->accel[0].memory_bandwidth_gbps == 1008);
	assert_true(h->accel[0].memory_gb == 24);
	assert_true(fabs(h->accel[0].fp16_tflops - 165.2) < 0.01);
	assert_false(h->accel[0].unified_memory);
	assert_true(h->price_usd == 1599);
	assert_string_equal(h->price_date, "2022-10");

	h = must_find(&c, "mac-studio-m2ultra-64g");
	assert_true(h->host.memory_bandwidth_gbps == 800);
	assert_true(h->accel[0].unified_memory);
	assert_true(h->accel[0].memory_bandwidth_gbps == 800);
	/* computed: 60 cores x 256 FLOP/clk x 1.398 GHz, FP16 rate = FP32 */
	assert_true(fabs(h->accel[0].fp16_tflops - 21.47) < 0.01);
	assert_non_null(strstr(h->source, "fp16 computed"));
	h = must_find(&c, "mac-studio-m3ultra-96g");
	assert_true(isnan(h->accel[0].fp16_tflops)); /* not published: unknown */
	h = must_find(&c, "rtx5080-7950x-64g"); /* AI TOPS 1801 / 16 */
	assert_true(fabs(h->accel[0].fp16_tflops - 112.6) < 0.01);
	assert_true(h->host.fp32_gflops == 2304);  /* 16 x 32 x 4.5 GHz */

	h = must_find(&c, "rtx5090-7950x-64g");
	assert_true(h->accel[0].memory_bandwidth_gbps == 1792);
	assert_true(h->accel[0].memory_gb == 32);
	h = must_find(&c, "dgx-spark-128g");
	assert_true(h->host.memory_gb == 128 && h->accel[0].memory_bandwidth_gbps == 273);
	assert_true(h->accel[0].unified_memory);
	h = must_find(&c, "h200-sxm-epyc9654");
	assert_true(h->accel[0].memory_gb == 141 && h->accel[0].memory_bandwidth_gbps == 4800);
	h = must_find(&c, "mac-studio-m3ultra-512g");
	assert_true(h->host.memory_gb == 512 && h->host.memory_bandwidth_gbps == 819);
	h = must_find(&c, "framework-desktop-395-128g");
	assert_true(h->host.memory_bandwidth_gbps == 256);
	h = must_find(&c, "raspberry-pi-5-8g");
	assert_int_equal(h->n_accel, 0);
	h = must_find(&c, "server-epyc9654-768g");
	assert_true(fabs(h->host.memory_bandwidth_gbps - 460.8) < 0.01);
	mdb_hw_catalog_free(&c);
}

/* The M5 Pro and M5 Max entries (Apple, March 2026) parse, share their
 * unified memory, and say what is not published yet. */
static void test_m5_pro_max_entries(void **state)
{
	(void)state;
	struct mdb_hw_catalog c = load_builtin();
	static const struct {
		const char *id;
		double mem, bw;
		int gpu_cores;
	} want[] = {
		{"mbp14-m5pro-64g", 64, 307, 20},
		{"mbp16-m5max-128g", 128, 614, 40},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct hw_spec *h = must_find(&c, want[i].id);
		assert_int_equal(h->host.cores, 18);
		assert_true(h->host.memory_gb == want[i].mem);
		assert_true(h->host.memory_bandwidth_gbps == want[i].bw);
		assert_int_equal(h->n_accel, 1);
		assert_true(h->accel[0].unified_memory);
		assert_true(h->accel[0].memory_gb == want[i].mem);
		assert_true(h->accel[0].memory_bandwidth_gbps == want[i].bw);
		char gpu[32];
		snprintf(gpu, sizeof gpu, "%d-core GPU", want[i].gpu_cores);
		assert_non_null(strstr(h->accel[0].name, gpu));
		assert_non_null(strstr(h->source, "2026-03-03"));
		/* Apple gives no price for these configurations, nor GPU FP16 */
		assert_true(isnan(h->price_usd));
		assert_non_null(strstr(h->source, "price of this configuration unknown"));
		assert_true(isnan(h->accel[0].fp16_tflops));
	}
	/* The Verge's 4 TB M5 Max read test; no M5 Pro SSD test found */
	assert_true(fabs(must_find(&c, "mbp16-m5max-128g")->storage_read_gbps - 13.6) < 1e-9);
	assert_true(isnan(must_find(&c, "mbp14-m5pro-64g")->storage_read_gbps));
	/* each entry, printed by `llmcap hardware --json`, parses back */
	char dir[256], env[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(env, sizeof env, "XDG_CONFIG_HOME='%s'", dir);
	struct tu_run r = tu_llmcap(env, "hardware --json");
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	int n = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "hardware")) {
		char *one = cJSON_PrintUnformatted(e);
		struct hw_spec h;
		char err[ERRLEN];
		if (mdb_hw_parse(one, strlen(one), "out", &h, err, sizeof err) != 0)
			fail_msg("%s", err);
		if (!strncmp(h.id, "mbp14-m5pro", 11) || !strncmp(h.id, "mbp16-m5max", 11))
			n++;
		free(one);
	}
	assert_int_equal(n, 2);
	cJSON_Delete(j);
	tu_run_free(&r);
	tu_rmrf(dir);
	mdb_hw_catalog_free(&c);
}

#define GOOD "{\"schema\":\"llmcap.hardware/1\",\"id\":\"my-box\",\"name\":\"My box\"," \
	"\"price_usd\":1000,\"price_date\":\"2025-01\",\"host\":{\"cpu\":\"x\",\"cores\":8," \
	"\"memory_gb\":32,\"memory_bandwidth_gbps\":80},\"accelerators\":[{\"name\":\"G\"," \
	"\"kind\":\"gpu\",\"memory_gb\":16,\"memory_bandwidth_gbps\":500,\"fp16_tflops\":50}]}"

/* Parses text; expects -2 and each needle in the message. */
static void expect_bad(const char *text, const char *n1, const char *n2)
{
	struct hw_spec h;
	char err[ERRLEN] = "";
	int rc = mdb_hw_parse(text, strlen(text), "t.json", &h, err, sizeof err);
	if (rc != -2 || !strstr(err, "t.json") || (n1 && !strstr(err, n1)) ||
	    (n2 && !strstr(err, n2)))
		fail_msg("rc %d, err \"%s\" (wanted %s / %s) for %.120s", rc, err, n1, n2 ? n2 : "",
			 text);
}

static void test_parse_good_and_malformed(void **state)
{
	(void)state;
	struct hw_spec h;
	char err[ERRLEN] = "";
	assert_int_equal(mdb_hw_parse(GOOD, strlen(GOOD), "t.json", &h, err, sizeof err), 0);
	assert_string_equal(h.id, "my-box");
	assert_true(h.accel[0].fp16_tflops == 50);
	assert_true(isnan(h.power_w) && isnan(h.accel[0].int8_tops));

	expect_bad("not json", "not valid JSON", NULL);
	expect_bad("", "not valid JSON", NULL);
	expect_bad("[1,2]", "top level", NULL);
	expect_bad("{\"schema\":\"llmcap.hardware/2\",\"id\":\"a\"}", "\"schema\"", "\"a\"");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"name\":\"x\"}", "\"id\"", "missing");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":7}", "\"id\"", "string");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"Bad Id!\"}", "\"id\"", NULL);
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"this\",\"name\":\"n\"}", "reserved",
		   NULL);
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\"}", "\"host\"",
		   "missing");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"host\":{\"cores\":4,"
		   "\"memory_gb\":-4,\"memory_bandwidth_gbps\":10}}", "host.memory_gb", "> 0");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"host\":{\"cores\":4,"
		   "\"memory_gb\":4,\"memory_bandwidth_gbps\":0}}", "host.memory_bandwidth_gbps", NULL);
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"host\":{\"cores\":\"4\","
		   "\"memory_gb\":4,\"memory_bandwidth_gbps\":1}}", "host.cores", "number");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"host\":{\"cores\":4.5,"
		   "\"memory_gb\":4,\"memory_bandwidth_gbps\":1}}", "host.cores", "whole");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"price_usd\":\"cheap\","
		   "\"host\":{\"cores\":4,\"memory_gb\":4,\"memory_bandwidth_gbps\":1}}", "price_usd", NULL);
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"price_date\":\"2025\","
		   "\"host\":{\"cores\":4,\"memory_gb\":4,\"memory_bandwidth_gbps\":1}}", "price_date",
		   "YYYY-MM");
	expect_bad("{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\",\"host\":{\"cores\":4,"
		   "\"memory_gb\":1e999,\"memory_bandwidth_gbps\":1}}", "host.memory_gb", NULL);
	const char *acc_pre = "{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"n\","
		"\"host\":{\"cores\":4,\"memory_gb\":8,\"memory_bandwidth_gbps\":10},\"accelerators\":";
	char buf[4096];
	snprintf(buf, sizeof buf, "%s{}}", acc_pre);
	expect_bad(buf, "accelerators", "array");
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"tpu\",\"memory_gb\":1,"
		 "\"memory_bandwidth_gbps\":1}]}", acc_pre);
	expect_bad(buf, "accelerators[0].kind", "gpu");
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"gpu\",\"memory_gb\":-1,"
		 "\"memory_bandwidth_gbps\":1}]}", acc_pre);
	expect_bad(buf, "accelerators[0].memory_gb", ">= 0");
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"gpu\",\"memory_gb\":1}]}", acc_pre);
	expect_bad(buf, "accelerators[0].memory_bandwidth_gbps", "missing");
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"gpu\",\"unified_memory\":\"yes\"}]}",
		 acc_pre);
	expect_bad(buf, "unified_memory", "true or false");
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"gpu\",\"unified_memory\":true,"
		 "\"memory_gb\":64}]}", acc_pre);
	expect_bad(buf, "accelerators[0].memory_gb", "host");
	/* a unified GPU without figures takes the host's */
	snprintf(buf, sizeof buf, "%s[{\"name\":\"g\",\"kind\":\"gpu\",\"unified_memory\":true}]}",
		 acc_pre);
	assert_int_equal(mdb_hw_parse(buf, strlen(buf), "t.json", &h, err, sizeof err), 0);
	assert_true(h.accel[0].memory_gb == 8 && h.accel[0].memory_bandwidth_gbps == 10);
	/* a huge array */
	size_t n = strlen(acc_pre);
	char *big = malloc(n + 100000);
	assert_non_null(big);
	memcpy(big, acc_pre, n);
	big[n++] = '[';
	for (int i = 0; i < 10000; i++) {
		memcpy(big + n, "{},", 3);
		n += 3;
	}
	strcpy(big + n - 1, "]}");
	expect_bad(big, "accelerators", "at most");
	free(big);
	/* a long string */
	snprintf(buf, sizeof buf, "{\"schema\":\"llmcap.hardware/1\",\"id\":\"a\",\"name\":\"%0300d\"}",
		 0);
	expect_bad(buf, "\"name\"", "at most");
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(mdb_hw_parse(GOOD "garbage", strlen(GOOD), "t.json", &h, err, sizeof err), 0);
}

static void set_config_home(const char *dir)
{
	setenv("XDG_CONFIG_HOME", dir, 1);
}

static void test_user_additions(void **state)
{
	(void)state;
	char dir[256], sub[512], path[600];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	set_config_home(dir);
	struct mdb_hw_catalog c;
	char err[ERRLEN] = "";
	/* no directory: only the built-in catalog */
	assert_int_equal(mdb_hw_catalog_load(&c, err, sizeof err), 0);
	int nb = c.n;
	mdb_hw_catalog_free(&c);

	snprintf(sub, sizeof sub, "%s/llmcap", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof sub, "%s/llmcap/hardware", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof path, "%s/mine.json", sub);
	tu_write_file(path, GOOD);
	snprintf(path, sizeof path, "%s/notes.txt", sub);
	tu_write_file(path, "not a catalog file");
	assert_int_equal(mdb_hw_catalog_load(&c, err, sizeof err), 0);
	assert_int_equal(c.n, nb + 1);
	assert_non_null(mdb_hw_catalog_find(&c, "my-box"));
	mdb_hw_catalog_free(&c);

	/* resolve by id finds the user entry */
	struct hw_spec h;
	assert_int_equal(mdb_hw_resolve("my-box", &h, err, sizeof err), 0);
	assert_string_equal(h.name, "My box");

	/* a bad file is named */
	snprintf(path, sizeof path, "%s/zz-bad.json", sub);
	tu_write_file(path, "{\"schema\":\"llmcap.hardware/1\",\"id\":\"b\",\"name\":\"b\","
		      "\"host\":{\"cores\":1,\"memory_gb\":-1,\"memory_bandwidth_gbps\":1}}");
	assert_int_equal(mdb_hw_catalog_load(&c, err, sizeof err), -2);
	assert_non_null(strstr(err, "zz-bad.json"));
	assert_non_null(strstr(err, "host.memory_gb"));
	assert_null(c.items);
	mdb_hw_catalog_free(&c);

	char env[600];
	snprintf(env, sizeof env, "XDG_CONFIG_HOME='%s'", dir);
	struct tu_run r = tu_llmcap(env, "hardware");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "zz-bad.json"));
	tu_run_free(&r);
	remove(path);
	r = tu_llmcap(env, "hardware");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "my-box"));
	tu_run_free(&r);
	tu_rmrf(dir);
	unsetenv("XDG_CONFIG_HOME");
}

static void test_resolve(void **state)
{
	(void)state;
	char dir[256], path[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	set_config_home(dir);               /* no user files */
	struct hw_spec h;
	char err[ERRLEN] = "";
	assert_int_equal(mdb_hw_resolve("this", &h, err, sizeof err), MDB_HW_THIS);
	assert_int_equal(mdb_hw_resolve("rtx4090-7950x-64g", &h, err, sizeof err), 0);
	assert_true(h.accel[0].memory_bandwidth_gbps == 1008);
	snprintf(path, sizeof path, "%s/box.json", dir);
	tu_write_file(path, GOOD);
	assert_int_equal(mdb_hw_resolve(path, &h, err, sizeof err), 0);
	assert_string_equal(h.id, "my-box");
	snprintf(path, sizeof path, "%s/missing.json", dir);
	assert_int_equal(mdb_hw_resolve(path, &h, err, sizeof err), -2);
	assert_non_null(strstr(err, "missing.json"));
	assert_int_equal(mdb_hw_resolve("no-such-id", &h, err, sizeof err), -2);
	assert_non_null(strstr(err, "llmcap hardware"));
	snprintf(path, sizeof path, "%s/bad.json", dir);
	tu_write_file(path, "{\"schema\":\"llmcap.hardware/1\"}");
	assert_int_equal(mdb_hw_resolve(path, &h, err, sizeof err), -2);
	assert_non_null(strstr(err, "bad.json"));
	assert_non_null(strstr(err, "\"id\""));
	tu_rmrf(dir);
	unsetenv("XDG_CONFIG_HOME");
}

static void test_cli_hardware(void **state)
{
	(void)state;
	char dir[256], env[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(env, sizeof env, "XDG_CONFIG_HOME='%s'", dir);
	struct tu_run r = tu_llmcap(env, "hardware --json");
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	cJSON *s = cJSON_GetObjectItem(j, "schema");
	assert_true(cJSON_IsString(s));
	assert_string_equal(s->valuestring, "llmcap.hardware-catalog/1");
	cJSON *arr = cJSON_GetObjectItem(j, "hardware");
	assert_true(cJSON_GetArraySize(arr) >= 40);
	double last = 0;
	int seen_4090 = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		assert_string_equal(cJSON_GetObjectItem(e, "schema")->valuestring, "llmcap.hardware/1");
		assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "source")));
		cJSON *p = cJSON_GetObjectItem(e, "price_usd");
		if (p) {                        /* sorted by price, unknown last */
			assert_true(p->valuedouble >= last);
			last = p->valuedouble;
			assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "price_date")));
		} else {
			last = INFINITY;
		}
		if (!strcmp(cJSON_GetObjectItem(e, "id")->valuestring, "rtx4090-7950x-64g")) {
			seen_4090 = 1;
			cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "accelerators"), 0);
			assert_true(cJSON_GetObjectItem(a, "memory_bandwidth_gbps")->valuedouble == 1008);
		}
	}
	assert_true(seen_4090);
	/* each entry of the output parses back through the loader */
	char *one = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0));
	struct hw_spec h;
	char err[ERRLEN];
	assert_int_equal(mdb_hw_parse(one, strlen(one), "out", &h, err, sizeof err), 0);
	free(one);
	cJSON_Delete(j);
	tu_run_free(&r);

	r = tu_llmcap(env, "hardware");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "figures: spec, from each entry's source"));
	assert_non_null(strstr(r.out, "mac-studio-m2ultra-64g"));
	assert_non_null(strstr(r.out, "GiB unified"));
	assert_non_null(strstr(r.out, "1008"));
	tu_run_free(&r);
	r = tu_llmcap(env, "hardware --bogus");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_loads_and_is_complete),
		cmocka_unit_test(test_builtin_storage_speed_or_reason),
		cmocka_unit_test(test_spot_checks_against_specs),
		cmocka_unit_test(test_m5_pro_max_entries),
		cmocka_unit_test(test_parse_good_and_malformed),
		cmocka_unit_test(test_user_additions),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_cli_hardware),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
