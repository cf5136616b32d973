/*
 * reports: whole-file output and input.
 *
 * rep_write_atomic writes "path.tmp.XXXXXX" beside path, fsyncs it, gives
 * it the permissions a new file would get (or those of the file it
 * replaces) and renames it over path; any failure removes the temporary
 * file. rep_read_file reads regular files and pipes alike, up to a limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "reports/report.h"

#define FIX_WRITE "check that the directory exists and is writable"

/* The process umask without changing it (umask(2) would, for every
 * thread): from /proc/self/status, else the usual 022. */
static mode_t current_umask(void)
{
	mode_t m = 022;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return m;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		unsigned v;
		if (sscanf(line, "Umask: %o", &v) == 1) {
			m = (mode_t)(v & 0777);
			break;
		}
	}
	fclose(f);
	return m;
}

static void write_err(char *err, size_t errlen, const char *what, const char *path, int e)
{
	if (!err || !errlen)
		return;
	const char *fix = e == ENOSPC || e == EDQUOT ? "free some space on that filesystem"
		: FIX_WRITE;
	snprintf(err, errlen, "cannot %s %s: %s; %s", what, path, strerror(e), fix);
}

int rep_write_atomic(const char *path, const char *data, size_t len,
		     char *err, size_t errlen)
{
	if (!path || !*path || (!data && len > 0)) {
		if (err && errlen)
			snprintf(err, errlen, "cannot write a file: %s",
				 !path || !*path ? "no path given" : "no data given");
		return -1;
	}
	size_t pl = strlen(path);
	char *tmp = malloc(pl + sizeof ".tmp.XXXXXX");
	if (!tmp) {
		write_err(err, errlen, "write", path, ENOMEM);
		return -1;
	}
	memcpy(tmp, path, pl);
	memcpy(tmp + pl, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
	int fd = mkstemp(tmp);
	if (fd < 0) {
		write_err(err, errlen, "create a temporary file beside", path, errno);
		free(tmp);
		return -1;
	}
	const char *what = "write";
	int e = 0;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			goto out_fail;
		}
		off += (size_t)w;
	}
	struct stat st;
	mode_t mode = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777)
		: (0666 & ~current_umask());
	if (fchmod(fd, mode) != 0) {
		e = errno;
		goto out_fail;
	}
	if (fsync(fd) != 0) {
		e = errno;
		goto out_fail;
	}
	int c = close(fd);
	fd = -1;
	if (c != 0) {
		e = errno;
		goto out_fail;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		what = "replace";
		goto out_fail;
	}
	/* make the rename durable; a failure here loses nothing written */
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*(slash == tmp ? slash + 1 : slash) = '\0';
		int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	} else {
		int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	free(tmp);
	return 0;
out_fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	write_err(err, errlen, what, path, e);
	return -1;
}

int rep_read_file(const char *path, size_t max, char **out, size_t *len,
		  char *err, size_t errlen)
{
	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (!path || !*path || !out) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read a file: %s",
				 !out ? "nowhere to put it" : "no path given");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read %s: %s; check the path and its "
				 "permissions", path, strerror(errno));
		return -1;
	}
	struct stat st;
	memset(&st, 0, sizeof st);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		close(fd);
		goto too_big;
	}
	size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max && max < SIZE_MAX)
		cap = max + 1;
	size_t n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		if (err && errlen)
			snprintf(err, errlen, "cannot read %s: out of memory", path);
		return -1;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (n >= max)
				break;
			size_t nc = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			if (max < SIZE_MAX && nc > max + 1)
				nc = max + 1;
			if (nc <= cap)
				break;
			char *b = realloc(buf, nc);
			if (!b) {
				free(buf);
				close(fd);
				if (err && errlen)
					snprintf(err, errlen, "cannot read %s: out of memory", path);
				return -1;
			}
			buf = b;
			cap = nc;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			if (err && errlen)
				snprintf(err, errlen, "cannot read %s: %s; check the path and "
					 "its permissions", path, strerror(e));
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			break;
	}
	/* one more byte tells a file of exactly max bytes from a larger one */
	if (n >= max) {
		char extra;
		ssize_t r;
		do
			r = read(fd, &extra, 1);
		while (r < 0 && errno == EINTR);
		if (n > max || r > 0) {
			free(buf);
			close(fd);
			goto too_big;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
too_big:
	if (err && errlen)
		snprintf(err, errlen, "%s is larger than %zu bytes; is it the right file?",
			 path, max);
	return -2;
}
