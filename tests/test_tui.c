/*
 * The dashboard driven in tmux (send-keys, capture-pane) through every
 * view, at 80x24 and at 200x50; skipped with a message when tmux is not
 * installed. Each test runs its own tmux server on a private socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/test_util.h"

struct tm_session {
	char sock[64];
	char dir[256];
};

static int have_tmux(void)
{
	return system("command -v tmux >/dev/null 2>&1") == 0;
}

static void tmx(const struct tm_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tmx(const struct tm_session *s, const char *fmt, ...)
{
	char args[2048], cmd[2400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "tmux -L %s %s >/dev/null 2>&1", s->sock, args);
	if (system(cmd) != 0 && strncmp(args, "kill-server", 11) != 0)
		fail_msg("tmux failed: %s", cmd);
}

/* The pane's text; with escapes (colours) when esc. Caller frees. */
static char *capture(const struct tm_session *s, int esc)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p %s -t main", s->sock, esc ? "-e" : "");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t got;
	while ((got = fread(b + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 >= cap)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	pclose(p);
	return b;
}

/* Waits (up to 10 s) until the pane shows text. */
static char *wait_for(const struct tm_session *s, const char *text)
{
	for (int i = 0; i < 100; i++) {
		char *c = capture(s, 0);
		if (strstr(c, text))
			return c;
		free(c);
		usleep(100 * 1000);
	}
	char *c = capture(s, 0);
	fail_msg("screen never showed '%s'; it shows:\n%s", text, c);
	return c;
}

static void expect(const struct tm_session *s, const char *text)
{
	free(wait_for(s, text));
}

static void start(struct tm_session *s, int w, int h, const char *env, const char *args)
{
	static int n; /* one server per session, so a failed test's leftovers never collide */
	snprintf(s->sock, sizeof s->sock, "llmcap-test-%d-%d", (int)getpid(), n++);
	assert_int_equal(tu_tmpdir(s->dir, sizeof s->dir), 0);
	char cwd[1024];
	assert_non_null(getcwd(cwd, sizeof cwd));
	tmx(s, "kill-server"); /* a server left by a failed test */
	const char *bin = tu_bin();
	tmx(s, "new-session -d -s main -x %d -y %d \"cd '%s' && env XDG_CACHE_HOME='%s' XDG_CONFIG_HOME='%s' "
	       "%s %s tui %s; echo EXITED \\$?; sleep 30\"",
	    w, h, cwd, s->dir, s->dir, env, bin, args);
	expect(s, "llmcap");
}

static void stop(struct tm_session *s)
{
	tmx(s, "kill-server");
	tu_rmrf(s->dir);
}

/* 1 when the line under the cursor ('>' in the first column) names id. */
static int cursor_on(const char *screen, const char *id)
{
	for (const char *l = screen; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (*l != '>')
			continue;
		const char *f = strstr(l, id);
		return f && (size_t)(f - l) < n;
	}
	return 0;
}

static void keys(const struct tm_session *s, const char *k)
{
	tmx(s, "send-keys -t main %s", k);
}

/* Every view at 80x24. */
static void test_views_80x24(void **state)
{
	(void)state;
	if (!have_tmux()) {
		print_message("[  SKIP    ] tmux not installed (apt-get install tmux)\n");
		skip();
	}
	struct tm_session s;
	start(&s, 80, 24, "", "--hw rtx4090-7950x-64g --min-tps 20");
	char *c = wait_for(&s, "placement");
	assert_non_null(strstr(c, "RTX 4090"));
	assert_non_null(strstr(c, "[spec]"));
	assert_non_null(strstr(c, "decode"));
	assert_non_null(strstr(c, "?:help"));
	free(c);

	keys(&s, "?");
	expect(&s, "llmcap dashboard keys");
	keys(&s, "Space");
	c = wait_for(&s, "placement");
	assert_null(strstr(c, "dashboard keys"));
	free(c);

	/* filter, then the detail of the one row left */
	keys(&s, "/ l l a m a - 3 . 1 - 8 b Enter");
	c = wait_for(&s, "filter: llama-3.1-8b");
	assert_true(cursor_on(c, "llama-3.1-8b"));
	assert_null(strstr(c, "qwen"));
	free(c);
	keys(&s, "Enter");
	c = wait_for(&s, "Llama 3.1 8B");
	assert_non_null(strstr(c, "bottleneck"));
	assert_non_null(strstr(c, "weights"));
	free(c);
	/* quantization and context keys change the figures at once */
	keys(&s, "]"); /* one step smaller than the best, Q8_0 */
	expect(&s, "Q6_K");
	keys(&s, "+");
	expect(&s, "ctx 8192");
	keys(&s, "b");
	expect(&s, "batch 2");
	keys(&s, "Escape");
	expect(&s, "placement");

	/* machines: pick the Raspberry Pi */
	keys(&s, "m");
	expect(&s, "Machines:");
	keys(&s, "End");
	for (int i = 0; i < 60; i++)
		keys(&s, "k");
	c = wait_for(&s, "Machines:");
	free(c);
	/* move to the entry by name: down until it is selected */
	for (int i = 0; i < 60; i++) {
		c = capture(&s, 0);
		int at = cursor_on(c, "raspberry-pi-5-8g");
		free(c);
		if (at)
			break;
		keys(&s, "j");
		usleep(30 * 1000);
	}
	keys(&s, "c");
	c = wait_for(&s, "+raspberry-pi-5-8g");
	free(c);
	keys(&s, "Enter");
	expect(&s, "Raspberry Pi");

	/* compare (Pi vs the marked Pi is itself; mark the 4090 instead) */
	keys(&s, "m");
	expect(&s, "Machines:");
	for (int i = 0; i < 60; i++) {
		c = capture(&s, 0);
		int at = cursor_on(c, "rtx4090-7950x-64g");
		free(c);
		if (at)
			break;
		keys(&s, "k");
		usleep(30 * 1000);
	}
	keys(&s, "c");
	keys(&s, "x");
	c = wait_for(&s, "on two machines");
	assert_non_null(strstr(c, "raspberry-pi-5-8g"));
	assert_non_null(strstr(c, "rtx4090-7950x-64g"));
	free(c);
	keys(&s, "Escape");

	/* what to buy */
	keys(&s, "y");
	c = wait_for(&s, "What to buy for llama-3.1-8b");
	assert_non_null(strstr(c, "t/s/$1k"));
	free(c);
	keys(&s, "Escape");

	/* verify says plainly what it cannot do yet */
	keys(&s, "v");
	expect(&s, "Enter runs it");
	keys(&s, "Escape");

	keys(&s, "q");
	expect(&s, "EXITED 0");
	stop(&s);
}

/* A large terminal shows the table and the detail side by side, with
 * the chart; a resize relays it out; Ctrl-C restores the terminal. */
static void test_large_resize_ctrl_c(void **state)
{
	(void)state;
	if (!have_tmux()) {
		print_message("[  SKIP    ] tmux not installed (apt-get install tmux)\n");
		skip();
	}
	struct tm_session s;
	start(&s, 200, 50, "", "--hw mbp16-m4max-48g");
	char *c = wait_for(&s, "assumptions:");
	assert_non_null(strstr(c, "decode tokens/s against context"));
	assert_non_null(strstr(c, "unified"));
	free(c);
	tmx(&s, "resize-window -t main -x 90 -y 30");
	for (int i = 0; i < 50; i++) {
		c = capture(&s, 0);
		int gone = strstr(c, "assumptions:") == NULL;
		free(c);
		if (gone)
			break;
		usleep(100 * 1000);
	}
	c = wait_for(&s, "placement");
	assert_null(strstr(c, "assumptions:"));
	free(c);
	keys(&s, "C-c");
	expect(&s, "EXITED 0");
	stop(&s);
}

/* 1 when the captured text sets a foreground colour (ESC [ 3x, not the
 * ESC [ 39 m reset tmux writes anyway). */
static int has_fg_color(const char *c)
{
	for (const char *p = c; (p = strstr(p, "\033[3")) != NULL; p += 3)
		if (p[3] >= '0' && p[3] <= '8')
			return 1;
	return 0;
}

/* Colours by default; none with NO_COLOR. */
static void test_no_color(void **state)
{
	(void)state;
	if (!have_tmux()) {
		print_message("[  SKIP    ] tmux not installed (apt-get install tmux)\n");
		skip();
	}
	struct tm_session s;
	start(&s, 100, 30, "TERM=xterm-256color", "--hw rtx4090-7950x-64g");
	free(wait_for(&s, "placement"));
	char *c = capture(&s, 1);
	assert_true(has_fg_color(c));
	free(c);
	keys(&s, "q");
	expect(&s, "EXITED 0");
	stop(&s);
	start(&s, 100, 30, "TERM=xterm-256color NO_COLOR=1", "--hw rtx4090-7950x-64g");
	free(wait_for(&s, "placement"));
	c = capture(&s, 1);
	assert_false(has_fg_color(c));
	free(c);
	keys(&s, "q");
	expect(&s, "EXITED 0");
	stop(&s);
}

/* Verify from the dashboard: llmcap verify runs in a child process and
 * the view shows predicted beside measured. */
static void test_verify_from_dashboard(void **state)
{
	(void)state;
	if (!have_tmux()) {
		print_message("[  SKIP    ] tmux not installed (apt-get install tmux)\n");
		skip();
	}
	struct tm_session s;
	start(&s, 100, 30, "", "--hw rtx4090-7950x-64g");
	free(wait_for(&s, "placement"));
	keys(&s, "/ s m o l l m 2 - 1 3 5 m Enter v");
	expect(&s, "Verify smollm2-135m");
	keys(&s, "Enter");
	char *c = NULL;
	for (int i = 0; i < 120; i++) { /* up to a minute: a quick probe first, then the runs */
		c = capture(&s, 0);
		if (strstr(c, "measured ") && strstr(c, "error"))
			break;
		free(c);
		c = NULL;
		usleep(500 * 1000);
	}
	if (!c) {
		c = capture(&s, 0);
		fail_msg("verify never finished; the screen shows:\n%s", c);
	}
	assert_non_null(strstr(c, "predicted"));
	assert_non_null(strstr(c, "decode range"));
	free(c);
	keys(&s, "Escape q");
	expect(&s, "EXITED 0");
	stop(&s);
}

/* Not a terminal: a clear message and exit 1; bad options exit 2. */
static void test_not_a_terminal(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "tui --hw rtx4090-7950x-64g");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "needs a terminal"));
	tu_run_free(&r);
	r = tu_llmcap("", "tui --hw no-such-machine");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views_80x24),
		cmocka_unit_test(test_large_resize_ctrl_c),
		cmocka_unit_test(test_no_color),
		cmocka_unit_test(test_verify_from_dashboard),
		cmocka_unit_test(test_not_a_terminal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
