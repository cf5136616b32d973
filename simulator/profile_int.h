/*
 * simulator: the JSON readers shared by the profile parser (profile.c)
 * and the run-record parser (profile_fit.c). Internal to the simulator.
 * Each returns 0, or -2 with err naming where and what.
 */
#ifndef LLMCAP_SIM_PROFILE_INT_H
#define LLMCAP_SIM_PROFILE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Formats err; returns -2. */
int pj_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A string member into buf: required, or optional (left empty). */
int pj_str(const cJSON *o, const char *k, int req, char *buf, size_t n, const char *where,
		 char *err, size_t errlen);
/* A number in [lo, hi]; an optional one is NAN when absent or null. */
int pj_num(const cJSON *o, const char *k, int req, double lo, double hi, double *out,
		 const char *where, char *err, size_t errlen);

#endif
