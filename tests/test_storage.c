/*
 * Tests for the storage probe: where it measures (default directory),
 * what it reads of the filesystem and device, every input it refuses and
 * the message it gives, the two read engines on a stamped file, short real
 * runs (io_uring with O_DIRECT; pread threads with the page cache dropped;
 * --file; tmpfs), and that nothing is left behind or changed: after every
 * run and error, and when SIGINT, SIGTERM or SIGHUP ends the probe midway.
 * No timing thresholds: the machine may be busy.
 */
#include "tests/test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"
#include "probe/probe_storage.h"

#define MIB (1024ull * 1024ull)
#define SKIP_CODE 77

/* --- helpers ------------------------------------------------------------- */

/* Whether dir holds a file whose name starts with the temp prefix. */
static int has_temp_file(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, PROBE_STORAGE_TEMP_PREFIX,
			    strlen(PROBE_STORAGE_TEMP_PREFIX)) == 0)
			found = 1;
	closedir(d);
	return found;
}

/* bytes of pages whose first 8 bytes are probe_sio_stamp(seed, page) and
 * the rest random. */
static void write_stamped(const char *path, uint64_t bytes, uint64_t seed)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	assert_non_null(buf);
	uint64_t rng = seed ^ 0x1234567ull;
	for (uint64_t off = 0; off < bytes; off += chunk) {
		for (size_t i = 0; i < chunk; i += 8) {
			uint64_t v = tu_rand(&rng);
			memcpy(buf + i, &v, 8);
		}
		for (size_t p = 0; p < chunk; p += 4096) {
			uint64_t s = probe_sio_stamp(seed, (off + p) / 4096);
			memcpy(buf + p, &s, 8);
		}
		assert_int_equal(pwrite(fd, buf, chunk, (off_t)off), (ssize_t)chunk);
	}
	free(buf);
	assert_int_equal(fsync(fd), 0);      /* clean pages: the cache can drop them */
	assert_int_equal(close(fd), 0);
}

/* FNV-1a of a whole file. */
static uint64_t file_hash(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint64_t h = 1469598103934665603ull;
	unsigned char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
	fclose(f);
	return h;
}

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* Runs probe_storage_measure_tuned on dir or file and expects -2 with
 * every needle in the message. */
static void expect_refused(const char *path, const char *file,
			   const struct probe_storage_tune *tune, const char *const needles[])
{
	struct probe_options o = {0};
	o.storage_path = path;
	o.storage_file = file;
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, tune, NULL, err, sizeof err);
	if (rc != -2)
		fail_msg("path %s file %s: rc %d (want -2), err: %s", path ? path : "-",
			 file ? file : "-", rc, err);
	for (int i = 0; needles[i]; i++)
		if (!contains(err, needles[i]))
			fail_msg("message lacks '%s': %s", needles[i], err);
	assert_int_equal(st.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(st.n_io, 0);
	assert_true(isnan(st.seq_read_gbps));
	/* the fast check agrees */
	char err2[600] = "";
	if (!tune || !tune->file_bytes)
		assert_int_equal(probe_storage_check(&o, err2, sizeof err2), -2);
}

/* Runs fn(arg) in a child; returns its exit code (SKIP_CODE: skipped), or
 * 128 + signal. */
static int in_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* In a child: a private mount namespace with a tmpfs on dir. 0, or
 * SKIP_CODE when this process may not do it (not root). */
static int private_tmpfs(const char *dir, unsigned long flags, const char *opts)
{
	if (unshare(CLONE_NEWNS) != 0)
		return SKIP_CODE;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return SKIP_CODE;
	if (mount("llmcap-test", dir, "tmpfs", flags, opts) != 0)
		return SKIP_CODE;
	return 0;
}

/* The environment default_dir reads, saved and restored. */
static const char *const env_names[] = {
	"HOME", "TMPDIR", "HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME",
	"OLLAMA_MODELS", "LLAMA_CACHE",
};
#define N_ENV (sizeof env_names / sizeof env_names[0])

struct env_save {
	char *v[N_ENV];
};

static void env_save(struct env_save *s)
{
	for (size_t i = 0; i < N_ENV; i++) {
		const char *v = getenv(env_names[i]);
		s->v[i] = v ? strdup(v) : NULL;
		unsetenv(env_names[i]);
	}
}

static void env_restore(struct env_save *s)
{
	for (size_t i = 0; i < N_ENV; i++) {
		if (s->v[i])
			setenv(env_names[i], s->v[i], 1);
		else
			unsetenv(env_names[i]);
		free(s->v[i]);
	}
}

static void mkdirs(const char *base, const char *sub)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s%s'", base, sub);
	assert_int_equal(system(cmd), 0);
}

static void expect_default(const char *dir, const char *why_needle)
{
	char got[4096], why[96];
	probe_storage_default_dir(got, sizeof got, why, sizeof why);
	if (strcmp(got, dir) != 0 || !contains(why, why_needle))
		fail_msg("default dir %s (%s), want %s (%s)", got, why, dir, why_needle);
}

/* --- where --------------------------------------------------------------- */

