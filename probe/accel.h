/*
 * probe: the accelerator backend interface (private to probe/ and its tests).
 *
 * Each backend is a const ops table, as nvtop's vendor files and fio's
 * engines are: it finds its devices (discover), measures one it found
 * (measure), and says why it found nothing (the note it writes). The
 * vendor libraries are loaded with dlopen inside the backend, so the
 * binary runs without them; a backend owns what it loads from discover to
 * cleanup.
 *
 * Backends, in the order they are tried: cuda, opencl, accel (Linux
 * /sys/class/accel NPUs), null (finds nothing; for tests and platforms with
 * none of the above). probe_accel_backends() lists them, NULL-terminated.
 */
#ifndef LLMCAP_PROBE_ACCEL_H
#define LLMCAP_PROBE_ACCEL_H

#include <stddef.h>

#include "probe/probe.h"

#define ACCEL_OPS_VERSION 1

/* Capability flags of a backend. */
#define ACCEL_CAP_MEASURE 0x1        /* has a compute runtime: measure() times devices */

struct accel_ctx {
	int quick;                    /* short measurements (probe --quick) */
	struct probe_profile *warn_to; /* warnings go here; may be NULL */
	const char *sysfs_root;       /* NULL: "/" (tests point this at a fixture tree) */
};

struct accel_ops {
	int version;                  /* ACCEL_OPS_VERSION */
	const char *name;             /* "cuda", "opencl", "accel", "null" */
	unsigned caps;                /* ACCEL_CAP_* */
	/* Appends up to max devices to out (each initialised with
	 * probe_accel_init first). Returns the number found (0 when the
	 * runtime or device is absent: note then says why, in a few words,
	 * "no libcuda.so.1"), or -1 on a failure (note says what). *priv
	 * receives the backend's private state (or NULL), owned by the
	 * backend until cleanup(priv); it is set even when 0 or -1 is
	 * returned. */
	int (*discover)(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			int max, char *note, size_t notelen);
	/* Measures a device this backend discovered; fills its figures and
	 * method, sets status. 0, or -1 with status naming the failure (the
	 * figures not measured stay unknown). May be NULL (no runtime). */
	int (*measure)(const struct accel_ctx *ctx, void *priv, struct probe_accel *a);
	/* Releases priv. May be NULL. */
	void (*cleanup)(void *priv);
};

extern const struct accel_ops accel_cuda_ops;
extern const struct accel_ops accel_opencl_ops;
extern const struct accel_ops accel_sysfs_ops;
extern const struct accel_ops accel_null_ops;

/* The backends, NULL-terminated, in the order they are tried. */
const struct accel_ops *const *probe_accel_backends(void);

/* Runs discovery (and measurement unless measure is 0) over backends into
 * p->accel, ties devices to hwloc's PCI objects (p->topo), drops OpenCL
 * devices that another backend already reported, writes p->accel_note and
 * warnings. Returns the number of devices in p->accel. */
int probe_accel_run(struct probe_profile *p, const struct accel_ops *const *backends,
		    const struct accel_ctx *ctx, int measure);

/* Fills fig->stat from its samples and fig->value (the best sample);
 * higher_is_better for rates, 0 for times. src becomes MEASURED when
 * there is at least one sample. */
void accel_fig_finish(struct probe_accel_fig *fig, int higher_is_better);

/* Marks fig unknown (NAN value, no samples). */
void accel_fig_unknown(struct probe_accel_fig *fig);

/* Sysfs NPU discovery from a root directory ("/" on a real machine): for
 * tests. Same contract as accel_sysfs_ops.discover. */
int accel_sysfs_discover_at(const char *root, struct probe_accel *out, int max,
			    char *note, size_t notelen);

#endif
