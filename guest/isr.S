/* isr.S: exception entry stubs. Each pushes (error code or 0, vector) so the
 * stack always holds a struct trap_frame (cpu.c) when isr_common calls
 * trap_handler(frame). isr_table lists the 32 stubs for idt setup. */
	.section .text
	.code64

.macro ISR_NOERR n
isr\n:
	pushq $0
	pushq $\n
	jmp isr_common
.endm
.macro ISR_ERR n
isr\n:
	pushq $\n
	jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31
/* IPI_VECTOR (0xf0), WAKE_VECTOR (0xf1), the LAPIC spurious vector: no error code */
ISR_NOERR 240
ISR_NOERR 241
ISR_NOERR 255

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	cld
	mov %rsp, %rdi
	call trap_handler
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

/* int probe_read64(uint64_t addr, uint64_t *out): *out = *(uint64_t *)addr and 0, or
 * 1 when that load page-faulted and trap_handler (cpu.c) resumed at the fixup because
 * this CPU expected it (cpu_probe_read). Only the load at probe_read64_insn is covered. */
	.globl probe_read64, probe_read64_insn, probe_read64_fixup
probe_read64:
probe_read64_insn:
	mov (%rdi), %rax
	mov %rax, (%rsi)
	xor %eax, %eax
	ret
probe_read64_fixup:
	mov $1, %eax
	ret

	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr\n
	.endr
	.globl isr_ipi
isr_ipi:
	.quad isr240
	.globl isr_wake
isr_wake:
	.quad isr241
	.globl isr_spurious
isr_spurious:
	.quad isr255

	.section .note.GNU-stack, "", @progbits
