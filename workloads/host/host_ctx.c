/* host_ctx.c: machine context of timed rows (contract in host_ctx.h). Everything is
 * read from /proc, uname(2) and an open(2) of /dev/kvm; a file that is missing or
 * unreadable leaves its fields unknown rather than failing the caller.
 */
#define _GNU_SOURCE
#include "host_ctx.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Copies the value after "key<spaces>:<spaces>" of the first line starting with key in
 * /proc file path into out[cap] (newline stripped); false if there is none. */
static bool proc_field(const char *path, const char *key, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool found = false;
	size_t kl = strlen(key);
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, key, kl) || !colon)
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		colon[strcspn(colon, "\n")] = 0;
		snprintf(out, cap, "%s", colon);
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}

/* Whether the first "flags" line of /proc/cpuinfo has the word vmx or svm. */
static bool cpu_has_virt(void)
{
	char flags[4096];
	if (!proc_field("/proc/cpuinfo", "flags", flags, sizeof(flags)))
		return false;
	for (char *w = strtok(flags, " "); w; w = strtok(NULL, " "))
		if (!strcmp(w, "vmx") || !strcmp(w, "svm"))
			return true;
	return false;
}

static const char *kvm_kind(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return "absent";
	close(fd);
	return cpu_has_virt() ? "hardware" : "emulated";
}

void host_ctx_init(struct host_ctx *c)
{
	memset(c, 0, sizeof(*c));
	proc_field("/proc/cpuinfo", "model name", c->cpu_model, sizeof(c->cpu_model));
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->cores = n > 0 ? (unsigned)n : 0;
	char mem[64];
	unsigned long long kib;
	if (proc_field("/proc/meminfo", "MemTotal", mem, sizeof(mem)) &&
	    sscanf(mem, "%llu", &kib) == 1)
		c->mem_bytes = (uint64_t)kib << 10;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
	c->kvm = kvm_kind();
}

/* The 1-minute load average, or -1. */
static double loadavg1(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* All ticks (user .. steal, fields 1-8; guest time is already inside user) and the
 * steal ticks of the "cpu" line of /proc/stat; false if unreadable. */
static bool stat_ticks(uint64_t *all, uint64_t *steal)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = {0};
	int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			     &v[3], &v[4], &v[5], &v[6], &v[7])
		    : 0;
	if (f)
		fclose(f);
	*all = 0;
	for (int i = 0; i < 8; i++)
		*all += v[i];
	*steal = v[7];
	return got == 8;
}

void host_sample_begin(struct host_sample *s)
{
	*s = HOST_SAMPLE_EMPTY;
	s->load_before = loadavg1();
	if (!stat_ticks(&s->t0_ticks, &s->t0_steal))
		s->t0_ticks = 0;
}

void host_sample_end(struct host_sample *s, const struct host_ctx *c)
{
	uint64_t all, steal;
	s->load_after = loadavg1();
	if (s->t0_ticks && stat_ticks(&all, &steal) && all > s->t0_ticks) {
		s->ticks = all - s->t0_ticks;
		s->steal_ticks = steal - s->t0_steal;
		s->steal_pct = 100.0 * (double)s->steal_ticks / (double)s->ticks;
	}
	double cores = c->cores ? (double)c->cores : 1e300;
	s->overloaded = s->load_before > cores || s->load_after > cores;
}

static double max_known(double a, double b)
{
	return a < 0 ? b : b < 0 ? a : a > b ? a : b;
}

void host_sample_merge(struct host_sample *acc, const struct host_sample *s)
{
	acc->load_before = max_known(acc->load_before, s->load_before);
	acc->load_after = max_known(acc->load_after, s->load_after);
	acc->overloaded += s->overloaded;
	acc->ticks += s->ticks;
	acc->steal_ticks += s->steal_ticks;
	if (acc->ticks)
		acc->steal_pct = 100.0 * (double)acc->steal_ticks / (double)acc->ticks;
}

/* A CSV text field: quoted, inner quotes doubled. */
static void csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void host_ctx_csv(FILE *f, const struct host_ctx *c)
{
	csv_text(f, c->cpu_model);
	fprintf(f, ",%u,%llu,", c->cores, (unsigned long long)c->mem_bytes);
	csv_text(f, c->kernel);
	fprintf(f, ",%s", c->kvm);
}

static void csv_num(FILE *f, double v, const char *sep)
{
	if (v >= 0)
		fprintf(f, "%.2f", v);
	fputs(sep, f);
}

void host_sample_csv(FILE *f, const struct host_sample *s)
{
	csv_num(f, s->load_before, ",");
	csv_num(f, s->load_after, ",");
	csv_num(f, s->steal_pct, ",");
	fprintf(f, "%u", s->overloaded);
}

void host_ctx_json(struct json_buf *j, const struct host_ctx *c)
{
	json_str(j, "cpu_model", c->cpu_model);
	json_u64(j, "cores", c->cores);
	json_u64(j, "mem_bytes", c->mem_bytes);
	json_str(j, "kernel", c->kernel);
	json_str(j, "kvm", c->kvm);
}

/* A known value as a decimal with six places (json_ppm), else null. */
static void json_num(struct json_buf *j, const char *key, double v)
{
	if (v >= 0)
		json_ppm(j, key, (int64_t)(v * 1e6 + 0.5));
	else
		json_null(j, key);
}

void host_sample_json(struct json_buf *j, const struct host_sample *s)
{
	json_num(j, "load_before", s->load_before);
	json_num(j, "load_after", s->load_after);
	json_num(j, "steal_pct", s->steal_pct);
	json_u64(j, "overloaded", s->overloaded);
}
