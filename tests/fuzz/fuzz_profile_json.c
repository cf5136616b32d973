/*
 * Fuzz target: rep_profile_from_json on any bytes (not NUL-terminated).
 * When a text parses, the profile is written back as JSON and as text, and
 * that JSON must parse to exactly the same profile (writing and reading
 * are inverse on everything the reader can produce).
 *
 *   make fuzz && build/fuzz/fuzz_profile_json tests/fuzz/corpus/profile
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"
#include "reports/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_profile *p = malloc(sizeof *p), *q = malloc(sizeof *q);
	char err[256];
	if (!p || !q)
		goto out;
	if (rep_profile_from_json((const char *)data, size, p, err, sizeof err) != 0)
		goto out;
	char *json = rep_profile_json(p, (int)(size & 1));
	if (!json)
		goto out;
	if (rep_profile_from_json(json, strlen(json), q, err, sizeof err) != 0
	    || memcmp(p, q, sizeof *p) != 0) {
		fprintf(stderr, "profile changed through write and read: %s\n%s\n", err, json);
		abort();
	}
	free(json);
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		rep_profile_text(p, devnull);
		fclose(devnull);
	}
out:
	free(p);
	free(q);
	return 0;
}
