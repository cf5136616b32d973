/* CLI: runs the llmcap binary ($LLMCAP_BIN or ./llmcap) and checks exit
 * codes, messages, JSON output, the profile cache and --out. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>

struct env {
	char dir[256];       /* scratch */
	char xdg[600];       /* "XDG_CACHE_HOME=<dir>/cache" */
	char cache[600];     /* <dir>/cache/llmcap/profile.json */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	if (!e || tu_tmpdir(e->dir, sizeof e->dir) != 0)
		return -1;
	snprintf(e->xdg, sizeof e->xdg, "XDG_CACHE_HOME=%s/cache", e->dir);
	snprintf(e->cache, sizeof e->cache, "%s/cache/llmcap/profile.json", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	tu_rmrf(e->dir);
	free(e);
	return 0;
}

static cJSON *path_get(cJSON *root, const char *dotted)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", dotted);
	cJSON *o = root;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = cJSON_GetObjectItemCaseSensitive(o, k);
	return o;
}

static const char *str_at(cJSON *root, const char *dotted)
{
	const char *s = cJSON_GetStringValue(path_get(root, dotted));
	return s ? s : "(missing)";
}

/* with_hw: the output of --json carries the hardware description; the
 * cache file holds the profile alone. */
static void check_profile_json(const char *text, int with_hw)
{
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	assert_string_equal(str_at(j, "schema"), "llmcap.profile/1");
	static const char *const numbers[] = {
		"cpu.cores", "cpu.threads", "memory.total_bytes", "memory.available_bytes",
		"memory.bandwidth.read_gbps", "memory.bandwidth.copy_gbps",
		"memory.bandwidth.triad_gbps", "memory.bandwidth.threads", "memory.latency_ns",
		"compute.fp32_gflops", "compute.int8_gops",
	};
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		cJSON *v = path_get(j, numbers[i]);
		if (!cJSON_IsNumber(v))
			fail_msg("%s is not a number in the profile", numbers[i]);
		assert_true(v->valuedouble > 0);
	}
	assert_true(cJSON_IsString(path_get(j, "cpu.brand")));
	cJSON *isa = path_get(j, "cpu.isa");
	assert_true(cJSON_IsArray(isa));
	cJSON *it;
	cJSON_ArrayForEach(it, isa)
		assert_true(cJSON_IsString(it));
	/* each measured block says how */
	assert_string_equal(str_at(j, "memory.bandwidth.read.source"), "measured");
	assert_true(cJSON_IsString(path_get(j, "memory.bandwidth.read.kernel")));
	assert_true(cJSON_IsNumber(path_get(j, "memory.bandwidth.read.array_bytes")));
	assert_true(cJSON_IsNumber(path_get(j, "memory.bandwidth.read.passes")));
	assert_true(cJSON_IsNumber(path_get(j, "memory.bandwidth.read.stat.median")));
	assert_true(cJSON_IsNumber(path_get(j, "memory.bandwidth.read.stat.best")));
	if (!with_hw) {
		assert_null(path_get(j, "hardware"));
		cJSON_Delete(j);
		return;
	}
	/* the hardware description it converts to */
	assert_string_equal(str_at(j, "hardware.schema"), "llmcap.hardware/1");
	assert_string_equal(str_at(j, "hardware.id"), "this");
	cJSON *bw = path_get(j, "hardware.host.memory_bandwidth_gbps");
	assert_true(cJSON_IsNumber(bw) && bw->valuedouble > 0);
	cJSON_Delete(j);
}

static void assert_profile_json(const char *text)
{
	check_profile_json(text, 1);
}

static int file_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void test_help_and_version(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "--help");
	assert_int_equal(r.status, 0);
	static const char *const cmds[] = {"probe", "fit", "plan", "buy", "compare", "verify",
		"calibrate", "models", "hardware", "quants", "inspect", "report", "tui"};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char needle[32];
		snprintf(needle, sizeof needle, "  %s ", cmds[i]);
		if (!strstr(r.out, needle))
			fail_msg("--help does not list %s", cmds[i]);
	}
	tu_run_free(&r);
	r = tu_llmcap("", "--version");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "llmcap "));
	tu_run_free(&r);
	r = tu_llmcap("", "help probe");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--quick"));
	tu_run_free(&r);
}

static void test_every_command_has_help(void **state)
{
	(void)state;
	static const char *const cmds[] = {"probe", "fit", "plan", "buy", "compare", "verify",
		"calibrate", "models", "hardware", "quants", "inspect", "report", "tui"};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char args[64];
		snprintf(args, sizeof args, "%s --help", cmds[i]);
		struct tu_run r = tu_llmcap("", args);
		if (r.status != 0 || !strstr(r.out, "Usage: llmcap "))
			fail_msg("'llmcap %s' exit %d", args, r.status);
		assert_non_null(strstr(r.out, "Exit status"));
		tu_run_free(&r);
	}
	struct tu_run r = tu_llmcap("", "plan --help");
	assert_non_null(strstr(r.out, "--gpu-layers"));
	assert_non_null(strstr(r.out, "--kv-quant"));
	assert_non_null(strstr(r.out, "--depth"));
	tu_run_free(&r);
}

