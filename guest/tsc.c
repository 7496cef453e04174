/* tsc.c: time from the TSC.
 *
 * The TSC frequency comes from the host (mtb_boot_ext.tsc_khz under our VMM),
 * else under our VMM from the hypervisor timing leaf CPUID 0x40000010 (EAX = TSC
 * kHz; our VMM may have no PIT, and every port access is a slow exit), else it
 * is measured against the PIT (1.193182 MHz): channel 0 runs in mode 2 with
 * reload 0x10000 and is polled with latch commands, so no interrupts and no
 * port 0x61 (absent under -M microvm) are needed:
 *   tsc_khz = tsc_cycles * PIT_HZ / (pit_ticks * 1000), over PIT_CAL_TICKS ticks.
 * If the PIT does not count, a 1 GHz guess is used and tsc_calibrated() is false.
 */
#include "kernel.h"
#include "x86.h"

#define PIT_HZ	      1193182ull
#define PIT_CAL_TICKS (PIT_HZ / 100) /* 10 ms: error ~ poll time (us) / 10 ms */

static uint32_t khz;
static bool calibrated;

static uint16_t pit_read(void)
{
	outb(0x43, 0x00); /* latch channel 0 */
	uint8_t lo = inb(0x40);
	uint8_t hi = inb(0x40);
	return (uint16_t)(lo | (hi << 8));
}

/* TSC kHz measured against the PIT, or 0 if the PIT does not count. */
static uint32_t pit_calibrate(void)
{
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
	outb(0x40, 0x00);
	outb(0x40, 0x00);
	uint16_t prev = pit_read();
	uint64_t ticks = 0, t0 = rdtsc();
	for (uint64_t polls = 0; ticks < PIT_CAL_TICKS; polls++) {
		uint16_t cur = pit_read();
		ticks += (uint16_t)(prev - cur);
		prev = cur;
		if (polls > 50000000ull && ticks == 0)
			return 0;
	}
	uint64_t cycles = rdtsc() - t0;
	return (uint32_t)(cycles * PIT_HZ / (ticks * 1000));
}

/* TSC kHz from CPUID 0x40000010 when a hypervisor offers it, else 0. */
static uint32_t cpuid_tsc_khz(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31))) /* no hypervisor */
		return 0;
	cpuid(0x40000000u, 0, r);
	if (r[0] < 0x40000010u)
		return 0;
	cpuid(0x40000010u, 0, r);
	return r[0];
}

void tsc_init(uint32_t khz_hint, bool pit_ok)
{
	khz = khz_hint;
	if (!khz)
		khz = cpuid_tsc_khz();
	if (!khz && pit_ok)
		khz = pit_calibrate();
	calibrated = khz != 0;
	if (!khz)
		khz = 1000000;
}

uint32_t tsc_khz(void)
{
	return khz;
}

bool tsc_calibrated(void)
{
	return calibrated;
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	return cycles / khz * 1000000ull + cycles % khz * 1000000ull / khz;
}

void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us * khz / 1000;
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}
