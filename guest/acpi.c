/* acpi.c: the CPU list from the ACPI MADT (ACPI 6.x, 5.2.12).
 *
 * RSDP from hvm_start_info (boot.rsdp), else found by scanning the BIOS area
 * [0xe0000, 0x100000) on 16-byte boundaries for "RSD PTR " with a valid
 * checksum. Then XSDT (revision >= 2) or RSDT -> "APIC" table -> every enabled
 * Processor Local APIC entry (type 0, flags bit 0) and Local x2APIC entry
 * (type 9) gives one APIC id. Every table's checksum is verified; a broken or
 * missing table makes acpi_cpu_apic_ids return -1 (the caller falls back to
 * fw_cfg). Tables are read through the identity map.
 */
#include "kernel.h"

struct acpi_rsdp {
	char sig[8];
	uint8_t csum;
	char oem[6];
	uint8_t rev;
	uint32_t rsdt;
	uint32_t len;
	uint64_t xsdt;
	uint8_t xcsum, reserved[3];
} __attribute__((packed));

struct acpi_hdr {
	char sig[4];
	uint32_t len;
	uint8_t rev, csum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static bool sum_ok(const void *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

static const struct acpi_rsdp *find_rsdp(uint64_t hint)
{
	if (hint) {
		const struct acpi_rsdp *r = (const void *)(uintptr_t)hint;
		return __builtin_memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20) ? r : NULL;
	}
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const struct acpi_rsdp *r = (const void *)(uintptr_t)a;
		if (__builtin_memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20))
			return r;
	}
	return NULL;
}

static const struct acpi_hdr *table_at(uint64_t pa, const char *sig)
{
	const struct acpi_hdr *h = (const void *)(uintptr_t)pa;
	if (!pa || h->len < sizeof(*h) || h->len > (1u << 20) || !sum_ok(h, h->len))
		return NULL;
	return __builtin_memcmp(h->sig, sig, 4) == 0 ? h : NULL;
}

static const struct acpi_hdr *find_madt(const struct acpi_rsdp *r)
{
	bool x = r->rev >= 2 && r->xsdt;
	const struct acpi_hdr *root = x ? table_at(r->xsdt, "XSDT") : table_at(r->rsdt, "RSDT");
	if (!root)
		return NULL;
	size_t esz = x ? 8 : 4, n = (root->len - sizeof(*root)) / esz;
	const uint8_t *e = (const uint8_t *)(root + 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		__builtin_memcpy(&pa, e + i * esz, esz);
		const struct acpi_hdr *t = table_at(pa, "APIC");
		if (t)
			return t;
	}
	return NULL;
}

int acpi_cpu_apic_ids(uint32_t *ids, unsigned max)
{
	const struct acpi_rsdp *r = find_rsdp(boot.rsdp);
	const struct acpi_hdr *madt = r ? find_madt(r) : NULL;
	if (!madt)
		return -1;
	const uint8_t *p = (const uint8_t *)madt + sizeof(*madt) + 8; /* LAPIC addr, flags */
	const uint8_t *end = (const uint8_t *)madt + madt->len;
	unsigned n = 0;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t flags, id;
		if (p[0] == 0 && p[1] >= 8) { /* Processor Local APIC */
			__builtin_memcpy(&flags, p + 4, 4);
			id = p[3];
		} else if (p[0] == 9 && p[1] >= 16) { /* Processor Local x2APIC */
			__builtin_memcpy(&id, p + 4, 4);
			__builtin_memcpy(&flags, p + 8, 4);
		} else {
			p += p[1];
			continue;
		}
		if ((flags & 1) && n < max)
			ids[n++] = id;
		p += p[1];
	}
	return n ? (int)n : -1;
}
