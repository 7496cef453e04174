/* lapic.c: this CPU's local APIC and the legacy 8259 PICs, below the trap entry
 * (cpu.c acknowledges with lapic_eoi) and the CPU bring-up (smp.c).
 *
 * Every CPU's LAPIC sits at the same physical address (IA32_APIC_BASE, identity-mapped),
 * so one lapic_base serves all; lapic_enable sets it before any other call on that CPU.
 * IPIs are sent by writing ICR high (destination) then ICR low (command), and waiting
 * for the delivery-status bit (12) to clear.
 */
#include "kernel.h"
#include "x86.h"

#define LAPIC_ID     0x20
#define LAPIC_EOI    0xb0
#define LAPIC_SVR    0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static volatile uint64_t lapic_base;

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(lapic_base + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(lapic_base + reg);
}

static void lapic_send(uint32_t hi, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, hi);
	lapic_write(LAPIC_ICR_LO, lo);
	while (lapic_read(LAPIC_ICR_LO) & (1u << 12)) /* delivery pending */
		cpu_relax();
}

void lapic_ipi(uint32_t apic_id, uint32_t cmd)
{
	lapic_send(apic_id << 24, cmd);
}

void lapic_ipi_others(uint8_t vector)
{
	smp_mb();
	lapic_send(0, (3u << 18) | (1u << 14) | vector); /* all but self, fixed */
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void pic_disable(void)
{
	static const uint8_t init[][2] = {
	    {0x20, 0x11}, {0xa0, 0x11}, /* ICW1: init, ICW4 follows */
	    {0x21, 0x20}, {0xa1, 0x28}, /* ICW2: vector bases */
	    {0x21, 0x04}, {0xa1, 0x02}, /* ICW3: cascade on IRQ2 */
	    {0x21, 0x01}, {0xa1, 0x01}, /* ICW4: 8086 mode */
	    {0x21, 0xff}, {0xa1, 0xff}, /* mask all */
	};
	for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		outb(init[i][0], init[i][1]);
}

void lapic_enable(void)
{
	lapic_base = rdmsr(MSR_APIC_BASE) & ~0xfffull;
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	__asm__ volatile("sti" ::: "memory");
}
