/* heap_ref.c: the reference-model pieces heap tests share: per-object byte
 * patterns (contents survive until free, realloc keeps them) and an interval
 * set (live objects never overlap). Invariant of the set: iv sorted by lo and
 * iv[i].hi <= iv[i+1].lo. */
#include <stdlib.h>
#include <string.h>

#include "heap_support.h"

static inline uint8_t ref_byte(uint64_t tag, size_t i)
{
	return (uint8_t)((tag >> ((i & 7) * 8)) ^ (i >> 3) ^ 0x5a);
}

void heap_ref_fill(void *p, size_t n, uint64_t tag)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = ref_byte(tag, i);
}

size_t heap_ref_verify(const void *p, size_t n, uint64_t tag)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != ref_byte(tag, i))
			return i;
	return n;
}

void heap_ref_set_init(struct heap_ref_set *s, size_t cap)
{
	s->n = 0;
	s->cap = cap;
	s->iv = calloc(cap, sizeof(*s->iv));
	if (!s->iv)
		abort();
}

void heap_ref_set_fini(struct heap_ref_set *s)
{
	free(s->iv);
	s->iv = NULL;
}

/* First index whose lo is >= lo. */
static size_t ref_lower(const struct heap_ref_set *s, uint64_t lo)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (s->iv[m][0] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

bool heap_ref_set_insert(struct heap_ref_set *s, uint64_t lo, uint64_t hi)
{
	size_t i = ref_lower(s, lo);
	if ((i < s->n && s->iv[i][0] < hi) || (i > 0 && s->iv[i - 1][1] > lo) || s->n == s->cap)
		return false;
	memmove(&s->iv[i + 1], &s->iv[i], (s->n - i) * sizeof(*s->iv));
	s->iv[i][0] = lo;
	s->iv[i][1] = hi;
	s->n++;
	return true;
}

bool heap_ref_set_remove(struct heap_ref_set *s, uint64_t lo)
{
	size_t i = ref_lower(s, lo);
	if (i == s->n || s->iv[i][0] != lo)
		return false;
	memmove(&s->iv[i], &s->iv[i + 1], (s->n - i - 1) * sizeof(*s->iv));
	s->n--;
	return true;
}
