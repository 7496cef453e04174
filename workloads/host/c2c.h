/* c2c.h: what moving one cache line between two CPUs costs on this machine now (c2c.c). */
#ifndef WL_C2C_H
#define WL_C2C_H

/* ns per round trip of one 64-byte line between threads pinned to CPUs a and b
 * (iters round trips; two line transfers each); -1 if a thread cannot be pinned
 * (no such CPU) or started. */
double c2c_roundtrip_ns(unsigned a, unsigned b, unsigned iters);

#endif