static void test_default_dir_order(void **state)
{
	(void)state;
	char root[512], home[600], tmp[600], hf[600], want[900], afile[600];
	assert_int_equal(tu_tmpdir(root, sizeof root), 0);
	snprintf(home, sizeof home, "%s/home", root);
	snprintf(tmp, sizeof tmp, "%s/tmp", root);
	snprintf(hf, sizeof hf, "%s/hf", root);
	snprintf(afile, sizeof afile, "%s/a-file", root);
	mkdirs(home, "");
	mkdirs(tmp, "");
	tu_write_file(afile, "x");
	struct env_save saved;
	env_save(&saved);

	/* nothing set: /tmp */
	expect_default("/tmp", "/tmp");
	/* $HOME, then $TMPDIR before it; a $TMPDIR that is a file is skipped */
	setenv("HOME", home, 1);
	expect_default(home, "$HOME");
	setenv("TMPDIR", tmp, 1);
	expect_default(tmp, "$TMPDIR");
	setenv("TMPDIR", afile, 1);
	expect_default(home, "$HOME");
	setenv("TMPDIR", tmp, 1);

	/* model folders, each one found before the ones added before it */
	static const struct { const char *sub, *why; } places[] = {
		{ "/.cache/llama.cpp", "llama.cpp" },
		{ "/.cache/lm-studio/models", "LM Studio" },
		{ "/.lmstudio/models", "LM Studio" },
		{ "/.ollama/models", "Ollama" },
		{ "/.cache/huggingface/hub", "Hugging Face" },
	};
	for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
		mkdirs(home, places[i].sub);
		snprintf(want, sizeof want, "%s%s", home, places[i].sub);
		expect_default(want, places[i].why);
	}
	/* $HF_HOME/hub only when it exists */
	setenv("HF_HOME", hf, 1);
	snprintf(want, sizeof want, "%s/.cache/huggingface/hub", home);
	expect_default(want, "Hugging Face");
	mkdirs(hf, "/hub");
	snprintf(want, sizeof want, "%s/hub", hf);
	expect_default(want, "$HF_HOME");
	/* $HF_HUB_CACHE first of all */
	setenv("HF_HUB_CACHE", tmp, 1);
	expect_default(tmp, "$HF_HUB_CACHE");

	/* small buffers are cut, never overrun */
	char tiny[8] = "zzzzzzz", tinywhy[4] = "zzz";
	probe_storage_default_dir(tiny, sizeof tiny, tinywhy, sizeof tinywhy);
	assert_int_equal(strlen(tiny), 7);
	assert_int_equal(strlen(tinywhy), 3);
	probe_storage_default_dir(NULL, 0, NULL, 0);

	env_restore(&saved);
	tu_rmrf(root);
}

/* probe_storage_measure without a path measures in the default place. */
static void test_measure_uses_default_dir(void **state)
{
	(void)state;
	char root[512], home[600], want[700];
	assert_int_equal(tu_tmpdir(root, sizeof root), 0);
	snprintf(home, sizeof home, "%s/home", root);
	mkdirs(home, "/.ollama/models");
	struct env_save saved;
	env_save(&saved);
	setenv("HOME", home, 1);

	struct probe_options o = {0};
	struct probe_storage_tune t = { .file_bytes = 16 * MIB, .seconds = 0.6 };
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, NULL, err, sizeof err);
	env_restore(&saved);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	char real[4096];
	snprintf(want, sizeof want, "%s/.ollama/models", home);
	assert_non_null(realpath(want, real));
	assert_string_equal(st.path, real);
	assert_string_equal(st.why, "Ollama models");
	assert_int_equal(tu_count_entries(want), 0);
	tu_rmrf(root);
}

/* --- identity ------------------------------------------------------------ */

