/* cli: option parsing and help text, driven by each command's table. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static int bad(const struct cli_cmd *cmd, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "llmcap %s: ", cmd->name);
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nRun 'llmcap %s --help' for the options.\n", cmd->name);
	return CLI_USAGE;
}

static int set_value(const struct cli_cmd *cmd, const struct cli_opt *o, const char *v)
{
	char *end = NULL;
	errno = 0;
	switch (o->kind) {
	case CLI_STR:
		if (!*v)
			return bad(cmd, "option --%s needs a non-empty %s", o->name,
				   o->metavar ? o->metavar : "value");
		if (o->dst)
			*(const char **)o->dst = v;
		return CLI_OK;
	case CLI_INT: {
		long x = strtol(v, &end, 10);
		if (errno || end == v || *end || x < INT_MIN || x > INT_MAX)
			return bad(cmd, "option --%s needs a whole number, not '%s'", o->name, v);
		if (o->dst)
			*(int *)o->dst = (int)x;
		return CLI_OK;
	}
	case CLI_DOUBLE: {
		double x = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(x))
			return bad(cmd, "option --%s needs a number, not '%s'", o->name, v);
		if (o->dst)
			*(double *)o->dst = x;
		return CLI_OK;
	}
	case CLI_FLAG:
		break;
	}
	return CLI_USAGE;
}

/* `llmcap CMD --help` text from the command and its options. */
static void cli_print_help(const struct cli_cmd *cmd, const struct cli_opt *opts, FILE *out)
{
	fprintf(out, "Usage: llmcap %s\n\n%s\n", cmd->usage, cmd->summary);
	if (cmd->description && *cmd->description)
		fprintf(out, "\n%s\n", cmd->description);
	if (cmd->not_built)
		fprintf(out, "\nNot built yet: %s\n", cmd->not_built);
	fprintf(out, "\nOptions:\n");
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
			 o->metavar ? o->metavar : "");
		fprintf(out, "  %-22s ", left);
		for (const char *h = o->help; *h; h++) {   /* continuation lines aligned */
			fputc(*h, out);
			if (*h == '\n')
				fprintf(out, "%25s", "");
		}
		fputc('\n', out);
	}
	fprintf(out, "  %-22s %s\n", "--help", "show this help");
	fprintf(out, "\nExit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      const struct cli_opt *opts, int *help,
	      const char **pos, int max_pos, int *n_pos)
{
	int np = 0, only_pos = 0;
	*help = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			*help = 1;
			continue;
		}
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1]) {
			if (a[1] != '-')
				return bad(cmd, "unknown option '%s'%s", a,
					   " (options are long, like --json)");
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = find_opt(opts, name, len);
			if (!o)
				return bad(cmd, "unknown option '%s'%s", a, "");
			if (o->kind == CLI_FLAG) {
				if (eq)
					return bad(cmd, "option --%s takes no value ('%s')", o->name, a);
				if (o->dst)
					*(int *)o->dst = 1;
				continue;
			}
			const char *v = eq ? eq + 1 : NULL;
			if (!v) {
				if (i + 1 >= argc)
					return bad(cmd, "option --%s needs a %s", o->name,
						   o->metavar ? o->metavar : "value");
				v = argv[++i];
			}
			int rc = set_value(cmd, o, v);
			if (rc != CLI_OK)
				return rc;
			continue;
		}
		if (np >= max_pos || !pos)
			return bad(cmd, "unexpected argument '%s'%s", a,
				   max_pos ? " (too many arguments)" : " (this command takes none)");
		pos[np++] = a;
	}
	if (n_pos)
		*n_pos = np;
	if (*help)
		cli_print_help(cmd, opts, stdout);
	return CLI_OK;
}

