/*
 * cli: commands of the contract that are not built yet. Each is
 * registered with its full option list, so `--help` shows the contract,
 * and running it says plainly that it is not built and exits 2.
 */
#include <stdio.h>

#include "cli/cli.h"

#define O(n, m, h) {n, CLI_STR, NULL, m, h}
#define F(n, h) {n, CLI_FLAG, NULL, NULL, h}

static const struct cli_opt verify_opts[] = {
	O("model", "M", "catalog id, GGUF file or config.json"),
	O("quant", "Q", "quantization"),
	O("gguf", "FILE", "a real GGUF file to run"),
	O("ctx", "N", "context window (tokens)"),
	F("json", "print one JSON object"),
	{0},
};
static const struct cli_opt calibrate_opts[] = {
	O("engine", "E", "llmcap or llama.cpp"),
	F("json", "print one JSON object"),
	{0},
};

#define SIM "the simulator (issue: Simulator — plan, fit, buy, compare)"
#define MDB "model_db (issue: models, quantizations and buyable hardware)"

const struct cli_cmd cmd_verify = {
	"verify", "Run the model with llmcap's kernels and print predicted beside measured",
	"verify --model M [--quant Q] [--gguf FILE] [--ctx N] [--json]",
	NULL, "the kernels (issue: Kernels — verify and calibrate)", verify_opts, cli_not_built};
const struct cli_cmd cmd_calibrate = {
	"calibrate", "Measure kernel efficiency on this machine for the simulator",
	"calibrate [--engine llmcap|llama.cpp] [--json]",
	NULL, "the kernels (issue: Kernels — verify and calibrate)", calibrate_opts, cli_not_built};

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
