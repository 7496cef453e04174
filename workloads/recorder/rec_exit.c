/* rec_exit.c: libmtbrec.so at the ends of a process image: exec, _exit, fatal
 * signals.
 *
 * exec: execve, execv, execvp, execvpe, execl, execle, execlp and fexecve write every
 * buffer and an END block first (the new image, LD_PRELOAD inherited, starts its
 * own file; if the exec fails, recording goes on). _exit and _Exit likewise.
 * Fatal signals: each signal whose default action ends the process and that is at
 * SIG_DFL when recording starts gets a handler that writes what it can
 * (rec_flush_signal), restores SIG_DFL and raises the signal again: the process
 * dies as it would have. The program does not see it: sigaction() and signal()
 * report SIG_DFL for such a signal, setting a handler replaces ours, setting SIG_DFL
 * keeps ours. MTB_REC_SIGNALS=0 installs no handler. A signal handler of the
 * program's own that ends the process without exit/_exit loses the buffers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_internal.h"

static const int fatal[] = {SIGHUP,  SIGINT,  SIGQUIT,	 SIGILL,  SIGTRAP, SIGABRT, SIGBUS,
			    SIGFPE,  SIGUSR1, SIGSEGV,	 SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
			    SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS};
static uint64_t ours; /* bit s: our handler is installed for signal s */

static int (*real_sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction_fn)
		real_sigaction_fn = dlsym(RTLD_NEXT, "sigaction");
	return real_sigaction_fn(sig, act, old);
}

static void on_fatal(int sig)
{
	rec_flush_signal(sig);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	real_sigaction(sig, &dfl, NULL);
	raise(sig); /* blocked in the handler: delivered, and fatal, on return */
}

static int is_ours(int sig)
{
	return sig > 0 && sig < 64 && (__atomic_load_n(&ours, __ATOMIC_RELAXED) >> sig & 1);
}

static int install(int sig)
{
	struct sigaction sa = {.sa_handler = on_fatal, .sa_flags = SA_RESTART | SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	return real_sigaction(sig, &sa, NULL);
}

void rec_signals_init(void)
{
	const char *e = getenv("MTB_REC_SIGNALS");
	if (e && !strcmp(e, "0"))
		return;
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction cur;
		if (real_sigaction(fatal[i], NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_handler == SIG_DFL && install(fatal[i]) == 0)
			__atomic_or_fetch(&ours, 1ull << fatal[i], __ATOMIC_RELAXED);
	}
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!is_ours(sig))
		return real_sigaction(sig, act, old);
	int dfl = act && !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
	int rc = act && !dfl ? real_sigaction(sig, act, old) : real_sigaction(sig, NULL, old);
	if (rc == 0 && old) { /* the program sees what it would without us */
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	if (rc == 0 && act && !dfl)
		__atomic_and_fetch(&ours, ~(1ull << sig), __ATOMIC_RELAXED);
	return rc;
}

EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction sa = {.sa_handler = h, .sa_flags = SA_RESTART}, old;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	return sigaction(sig, &sa, &old) ? SIG_ERR : old.sa_handler;
}

/* ---- _exit ---------------------------------------------------------------------- */
/* No sync mode after it: a vfork child's _exit would switch its parent (same memory). */
EXPORT void _exit(int status)
{
	rec_flush_all(1, 0);
	void (*real)(int) = dlsym(RTLD_NEXT, "_exit");
	real(status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status)
{
	_exit(status);
}

/* ---- exec ----------------------------------------------------------------------- */
#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	rec_flush_all(1, 0);
	return REAL("execve", execve_fn)(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	rec_flush_all(1, 0);
	return REAL("execv", execv_fn)(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	rec_flush_all(1, 0);
	return REAL("execvp", execv_fn)(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	rec_flush_all(1, 0);
	return REAL("execvpe", execve_fn)(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	rec_flush_all(1, 0);
	return REAL("fexecve", fexecve_fn)(fd, argv, envp);
}

/* The arguments of execl/execle/execlp after arg0, NULL-terminated, into argv. */
#define COLLECT_ARGS(ap, arg0, argv, n)                                                            \
	do {                                                                                       \
		va_start(ap, arg0);                                                                \
		for (n = 1; va_arg(ap, char *); n++)                                               \
			;                                                                          \
		va_end(ap);                                                                        \
		argv = __builtin_alloca((n + 1) * sizeof(char *));                                 \
		argv[0] = (char *)arg0;                                                            \
		va_start(ap, arg0);                                                                \
		for (size_t i_ = 1; i_ <= n; i_++)                                                 \
			argv[i_] = va_arg(ap, char *);                                             \
	} while (0)

EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	char **argv;
	size_t n;
	COLLECT_ARGS(ap, arg0, argv, n);
	va_end(ap);
	return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	char **argv;
	size_t n;
	COLLECT_ARGS(ap, arg0, argv, n);
	va_end(ap);
	return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	char **argv;
	size_t n;
	COLLECT_ARGS(ap, arg0, argv, n);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
