/* c2c.h: what moving one cache line between two CPUs costs on this machine now (c2c.c). */
#ifndef WL_C2C_H
#define WL_C2C_H

/* ns per round trip of one 64-byte line between threads pinned to CPUs a and b
 * (the mean of 20,000 round trips, two line transfers each; a few ms); -1 if a
 * thread cannot be pinned (no such CPU: one core, say) or started. */
double c2c_roundtrip_ns(unsigned a, unsigned b);

#endif
