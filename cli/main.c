/* llmcap: the command line. The only exit() of the program is here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

extern const struct cli_cmd cmd_probe, cmd_fit, cmd_plan, cmd_buy, cmd_compare, cmd_verify,
	cmd_calibrate, cmd_models, cmd_hardware, cmd_quants, cmd_inspect, cmd_report, cmd_tui, cmd_synth;

const struct cli_cmd *const cli_commands[] = {
	&cmd_probe, &cmd_fit, &cmd_plan, &cmd_buy, &cmd_compare, &cmd_verify, &cmd_calibrate,
	&cmd_models, &cmd_hardware, &cmd_quants, &cmd_inspect, &cmd_synth, &cmd_report, &cmd_tui,
	NULL,
};

static void usage(FILE *out)
{
	fprintf(out,
		"llmcap %s — hardware profiler and capacity planner for local LLMs\n\n"
		"Usage: llmcap <command> [options]     (llmcap <command> --help for its options)\n\n"
		"Commands:\n", LLMCAP_VERSION);
	for (int i = 0; cli_commands[i]; i++)
		fprintf(out, "  %-10s %s%s\n", cli_commands[i]->name, cli_commands[i]->summary,
			cli_commands[i]->not_built ? " (not built yet)" : "");
	fprintf(out,
		"\nWith no command: the dashboard on a terminal, otherwise the same as 'llmcap fit'.\n"
		"--json prints one JSON object on stdout; diagnostics go to stderr.\n"
		"Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		const char *name = isatty(0) && isatty(1) ? "tui" : "fit";
		for (int i = 0; cli_commands[i]; i++)
			if (strcmp(cli_commands[i]->name, name) == 0)
				exit(cli_commands[i]->run(cli_commands[i], argc, argv));
	}
	const char *c = argv[1];
	if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
		if (argc > 2 && strcmp(c, "help") == 0) {
			char *sub[] = {argv[2], "--help", NULL};
			for (int i = 0; cli_commands[i]; i++)
				if (strcmp(cli_commands[i]->name, argv[2]) == 0)
					exit(cli_commands[i]->run(cli_commands[i], 2, sub));
		}
		usage(stdout);
		exit(CLI_OK);
	}
	if (strcmp(c, "--version") == 0) {
		printf("llmcap %s\n", LLMCAP_VERSION);
		exit(CLI_OK);
	}
	for (int i = 0; cli_commands[i]; i++)
		if (strcmp(cli_commands[i]->name, c) == 0)
			exit(cli_commands[i]->run(cli_commands[i], argc - 1, argv + 1));
	fprintf(stderr, "llmcap: unknown command '%s'. Run 'llmcap --help' for the commands.\n", c);
	exit(CLI_USAGE);
}
