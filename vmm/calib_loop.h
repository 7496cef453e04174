/* calib_loop.h: the calibration loop, one instruction sequence shared by the
 * guest (which reports its TSC cycles through HC_PORT_CALIB) and the VMM
 * (which times it natively): ratio = guest cycles / host cycles.
 * Freestanding (only <stdint.h>): the guest may include it as is.
 */
#ifndef VMM_CALIB_LOOP_H
#define VMM_CALIB_LOOP_H

#include <stdint.h>

/* Runs `iters` iterations of a dependent decrement loop between two
 * serialized rdtsc reads; returns the elapsed TSC cycles. */
static inline uint64_t mtb_calib_loop(uint64_t iters)
{
	uint32_t lo0, hi0, lo1, hi1;
	uint64_t n = iters;
	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo0), "=d"(hi0)::"memory");
	__asm__ volatile("test %0, %0\n\tjz 2f\n"
			 "1:\tdec %0\n\tjnz 1b\n2:"
			 : "+r"(n)::"cc");
	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo1), "=d"(hi1)::"memory");
	return (((uint64_t)hi1 << 32) | lo1) - (((uint64_t)hi0 << 32) | lo0);
}

#endif
