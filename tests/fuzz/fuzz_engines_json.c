/*
 * Fuzz target: sim_profiles_parse (llmcap.engines/1, the shipped profiles
 * and the user's calibrated file) on any bytes. A text that parses is
 * written back with sim_profiles_json and must parse again to as many
 * profiles with the same engines, backends and types.
 *
 *   make fuzz && build/fuzz/fuzz_engines_json tests/fuzz/corpus/engines
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_profiles *p = calloc(1, sizeof *p), *q = calloc(1, sizeof *q);
	char err[512];
	if (!p || !q)
		goto out;
	if (sim_profiles_parse((const char *)data, size, "fuzz", p, err, sizeof err) != 0) {
		if (!memchr(err, 0, sizeof err) || !strstr(err, "fuzz")) {
			fprintf(stderr, "error message does not name the input\n");
			abort();
		}
		goto out;
	}
	char *text = sim_profiles_json(p->p, p->n);
	if (!text)
		goto out;
	if (sim_profiles_parse(text, strlen(text), "again", q, err, sizeof err) != 0 || q->n != p->n) {
		fprintf(stderr, "profiles changed through write and read: %s\n%s\n", err, text);
		abort();
	}
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->p[i].engine, q->p[i].engine) || strcmp(p->p[i].backend, q->p[i].backend) ||
		    p->p[i].n_types != q->p[i].n_types) {
			fprintf(stderr, "profile %d changed through write and read\n%s\n", i, text);
			abort();
		}
	free(text);
out:
	free(p);
	free(q);
	return 0;
}