static void test_fs_names_and_transport(void **state)
{
	(void)state;
	assert_string_equal(probe_storage_fs_name(0xEF53), "ext4");
	assert_string_equal(probe_storage_fs_name(0x58465342), "xfs");
	assert_string_equal(probe_storage_fs_name(0x9123683E), "btrfs");
	assert_string_equal(probe_storage_fs_name(0x01021994), "tmpfs");
	assert_string_equal(probe_storage_fs_name(0x794C7630), "overlay");
	assert_string_equal(probe_storage_fs_name(0x2FC12FC1), "zfs");
	assert_string_equal(probe_storage_fs_name(0x6969), "nfs");
	assert_string_equal(probe_storage_fs_name(0x65735546), "fuse");
	assert_string_equal(probe_storage_fs_name(0xFFFFFFFF9123683Eul & ~0ul), "btrfs");
	assert_null(probe_storage_fs_name(0x12345));

	static const struct { const char *disk, *path, *want; } cases[] = {
		{ "nvme0n1", "/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1", "nvme" },
		{ "vda", "/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda", "virtio" },
		{ "mmcblk0", "/sys/devices/platform/soc/mmc_host/mmc0/mmc0:0001/block/mmcblk0", "mmc" },
		{ "sda", "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "sata" },
		{ "sdb", "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host3/target3:0:0/3:0:0:0/block/sdb", "usb" },
		{ "sdc", "/sys/devices/pci0000:00/0000:03:00.0/host2/target2:0:0/2:0:0:0/block/sdc", "scsi" },
		{ "loop0", "/sys/devices/virtual/block/loop0", "" },
		{ "zram0", NULL, "" },
		{ NULL, NULL, "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(probe_storage_transport(cases[i].disk, cases[i].path), cases[i].want);
}

/* The identity of a temporary directory against an independent reading. */
static void test_identity_here(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	struct probe_storage st;
	probe_storage_unknown(&st);
	struct probe_profile warn;
	probe_profile_init(&warn);
	assert_int_equal(probe_storage_identify(&st, dir, &warn), 0);

	struct statfs sf;
	struct statvfs sv;
	struct stat sb;
	assert_int_equal(statfs(dir, &sf), 0);
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_int_equal(stat(dir, &sb), 0);
	const char *name = probe_storage_fs_name((unsigned long)sf.f_type);
	if ((sf.f_type & 0xFFFFFFFF) == 0xEF53)
		assert_true(strncmp(st.fs_type, "ext", 3) == 0);
	else if (name && (sf.f_type & 0xFFFFFFFF) != 0x65735546)
		assert_string_equal(st.fs_type, name);
	assert_true(st.fs_type[0] != 0);
	assert_true(st.fs_total_bytes > 0);
	assert_true(st.fs_free_bytes <= st.fs_total_bytes);
	/* free space within 1 GiB of what statvfs says now */
	double free_now = (double)sv.f_bavail * (double)sv.f_frsize;
	assert_true(fabs(free_now - (double)st.fs_free_bytes) < 1073741824.0);

	/* a block device behind it: the disk is it or its parent */
	char link[64], real[4096];
	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(sb.st_dev), minor(sb.st_dev));
	if (major(sb.st_dev) != 0 && realpath(link, real)) {
		assert_true(st.device[0] != 0);
		char *base = strrchr(real, '/');
		assert_non_null(base);
		int same = strcmp(base + 1, st.device) == 0;
		*base = 0;
		char *parent = strrchr(real, '/');
		int is_parent = parent && strcmp(parent + 1, st.device) == 0;
		if (strncmp(base + 1, "dm-", 3) != 0 && strncmp(base + 1, "md", 2) != 0)
			assert_true(same || is_parent);
		assert_true(st.rotational == 0 || st.rotational == 1);
		if (strncmp(st.device, "vd", 2) == 0)
			assert_string_equal(st.transport, "virtio");
		if (strncmp(st.device, "nvme", 4) == 0)
			assert_string_equal(st.transport, "nvme");
		assert_int_equal(warn.n_warnings, 0);
	}
	/* this development machine: ext4 on virtio vda */
	if ((sf.f_type & 0xFFFFFFFF) == 0xEF53 && strcmp(st.device, "vda") == 0) {
		assert_string_equal(st.fs_type, "ext4");
		assert_string_equal(st.transport, "virtio");
	}
	assert_int_equal(probe_storage_identify(&st, "/no/such/place", NULL), -1);
	assert_int_equal(probe_storage_identify(&st, NULL, NULL), -1);
	tu_rmrf(dir);
}

/* --- refused input --------------------------------------------------------- */

static void test_refuses_bad_directories(void **state)
{
	(void)state;
	char dir[512], missing[600], file[600], under_file[700];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(missing, sizeof missing, "%s/does-not-exist", dir);
	snprintf(file, sizeof file, "%s/a-file", dir);
	snprintf(under_file, sizeof under_file, "%s/a-file/sub", dir);
	tu_write_file(file, "tiny\n");

	expect_refused(missing, NULL, NULL,
		       (const char *const[]){ missing, "does not exist", "--path", NULL });
	expect_refused(file, NULL, NULL,
		       (const char *const[]){ file, "--path wants a directory", "--file", NULL });
	expect_refused(under_file, NULL, NULL,
		       (const char *const[]){ under_file, "not a directory", "--path", NULL });
	expect_refused("", NULL, NULL, (const char *const[]){ "--path DIR", NULL });
	/* as root chmod does not stop writes: sysfs and procfs refuse files */
	expect_refused("/sys", NULL, NULL,
		       (const char *const[]){ "/sys", "not writable", "--path DIR", "--file", NULL });
	expect_refused("/proc", NULL, NULL, (const char *const[]){ "/proc", "--path DIR", NULL });
	/* a path far too long */
	char *longp = malloc(9000);
	assert_non_null(longp);
	memset(longp, 'a', 8999);
	longp[0] = '/';
	longp[8999] = 0;
	expect_refused(longp, NULL, NULL, (const char *const[]){ "too long", NULL });
	free(longp);

	/* nothing was written beside the test's own file */
	assert_int_equal(tu_count_entries(dir), 1);
	tu_rmrf(dir);
}

/* More than the free space: refused after the temporary file was made,
 * which is removed. */
static void test_refuses_without_space(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	uint64_t free_b = (uint64_t)sv.f_bavail * sv.f_frsize;
	struct probe_storage_tune t = { .file_bytes = free_b + 1024 * MIB, .seconds = 1 };
	expect_refused(dir, NULL, &t, (const char *const[]){ dir, "not enough free space",
			"free", "--path DIR", NULL });
	/* free space minus 100 MiB: the 256 MiB margin is wanted too */
	t.file_bytes = free_b > 100 * MIB ? free_b - 100 * MIB : 4 * MIB;
	if (free_b > 100 * MIB)
		expect_refused(dir, NULL, &t, (const char *const[]){ "256 MiB left free", NULL });
	assert_int_equal(tu_count_entries(dir), 0);
	tu_rmrf(dir);
}

static int child_readonly_fs(void *arg)
{
	const char *dir = arg;
	int rc = private_tmpfs(dir, MS_RDONLY, "size=64m");
	if (rc)
		return rc;
	struct probe_options o = {0};
	o.storage_path = dir;
	struct probe_storage st;
	char err[600] = "";
	rc = probe_storage_measure(&st, &o, NULL, err, sizeof err);
	if (rc != -2 || !contains(err, "read-only filesystem") || !contains(err, dir)) {
		fprintf(stderr, "read-only tmpfs: rc %d, err %s\n", rc, err);
		return 1;
	}
	return probe_storage_check(&o, err, sizeof err) == -2 ? 0 : 1;
}

static int child_small_fs(void *arg)
{
	const char *dir = arg;
	int rc = private_tmpfs(dir, 0, "size=16m");
	if (rc)
		return rc;
	struct probe_options o = {0};
	o.storage_path = dir;
	struct probe_storage st;
	char err[600] = "";
	/* the default size wants 256 MiB + 256 MiB left free */
	rc = probe_storage_measure(&st, &o, NULL, err, sizeof err);
	if (rc != -2 || !contains(err, "not enough free space") || !contains(err, "512 MiB") ||
	    tu_count_entries(dir) != 0) {
		fprintf(stderr, "16 MiB tmpfs: rc %d, err %s, %d entries\n", rc, err,
			tu_count_entries(dir));
		return 1;
	}
	return probe_storage_check(&o, err, sizeof err) == -2 ? 0 : 1;
}

/* A real read-only and a real small filesystem (tmpfs in a private mount
 * namespace; skipped where that is not allowed). */
static void test_refuses_readonly_and_full_fs(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	int a = in_child(child_readonly_fs, dir);
	int b = in_child(child_small_fs, dir);
	assert_int_equal(tu_count_entries(dir), 0);
	tu_rmrf(dir);
	if (a == SKIP_CODE || b == SKIP_CODE)
		skip();
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
}

static int child_unreadable(void *arg)
{
	const char *file = arg;
	if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return SKIP_CODE;
	struct probe_options o = {0};
	o.storage_file = file;
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure(&st, &o, NULL, err, sizeof err);
	if (rc != -2 || !contains(err, file) || !contains(err, "Permission denied")) {
		fprintf(stderr, "unreadable: rc %d, err %s\n", rc, err);
		return 1;
	}
	return probe_storage_check(&o, err, sizeof err) == -2 ? 0 : 1;
}

static void test_refuses_bad_files(void **state)
{
	(void)state;
	char dir[512], missing[600], small[600], big[600], locked[600];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(missing, sizeof missing, "%s/does-not-exist.gguf", dir);
	snprintf(small, sizeof small, "%s/small.gguf", dir);
	snprintf(big, sizeof big, "%s/locked/model.gguf", dir);
	snprintf(locked, sizeof locked, "%s/locked", dir);
	tu_write_file(small, "tiny\n");

	expect_refused(NULL, missing, NULL,
		       (const char *const[]){ missing, "does not exist", "--file", NULL });
	expect_refused(NULL, dir, NULL,
		       (const char *const[]){ dir, "not a regular file", "--path", NULL });
	expect_refused(NULL, small, NULL,
		       (const char *const[]){ small, "at least 64 MiB", NULL });
	expect_refused(NULL, "/dev/null", NULL,
		       (const char *const[]){ "/dev/null", "not a regular file", NULL });
	expect_refused(NULL, "", NULL, (const char *const[]){ "--file FILE", NULL });

	/* unreadable: a 64 MiB file only its owner (root) may reach; the
	 * child drops to nobody when root, else the mode stops it */
	assert_int_equal(mkdir(locked, 0700), 0);
	write_stamped(big, 64 * MIB, 1);
	assert_int_equal(chmod(big, 0), 0);
	int rc = in_child(child_unreadable, big);
	if (rc == SKIP_CODE)
		skip();
	assert_int_equal(rc, 0);
	assert_int_equal(tu_count_entries(dir), 2);
	tu_rmrf(dir);
}

/* --- read engines ---------------------------------------------------------- */

static void check_engine(const struct probe_sio_engine *e, int fd, uint64_t span, uint64_t seed)
{
	static const struct { uint64_t block; int depth; enum probe_sio_order order; } jobs[] = {
		{ 4096, 1, PROBE_SIO_RAND }, { 4096, 8, PROBE_SIO_RAND },
		{ MIB, 1, PROBE_SIO_SEQ }, { MIB, 4, PROBE_SIO_SEQ }, { 3 * 4096, 3, PROBE_SIO_RAND },
	};
	for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
		struct probe_sio_job job = {
			.fd = fd, .span = span, .block = jobs[i].block, .depth = jobs[i].depth,
			.order = jobs[i].order, .seconds = 0.05, .hard_seconds = 2,
			.min_requests = 200, .seed = 7 + i, .stamp_seed = seed, .keep_latency = 1,
		};
		struct probe_sio_result res;
		char err[300] = "";
		int rc = e->run(&job, &res, err, sizeof err);
		if (rc != 0)
			fail_msg("%s job %zu: %s", e->name, i, err);
		assert_true(res.requests >= 200);
		assert_int_equal(res.bytes, res.requests * jobs[i].block);
		assert_int_equal(res.bad, 0);
		assert_true(res.seconds > 0);
		assert_true(isfinite(res.lat_p50_us) && res.lat_p50_us > 0);
		assert_true(res.lat_p99_us >= res.lat_p50_us);

		/* the wrong stamps: every block is caught */
		job.stamp_seed = seed + 1;
		job.min_requests = 20;
		job.keep_latency = 0;
		assert_int_equal(e->run(&job, &res, err, sizeof err), 0);
		assert_true(res.requests >= 20);
		assert_int_equal(res.bad, res.requests);
		assert_true(isnan(res.lat_p50_us));
	}
	/* sequential with a byte limit reads the file exactly once */
	struct probe_sio_job once = {
		.fd = fd, .span = span, .block = MIB, .depth = 4, .order = PROBE_SIO_SEQ,
		.seconds = 30, .hard_seconds = 30, .max_bytes = span, .stamp_seed = seed,
	};
	struct probe_sio_result res;
	char err[300] = "";
	assert_int_equal(e->run(&once, &res, err, sizeof err), 0);
	assert_int_equal(res.bytes, span);
	assert_int_equal(res.bad, 0);
	/* the hard limit wins over min_requests */
	struct probe_sio_job hard = once;
	hard.block = 4096;
	hard.depth = 1;
	hard.order = PROBE_SIO_RAND;
	hard.max_bytes = 0;
	hard.seconds = 0;
	hard.hard_seconds = 0.05;
	hard.min_requests = 1ull << 40;
	double t0 = probe_now();
	assert_int_equal(e->run(&hard, &res, err, sizeof err), 0);
	assert_true(probe_now() - t0 < 2.0);
	/* bad jobs are refused */
	struct probe_sio_job bad = once;
	bad.block = 1000;
	assert_int_equal(e->run(&bad, &res, err, sizeof err), -1);
	assert_true(contains(err, "bad read pattern"));
	bad = once;
	bad.depth = 0;
	assert_int_equal(e->run(&bad, &res, err, sizeof err), -1);
	bad = once;
	bad.block = span * 2;
	assert_int_equal(e->run(&bad, &res, err, sizeof err), -1);
}

/* Fraction of path's pages in the page cache (mincore). */
static double resident(const char *path)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	long pg = sysconf(_SC_PAGESIZE);
	size_t pages = ((size_t)sb.st_size + (size_t)pg - 1) / (size_t)pg;
	void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	unsigned char *vec = malloc(pages);
	assert_non_null(vec);
	assert_int_equal(mincore(map, (size_t)sb.st_size, vec), 0);
	size_t in = 0;
	for (size_t i = 0; i < pages; i++)
		in += vec[i] & 1;
	free(vec);
	munmap(map, (size_t)sb.st_size);
	close(fd);
	return (double)in / (double)pages;
}

