/* console.c: the COM1 UART (16550, 115200 8N1, polled), the console (our VMM's
 * console hypercall when boot.hypercalls, else the UART) and kprintf, below platform.c.
 *
 * kprintf formats into a stack buffer and hands the whole message to
 * console_write under console_lock, so lines from different CPUs never
 * interleave. The panic path writes without the lock (see platform.c).
 */
#include "kernel.h"
#include "x86.h"

static struct spinlock console_lock;

void serial_init(void)
{
	outb(COM1_PORT + 1, 0x00); /* no interrupts */
	outb(COM1_PORT + 3, 0x80); /* DLAB */
	outb(COM1_PORT + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1_PORT + 1, 0x00);
	outb(COM1_PORT + 3, 0x03); /* 8N1 */
	outb(COM1_PORT + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1_PORT + 4, 0x03); /* DTR | RTS */
}

static void serial_putc(char c)
{
	for (unsigned spins = 0; !(inb(COM1_PORT + 5) & 0x20) && spins < 100000; spins++)
		cpu_relax();
	outb(COM1_PORT, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

void console_write(const char *s, size_t len)
{
	if (boot.hypercalls)
		hypercall_buf(HC_PORT_CONSOLE, (uintptr_t)s, len);
	else
		serial_write(s, len);
}

void console_write_locked(const char *s, size_t len)
{
	spin_lock(&console_lock);
	console_write(s, len);
	spin_unlock(&console_lock);
}

void kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	console_write_locked(buf, (size_t)n);
}
