/*
 * Tests of `llmcap report`: the SVG charts are well-formed XML (parsed by
 * python3's xml.dom.minidom) with labelled axes and units, Markdown has
 * GitHub tables and no HTML, JSON parses and carries llmcap.report/1 with
 * the plan/fit/buy objects, HTML is self-contained, --out is atomic, bad
 * usage exits 2, and headless Chromium renders the HTML with its charts
 * drawn (skipped with a message when chromium is not installed).
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

#include "model_db/model_db.h"
#include "reports/report.h"
#include "simulator/sim.h"
#include "tests/test_util.h"

#define HW_GPU "rtx4090-7950x-64g"
#define ENV "XDG_CONFIG_HOME=/nonexistent-llmcap-test XDG_CACHE_HOME=/nonexistent-llmcap-test"

static struct tu_run run(const char *args)
{
	return tu_llmcap(ENV, args);
}

static int have_python(void)
{
	return system("python3 -c 'import xml.dom.minidom' >/dev/null 2>&1") == 0;
}

/* 0 when text parses as XML whose root element is root. */
static int xml_ok(const char *text, const char *root)
{
	char dir[256], path[400], cmd[1200];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/doc.xml", dir);
	tu_write_file(path, text);
	snprintf(cmd, sizeof cmd,
		 "python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
		 "sys.exit(0 if d.documentElement.tagName == sys.argv[2] else 3)' '%s' '%s'", path, root);
	int st = system(cmd);
	tu_rmrf(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- charts from predictions made here ------------------------------- */

struct fixture {
	struct mdb_models models;
	struct mdb_hw_catalog hw;
	struct sim_weights w[3];
	struct sim_pred p[3];
	struct sim_workload wl;
	struct rep_plan top[3];
	struct rep_fit_row rows[3];
	struct rep_fit fit;
	struct rep_ceiling ceil[4];
	struct rep_roof_pt pts[6];
	struct rep_report r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512];
	assert_non_null(f);
	assert_int_equal(mdb_models_load_builtin(&f->models, err, sizeof err), 0);
	assert_int_equal(mdb_hw_catalog_load_builtin(&f->hw, err, sizeof err), 0);
	const struct hw_spec *h = mdb_hw_catalog_find(&f->hw, HW_GPU);
	assert_non_null(h);
	struct sim_eff e;
	assert_int_equal(sim_eff_default(NULL, &e, err, sizeof err), 0);
	sim_workload_default(&f->wl);
	f->wl.ctx = 16384;
	static const char *const ids[3] = {"llama-3.1-8b", "qwen3-30b-a3b", "gemma-3-4b"};
	for (int i = 0; i < 3; i++) {
		const struct mdb_model *m = mdb_models_find(&f->models, ids[i]);
		assert_non_null(m);
		assert_int_equal(sim_weights_from_mix(m, mdb_qmix_by_name("Q4_K_M"), &f->w[i], err, sizeof err), 0);
		assert_int_equal(sim_predict(h, m, &f->w[i], &f->wl, &e, &f->p[i], err, sizeof err), 0);
		assert_true(f->p[i].fits && f->p[i].n_curve >= 5);
		f->top[i] = (struct rep_plan){h, m, &f->w[i], &f->wl, &f->p[i]};
		f->rows[i] = (struct rep_fit_row){m, &f->w[i], &f->p[i], 1e9, 1, 1};
		f->pts[2 * i] = (struct rep_roof_pt){i, 0, 2 + i, 500 + 100 * i};
		f->pts[2 * i + 1] = (struct rep_roof_pt){i, 1, 300 + 100 * i, 40000};
	}
	f->ceil[0] = (struct rep_ceiling){"gpu memory (spec)", 0, 1008, 1, 0};
	f->ceil[1] = (struct rep_ceiling){"gpu FP16 <&> (spec)", 1, 165000, 1, 0};
	f->ceil[2] = (struct rep_ceiling){"host memory (spec)", 0, 83, 0, 0};
	f->ceil[3] = (struct rep_ceiling){"gpu achieved", 0, 850, 1, 1};
	f->fit = (struct rep_fit){h, &f->wl, 5, 0, 3, f->rows, 0};
	f->r = (struct rep_report){.hw = h, .fit = &f->fit, .n_top = 3, .top = f->top, .n_ceil = 4,
				   .ceil = f->ceil, .n_pts = 6, .pts = f->pts, .roof_note = "note"};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	mdb_models_free(&f->models);
	mdb_hw_catalog_free(&f->hw);
	free(f);
	return 0;
}

/* The text of every <text class="... axis-label"> element, joined. */
static void axis_labels(const char *svg, char *out, size_t n)
{
	out[0] = 0;
	for (const char *s = svg; (s = strstr(s, "axis-label\"")); s++) {
		const char *a = strchr(s, '>'), *b = a ? strstr(a, "</text>") : NULL;
		if (!a || !b)
			break;
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%.*s|", (int)(b - a - 1), a + 1);
	}
}

static void test_svg_charts_wellformed_and_labelled(void **state)
{
	struct fixture *f = *state;
	if (!have_python())
		skip();
	char *d = rep_svg_decode(&f->r), *rf = rep_svg_roofline(&f->r);
	assert_non_null(d);
	assert_non_null(rf);
	assert_int_equal(xml_ok(d, "svg"), 0);
	assert_int_equal(xml_ok(rf, "svg"), 0);
	char labels[1024];
	/* decode: x context in tokens, y tokens/s */
	axis_labels(d, labels, sizeof labels);
	assert_non_null(strstr(labels, "context (tokens"));
	assert_non_null(strstr(labels, "(tokens/s"));
	/* roofline: x FLOP/byte, y FLOP/s, both log */
	axis_labels(rf, labels, sizeof labels);
	assert_non_null(strstr(labels, "(FLOP/byte, log scale)"));
	assert_non_null(strstr(labels, "(FLOP/s, log scale)"));
	/* legends name the models; tick labels exist; no script, no links */
	for (int i = 0; i < 3; i++) {
		assert_non_null(strstr(d, f->top[i].model->id));
		assert_non_null(strstr(rf, f->top[i].model->id));
		assert_non_null(strstr(d, rep_series_color(i)));
	}
	assert_non_null(strstr(d, ">16K<"));
	assert_non_null(strstr(rf, ">1000<"));
	assert_non_null(strstr(rf, "&lt;&amp;&gt;"));   /* the ceiling label escaped */
	for (const char *s = d; s; s = s == d ? rf : NULL) {
		assert_null(strstr(s, "<script"));
		assert_null(strstr(s, "href"));
		assert_non_null(strstr(s, "<title>"));
	}
	free(d);
	free(rf);
	/* nothing fits: still well-formed, and says so */
	struct rep_report empty = f->r;
	empty.n_top = 0;
	empty.n_pts = 0;
	d = rep_svg_decode(&empty);
	rf = rep_svg_roofline(&empty);
	assert_int_equal(xml_ok(d, "svg"), 0);
	assert_int_equal(xml_ok(rf, "svg"), 0);
	assert_non_null(strstr(d, "no model fits"));
	free(d);
	free(rf);
}

static void test_html_self_contained(void **state)
{
	struct fixture *f = *state;
	char *h = rep_report_html(&f->r);
	assert_non_null(h);
	assert_true(strncmp(h, "<!DOCTYPE html>", 15) == 0);
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<link"));
	assert_null(strstr(h, "src="));
	assert_null(strstr(h, "@import"));
	assert_null(strstr(h, "href="));
	/* url() only to the clip path inside the page (links in the spec
	 * source text are text, never fetched) */
	for (const char *s = h; (s = strstr(s, "url(")); s++)
		assert_true(strncmp(s, "url(#", 5) == 0);
	assert_non_null(strstr(h, "prefers-color-scheme:dark"));
	assert_non_null(strstr(h, "@media print"));
	assert_non_null(strstr(h, "No verification results"));
	/* two charts, each well-formed on its own */
	int n = 0;
	for (const char *s = h; (s = strstr(s, "<svg ")); n++) {
		const char *e = strstr(s, "</svg>");
		assert_non_null(e);
		if (have_python()) {
			char *one = strndup(s, (size_t)(e + 6 - s));
			assert_int_equal(xml_ok(one, "svg"), 0);
			free(one);
		}
		s = e;
	}
	assert_int_equal(n, 2);
	free(h);
}

/* ---- the command ---------------------------------------------------------- */

static void test_md_has_tables_no_html(void **state)
{
	(void)state;
	struct tu_run r = run("report --hw " HW_GPU " --model llama-3.1-70b");
	assert_int_equal(r.status, 0);
	const char *need[] = {"# llmcap report:", "## The machine", "## Models that fit",
			      "## Decode speed against context", "## Roofline", "## What to buy for",
			      "## Verification", "| --- |", "| ---: |", "| figure | value | source | how |",
			      "not stored for reports yet"};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!strstr(r.out, need[i]))
			fail_msg("markdown lacks '%s'", need[i]);
	assert_null(strstr(r.out, "<svg"));
	assert_null(strstr(r.out, "<table"));
	assert_null(strstr(r.out, "<br"));
	/* every table line has as many cells as its header */
	int bad = 0, cols = -1;
	for (const char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (*l != '|') {
			cols = -1;
			continue;
		}
		int c = 0;
		for (const char *s = l; *s && *s != '\n'; s++)
			c += *s == '|' && (s == l || s[-1] != '\\');
		if (cols < 0)
			cols = c;
		else if (c != cols)
			bad++;
	}
	assert_int_equal(bad, 0);
	tu_run_free(&r);
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!x)
		fail_msg("JSON lacks \"%s\"", k);
	return x;
}

