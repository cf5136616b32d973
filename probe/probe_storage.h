/*
 * Private to probe/ (and tests/test_storage.c): the storage probe's
 * internal entry points. probe_storage.c runs the measurement,
 * probe_storage_identity.c reads what the device and filesystem are,
 * probe_storage_io.c times read patterns with io_uring or pread threads.
 */
#ifndef LLMCAP_PROBE_STORAGE_H
#define LLMCAP_PROBE_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probe/probe.h"

#define PROBE_STORAGE_ALIGN 4096u              /* O_DIRECT offsets, lengths, buffers */
#define PROBE_STORAGE_MIN_FILE (64ull << 20)   /* smallest --file accepted */
#define PROBE_STORAGE_MARGIN (256ull << 20)    /* kept free beside the temp file */
#define PROBE_STORAGE_TEMP_PREFIX ".llmcap-storage-"

/* What tests (and nothing else) may change in a run. Zero = the default. */
struct probe_storage_tune {
	uint64_t file_bytes;   /* temp file size; 0: clamp(free / 10, 256 MiB, 1 GiB).
				* Rounded down to 4 MiB (at least 4 MiB); the free-space
				* check (size + PROBE_STORAGE_MARGIN) applies either way */
	double seconds;        /* time budget; 0: opt->storage_seconds, else 15 s */
	int no_direct;         /* 1: behave as if open(O_DIRECT) failed with EINVAL */
	int no_uring;          /* 1: behave as if io_uring could not be set up */
};

/* Sets every field of st to "unknown": zeroes, NAN figures, rotational -1. */
void probe_storage_unknown(struct probe_storage *st);

/* probe_storage_measure with a tune (NULL: defaults). Same returns. */
int probe_storage_measure_tuned(struct probe_storage *st, const struct probe_options *opt,
				const struct probe_storage_tune *tune,
				struct probe_profile *warn_to, char *err, size_t errlen);

/* Drops fd's file from the page cache (posix_fadvise DONTNEED: clean,
 * unmapped pages go; best effort). 0, or -1. */
int probe_storage_drop_cache(int fd);

/* ---- identity (probe_storage_identity.c) ------------------------------ */

/* "ext4", "xfs", ... for a statfs f_type; NULL when not in the table. */
const char *probe_storage_fs_name(unsigned long magic);

/* Transport of a whole disk from its kernel name and resolved sysfs path:
 * "nvme", "virtio", "mmc", "usb", "sata", "scsi", or "" when unknown.
 * Never NULL. */
const char *probe_storage_transport(const char *disk, const char *syspath);

/* Fills st->fs_type, fs_total_bytes, fs_free_bytes, device, model,
 * transport and rotational for the filesystem holding path (statfs,
 * statvfs, /proc/self/mountinfo, /sys). What cannot be read stays unknown
 * and is warned about. Returns 0, or -1 when path cannot be statfs'd. */
int probe_storage_identify(struct probe_storage *st, const char *path,
			   struct probe_profile *warn_to);

/* ---- read engines (probe_storage_io.c) -------------------------------- */

enum probe_sio_order { PROBE_SIO_SEQ, PROBE_SIO_RAND };

/* One timed read pattern on an open file. */
struct probe_sio_job {
	int fd;
	uint64_t span;          /* readable bytes from offset 0, multiple of ALIGN */
	uint64_t block;         /* bytes per request, multiple of ALIGN, <= span */
	int depth;              /* requests in flight (io_uring) or threads (pread) */
	enum probe_sio_order order;  /* SEQ: next block, wrapping; RAND: uniform,
				      * ALIGN-aligned offsets in [0, span - block] */
	double seconds;         /* stop issuing after this, once min_requests done */
	double hard_seconds;    /* stop issuing after this in any case */
	uint64_t max_bytes;     /* stop issuing after this many bytes; 0: no limit */
	uint64_t min_requests;
	uint64_t seed;          /* random offsets */
	uint64_t stamp_seed;    /* nonzero: check each block's page stamp */
	int keep_latency;       /* 1: per-request latency percentiles */
};

struct probe_sio_result {
	uint64_t bytes;         /* bytes read (completed) */
	uint64_t requests;
	uint64_t bad;           /* blocks whose stamp did not match */
	double seconds;         /* first issue to last completion */
	double lat_p50_us, lat_p99_us;  /* NAN unless keep_latency */
};

/* A read engine. run returns 0, or -1 with err filled (res then holds what
 * completed before the failure). */
struct probe_sio_engine {
	const char *name;       /* "io_uring (liburing)", "pread threads" */
	const char *tag;        /* short, for method strings: "io_uring", "pread" */
	int (*run)(const struct probe_sio_job *job, struct probe_sio_result *res,
		   char *err, size_t errlen);
};

extern const struct probe_sio_engine probe_sio_uring;
extern const struct probe_sio_engine probe_sio_pread;

/* 0 when an io_uring ring can be set up here; else -errno, with the
 * reason in why. */
int probe_sio_uring_usable(char *why, size_t whylen);

/* The 8 bytes at the start of each 4 KiB page of the temporary file: a
 * hash of the page index, so every page is distinct (no dedup) and reads
 * can be checked. */
static inline uint64_t probe_sio_stamp(uint64_t seed, uint64_t page)
{
	uint64_t z = seed + (page + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

/* Copies src into dst[n], cut short when it does not fit. */
static inline void probe_storage_copy(char *dst, size_t n, const char *src)
{
	if (n == 0)
		return;
	size_t len = strlen(src);
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

/* xorshift64*: offsets and file contents. */
static inline uint64_t probe_sio_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
