/* cli: work run in a child process while this one holds the terminal
 * signals, so that whatever happens to the child (Ctrl-C, a crash) the
 * caller is still here to clean up after it. Used by `llmcap synth` (and
 * everything that writes a synthetic file) and by llama-bench runs. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

char *cli_read_fd(int fd, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (n + 1 >= cap && cap < max) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		if (n + 1 >= cap) {
			/* keep the tail: drop the first half */
			memmove(buf, buf + cap / 2, n - cap / 2);
			n -= cap / 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int cli_child_run(int (*fn)(void *arg, int out_fd), void *arg, size_t max_out,
		  struct cli_child *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	int fds[2];
	if (pipe(fds) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(fds[0]);
		_exit(fn(arg, fds[1]) & 0xff);
	}
	close(fds[1]);
	c->out = cli_read_fd(fds[0], max_out, &c->out_len);
	close(fds[0]);
	while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
		;
	sigset_t pend;
	sigpending(&pend);
	c->interrupted = sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM) ||
			 sigismember(&pend, SIGHUP) ||
			 (WIFSIGNALED(c->status) && (WTERMSIG(c->status) == SIGINT ||
						     WTERMSIG(c->status) == SIGTERM ||
						     WTERMSIG(c->status) == SIGHUP));
	/* a pending signal is dropped here: the caller reports the interruption */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&block, NULL, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
