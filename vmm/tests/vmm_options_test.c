/* vmm_options_test.c: size parsing and the vmm command line (vmm/options.c). */
#include "../../strategies/tests/testlib.h"

#include "../vmm.h"

static int parse(struct vmm_options *o, char *err, const char *const *args)
{
	static char *argv[32]; /* the options point into it after we return */
	int argc = 0;
	argv[argc++] = (char *)"vmm";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return vmm_options_parse(o, argc, argv, err, VMM_ERRLEN);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"0", 0},
	    {"4096", 4096},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"512M", 512ull << 20},
	    {"4G", 4ull << 30},
	    {"4GiB", 4ull << 30},
	    {"2MB", 2ull << 20},
	    {"1T", 1ull << 40},
	    {"16777215T", 16777215ull << 40},
	};
	static const char *const bad[] = {
	    "",		 "M",	"-1", "1X", "1KK", "1 G", "12e3", "0x10", "18446744073709551616",
	    "16777216T", "1Gi", " 1"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 1;
		CHECK(vmm_parse_size(ok[i].s, &v) == 0, "'%s' rejected", ok[i].s);
		CHECK(v == ok[i].v, "'%s' -> %llu", ok[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		CHECK(vmm_parse_size(bad[i], &v) == -1, "'%s' accepted", bad[i]);
	}
	CHECK(vmm_parse_size(NULL, &(uint64_t){0}) == -1, "NULL accepted");
}

static void test_good_lines(void)
{
	struct vmm_options o;
	char err[VMM_ERRLEN], cmd[64];
	CHECK(parse(&o, err, (const char *[]){"g.elf", NULL}) == 0, "%s", err);
	CHECK(o.cpus == 1 && o.mem == 256ull << 20 && !o.holes && !o.dry_run && o.timeout_s == 0,
	      "defaults");
	CHECK(strcmp(o.elf_path, "g.elf") == 0 && o.guest_argc == 0, "elf path");
	CHECK(parse(&o, err,
		    (const char *[]){"--cpus", "64", "--mem=4G", "--holes", "--trace", "t.bin",
				     "--out", "r.jsonl", "--timeout", "5", "--dry-run", "g.elf",
				     "--", "selftest", "fault=pf", NULL}) == 0,
	      "%s", err);
	CHECK(o.cpus == 64 && o.mem == 4ull << 30 && o.holes && o.dry_run && o.timeout_s == 5,
	      "values");
	CHECK(strcmp(o.trace_path, "t.bin") == 0 && strcmp(o.out_path, "r.jsonl") == 0, "paths");
	CHECK(o.guest_argc == 2 && strcmp(o.guest_argv[1], "fault=pf") == 0, "guest args");
	CHECK(vmm_options_cmdline(&o, cmd, sizeof(cmd)) == 17 &&
		  strcmp(cmd, "selftest fault=pf") == 0,
	      "cmdline '%s'", cmd);
	CHECK(vmm_options_cmdline(&o, cmd, 17) == -1, "cmdline must not fit in 17 bytes");
	CHECK(vmm_options_cmdline(&o, cmd, 18) == 17, "cmdline fits in 18 bytes");
	CHECK(parse(&o, err, (const char *[]){"-c", "2", "-m", "16M", "g.elf", "--", NULL}) == 0,
	      "%s", err);
	CHECK(o.cpus == 2 && o.mem == 16ull << 20 && o.guest_argc == 0, "short options");
	CHECK(parse(&o, err, (const char *[]){"--help", NULL}) == 1, "--help");
	CHECK(parse(&o, err, (const char *[]){"g.elf", "--", "--cpus", "3", NULL}) == 0 &&
		  o.cpus == 1 && o.guest_argc == 2,
	      "options after -- belong to the guest");
}

static void test_bad_lines(void)
{
	static const struct {
		const char *args[6];
		const char *needle;
	} bad[] = {
	    {{"--cpus", "0", "g.elf"}, "--cpus 0"},
	    {{"--cpus", "65", "g.elf"}, "--cpus 65"},
	    {{"--cpus", "x", "g.elf"}, "--cpus x"},
	    {{"--cpus", "-1", "g.elf"}, "--cpus -1"},
	    {{"--mem", "1K", "g.elf"}, "--mem 1K"},
	    {{"--mem", "65G", "g.elf"}, "--mem 65G"},
	    {{"--mem", "17M", "g.elf"}, "multiple of 2M"},
	    {{"--mem", "lots", "g.elf"}, "not a size"},
	    {{"--timeout", "soon", "g.elf"}, "--timeout"},
	    {{"--bogus", "g.elf"}, "--bogus"},
	    {{"-x", "g.elf"}, "-x"},
	    {{"--cpus"}, "--cpus"},
	    {{NULL}, "no guest ELF"},
	    {{"g.elf", "extra"}, "extra"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_options o;
		char err[VMM_ERRLEN];
		CHECK(parse(&o, err, bad[i].args) == -1, "case %zu accepted", i);
		CHECK(strstr(err, bad[i].needle) && !strchr(err, '\n'),
		      "case %zu: message '%s' lacks '%s'", i, err, bad[i].needle);
	}
}

int main(void)
{
	test_sizes();
	test_good_lines();
	test_bad_lines();
	printf("vmm_options_test: ok\n");
	return 0;
}
