/*
 * cli: main and the subcommands — argument parsing, exit codes, wiring.
 * Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input.
 */
#ifndef LLMCAP_CLI_H
#define LLMCAP_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "probe/probe.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

enum cli_opt_kind { CLI_FLAG, CLI_STR, CLI_INT, CLI_DOUBLE };

struct cli_opt {
	const char *name;        /* without the leading "--" */
	enum cli_opt_kind kind;
	void *dst;               /* int * for FLAG/INT, const char ** for STR, double * */
	const char *metavar;     /* "FILE", "N"; NULL for flags */
	const char *help;
};

struct cli_cmd {
	const char *name;
	const char *summary;     /* one line for `llmcap --help` */
	const char *usage;       /* the synopsis after "llmcap " */
	const char *description; /* paragraphs for `llmcap CMD --help` */
	const char *not_built;   /* non-NULL: what will build it; the command exits 2 */
	const struct cli_opt *stub_opts; /* options of a command not built yet */
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

/* All commands, NULL-terminated. */
extern const struct cli_cmd *const cli_commands[];

/* Parses argv[1..argc) against opts (NULL-name terminated). Positional
 * arguments go to pos (up to max_pos; NULL allowed when none accepted).
 * When --help/-h is seen, prints the command's help on stdout and sets
 * *help: the caller returns CLI_OK without doing anything else. Returns
 * CLI_OK, or CLI_USAGE after printing a message naming the bad option
 * and the fix. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      const struct cli_opt *opts, int *help,
	      const char **pos, int max_pos, int *n_pos);


/* A command that is not built yet: says so on stderr and returns 2. */
int cli_not_built(const struct cli_cmd *cmd, int argc, char **argv);

/* ---- the cached profile ($XDG_CACHE_HOME/llmcap/profile.json) ------- */

/* The cache file path into buf. 0, or -1 when neither XDG_CACHE_HOME nor
 * HOME is set (err says so). */
int cli_cache_path(char *buf, size_t n, char *err, size_t errlen);

/* The path of file name in the cache directory into buf; create: make
 * the directory first. 0, or -1 with err saying why. */
int cli_cache_file(const char *name, int create, char *buf, size_t n, char *err, size_t errlen);

/* Creates the cache directory and writes the profile atomically.
 * 0, or -1 with err naming the path and the fix. */
int cli_cache_save(const struct probe_profile *p, char *err, size_t errlen);

/* Loads the cached profile. 0 ok; -1 none cached; -2 corrupt (err says
 * why); -3 from another machine (fingerprint differs). */
int cli_cache_load(struct probe_profile *p, char *err, size_t errlen);

/* A progress line on stderr: "what [####....]  40% step". */
struct cli_progress {
	const char *what;
	int shown;
};
/* A probe_progress_fn; user is a struct cli_progress. */
void cli_progress(const char *step, double fraction, void *user);
/* Clears the line when one was shown. */
void cli_progress_end(struct cli_progress *s);

/* The probe with a progress line on stderr when it is a terminal. */
int cli_run_probe(struct probe_profile *p, int quick, int show_progress,
		  char *err, size_t errlen);

/* ---- a child process (cli/child.c) --------------------------------------- */
struct cli_child {
	char *out;                  /* what the child wrote to out_fd (malloc'd; NULL out of memory) */
	size_t out_len;
	int status;                 /* its waitpid status */
	int interrupted;            /* Ctrl-C, SIGTERM or SIGHUP arrived meanwhile, or killed the child */
};
/* Reads fd to EOF (malloc'd, NUL-terminated; past max bytes only the
 * tail is kept); NULL when out of memory at the start. */
char *cli_read_fd(int fd, size_t max, size_t *len);
/* Runs fn(arg, out_fd) in a child process (default signal handling; its
 * return value is the exit status) while this process holds SIGINT,
 * SIGTERM and SIGHUP, reads what the child writes to out_fd (past max_out
 * bytes only the tail), waits for it, and drops a held signal: the
 * caller cleans up and reports the interruption. 0 (c filled; free
 * c->out), or -1 when no child could be started (err says why). */
int cli_child_run(int (*fn)(void *arg, int out_fd), void *arg, size_t max_out,
		  struct cli_child *c, char *err, size_t errlen);

#endif