/* Buffered sequential reads, one file's worth, after dropping the cache:
 * every page read (so in the cache) and no more than once. */
static void check_seq_covers_file(const struct probe_sio_engine *e, const char *path,
				  uint64_t span, uint64_t seed)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(probe_storage_drop_cache(fd), 0);
	assert_true(resident(path) < 0.05);
	struct probe_sio_job job = {
		.fd = fd, .span = span, .block = MIB, .depth = 3, .order = PROBE_SIO_SEQ,
		.seconds = 30, .hard_seconds = 30, .max_bytes = span, .stamp_seed = seed,
	};
	struct probe_sio_result res;
	char err[300] = "";
	assert_int_equal(e->run(&job, &res, err, sizeof err), 0);
	assert_int_equal(res.bytes, span);
	assert_int_equal(res.bad, 0);
	assert_true(resident(path) > 0.999);
	assert_int_equal(probe_storage_drop_cache(fd), 0);
	assert_true(resident(path) < 0.05);
	close(fd);
}

static void test_engines_read_the_right_data(void **state)
{
	(void)state;
	char dir[512], path[600];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/stamped", dir);
	uint64_t span = 16 * MIB, seed = 0xfeedull;
	write_stamped(path, span, seed);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	check_engine(&probe_sio_pread, fd, span, seed);
	check_seq_covers_file(&probe_sio_pread, path, span, seed);
	char why[200];
	if (probe_sio_uring_usable(why, sizeof why) == 0) {
		check_engine(&probe_sio_uring, fd, span, seed);
		check_seq_covers_file(&probe_sio_uring, path, span, seed);
	} else
		print_message("io_uring not usable here (%s): only pread tested\n", why);
	close(fd);

	/* a read error is reported, not hidden */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	struct probe_sio_job job = {
		.fd = fd, .span = span, .block = 4096, .depth = 2, .order = PROBE_SIO_RAND,
		.seconds = 1, .hard_seconds = 1,
	};
	struct probe_sio_result res;
	char err[300] = "";
	assert_int_equal(probe_sio_pread.run(&job, &res, err, sizeof err), -1);
	assert_true(contains(err, "Bad file descriptor"));
	if (probe_sio_uring_usable(why, sizeof why) == 0) {
		err[0] = 0;
		assert_int_equal(probe_sio_uring.run(&job, &res, err, sizeof err), -1);
		assert_true(contains(err, "Bad file descriptor"));
	}
	close(fd);
	tu_rmrf(dir);
}

