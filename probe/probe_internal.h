/*
 * Private to probe/: thread team, clock, the ISA kernels' signatures.
 * Nothing outside probe/ includes this file.
 */
#ifndef LLMCAP_PROBE_INTERNAL_H
#define LLMCAP_PROBE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"

/* Mark a figure unknown: zeroed, NAN numbers, PROBE_SRC_UNKNOWN. */
void probe_bw_unknown(struct probe_bw *b);
void probe_peak_unknown(struct probe_peak *k);
void probe_latency_unknown(struct probe_latency *l);

/* CLOCK_MONOTONIC in seconds. */
double probe_now(void);

/* A team of threads, each bound to its own core with hwloc (one PU per
 * physical core, cores spread over packages/NUMA nodes first). Threads
 * stay alive between runs so binding and first touch are stable. */
struct probe_team;
typedef void (*probe_team_fn)(int tid, int nthreads, void *arg);

/* Starts nthreads threads (0: one per physical core). Returns NULL with a
 * message in err on failure; binding failures are not fatal: the team
 * runs unbound and probe_team_bound() returns 0. Free with
 * probe_team_delete. */
struct probe_team *probe_team_new(int nthreads, char *err, size_t errlen);
int probe_team_threads(const struct probe_team *t);
int probe_team_bound(const struct probe_team *t);
/* Runs fn(tid, n, arg) on every thread of the team and waits for all. */
void probe_team_run(struct probe_team *t, probe_team_fn fn, void *arg);
void probe_team_delete(struct probe_team *t);

/* Physical cores of this machine per hwloc (>= 1; falls back to
 * sysconf(_SC_NPROCESSORS_ONLN) when hwloc cannot tell). */
int probe_physical_cores(void);

#endif
