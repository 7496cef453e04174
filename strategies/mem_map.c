/* mem_map.c: normalizing and editing the physical memory map.
 *
 * After mem_map_normalize() the regions are sorted by base, non-empty and
 * disjoint: r[i].base + r[i].len <= r[i+1].base. Where a usable region overlaps
 * any other type, the other type wins (firmware maps under QEMU -M microvm are
 * unsorted and may overlap; see PLATFORM-NOTES.md).
 */
#include "mm_common.h"

static void map_sort(struct mem_map *m)
{
	for (uint32_t i = 1; i < m->count; i++) {
		struct mem_region x = m->r[i];
		uint32_t j = i;
		while (j > 0 && m->r[j - 1].base > x.base) {
			m->r[j] = m->r[j - 1];
			j--;
		}
		m->r[j] = x;
	}
}

static void map_remove(struct mem_map *m, uint32_t i)
{
	for (uint32_t j = i + 1; j < m->count; j++)
		m->r[j - 1] = m->r[j];
	m->count--;
}

static int map_insert(struct mem_map *m, uint32_t i, struct mem_region x)
{
	if (m->count == MEM_MAP_MAX)
		return MM_ENOMEM;
	for (uint32_t j = m->count; j > i; j--)
		m->r[j] = m->r[j - 1];
	m->r[i] = x;
	m->count++;
	return MM_OK;
}

/* Merges touching regions of the same type. */
static void map_merge(struct mem_map *m)
{
	uint32_t i = 0;
	while (i + 1 < m->count) {
		struct mem_region *a = &m->r[i], *b = &m->r[i + 1];
		if (a->type == b->type && a->base + a->len == b->base) {
			a->len += b->len;
			map_remove(m, i + 1);
		} else {
			i++;
		}
	}
}

int mem_map_normalize(struct mem_map *map)
{
	struct mem_map in = *map;
	if (in.count > MEM_MAP_MAX)
		return MM_EINVAL;
	map->count = 0;
	/* Usable regions first, then every other region overrides them. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < in.count; i++) {
			struct mem_region r = in.r[i];
			if (r.len == 0 || r.base + r.len < r.base)
				continue;
			if ((r.type == MEM_USABLE) != (pass == 0))
				continue;
			if (mem_map_set(map, r.base, r.len, r.type) != MM_OK)
				return MM_EINVAL;
		}
	}
	return MM_OK;
}

int mem_map_set(struct mem_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	uint64_t end = base + len;
	if (len == 0)
		return MM_OK;
	if (end < base)
		return MM_EINVAL;
	/* Cut every region that overlaps [base, end) down to its outside parts. */
	for (uint32_t i = 0; i < map->count; i++) {
		struct mem_region *r = &map->r[i];
		uint64_t rend = r->base + r->len;
		if (rend <= base || r->base >= end)
			continue;
		struct mem_region tail = {end, rend > end ? rend - end : 0, r->type};
		r->len = r->base < base ? base - r->base : 0;
		if (tail.len && map_insert(map, i + 1, tail) != MM_OK)
			return MM_ENOMEM;
		if (r->len == 0) {
			map_remove(map, i);
			i--;
		}
	}
	struct mem_region x = {base, len, type};
	if (map_insert(map, map->count, x) != MM_OK)
		return MM_ENOMEM;
	map_sort(map);
	map_merge(map);
	return MM_OK;
}

uint64_t mem_map_bytes(const struct mem_map *map, uint32_t type)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < map->count; i++)
		if (map->r[i].type == type)
			n += map->r[i].len;
	return n;
}

bool mem_map_covers(const struct mem_map *map, uint64_t base, uint64_t len, uint32_t type)
{
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type == type && r->base <= base && base + len <= r->base + r->len)
			return true;
	}
	return false;
}

uint64_t mem_map_end(const struct mem_map *map)
{
	uint64_t end = 0;
	for (uint32_t i = 0; i < map->count; i++)
		if (map->r[i].type == MEM_USABLE)
			end = MM_MAX(end, map->r[i].base + map->r[i].len);
	return end;
}