/* --- real runs -------------------------------------------------------------- */

struct progress_log {
	int calls;
	double last;
	int backwards;
};

static void on_progress(const char *step, double fraction, void *user)
{
	struct progress_log *l = user;
	assert_non_null(step);
	if (fraction < l->last - 1e-9 || fraction < 0 || fraction > 1)
		l->backwards = 1;
	l->last = fraction;
	l->calls++;
}

static const struct { const char *pattern; uint64_t block; int depth; int cold; } expected[] = {
	{ "seq", MIB, 1, 1 }, { "seq", MIB, 32, 1 }, { "seq", 4 * MIB, 1, 1 },
	{ "seq", 4 * MIB, 32, 1 }, { "rand4k", 4096, 1, 1 }, { "rand4k", 4096, 32, 1 },
	{ "expert", 0, 1, 1 }, { "expert", 0, 4, 1 }, { "expert", 0, 16, 1 },
	{ "mmap", 0, 1, 1 }, { "warm", MIB, 1, 0 },
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

/* Every pattern there, finite and positive, each saying what it was. */
static void check_figures(const struct probe_storage *st, uint64_t expert_bytes)
{
	assert_int_equal(st->src, PROBE_SRC_MEASURED);
	assert_int_equal(st->n_io, (int)N_EXPECTED);
	for (size_t i = 0; i < N_EXPECTED; i++) {
		const struct probe_io *io = &st->io[i];
		assert_string_equal(io->pattern, expected[i].pattern);
		assert_int_equal(io->src, PROBE_SRC_MEASURED);
		assert_int_equal(io->depth, expected[i].depth);
		assert_int_equal(io->cold, expected[i].cold);
		if (expected[i].block)
			assert_int_equal(io->block_bytes, expected[i].block);
		else if (strcmp(io->pattern, "expert") == 0)
			assert_int_equal(io->block_bytes, expert_bytes);
		else
			assert_true(io->block_bytes >= 4096);
		if (!(isfinite(io->gbps) && io->gbps > 0 && isfinite(io->iops) && io->iops > 0 &&
		      io->seconds > 0 && io->bytes > 0))
			fail_msg("%s x%d: %g GB/s, %g IOPS, %g s, %llu bytes", io->pattern, io->depth,
				 io->gbps, io->iops, io->seconds, (unsigned long long)io->bytes);
		/* bytes / seconds is the rate printed */
		assert_true(fabs(io->gbps - (double)io->bytes / io->seconds / 1e9) <= 1e-6 * io->gbps);
		if (strcmp(io->pattern, "mmap") == 0) {
			assert_true(isnan(io->lat_p50_us) && isnan(io->lat_p99_us));
		} else {
			assert_true(isfinite(io->lat_p50_us) && io->lat_p50_us > 0);
			assert_true(io->lat_p99_us >= io->lat_p50_us);
		}
		assert_true(io->method[0] != 0);
	}
	assert_true(contains(st->io[6].method, "Qwen3-30B-A3B") || expert_bytes != 2654208);
	assert_true(st->seq_read_gbps == st->io[3].gbps);
	assert_true(st->rand4k_read_iops == st->io[5].iops);
	double best = fmax(st->io[6].gbps, fmax(st->io[7].gbps, st->io[8].gbps));
	assert_true(st->expert_read_gbps == best);
	assert_true(st->mmap_read_gbps == st->io[9].gbps);
	assert_true(st->warm_read_gbps == st->io[10].gbps);
	assert_true(st->fs_type[0] != 0);
	assert_true(st->engine[0] != 0);
	assert_true(st->cold_method[0] != 0);
	assert_true(isfinite(st->seconds) && st->seconds > 0);
}

static void on_test_signal(int sig)
{
	(void)sig;
}

static void test_real_run(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	/* the caller's handlers: a handler, the default, ignored */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	void (*const handlers[])(int) = { on_test_signal, SIG_DFL, SIG_IGN };
	for (int i = 0; i < 3; i++)
		signal(sigs[i], handlers[i]);

	struct progress_log log = {0};
	struct probe_options o = {0};
	o.storage_path = dir;
	o.progress = on_progress;
	o.progress_user = &log;
	struct probe_storage_tune t = { .file_bytes = 64 * MIB, .seconds = 2.0 };
	struct probe_profile warn;
	probe_profile_init(&warn);
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, &warn, err, sizeof err);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	check_figures(&st, 2654208);

	char real[4096];
	assert_non_null(realpath(dir, real));
	assert_string_equal(st.path, real);
	assert_string_equal(st.why, "--path");
	assert_int_equal(st.temp_file, 1);
	assert_int_equal(st.file_bytes, 64 * MIB);
	char why[200];
	if (probe_sio_uring_usable(why, sizeof why) == 0)
		assert_string_equal(st.engine, "io_uring (liburing)");
	struct statfs sf;
	assert_int_equal(statfs(dir, &sf), 0);
	if ((sf.f_type & 0xFFFFFFFF) == 0xEF53) {
		assert_string_equal(st.fs_type, "ext4");
		assert_int_equal(st.direct, 1);
		assert_true(contains(st.cold_method, "O_DIRECT"));
		assert_true(contains(st.io[0].method, "O_DIRECT"));
		assert_true(st.device[0] != 0);
	}
	assert_true(st.fs_free_bytes > 0 && st.fs_total_bytes >= st.fs_free_bytes);
	assert_true(st.seconds < 2.0 + 1.5);
	assert_true(log.calls >= (int)N_EXPECTED);
	assert_false(log.backwards);
	assert_true(log.last == 1.0);
	/* nothing left, handlers as they were */
	assert_int_equal(tu_count_entries(dir), 0);
	for (int i = 0; i < 3; i++) {
		struct sigaction after;
		sigaction(sigs[i], NULL, &after);
		assert_true(after.sa_handler == handlers[i]);
		signal(sigs[i], SIG_DFL);
	}
	tu_rmrf(dir);
}

