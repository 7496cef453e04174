/* platform.c: what differs between our VMM and QEMU/libvirt, behind one API.
 *
 * Under our VMM (mtb_boot_ext present with MTB_EXT_HYPERCALLS) console, results,
 * exit, panic and calibration are hypercalls: `outl port, &hc_buf` (guest-physical
 * == virtual here). Under QEMU they go to COM1: result rows as
 * MTB_RESULT_PREFIX + JSON, the exit code as MTB_EXIT_PREFIX + code, then
 * isa-debug-exit (status = code << 1 | 1) or, with `exit=acpi` on the command
 * line, ACPI S5 poweroff (libvirt). A panic prints MTB_PANIC_PREFIX + message and
 * exits with MTB_EXIT_PANIC. Boot info is copied out of hvm_start_info into
 * `boot` once, so nothing later depends on where the host put it.
 */
#include "kernel.h"
#include "x86.h"

extern char __kernel_start[], __kernel_end[];

struct boot_info boot;
static uint32_t panicking;

static const char *cmdline_find(const char *opt)
{
	size_t n = 0;
	while (opt[n])
		n++;
	for (const char *p = boot.cmdline; *p; p++) {
		if ((p == boot.cmdline || p[-1] == ' ') && __builtin_memcmp(p, opt, n) == 0 &&
		    (p[n] == ' ' || p[n] == '\0'))
			return p;
	}
	return NULL;
}

static void copy_cmdline(uint64_t pa)
{
	const char *s = (const char *)(uintptr_t)pa;
	size_t i = 0;
	if (pa)
		for (; s[i] && i + 1 < sizeof(boot.cmdline); i++)
			boot.cmdline[i] = s[i];
	boot.cmdline[i] = '\0';
}

static uint32_t memmap_type(uint32_t hvm_type)
{
	switch (hvm_type) {
	case HVM_MEMMAP_RAM:
		return MEM_USABLE;
	case HVM_MEMMAP_ACPI:
		return MEM_ACPI;
	case HVM_MEMMAP_NVS:
		return MEM_NVS;
	default:
		return MEM_RESERVED;
	}
}

/* Memory map from the PVH table, normalized, with the low 1 MiB (boot data,
 * trampoline), the kernel image and module 0 marked MEM_KERNEL. */
static void copy_memmap(const struct hvm_start_info *si)
{
	const struct hvm_memmap_table_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
	struct mem_map *m = &boot.map;
	m->count = 0;
	for (uint32_t i = 0; si->version >= 1 && e && i < si->memmap_entries; i++) {
		if (m->count == MEM_MAP_MAX)
			guest_panic("boot: memory map has more than MEM_MAP_MAX entries");
		m->r[m->count++] =
		    (struct mem_region){e[i].addr, e[i].size, memmap_type(e[i].type)};
	}
	if (mem_map_normalize(m) != MM_OK || mem_map_bytes(m, MEM_USABLE) == 0)
		guest_panic("boot: no usable memory in the memory map");
	uint64_t ks = (uintptr_t)__kernel_start, ke = (uintptr_t)__kernel_end;
	int rc = mem_map_set(m, 0, MTB_KERNEL_MIN_ADDR, MEM_KERNEL);
	rc |= mem_map_set(m, ks, ke - ks, MEM_KERNEL);
	if (boot.module_len)
		rc |= mem_map_set(m, boot.module_base, boot.module_len, MEM_KERNEL);
	if (rc)
		guest_panic("boot: memory map full");
}

void platform_init(uint64_t info_pa, uint64_t ext_pa)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)info_pa;
	const struct mtb_boot_ext *ext = (const void *)(uintptr_t)ext_pa;
	if (ext && ext->magic == MTB_BOOT_EXT_MAGIC) {
		boot.hypercalls = (ext->flags & MTB_EXT_HYPERCALLS) != 0;
		boot.vmm_lapic = (ext->flags & MTB_EXT_LAPIC) != 0;
		boot.vmm_ncpus = ext->ncpus;
		boot.tsc_khz = ext->tsc_khz;
		boot.vmm_stack_top = ext->stack_top;
		boot.vmm_stack_size = ext->stack_size;
	}
	if (!boot.hypercalls)
		serial_init();
	if (!si || si->magic != XEN_HVM_START_MAGIC)
		guest_panic("boot: bad hvm_start_info magic");
	copy_cmdline(si->cmdline_paddr);
	boot.exit_acpi = cmdline_find("exit=acpi") != NULL;
	boot.rsdp = si->rsdp_paddr;
	if (si->nr_modules > 0 && si->modlist_paddr) {
		const struct hvm_modlist_entry *mod = (const void *)(uintptr_t)si->modlist_paddr;
		boot.module_base = mod[0].paddr;
		boot.module_len = mod[0].size;
	}
	copy_memmap(si);
	boot.map0 = boot.map;
}