static void test_json_schema(void **state)
{
	(void)state;
	struct tu_run r = run("report --format json --hw " HW_GPU " --model llama-3.1-8b --model "
			      "qwen3-8b,gemma-3-4b --top 3");
	assert_int_equal(r.status, 0);
	cJSON *o = cJSON_Parse(r.out);
	if (!o)
		fail_msg("not JSON: %.300s / %.300s", r.out, r.err);
	assert_string_equal(get(o, "schema")->valuestring, "llmcap.report/1");
	assert_string_equal(get(get(o, "hardware"), "schema")->valuestring, "llmcap.hardware/1");
	assert_string_equal(get(get(o, "fit"), "schema")->valuestring, "llmcap.fit/1");
	assert_true(cJSON_GetArraySize(get(get(o, "fit"), "results")) > 10);
	const cJSON *top = get(o, "top_models");
	assert_int_equal(cJSON_GetArraySize(top), 3);
	assert_string_equal(get(cJSON_GetArrayItem(top, 0), "schema")->valuestring, "llmcap.plan/1");
	assert_true(cJSON_GetArraySize(get(cJSON_GetArrayItem(top, 0), "decode_curve")) >= 5);
	const cJSON *buy = get(o, "buy");
	assert_int_equal(cJSON_GetArraySize(buy), 3);
	assert_string_equal(get(cJSON_GetArrayItem(buy, 1), "model")->valuestring, "qwen3-8b");
	assert_string_equal(get(cJSON_GetArrayItem(buy, 0), "schema")->valuestring, "llmcap.buy/1");
	const cJSON *roof = get(o, "roofline");
	assert_true(cJSON_GetArraySize(get(roof, "ceilings")) >= 4);
	const cJSON *pts = get(roof, "points");
	assert_int_equal(cJSON_GetArraySize(pts), 6);
	const cJSON *p0 = cJSON_GetArrayItem(pts, 0);
	assert_true(get(p0, "flop_per_byte")->valuedouble > 0 && get(p0, "gflops")->valuedouble > 0);
	assert_string_equal(get(get(o, "verification"), "status")->valuestring, "not included");
	assert_int_equal(cJSON_GetArraySize(get(get(o, "verification"), "results")), 0);
	const cJSON *figs = get(o, "machine_figures");
	assert_true(cJSON_GetArraySize(figs) >= 5);
	assert_string_equal(get(cJSON_GetArrayItem(figs, 0), "source")->valuestring, "spec");
	cJSON_Delete(o);
	tu_run_free(&r);
}