/* Every command of the contract is built; with no arguments and no
 * terminal, llmcap is `llmcap fit`. */
static void test_no_args_is_fit(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "--help");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "not built"));
	tu_run_free(&r);
	r = tu_llmcap("", "");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "can run (predicted)"));
	tu_run_free(&r);
}

static void test_bad_usage_exit_2(void **state)
{
	(void)state;
	static const struct {
		const char *args, *needle;
	} cases[] = {
		{"frobnicate", "unknown command 'frobnicate'"},
		{"probe --bogus", "unknown option '--bogus'"},
		{"probe -q", "unknown option '-q'"},
		{"probe extra", "unexpected argument 'extra'"},
		{"probe --out", "needs a FILE"},
		{"probe --json=yes", "takes no value"},
		{"probe --out=", "non-empty"},
		{"fit --bogus", "unknown option '--bogus'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tu_run r = tu_llmcap("", cases[i].args);
		if (r.status != 2 || !strstr(r.err, cases[i].needle))
			fail_msg("'llmcap %s': exit %d, stderr: %s", cases[i].args, r.status, r.err);
		assert_string_equal(r.out, "");
		tu_run_free(&r);
	}
}

static void test_out_path_errors(void **state)
{
	struct env *e = *state;
	char args[800];
	snprintf(args, sizeof args, "probe --quick --out %s/no/such/dir/p.json", e->dir);
	struct tu_run r = tu_llmcap(e->xdg, args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "does not exist"));
	tu_run_free(&r);
	snprintf(args, sizeof args, "probe --quick --out %s", e->dir);
	r = tu_llmcap(e->xdg, args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "is a directory"));
	tu_run_free(&r);
	assert_false(file_exists(e->cache));   /* refused before probing */
}

/* One real quick probe: JSON, cache, --out; then the cache paths. */
static void test_probe_json_cache_and_out(void **state)
{
	struct env *e = *state;
	char args[800], outdir[600], out[700];
	snprintf(outdir, sizeof outdir, "%s/outdir", e->dir);
	assert_int_equal(mkdir(outdir, 0755), 0);
	snprintf(out, sizeof out, "%s/p.json", outdir);
	snprintf(args, sizeof args, "probe --quick --json --out %s", out);
	struct tu_run r = tu_llmcap(e->xdg, args);
	if (r.status != 0)
		fail_msg("probe exit %d: %s", r.status, r.err);
	assert_profile_json(r.out);
	assert_null(strstr(r.err, "probing ["));  /* no progress line off a terminal */
	/* --out: same JSON, no temporary file left beside it */
	char *written = tu_slurp(out);
	assert_profile_json(written);
	free(written);
	assert_int_equal(tu_count_entries(outdir), 1);
	/* the cache */
	assert_true(file_exists(e->cache));
	char *cached = tu_slurp(e->cache);
	cJSON *j = cJSON_Parse(cached);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "quick")));
	cJSON_Delete(j);
	free(cached);
	tu_run_free(&r);

	/* --cached reads it back without probing: same fingerprint, quiet */
	r = tu_llmcap(e->xdg, "probe --cached --json");
	assert_int_equal(r.status, 0);
	assert_profile_json(r.out);
	assert_string_equal(r.err, "");
	tu_run_free(&r);

	/* human text: labelled figures */
	r = tu_llmcap(e->xdg, "probe --cached");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "measured"));
	assert_non_null(strstr(r.out, "GB/s"));
	tu_run_free(&r);
}

