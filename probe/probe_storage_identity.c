/*
 * probe: what the storage under a path is, from statfs/statvfs,
 * /proc/self/mountinfo and sysfs (no external tools).
 *
 * Filesystem: statfs f_type through a table of magic numbers; mountinfo's
 * type refines what the magic cannot tell (ext2/ext3/ext4 share one magic,
 * virtiofs and sshfs report FUSE's).
 *
 * Device: st_dev of the path names /sys/dev/block/MAJ:MIN, whose link
 * resolves to the device's sysfs folder. A partition (it has a
 * "partition" file) is replaced by its parent disk; a device-mapper or md
 * device (its slaves/ is not empty) by its first underlying device, until
 * a plain disk is reached. Filesystems with an anonymous st_dev (major 0:
 * btrfs, bcachefs) name their device in mountinfo's source field. Model
 * from DISK/device/model, rotational from DISK/queue/rotational, transport
 * from the disk's name and sysfs path.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "probe/probe_storage.h"

#define MAX_STACK 8                  /* dm on md on partition ...: enough */

static const struct { unsigned long magic; const char *name; } fs_magics[] = {
	{ 0xEF53ul, "ext4" },            /* ext2, ext3, ext4 share it */
	{ 0x58465342ul, "xfs" },
	{ 0x9123683Eul, "btrfs" },
	{ 0x01021994ul, "tmpfs" },
	{ 0x858458F6ul, "ramfs" },
	{ 0x794C7630ul, "overlay" },
	{ 0x2FC12FC1ul, "zfs" },
	{ 0xCA451A4Eul, "bcachefs" },
	{ 0xF2F52010ul, "f2fs" },
	{ 0x2011BAB0ul, "exfat" },
	{ 0x4D44ul, "vfat" },
	{ 0x5346544Eul, "ntfs3" },
	{ 0x65735546ul, "fuse" },
	{ 0x01021997ul, "9p" },
	{ 0x6969ul, "nfs" },
	{ 0xFF534D42ul, "cifs" },
	{ 0xFE534D42ul, "smb2" },
	{ 0x00C36400ul, "ceph" },
	{ 0x73717368ul, "squashfs" },
	{ 0xE0F5E1E2ul, "erofs" },
	{ 0x9660ul, "iso9660" },
	{ 0x3153464Aul, "jfs" },
	{ 0x52654973ul, "reiserfs" },
	{ 0x24051905ul, "ubifs" },
	{ 0x7461636Ful, "ocfs2" },
	{ 0x01161970ul, "gfs2" },
	{ 0x0BD00BD0ul, "lustre" },
	{ 0x47504653ul, "gpfs" },
	{ 0x958458F6ul, "hugetlbfs" },
	{ 0x9FA0ul, "proc" },
	{ 0x62656572ul, "sysfs" },
	{ 0x27E0EBul, "cgroup" },
	{ 0x63677270ul, "cgroup2" },
	{ 0x64626720ul, "debugfs" },
	{ 0x74726163ul, "tracefs" },
	{ 0x1CD1ul, "devpts" },
};

const char *probe_storage_fs_name(unsigned long magic)
{
	magic &= 0xFFFFFFFFul;            /* f_type is sign-extended on some ABIs */
	for (size_t i = 0; i < sizeof fs_magics / sizeof fs_magics[0]; i++)
		if (fs_magics[i].magic == magic)
			return fs_magics[i].name;
	return NULL;
}

const char *probe_storage_transport(const char *disk, const char *syspath)
{
	if (!disk)
		return "";
	if (!syspath)
		syspath = "";
	if (strncmp(disk, "nvme", 4) == 0)
		return "nvme";
	if (strncmp(disk, "vd", 2) == 0)
		return "virtio";
	if (strncmp(disk, "mmcblk", 6) == 0)
		return "mmc";
	if (strncmp(disk, "sd", 2) == 0) {
		if (strstr(syspath, "/usb"))
			return "usb";
		if (strstr(syspath, "/ata"))
			return "sata";
		return "scsi";
	}
	return "";
}

