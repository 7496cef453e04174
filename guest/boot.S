/* boot.S: the two entries of the guest ELF.
 *
 *  _start64      (ELF e_entry) our VMM: every vCPU starts here in long mode with
 *                rdi = hvm_start_info, rsi = cpu id, rdx = mtb_boot_ext, rsp = stack.
 *                CPU 0 runs kmain_bsp; the others run kmain_ap_vmm, which waits
 *                until the boot CPU has set up the kernel's tables.
 *  pvh_start32   (Xen PVH ELF note, type 18) QEMU/libvirt: 32-bit protected mode,
 *                paging off, ebx = hvm_start_info. Builds boot page tables that
 *                identity-map [0, 4 GiB) with 2 MiB pages, enables long mode and
 *                jumps to kmain_bsp(ebx, 0, 0) on boot_stack.
 * The kernel is linked and loaded at 1 MiB (linker.ld), so virtual == physical.
 */
#define BOOT_STACK_SIZE 0x4000

	.section .note.Xen, "a"
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 8			/* descsz: QEMU reads a 64-bit entry from a 64-bit ELF */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.balign 4

	.section .text.boot, "ax"
	.code64
	.globl _start64
_start64:
	cld
	xor %ebp, %ebp
	test %rsi, %rsi
	jnz 1f
	call kmain_bsp
	jmp 2f
1:	call kmain_ap_vmm
2:	cli
	hlt
	jmp 2b

	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %edi
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3 */
	movl $(boot_pdpt + 3), boot_pml4
	movl $0, boot_pml4 + 4
	mov $boot_pdpt, %edx
	mov $(boot_pd + 3), %eax
	mov $4, %ecx
1:	mov %eax, (%edx)
	movl $0, 4(%edx)
	add $8, %edx
	add $4096, %eax
	loop 1b
	/* 2048 2 MiB pages: present | write | PS */
	mov $boot_pd, %edx
	mov $0x83, %eax
	mov $2048, %ecx
2:	mov %eax, (%edx)
	movl $0, 4(%edx)
	add $8, %edx
	add $0x200000, %eax
	loop 2b

	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	lgdt boot_gdtr
	ljmp $0x08, $pvh_start64

	.code64
pvh_start64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	mov %edi, %edi			/* rdi = hvm_start_info (zero-extended) */
	xor %esi, %esi
	xor %edx, %edx
	xor %ebp, %ebp
	call kmain_bsp
3:	cli
	hlt
	jmp 3b

	.section .rodata.boot, "a"
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss.boot, "aw", @nobits
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.balign 4096
	.globl boot_stack
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