/* No O_DIRECT and no io_uring: pread threads after dropping the cache. */
static void test_fallback_run(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	struct probe_options o = {0};
	o.storage_path = dir;
	o.expert_bytes = 1000000;            /* rounded up to whole pages */
	struct probe_storage_tune t = { .file_bytes = 64 * MIB, .seconds = 1.5,
					.no_direct = 1, .no_uring = 1 };
	struct probe_profile warn;
	probe_profile_init(&warn);
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, &warn, err, sizeof err);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	check_figures(&st, 1003520);
	assert_string_equal(st.engine, "pread threads");
	assert_int_equal(st.direct, 0);
	int said = 0;
	for (int i = 0; i < warn.n_warnings; i++)
		said |= contains(warn.warnings[i], "O_DIRECT") && contains(warn.warnings[i], dir);
	if (strcmp(st.fs_type, "tmpfs") != 0) {
		assert_true(contains(st.cold_method, "posix_fadvise"));
		assert_true(said);
	}
	assert_true(contains(st.io[1].method, "pread x32"));
	assert_true(contains(st.io[1].method, "cache dropped"));
	assert_true(contains(st.io[6].method, "from options"));
	/* buffered cold reads stop after one file's worth */
	for (int i = 0; i < 4; i++)
		assert_true(st.io[i].bytes <= 64 * MIB);
	assert_int_equal(tu_count_entries(dir), 0);
	tu_rmrf(dir);
}

