/* cli: the cached profile and the probe run with its progress line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "reports/report.h"

#define PROFILE_MAX_BYTES (4u << 20)

/* $XDG_CACHE_HOME/llmcap (absolute paths only, as the XDG spec says),
 * else $HOME/.cache/llmcap. */
static int cache_dir(char *buf, size_t n, char *err, size_t errlen)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (x && x[0] == '/')
		snprintf(buf, n, "%s/llmcap", x);
	else if (home && home[0])
		snprintf(buf, n, "%s/.cache/llmcap", home);
	else {
		snprintf(err, errlen, "neither XDG_CACHE_HOME nor HOME is set; set XDG_CACHE_HOME "
			 "to a writable directory");
		return -1;
	}
	return 0;
}

int cli_cache_path(char *buf, size_t n, char *err, size_t errlen)
{
	char dir[4000];
	if (cache_dir(dir, sizeof dir, err, errlen) != 0)
		return -1;
	snprintf(buf, n, "%s/profile.json", dir);
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create cache directory %s: %s; set "
					 "XDG_CACHE_HOME to a writable directory", tmp, strerror(errno));
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cache path %s is not a directory; remove it or set "
			 "XDG_CACHE_HOME elsewhere", path);
		return -1;
	}
	return 0;
}

int cli_cache_file(const char *name, int create, char *buf, size_t n, char *err, size_t errlen)
{
	char dir[4000];
	if (cache_dir(dir, sizeof dir, err, errlen) != 0 || (create && make_dirs(dir, err, errlen) != 0))
		return -1;
	snprintf(buf, n, "%s/%s", dir, name);
	return 0;
}

int cli_cache_save(const struct probe_profile *p, char *err, size_t errlen)
{
	char dir[4000], path[4096];
	if (cache_dir(dir, sizeof dir, err, errlen) != 0 || make_dirs(dir, err, errlen) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/profile.json", dir);
	char *json = rep_profile_json(p, 1);
	if (!json) {
		snprintf(err, errlen, "out of memory writing the profile");
		return -1;
	}
	int rc = rep_write_atomic(path, json, strlen(json), err, errlen);
	free(json);
	return rc;
}

int cli_cache_load(struct probe_profile *p, char *err, size_t errlen)
{
	char path[4096], e[256] = "";
	char *text = NULL;
	size_t len = 0;
	if (cli_cache_path(path, sizeof path, err, errlen) != 0)
		return -1;
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "no cached profile at %s", path);
		return -1;
	}
	int rc = rep_read_file(path, PROFILE_MAX_BYTES, &text, &len, e, sizeof e);
	if (rc != 0) {
		snprintf(err, errlen, "cached profile %s unreadable: %s", path, e);
		return -2;
	}
	rc = rep_profile_from_json(text, len, p, e, sizeof e);
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "cached profile %s is corrupt (%s)", path, e);
		return -2;
	}
	/* the fingerprint is recomputed from this machine's identity */
	char fp[24];
	probe_machine_fingerprint(fp, sizeof fp);
	if (strcmp(fp, p->fingerprint) != 0) {
		snprintf(err, errlen, "cached profile %s was made on another machine "
			 "(fingerprint %s, this machine %s)", path, p->fingerprint, fp);
		return -3;
	}
	return 0;
}

void cli_progress(const char *step, double f, void *user)
{
	struct cli_progress *s = user;
	int width = 24, done = (int)(f * width + 0.5);
	if (done > width)
		done = width;
	if (done < 0)
		done = 0;
	char bar[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < done ? '#' : '.';
	bar[width] = 0;
	fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s", s->what, bar, f * 100, step);
	fflush(stderr);
	s->shown = 1;
}

void cli_progress_end(struct cli_progress *s)
{
	if (s->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		s->shown = 0;
	}
}

int cli_run_probe(struct probe_profile *p, int quick, int show, char *err, size_t errlen)
{
	struct cli_progress st = {"probing", 0};
	struct probe_options opt = {
		.quick = quick,
		.progress = show ? cli_progress : NULL,
		.progress_user = &st,
	};
	int rc = probe_run(p, &opt, err, errlen);
	cli_progress_end(&st);
	return rc;
}