static void test_out_atomic_and_errors(void **state)
{
	(void)state;
	char dir[256], args[800], path[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/report.html", dir);
	snprintf(args, sizeof args, "report --format html --hw %s --out '%s'", HW_GPU, path);
	struct tu_run r = run(args);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	assert_int_equal(tu_count_entries(dir), 1);       /* no temporary file left */
	char *text = tu_slurp(path);
	assert_non_null(strstr(text, "</html>"));
	free(text);
	tu_run_free(&r);
	/* again over the existing file: replaced, still one file */
	r = run(args);
	assert_int_equal(r.status, 0);
	assert_int_equal(tu_count_entries(dir), 1);
	tu_run_free(&r);
	/* a directory that does not exist: exit 1, the path named */
	r = run("report --hw " HW_GPU " --out /nonexistent-llmcap-dir/r.md");
	assert_true(r.status == 1 || r.status == 2);
	assert_non_null(strstr(r.err, "/nonexistent-llmcap-dir/r.md"));
	tu_run_free(&r);
	/* the path is a directory */
	snprintf(args, sizeof args, "report --hw %s --out '%s'", HW_GPU, dir);
	r = run(args);
	assert_true(r.status == 1 || r.status == 2);
	assert_true(strlen(r.err) > 0);
	tu_run_free(&r);
	assert_int_equal(tu_count_entries(dir), 1);
	tu_rmrf(dir);
}

static void test_bad_usage(void **state)
{
	(void)state;
	static const struct {
		const char *args, *needle;
	} cases[] = {
		{"report --format pdf --hw " HW_GPU, "--format"},
		{"report --format", "--format"},
		{"report --top 0 --hw " HW_GPU, "--top"},
		{"report --hw no-such-machine", "no-such-machine"},
		{"report --hw " HW_GPU " --model no-such-model", "no-such-model"},
		{"report --bogus", "--bogus"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tu_run r = run(cases[i].args);
		if (r.status != 2 || !strstr(r.err, cases[i].needle))
			fail_msg("'llmcap %s': exit %d, stderr %s", cases[i].args, r.status, r.err);
		assert_string_equal(r.out, "");
		tu_run_free(&r);
	}
	struct tu_run r = run("report --help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--format md|html|json"));
	tu_run_free(&r);
}

/* ---- headless Chromium ------------------------------------------------------ */

static const char *find_chromium(void)
{
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", names[i]);
		if (system(cmd) == 0)
			return names[i];
	}
	return NULL;
}