/* Writing the file may take at most 30% of the budget: a big file and a
 * short budget give a shorter file (never under 64 MiB), said in a
 * warning. */
static void test_slow_write_is_cut(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	if ((uint64_t)sv.f_bavail * sv.f_frsize < 2048 * MIB) {
		tu_rmrf(dir);
		skip();
	}
	struct probe_options o = {0};
	o.storage_path = dir;
	struct probe_storage_tune t = { .file_bytes = 1024 * MIB, .seconds = 0.3 };
	struct probe_profile warn;
	probe_profile_init(&warn);
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, &warn, err, sizeof err);
	int left = tu_count_entries(dir);
	tu_rmrf(dir);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	assert_int_equal(left, 0);
	assert_true(st.file_bytes >= 64 * MIB && st.file_bytes < 1024 * MIB);
	assert_int_equal(st.file_bytes % (8 * MIB), 0);
	int said = 0;
	for (int i = 0; i < warn.n_warnings; i++)
		said |= contains(warn.warnings[i], "was cut to");
	assert_true(said);
	assert_true(st.n_io >= 10);       /* warm may not fit so short a budget */
}

/* tmpfs: the file lives in memory, and there is no block device. */
static void test_tmpfs_run(void **state)
{
	(void)state;
	struct statfs sf;
	if (statfs("/dev/shm", &sf) != 0 || (sf.f_type & 0xFFFFFFFF) != 0x01021994)
		skip();
	char dir[] = "/dev/shm/llmcap-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct probe_options o = {0};
	o.storage_path = dir;
	struct probe_storage_tune t = { .file_bytes = 32 * MIB, .seconds = 1.0 };
	struct probe_profile warn;
	probe_profile_init(&warn);
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, &warn, err, sizeof err);
	int left = tu_count_entries(dir);
	tu_rmrf(dir);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	assert_int_equal(left, 0);
	assert_string_equal(st.fs_type, "tmpfs");
	assert_string_equal(st.device, "");
	assert_true(contains(st.cold_method, "memory"));
	int memory = 0, nodev = 0;
	for (int i = 0; i < warn.n_warnings; i++) {
		memory |= contains(warn.warnings[i], "lives in memory");
		nodev |= contains(warn.warnings[i], "no block device");
	}
	assert_true(memory);
	assert_true(nodev);
	assert_true(isfinite(st.seq_read_gbps));
}

