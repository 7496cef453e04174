/* options.c: the vmm command line, parsed into one struct vmm_options.
 *
 *   vmm [options] guest.elf [-- workload args...]
 *
 * Every check that needs no file happens here (ranges of --cpus, --mem,
 * --timeout); the parser never exits, it returns -1 with a one-line message
 * so the tests can call it directly.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

int vmm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int vmm_parse_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (shift && (end[0] == 'i' && end[1] == 'B'))
		end += 2;
	else if (shift && end[0] == 'B')
		end++;
	if (*end != '\0')
		return -1;
	if (shift && n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long n = strtoul(s, &end, 10);
	if (errno || *end || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int check_mem(uint64_t mem, const char *arg, char *err, size_t errlen)
{
	if (mem < VMM_MIN_MEM || mem > VMM_MAX_MEM)
		return vmm_fail(err, errlen, "--mem %s: must be between 16M and 64G", arg);
	if (mem & (SIZE_2M - 1))
		return vmm_fail(err, errlen, "--mem %s: must be a multiple of 2M", arg);
	return 0;
}

enum { OPT_HOLES = 256, OPT_TRACE, OPT_OUT, OPT_TIMEOUT, OPT_DRY };
static const struct option long_opts[] = {
    {"cpus", required_argument, NULL, 'c'},
    {"mem", required_argument, NULL, 'm'},
    {"holes", no_argument, NULL, OPT_HOLES},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"out", required_argument, NULL, OPT_OUT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"dry-run", no_argument, NULL, OPT_DRY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; 0, 1 for help, -1 on error. */
static int parse_one(struct vmm_options *o, int c, const char *arg, char *err, size_t errlen)
{
	switch (c) {
	case 'c':
		if (parse_uint(arg, VMM_MAX_CPUS, &o->cpus) || o->cpus == 0)
			return vmm_fail(err, errlen, "--cpus %s: must be a number from 1 to %d", arg,
				    VMM_MAX_CPUS);
		return 0;
	case 'm':
		if (vmm_parse_size(arg, &o->mem))
			return vmm_fail(err, errlen, "--mem %s: not a size (e.g. 512M, 4G)", arg);
		return check_mem(o->mem, arg, err, errlen);
	case OPT_HOLES:
		o->holes = true;
		return 0;
	case OPT_TRACE:
		o->trace_path = arg;
		return 0;
	case OPT_OUT:
		o->out_path = arg;
		return 0;
	case OPT_DRY:
		o->dry_run = true;
		return 0;
	case OPT_TIMEOUT:
		if (parse_uint(arg, 7 * 24 * 3600, &o->timeout_s))
			return vmm_fail(err, errlen, "--timeout %s: not a number of seconds", arg);
		return 0;
	case 'h':
		return 1;
	default:
		return vmm_fail(err, errlen, "unknown option (see --help)");
	}
}

int vmm_options_parse(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen)
{
	*o = (struct vmm_options){.cpus = 1, .mem = 256ull << 20};
	err[0] = '\0';
	optind = 0; /* full reset: the tests parse several command lines */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:c:m:h", long_opts, NULL)) != -1) {
		if (c == ':')
			return vmm_fail(err, errlen, "%s needs a value", argv[optind - 1]);
		if (c == '?')
			return vmm_fail(err, errlen, "%s: unknown option (see --help)",
				    argv[optind - 1]);
		int r = parse_one(o, c, optarg, err, errlen);
		if (r)
			return r;
	}
	if (optind >= argc || strcmp(argv[optind], "--") == 0)
		return vmm_fail(err, errlen, "no guest ELF given (see --help)");
	o->elf_path = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	else if (optind < argc)
		return vmm_fail(err, errlen, "%s: unexpected argument (workload args go after --)",
			    argv[optind]);
	o->guest_argc = argc - optind;
	o->guest_argv = argv + optind;
	return 0;
}

int vmm_options_cmdline(const struct vmm_options *o, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return -1;
	buf[0] = '\0';
	for (int i = 0; i < o->guest_argc; i++) {
		size_t k = strlen(o->guest_argv[i]);
		if (n + k + (i > 0) + 1 > cap)
			return -1;
		if (i > 0)
			buf[n++] = ' ';
		memcpy(buf + n, o->guest_argv[i], k + 1);
		n += k;
	}
	return (int)n;
}

void vmm_usage(FILE *f)
{
	fputs("usage: vmm [options] guest.elf [-- workload args...]   (options before guest.elf)\n"
	      "Boots a memtestbed guest kernel on /dev/kvm, one thread per vCPU.\n"
	      "  -c, --cpus N      vCPUs, 1..64 (default 1)\n"
	      "  -m, --mem SIZE    guest RAM, 16M..64G, a multiple of 2M (default 256M)\n"
	      "      --holes       RAM as several regions with gaps (legacy 640K-1M hole,\n"
	      "                    a mid-memory hole, the PC hole below 4G)\n"
	      "      --trace FILE  load FILE at the top of RAM (PVH module 0, kernel memory)\n"
	      "                    (guest.elf and FILE: regular files no larger than --mem;\n"
	      "                    FIFOs and devices are refused, never waited on)\n"
	      "      --out FILE    result rows to FILE (written only if the guest exits 0)\n"
	      "      --timeout SEC watchdog: stop the guest after SEC seconds (0 = none)\n"
	      "      --dry-run     no KVM: load, lay out, print map, boot info, page tables\n"
	      "  -h, --help        this text\n"
	      "Numbers are decimal (010 is ten); an option with no value says so.\n"
	      "Exit status: 0 guest exited 0; 1 guest failed (exit code, panic, fault,\n"
	      "watchdog, bad hypercall); 2 bad command line or input file; 3 /dev/kvm\n"
	      "cannot be opened; 4 KVM or host failure.\n",
	      f);
}