void result_emit(const char *kind, const char *fields_fmt, ...)
{
	char line[1024];
	int n =
	    ksnprintf(line, sizeof(line), "%s{\"kind\":\"%s\",\"combo\":\"%s\",\"build\":\"%s\"",
		      boot.hypercalls ? "" : MTB_RESULT_PREFIX, kind, COMBO_NAME, guest_build_id);
	va_list ap;
	va_start(ap, fields_fmt);
	if (fields_fmt[0] && n < (int)sizeof(line) - 1) {
		line[n++] = ',';
		n += kvsnprintf(line + n, sizeof(line) - (size_t)n, fields_fmt, ap);
	}
	va_end(ap);
	if (n > (int)sizeof(line) - 3)
		guest_panic("result_emit: result row longer than 1020 bytes");
	line[n++] = '}';
	if (boot.hypercalls) {
		hypercall_buf(HC_PORT_RESULT, (uintptr_t)line, (uint64_t)n);
		return;
	}
	line[n++] = '\n';
	console_write_locked(line, (size_t)n);
}

void result_emit_json(const char *json, size_t len)
{
	static struct spinlock lock;
	static char line[4200];
	if (boot.hypercalls) {
		hypercall_buf(HC_PORT_RESULT, (uintptr_t)json, len);
		return;
	}
	size_t pre = sizeof(MTB_RESULT_PREFIX) - 1;
	if (len + pre + 1 > sizeof(line))
		guest_panic("result_emit_json: result row longer than 4 KiB");
	spin_lock(&lock);
	__builtin_memcpy(line, MTB_RESULT_PREFIX, pre);
	__builtin_memcpy(line + pre, json, len);
	line[pre + len] = '\n';
	console_write_locked(line, pre + len + 1);
	spin_unlock(&lock);
}

void platform_calib(uint64_t iters, uint64_t tsc_cycles)
{
	struct hc_calib c = {iters, tsc_cycles};
	if (boot.hypercalls)
		hypercall_buf(HC_PORT_CALIB, (uintptr_t)&c, sizeof(c));
}

/* QEMU: isa-debug-exit, or ACPI poweroff; halts if neither device is there. */
static _Noreturn void qemu_exit(int code)
{
	if (!boot.exit_acpi)
		outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)code);
	outw(ACPI_PM1A_CNT_PORT, 0x2000);
	halt_forever();
}

void guest_exit(int code)
{
	if (boot.hypercalls) {
		outl(HC_PORT_EXIT, (uint32_t)code);
		halt_forever();
	}
	kprintf(MTB_EXIT_PREFIX "%d\n", code);
	qemu_exit(code);
}

void guest_panic(const char *msg)
{
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_ACQ_REL))
		halt_forever(); /* another CPU is already reporting */
	size_t len = 0;
	while (msg[len])
		len++;
	if (boot.hypercalls) {
		hypercall_buf(HC_PORT_PANIC, (uintptr_t)msg, len);
		halt_forever();
	}
	/* No console lock: the panicking CPU may hold it. */
	char tail[32];
	int n = ksnprintf(tail, sizeof(tail), "\n" MTB_EXIT_PREFIX "%d\n", MTB_EXIT_PANIC);
	serial_write("\n" MTB_PANIC_PREFIX, sizeof(MTB_PANIC_PREFIX));
	serial_write(msg, len);
	serial_write(tail, (size_t)n);
	qemu_exit(MTB_EXIT_PANIC);
}

void mm_panic(const char *msg)
{
	guest_panic(msg);
}
