/*
 * cli: commands of the contract that are not built yet. Each is
 * registered with its full option list, so `--help` shows the contract,
 * and running it says plainly that it is not built and exits 2.
 */
#include <stdio.h>

#include "cli/cli.h"

int cli_not_built(const struct cli_cmd *cmd, int argc, char **argv)
{
	int help = 0, np = 0;
	const char *pos[4];
	int rc = cli_parse(cmd, argc, argv, cmd->stub_opts, &help, pos, 4, &np);
	if (rc != CLI_OK || help)
		return rc;
	fprintf(stderr,
		"llmcap %s: not built yet; it arrives with %s.\n"
		"Available now: 'llmcap probe' measures this machine (CPU, topology, memory\n"
		"bandwidth and latency, compute peaks).\n", cmd->name, cmd->not_built);
	return CLI_USAGE;
}
