/* hypercall.c: the one hypercall primitive of our VMM's ABI (abi.h): `outl port,
 * &buf`, the 32-bit guest-physical (== virtual) address of a struct hc_buf {addr, len}
 * on the caller's stack; the VMM has read it when the outl returns. Below the console
 * and the platform layer, which decide when to use it (boot.hypercalls).
 */
#include "kernel.h"
#include "x86.h"

void hypercall_buf(uint16_t port, uint64_t addr, uint64_t len)
{
	struct hc_buf b = {addr, len};
	outl(port, (uint32_t)(uintptr_t)&b);
}