static void test_corrupt_cache_is_replaced(void **state)
{
	struct env *e = *state;
	char dir[600];
	snprintf(dir, sizeof dir, "%s/cache", e->dir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/cache/llmcap", e->dir);
	mkdir(dir, 0755);
	tu_write_file(e->cache, "{\"schema\": \"llmcap.profile/1\", \"cpu\": [1, 2,");
	struct tu_run r = tu_llmcap(e->xdg, "probe --cached --quick --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "corrupt"));
	assert_profile_json(r.out);
	tu_run_free(&r);
	char *fixed = tu_slurp(e->cache);
	check_profile_json(fixed, 0);   /* replaced by a good profile */
	free(fixed);
}

static void test_cache_from_other_machine(void **state)
{
	struct env *e = *state;
	struct tu_run r = tu_llmcap(e->xdg, "probe --cached --quick --json");
	assert_int_equal(r.status, 0);
	tu_run_free(&r);
	char *text = tu_slurp(e->cache);
	cJSON *j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	cJSON_ReplaceItemInObject(j, "fingerprint", cJSON_CreateString("00000000deadbeef"));
	char *other = cJSON_Print(j);
	cJSON_Delete(j);
	tu_write_file(e->cache, other);
	free(other);
	r = tu_llmcap(e->xdg, "probe --cached --quick --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "another machine"));
	assert_profile_json(r.out);
	tu_run_free(&r);
}

static void test_unwritable_cache_dir(void **state)
{
	struct env *e = *state;
	char plain[600], env[700];
	/* XDG_CACHE_HOME is a regular file: the cache cannot be created */
	snprintf(plain, sizeof plain, "%s/a-file", e->dir);
	tu_write_file(plain, "not a directory\n");
	snprintf(env, sizeof env, "XDG_CACHE_HOME=%s", plain);
	struct tu_run r = tu_llmcap(env, "probe --quick --json");
	assert_int_equal(r.status, 0);            /* the profile is still printed */
	assert_profile_json(r.out);
	assert_non_null(strstr(r.err, "not cached"));
	assert_non_null(strstr(r.err, "XDG_CACHE_HOME"));
	tu_run_free(&r);
	char *still = tu_slurp(plain);
	assert_string_equal(still, "not a directory\n");   /* untouched */
	free(still);
}

/* hwloc that can read nothing of the machine (its Linux and x86 backends
 * turned off through its own environment variable): the probe still
 * measures, says what it assumed, and leaves unknowns unknown. */
static void test_hwloc_reads_nothing(void **state)
{
	struct env *e = *state;
	char env[700];
	snprintf(env, sizeof env, "%s HWLOC_COMPONENTS=-linux,-x86", e->xdg);
	struct tu_run r = tu_llmcap(env, "probe --quick --json");
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	cJSON *caches = path_get(j, "topology.caches");
	assert_true(cJSON_IsArray(caches));
	assert_int_equal(cJSON_GetArraySize(caches), 0);
	cJSON *bw = path_get(j, "memory.bandwidth.read_gbps");
	assert_true(cJSON_IsNumber(bw) && bw->valuedouble > 0);
	int said = 0;
	cJSON *w;
	cJSON_ArrayForEach(w, path_get(j, "warnings"))
		said |= cJSON_IsString(w) && strstr(w->valuestring, "cache size unknown") != NULL;
	assert_true(said);
	cJSON_Delete(j);
	tu_run_free(&r);
}

static void test_storage_bad_input(void **state)
{
	struct env *e = *state;
	char file[600], args[1400];
	snprintf(file, sizeof file, "%s/small-file", e->dir);
	tu_write_file(file, "tiny\n");
	static const struct {
		const char *fmt, *needle;
	} cases[] = {
		{"probe --storage --path %s/does-not-exist", "does not exist"},
		{"probe --storage --path %s/small-file", "--file"},
		{"probe --storage --file %s/does-not-exist", "does-not-exist"},
		{"probe --storage --file %s", "not a regular file"},
		{"probe --storage --file %s/small-file", "small-file"},
		{"probe --storage --path %s --file x", "exclusive"},
		{"probe --quick --storage --path %s", "--quick does not measure storage"},
		{"probe --cached --path %s", "--cached"},
		{"probe --storage --path /proc", "/proc"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(args, sizeof args, cases[i].fmt, e->dir);
		struct tu_run r = tu_llmcap(e->xdg, args);
		if (r.status != 2 || !strstr(r.err, cases[i].needle))
			fail_msg("'llmcap %s': exit %d, stderr: %s", args, r.status, r.err);
		assert_string_equal(r.out, "");
		tu_run_free(&r);
	}
	/* nothing was written beside the test's own files, and no cache */
	assert_int_equal(tu_count_entries(e->dir), 1);
	char *still = tu_slurp(file);
	assert_string_equal(still, "tiny\n");
	free(still);
}

/* SIGINT and SIGTERM in the middle of the storage probe leave no
 * temporary file behind. */
static void test_storage_interrupted(void **state)
{
	struct env *e = *state;
	static const int sigs[] = {SIGINT, SIGTERM};
	for (size_t i = 0; i < 2; i++) {
		char dir[600];
		snprintf(dir, sizeof dir, "%s/sig%d", e->dir, sigs[i]);
		assert_int_equal(mkdir(dir, 0755), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char xdg[700];
			snprintf(xdg, sizeof xdg, "%s/cache", e->dir);
			setenv("XDG_CACHE_HOME", xdg, 1);
			/* a shell that started this test in the background left
			 * SIGINT ignored, and exec keeps that: undo it */
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
			execl(tu_bin(), tu_bin(), "probe", "--storage", "--path", dir, (char *)NULL);
			_exit(127);
		}
		/* wait until the temporary file exists, then interrupt */
		int seen = 0;
		for (int k = 0; k < 400 && !seen; k++) {
			usleep(10000);
			seen = tu_count_entries(dir) > 0;
		}
		usleep(300000);
		kill(pid, sigs[i]);
		int st = 0;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(seen);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), sigs[i]);
		if (tu_count_entries(dir) != 0)
			fail_msg("a file was left in %s after signal %d", dir, sigs[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_every_command_has_help),
		cmocka_unit_test(test_no_args_is_fit),
		cmocka_unit_test(test_bad_usage_exit_2),
		cmocka_unit_test_setup_teardown(test_out_path_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_json_cache_and_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_cache_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_from_other_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_cache_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hwloc_reads_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage_interrupted, setup, teardown),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
