/* main.c: boot order of the boot CPU and the command line dispatcher.
 *
 * Order (each step needs the previous one): boot info and console
 * (platform_init), GDT/TSS/IDT and %gs (cpu_init), own page tables
 * (paging_init), TSC frequency (tsc_init), other CPUs (smp_init), the
 * allocators and the kernel heap (kmem_init), then the command. The command line is words separated by spaces; global options
 * (exit=acpi) are skipped, the first other word names the command ("name" or
 * "name=value", looked up in guest_commands[], commands.c) and the words after
 * it are its arguments. Global options: exit=acpi (platform.c), earlypad=MiB
 * (mm_init.c: a larger Early region, to make it span holes in tests), rmem=MiB
 * (mm_init.c: RAM set aside for the replay machine). The command's return value is
 * the exit code.
 */
#include "kernel.h"
#include "x86.h"

#define MAX_ARGS 32

extern char boot_stack_top[];
void kmain_bsp(uint64_t info_pa, uint64_t cpu, uint64_t ext_pa);

static bool is_global_option(const char *w)
{
	return __builtin_strcmp(w, "exit=acpi") == 0 || __builtin_memcmp(w, "earlypad=", 9) == 0 ||
	       __builtin_memcmp(w, "rmem=", 5) == 0;
}

/* Splits s in place into at most max words; returns the count. */
static int split_words(char *s, char **argv, int max)
{
	int argc = 0;
	while (*s) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		if (argc == max)
			return -1;
		argv[argc++] = s;
		while (*s && *s != ' ')
			s++;
	}
	return argc;
}

static const struct command *command_find(const char *word, const char **val)
{
	size_t n = 0;
	while (word[n] && word[n] != '=')
		n++;
	*val = word[n] == '=' ? word + n + 1 : "";
	for (unsigned i = 0; i < guest_ncommands; i++) {
		const char *name = guest_commands[i].name;
		if (__builtin_strlen(name) == n && __builtin_memcmp(name, word, n) == 0)
			return &guest_commands[i];
	}
	return NULL;
}

/* The command line's words live in one kernel-heap buffer (kmalloc) when the heap is
 * up, else in a static one. */
static int run_cmdline(void)
{
	static char static_buf[GUEST_CMDLINE_MAX];
	char *words[MAX_ARGS], *argv[MAX_ARGS];
	char *buf = kmem_heap_ok() ? kmalloc(GUEST_CMDLINE_MAX) : NULL;
	if (!buf)
		buf = static_buf;
	__builtin_memcpy(buf, boot.cmdline, GUEST_CMDLINE_MAX);
	int nw = split_words(buf, words, MAX_ARGS), argc = 0;
	if (nw < 0) {
		kprintf("error: more than %d words on the command line\n", MAX_ARGS);
		return 2;
	}
	for (int i = 0; i < nw; i++)
		if (argc > 0 || !is_global_option(words[i]))
			argv[argc++] = words[i];
	const char *val = "";
	const struct command *c = argc ? command_find(argv[0], &val) : NULL;
	if (!c) {
		kprintf("error: %s '%s'; commands:\n", argc ? "unknown command" : "no command",
			argc ? argv[0] : "");
		for (unsigned i = 0; i < guest_ncommands; i++)
			kprintf("  %-10s %s\n", guest_commands[i].name, guest_commands[i].help);
		return 2;
	}
	int rc = c->run(argc, argv, val);
	if (buf != static_buf)
		kfree(buf, GUEST_CMDLINE_MAX);
	return rc;
}

void kmain_bsp(uint64_t info_pa, uint64_t cpu, uint64_t ext_pa)
{
	uint64_t t[6];
	t[0] = rdtsc();
	platform_init(info_pa, ext_pa);
	cpu_init(0, boot.vmm_stack_top ? boot.vmm_stack_top : (uintptr_t)boot_stack_top);
	t[1] = rdtsc();
	paging_init(&boot.map);
	t[2] = rdtsc();
	tsc_init(boot.tsc_khz, !boot.hypercalls);
	t[3] = rdtsc();
	smp_init();
	kmem_init();
	t[4] = rdtsc();
	kprintf("memtestbed guest %s (%s) on %s: %u cpus (%s), %lu MiB usable, tsc %u kHz%s\n",
		guest_build_id, COMBO_NAME, boot.hypercalls ? "mtb-vmm" : "qemu", smp_ncpus(),
		smp_cpu_source(), mem_map_bytes(&boot.map, MEM_USABLE) >> 20, tsc_khz(),
		tsc_calibrated() ? "" : " (guessed)");
	t[5] = rdtsc();
	kprintf("init us: platform+cpu %lu, paging %lu, tsc %lu, smp+mm %lu, banner %lu\n",
		tsc_to_ns(t[1] - t[0]) / 1000, tsc_to_ns(t[2] - t[1]) / 1000,
		tsc_to_ns(t[3] - t[2]) / 1000, tsc_to_ns(t[4] - t[3]) / 1000,
		tsc_to_ns(t[5] - t[4]) / 1000);
	kprintf("cmdline: %s\n", boot.cmdline);
	boot.tsc_entry = t[0];
	boot.tsc_ready = rdtsc();
	guest_exit(run_cmdline());
}