/* First line of a small sysfs file, trimmed; "" when unreadable. */
static void read_trimmed(const char *path, char *out, size_t n)
{
	out[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[256];
	if (fgets(line, sizeof line, f)) {
		char *s = line, *e;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		snprintf(out, n, "%s", s);
	}
	fclose(f);
}

/* mountinfo's filesystem type and source of the mount whose device is dev
 * (field 3, "MAJ:MIN"). Returns 0 when found. */
static int mountinfo_lookup(dev_t dev, char *type, size_t tn, char *source, size_t sn)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -1;
	char want[32], line[4096];
	snprintf(want, sizeof want, "%u:%u", major(dev), minor(dev));
	int found = -1;
	while (fgets(line, sizeof line, f)) {
		/* id parent MAJ:MIN root mountpoint opts [optional...] - type source superopts */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		int field = 0, match = 0;
		for (; tok; tok = strtok_r(NULL, " ", &save), field++) {
			if (field == 2)
				match = strcmp(tok, want) == 0;
			if (!match && field >= 2)
				break;
			if (strcmp(tok, "-") == 0) {
				char *t = strtok_r(NULL, " ", &save);
				char *s = t ? strtok_r(NULL, " \n", &save) : NULL;
				if (t && s) {
					snprintf(type, tn, "%s", t);
					snprintf(source, sn, "%s", s);
					found = 0;
				}
				break;
			}
		}
		if (found == 0)
			break;
	}
	fclose(f);
	return found;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The first entry (by name) of dir/slaves, into out; 0 when there is one. */
static int first_slave(const char *sysdir, char *out, size_t n)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/slaves", sysdir);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (found != 0 || strcmp(e->d_name, out) < 0) {
			snprintf(out, n, "%s", e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

/* Resolves dev to the sysfs folder of the whole disk below it. */
static int disk_sysdir(dev_t dev, char *out, size_t n)
{
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if (!realpath(link, real))
		return -1;
	for (int depth = 0; depth < MAX_STACK; depth++) {
		char probe[PATH_MAX + 16], slave[256] = "";
		snprintf(probe, sizeof probe, "%s/partition", real);
		if (access(probe, F_OK) == 0) {
			char *slash = strrchr(real, '/');
			if (!slash || slash == real)
				return -1;
			*slash = 0;
			continue;
		}
		if (first_slave(real, slave, sizeof slave) == 0) {
			char next[PATH_MAX + 300];
			snprintf(next, sizeof next, "%s/slaves/%s", real, slave);
			if (!realpath(next, real))
				return -1;
			continue;
		}
		break;
	}
	snprintf(out, n, "%s", real);
	return 0;
}

int probe_storage_identify(struct probe_storage *st, const char *path,
			   struct probe_profile *warn_to)
{
	struct statfs sf;
	struct statvfs sv;
	struct stat sb;
	if (!path || statfs(path, &sf) != 0 || stat(path, &sb) != 0)
		return -1;
	if (statvfs(path, &sv) == 0) {
		uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
		st->fs_total_bytes = (uint64_t)sv.f_blocks * unit;
		st->fs_free_bytes = (uint64_t)sv.f_bavail * unit;
	}

	char mtype[64] = "", msource[PATH_MAX] = "";
	int have_mount = mountinfo_lookup(sb.st_dev, mtype, sizeof mtype,
					  msource, sizeof msource) == 0;
	const char *name = probe_storage_fs_name((unsigned long)sf.f_type);
	unsigned long magic = (unsigned long)sf.f_type & 0xFFFFFFFFul;
	if (have_mount && (!name || magic == 0xEF53ul || magic == 0x65735546ul))
		name = mtype;                 /* ext2/3/4, virtiofs, fuse.sshfs, ... */
	if (name && *name)
		snprintf(st->fs_type, sizeof st->fs_type, "%s", name);
	else
		snprintf(st->fs_type, sizeof st->fs_type, "0x%lx", magic);

	dev_t dev = sb.st_dev;
	if (major(dev) == 0) {
		/* anonymous device (btrfs, tmpfs, overlay, nfs): a real one only
		 * when the mount source is a block device */
		struct stat src;
		if (have_mount && msource[0] == '/' && stat(msource, &src) == 0 &&
		    S_ISBLK(src.st_mode))
			dev = src.st_rdev;
	}
	char sysdir[PATH_MAX];
	if (major(dev) == 0 || disk_sysdir(dev, sysdir, sizeof sysdir) != 0) {
		probe_warn(warn_to, "storage: no block device behind %s (%s); device, model "
			   "and transport unknown", path, st->fs_type);
		return 0;
	}
	const char *disk = base_name(sysdir);
	probe_storage_copy(st->device, sizeof st->device, disk);
	snprintf(st->transport, sizeof st->transport, "%s",
		 probe_storage_transport(disk, sysdir));

	char file[PATH_MAX + 32], text[128];
	snprintf(file, sizeof file, "%s/device/model", sysdir);
	read_trimmed(file, st->model, sizeof st->model);
	snprintf(file, sizeof file, "%s/queue/rotational", sysdir);
	read_trimmed(file, text, sizeof text);
	st->rotational = text[0] == '1' ? 1 : text[0] == '0' ? 0 : -1;
	return 0;
}