/* --file: reads, changes nothing (content, mtime, atime), creates nothing. */
static void test_file_run_changes_nothing(void **state)
{
	(void)state;
	char dir[512], path[600];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/model.gguf", dir);
	write_stamped(path, 65 * MIB, 99);
	assert_int_equal(truncate(path, 64 * MIB + 12345), 0);  /* not whole pages */
	/* old times, atime == mtime: any read without O_NOATIME would update
	 * atime under relatime */
	struct timespec times[2] = { { 1577836800, 0 }, { 1577836800, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	uint64_t hash = file_hash(path);
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);  /* hashing read it */
	assert_int_equal(stat(path, &before), 0);

	struct probe_options o = {0};
	o.storage_file = path;
	assert_int_equal(probe_storage_check(&o, NULL, 0), 0);
	struct probe_storage_tune t = { .seconds = 1.5 };
	struct probe_storage st;
	char err[600] = "";
	int rc = probe_storage_measure_tuned(&st, &o, &t, NULL, err, sizeof err);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, err);
	check_figures(&st, 2654208);
	assert_int_equal(st.temp_file, 0);
	assert_string_equal(st.why, "--file");
	assert_string_equal(st.path, path);
	assert_int_equal(st.file_bytes, 64 * MIB + 12345);

	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(after.st_size, before.st_size);
	if (getuid() == 0 || getuid() == after.st_uid)   /* O_NOATIME was allowed */
		assert_int_equal(after.st_atim.tv_sec, before.st_atim.tv_sec);
	assert_int_equal(tu_count_entries(dir), 1);
	assert_true(file_hash(path) == hash);
	tu_rmrf(dir);
}

/* --- signals ------------------------------------------------------------------ */

struct sig_case {
	const char *dir;
	int ignore_hup;     /* 1: the child ignores SIGHUP before the probe */
};

static int child_long_run(void *arg)
{
	const struct sig_case *c = arg;
	signal(SIGHUP, c->ignore_hup ? SIG_IGN : SIG_DFL);
	struct probe_options o = {0};
	o.storage_path = c->dir;
	struct probe_storage_tune t = { .file_bytes = 256 * MIB, .seconds = 30 };
	struct probe_storage st;
	char err[600];
	probe_storage_measure_tuned(&st, &o, &t, NULL, err, sizeof err);
	return 3;                               /* should not get here */
}

/* Starts a long run in a child; once its temporary file exists waits
 * delay_us, sends sig and returns the child's wait status. */
static int interrupt_run(struct sig_case *c, int sig, useconds_t delay_us, int then_term)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_long_run(c));
	int seen = 0;
	for (int k = 0; k < 500 && !seen; k++) {
		usleep(10000);
		seen = has_temp_file(c->dir);
	}
	usleep(delay_us);
	kill(pid, sig);
	int st = 0, ignored = 1;
	pid_t w = 0;
	if (then_term) {
		usleep(300000);
		/* still running: the ignored signal stayed ignored */
		w = waitpid(pid, &st, WNOHANG);
		ignored = w == 0 && has_temp_file(c->dir);
		if (w == 0)
			kill(pid, SIGTERM);
	}
	for (int k = 0; k < 1000 && w == 0; k++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == 0)
			usleep(10000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("the probe did not stop after signal %d", sig);
	}
	if (!seen)
		fail_msg("the temporary file never appeared in %s", c->dir);
	if (!ignored)
		fail_msg("signal %d, ignored by the caller, stopped the probe", sig);
	return st;
}

static void test_signals_leave_nothing(void **state)
{
	(void)state;
	char dir[512];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	struct sig_case c = { .dir = dir };
	static const struct { int sig; useconds_t delay; } cases[] = {
		{ SIGINT, 100000 },     /* while writing the file, most likely */
		{ SIGTERM, 900000 },    /* while reading */
		{ SIGHUP, 500000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int st = interrupt_run(&c, cases[i].sig, cases[i].delay, 0);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != cases[i].sig)
			fail_msg("signal %d: child status 0x%x", cases[i].sig, st);
		if (tu_count_entries(dir) != 0)
			fail_msg("a file was left in %s after signal %d", dir, cases[i].sig);
	}
	/* a SIGHUP the process ignores stays ignored; SIGTERM still cleans */
	c.ignore_hup = 1;
	int st = interrupt_run(&c, SIGHUP, 200000, 1);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	assert_int_equal(tu_count_entries(dir), 0);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_dir_order),
		cmocka_unit_test(test_measure_uses_default_dir),
		cmocka_unit_test(test_fs_names_and_transport),
		cmocka_unit_test(test_identity_here),
		cmocka_unit_test(test_refuses_bad_directories),
		cmocka_unit_test(test_refuses_without_space),
		cmocka_unit_test(test_refuses_readonly_and_full_fs),
		cmocka_unit_test(test_refuses_bad_files),
		cmocka_unit_test(test_engines_read_the_right_data),
		cmocka_unit_test(test_real_run),
		cmocka_unit_test(test_fallback_run),
		cmocka_unit_test(test_slow_write_is_cut),
		cmocka_unit_test(test_tmpfs_run),
		cmocka_unit_test(test_file_run_changes_nothing),
		cmocka_unit_test(test_signals_leave_nothing),
	};
	return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
