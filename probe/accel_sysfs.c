/*
 * probe: Linux accel devices (NPUs): /sys/class/accel/accelN and
 * /dev/accel/accelN, with the kernel driver's name. llmcap has no compute
 * runtime for them, so they are reported present and not measured; no
 * figure is invented.
 */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/accel.h"

/* Kernel drivers of the accel subsystem and what they drive. */
static const struct {
	const char *driver;
	const char *name;
	const char *vendor;
} known[] = {
	{"intel_vpu", "Intel NPU", "Intel"},
	{"amdxdna", "AMD XDNA NPU", "AMD"},
	{"habanalabs", "Intel Gaudi (Habana Labs)", "Intel"},
	{"qaic", "Qualcomm Cloud AI 100", "Qualcomm"},
	{"rocket", "Rockchip NPU", "Rockchip"},
	{"ethosu", "Arm Ethos-U NPU", "Arm"},
};

static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, (int)n, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

/* The last component of the link at path ("intel_vpu"), or "". */
static void link_base(const char *path, char *out, size_t n)
{
	char target[PATH_MAX];
	ssize_t len = readlink(path, target, sizeof target - 1);
	out[0] = 0;
	if (len <= 0)
		return;
	target[len] = 0;
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	size_t len_base = strlen(base);
	if (len_base >= n)
		len_base = n - 1;
	memcpy(out, base, len_base);
	out[len_base] = 0;
}

static int is_accel_name(const char *s)
{
	if (strncmp(s, "accel", 5) != 0 || !s[5])
		return 0;
	for (const char *c = s + 5; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return 1;
}

static void fill(struct probe_accel *a, const char *root, const char *entry, int from_sys)
{
	char path[PATH_MAX], driver[64] = "", line[128];
	probe_accel_init(a);
	a->index = atoi(entry + 5);
	snprintf(a->backend, sizeof a->backend, "accel");
	snprintf(a->kind, sizeof a->kind, "npu");
	snprintf(path, sizeof path, "%s/dev/accel/%s", root, entry);
	struct stat st;
	if (stat(path, &st) == 0)
		snprintf(a->dev_node, sizeof a->dev_node, "/dev/accel/%.16s", entry);
	if (from_sys) {
		snprintf(path, sizeof path, "%s/sys/class/accel/%s/device/driver", root, entry);
		link_base(path, driver, sizeof driver);
		snprintf(path, sizeof path, "%s/sys/class/accel/%s/device/uevent", root, entry);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f)) {
			line[strcspn(line, "\r\n")] = 0;
			if (strncmp(line, "PCI_SLOT_NAME=", 14) == 0)
				snprintf(a->bus_id, sizeof a->bus_id, "%.15s", line + 14);
			else if (!driver[0] && strncmp(line, "DRIVER=", 7) == 0)
				snprintf(driver, sizeof driver, "%.63s", line + 7);
		}
		if (f)
			fclose(f);
	}
	snprintf(a->driver, sizeof a->driver, "%s", driver);
	const char *name = NULL;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(driver, known[i].driver) == 0) {
			name = known[i].name;
			snprintf(a->vendor, sizeof a->vendor, "%s", known[i].vendor);
		}
	if (name)
		snprintf(a->name, sizeof a->name, "%s", name);
	else if (driver[0])
		snprintf(a->name, sizeof a->name, "accel device (driver %.60s)", driver);
	else
		snprintf(a->name, sizeof a->name, "accel device %.16s (driver unknown)", entry);
	if (from_sys) {
		char vid[16] = "", did[16] = "";
		snprintf(path, sizeof path, "%s/sys/class/accel/%s/device/vendor", root, entry);
		read_line(path, vid, sizeof vid);
		snprintf(path, sizeof path, "%s/sys/class/accel/%s/device/device", root, entry);
		read_line(path, did, sizeof did);
		if (vid[0] && did[0]) {
			size_t len = strlen(a->name);
			snprintf(a->name + len, sizeof a->name - len, " [%.6s:%.6s]",
				 vid + (strncmp(vid, "0x", 2) == 0 ? 2 : 0),
				 did + (strncmp(did, "0x", 2) == 0 ? 2 : 0));
		}
	}
	snprintf(a->runtime, sizeof a->runtime, "Linux accel subsystem");
	snprintf(a->status, sizeof a->status, "present: no compute runtime to measure");
	snprintf(a->method, sizeof a->method,
		 "found in %s; llmcap has no compute runtime for it, so nothing was measured",
		 from_sys ? "/sys/class/accel" : "/dev/accel");
}

static int cmp_str(const void *x, const void *y)
{
	const char *a = x, *b = y;
	size_t la = strlen(a), lb = strlen(b);
	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* Sorted accelN names under dir; returns how many (<= max). */
static int list_dir(const char *dir, char names[][32], int max)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max)
		if (is_accel_name(e->d_name) && strlen(e->d_name) < 32)
			snprintf(names[n++], 32, "%s", e->d_name);
	closedir(d);
	qsort(names, (size_t)n, 32, cmp_str);
	return n;
}

int accel_sysfs_discover_at(const char *root, struct probe_accel *out, int max,
			    char *note, size_t notelen)
{
	char dir[PATH_MAX], names[PROBE_MAX_ACCEL][32];
	if (!root || !strcmp(root, "/"))
		root = "";
	if (note && notelen)
		note[0] = 0;
	snprintf(dir, sizeof dir, "%s/sys/class/accel", root);
	int from_sys = 1;
	int n = list_dir(dir, names, PROBE_MAX_ACCEL);
	if (n == 0) {
		snprintf(dir, sizeof dir, "%s/dev/accel", root);
		n = list_dir(dir, names, PROBE_MAX_ACCEL);
		from_sys = 0;
	}
	if (n == 0 && note && notelen)
		snprintf(note, notelen, "no /sys/class/accel or /dev/accel devices");
	int k = 0;
	for (int i = 0; i < n && k < max; i++)
		fill(&out[k++], root, names[i], from_sys);
	return k;
}

static int sysfs_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			  int max, char *note, size_t notelen)
{
	*priv = NULL;
	return accel_sysfs_discover_at(ctx ? ctx->sysfs_root : NULL, out, max, note, notelen);
}

const struct accel_ops accel_sysfs_ops = {
	.version = ACCEL_OPS_VERSION,
	.name = "accel",
	.caps = 0,
	.discover = sysfs_discover,
};
