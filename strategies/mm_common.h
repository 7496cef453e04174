/* mm_common.h: types, error codes and the panic seam shared by every strategy.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>, <stdatomic.h> (the
 * compiler's own headers). Strategies keep no globals: every function takes its
 * state explicitly, so host tests can run many instances side by side.
 *
 * Error convention: 0 on success, a negative MM_E* code on failure.
 * Out-of-memory is a return value (MM_ENOMEM); a broken invariant calls
 * mm_panic(), which the environment (guest kernel or host harness) provides.
 */
#ifndef MM_COMMON_H
#define MM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_OK	   0
#define MM_ENOMEM  (-12)
#define MM_EBUSY   (-16)
#define MM_EINVAL  (-22)
#define MM_ENOTSUP (-95)

#define PAGE_SHIFT 12
#define PAGE_SIZE  ((uint64_t)1 << PAGE_SHIFT)
#define SIZE_2M	   ((uint64_t)1 << 21)
#define SIZE_1G	   ((uint64_t)1 << 30)

#define MM_ALIGN_UP(x, a)   (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define MM_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MM_IS_POW2(x)	    ((x) != 0 && ((x) & ((x)-1)) == 0)
#define MM_MIN(a, b)	    ((a) < (b) ? (a) : (b))
#define MM_MAX(a, b)	    ((a) > (b) ? (a) : (b))

/* MM_DEBUG=1 (host test builds) turns on expensive invariant checks. */
#ifndef MM_DEBUG
#define MM_DEBUG 0
#endif

/* Provided by the environment; prints msg and never returns. */
_Noreturn void mm_panic(const char *msg);

#define MM_STR2(x) #x
#define MM_STR(x)  MM_STR2(x)
/* Cheap assertion, always on: a broken invariant is a panic with a message. */
#define MM_ASSERT(cond, msg)                                                                     \
	do {                                                                                     \
		if (!(cond))                                                                     \
			mm_panic(__FILE__ ":" MM_STR(__LINE__) ": " msg);                        \
	} while (0)

/* ---- physical memory map ------------------------------------------------ */

enum mem_type {
	MEM_USABLE = 1,	  /* RAM the frame allocator may hand out */
	MEM_RESERVED = 2, /* firmware, device, or carved out by the kernel */
	MEM_ACPI = 3,
	MEM_NVS = 4,
	MEM_KERNEL = 16,  /* kernel image, boot data, trace blob, Early frames */
};

#define MEM_MAP_MAX 64

struct mem_region {
	uint64_t base; /* bytes */
	uint64_t len;  /* bytes */
	uint32_t type; /* enum mem_type */
};

/* Sorted by base, non-overlapping after mem_map_normalize(). */
struct mem_map {
	uint32_t count;
	struct mem_region r[MEM_MAP_MAX];
};

/* Sorts, drops empty entries and resolves overlaps (non-usable wins); 0 or MM_EINVAL. */
int mem_map_normalize(struct mem_map *map);
/* Marks [base, base+len) as type in a normalized map; 0, or MM_ENOMEM if out of slots. */
int mem_map_set(struct mem_map *map, uint64_t base, uint64_t len, uint32_t type);
/* Bytes of type `type` in the map. */
uint64_t mem_map_bytes(const struct mem_map *map, uint32_t type);
/* True if [base, base+len) lies inside one region of the given type. */
bool mem_map_covers(const struct mem_map *map, uint64_t base, uint64_t len, uint32_t type);
/* One past the highest address of any usable region (0 if none). */
uint64_t mem_map_end(const struct mem_map *map);

/* ---- tiny freestanding helpers ------------------------------------------ */

static inline unsigned mm_log2_floor(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

static inline unsigned mm_log2_ceil(uint64_t x)
{
	return x <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(x - 1);
}

/* Freestanding memset/memcpy replacements (the guest also defines the libc names). */
static inline void mm_zero(void *p, size_t n)
{
	__builtin_memset(p, 0, n);
}

#endif