/* Screenshot of html at w x h into png; 0 on success. */
static int screenshot(const char *chromium, const char *html, const char *png, int w, int h)
{
	char cmd[2000];
	snprintf(cmd, sizeof cmd,
		 "%s --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
		 "--disable-extensions --screenshot='%s' --window-size=%d,%d 'file://%s' "
		 ">/dev/null 2>&1", chromium, png, w, h, html);
	return system(cmd);
}

static void test_chromium_screenshot(void **state)
{
	(void)state;
	const char *chromium = find_chromium();
	if (!chromium || !have_python()) {
		print_message("chromium (Debian package 'chromium') or python3 not found: "
			      "the screenshot test is skipped\n");
		skip();
	}
	char dir[256], html[400], png[400], png2[400], args[800], cmd[1400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	if (dir[0] != '/')
		fail_msg("temporary directory %s is not absolute", dir);
	snprintf(html, sizeof html, "%s/report.html", dir);
	snprintf(png, sizeof png, "%s/report.png", dir);
	snprintf(png2, sizeof png2, "%s/full.png", dir);
	snprintf(args, sizeof args, "report --format html --hw %s --top 3 --out '%s'", HW_GPU, html);
	struct tu_run r = run(args);
	assert_int_equal(r.status, 0);
	tu_run_free(&r);
	assert_int_equal(screenshot(chromium, html, png, 1200, 2000), 0);
	struct stat st;
	assert_int_equal(stat(png, &st), 0);
	assert_true(st.st_size > 10000);
	/* size, not blank, the decode chart's three series drawn */
	char colors[64];
	snprintf(colors, sizeof colors, "%s,%s,%s", rep_series_color(0), rep_series_color(1),
		 rep_series_color(2));
	snprintf(cmd, sizeof cmd, "python3 tests/report_png.py check '%s' 1200 2000 '%s'", png, colors);
	assert_int_equal(system(cmd), 0);
	/* the whole page: the roofline further down, its ceilings drawn in
	 * their own colour (--ceil, light mode) */
	assert_int_equal(screenshot(chromium, html, png2, 1200, 4000), 0);
	snprintf(cmd, sizeof cmd, "python3 tests/report_png.py check '%s' 1200 4000 '%s,#0f7c8c'", png2,
		 colors);
	assert_int_equal(system(cmd), 0);
	if (getenv("LLMCAP_KEEP_SCREENSHOT"))
		fprintf(stderr, "screenshots kept in %s\n", dir);
	else
		tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_svg_charts_wellformed_and_labelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_self_contained, setup, teardown),
		cmocka_unit_test(test_md_has_tables_no_html),
		cmocka_unit_test(test_json_schema),
		cmocka_unit_test(test_out_atomic_and_errors),
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_chromium_screenshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
