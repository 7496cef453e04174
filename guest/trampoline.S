/* trampoline.S: the 16-bit entry of application processors under QEMU.
 *
 * smp.c copies [ap_trampoline, ap_trampoline_end) to TRAMPOLINE_ADDR (0x8000,
 * SIPI vector 0x08) and fills the parameter block at its end: page-table root,
 * the base and size of the AP stack array, and the 64-bit entry. All APs may run
 * it at once: each reads its initial APIC id (CPUID 1, EBX[31:24]), takes the
 * stack top stack_base + (id + 1) * stack_size and calls entry(id). An AP goes real mode ->
 * protected mode -> long mode (with the kernel's page tables, which lie below
 * 4 GiB). All addresses are relative to the copy:
 * T(x) = x - ap_trampoline + TRAMPOLINE_ADDR.
 */
#define TRAMPOLINE_ADDR 0x8000
#define T(x) ((x) - ap_trampoline + TRAMPOLINE_ADDR)

	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline
ap_trampoline:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl T(tr_gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $T(tr_32)

	.code32
tr_32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov T(tr_cr3), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax
	mov %eax, %cr0
	ljmp $0x18, $T(tr_64)

	.code64
tr_64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $1, %eax
	cpuid
	shr $24, %ebx
	mov %rbx, %rdi			/* entry(apic id) */
	cmp $64, %rdi			/* GUEST_MAX_CPUS: no stack for it, stop */
	jae 1f
	lea 1(%rdi), %rax
	imul T(tr_stack_size), %rax
	add T(tr_stack_base), %rax
	mov %rax, %rsp
	mov T(tr_entry), %rax
	xor %ebp, %ebp
	call *%rax
1:	cli
	hlt
	jmp 1b

	.balign 8
tr_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tr_gdt_end:
tr_gdtr:
	.word tr_gdt_end - tr_gdt - 1
	.long T(tr_gdt)
	.balign 8
	/* parameter block, filled by smp.c (struct trampoline_params) */
	.globl ap_trampoline_params
ap_trampoline_params:
tr_cr3:	.quad 0
tr_stack_base: .quad 0
tr_stack_size: .quad 0
tr_entry: .quad 0
	.globl ap_trampoline_end
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
