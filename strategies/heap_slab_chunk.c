/* heap_slab_chunk.c: where the slab heap's slabs and their pages come from and
 * go back to.
 *
 * A CPU gets a slab of span k (slots) from, in order: its EMPTY slabs of span k
 * (committed pages kept), k consecutive UNUSED slots in one of the first
 * SLAB_OPEN_SCAN chunks of its open list, a kept idle chunk with its EMPTY
 * slabs decommitted, a new 2 MiB chunk from the VA allocator (only its header
 * pages mapped: one, a small chunk of slots [1, SLAB_SMALL_SLOTS), while the CPU
 * is sparse and the span fits there, else two). A full chunk going idle takes the
 * place of a kept small one. A slab's pages are committed on
 * demand, a prefix at a time (slab_commit): the next object, or a step of as
 * many pages as the slab has (doubling) or 1/512 of the CPU's committed slab
 * pages, whichever is more, at most SLAB_COMMIT_MAX (256 KiB); only the next
 * object while the CPU is sparse (heap_slab.c; a page at a time for small
 * objects) and for objects of SLAB_COMMIT_BIG (32 KiB) or more, which are 8 pages
 * a map call already (a step past such an object was up to 256 KiB committed and
 * unused per slab: 0.45 MiB of gs-render's 21 MiB peak). So a slab's committed
 * part beyond its bumped objects is under max(their bytes, 1/512 of the CPU's
 * slab pages, 256 KiB) plus a page: a class used for a few small
 * objects in a small heap costs one page, and a big heap grows in big steps
 * (each step is a map call: page-table edits, an mmap in the host engine). An
 * emptied slab is kept EMPTY (stamped with c->empty_seq in its bump field); while
 * the CPU's EMPTY slabs hold more than keep_pages pages the oldest of them is
 * decommitted (unmapped, the mmu invalidates the TLB, frames freed) and its slots
 * go UNUSED. EMPTY slabs are a cache below the high-water mark, with a grace:
 * before the CPU maps frames (a commit, a chunk header, a large object) that
 * would take the heap above its peak, it decommits EMPTY slabs of any span,
 * largest span first, until it would not or only c->grace pages of them are left
 * (slab_before_map); each such decommit adds its pages to the grace, capped at
 * min(slab_pages >> SLAB_GRACE_SHIFT, SLAB_GRACE_PAGES): at most 1/16 of the CPU's
 * slab pages and 2 MiB stay committed above the peak, so spans alternating at
 * the peak stop trading a decommit for a commit. A chunk with no ACTIVE
 * slab is kept while the CPU keeps fewer than env->keep_empty_chunks such
 * chunks, else every mapping in it is removed and its address range returned.
 * Frame accounting: h->frames == sum over chunks (header pages + npages of each
 * EMPTY or ACTIVE slab) + h->large_frames.
 * Layer (heap_slab.h): calls heap_slab_class.c and heap_slab_lcache.c (the large
 * cache yields first in slab_before_map) only; when slab_get_room fails,
 * heap_slab.c reclaims (remote frees sent, parked slabs unparked, caches dropped)
 * and retries.
 */
#include "heap_slab.h"

#define SLAB_OPEN_SCAN 8 /* open chunks searched for a run of free slots */

static void chunk_list_push(struct slab_chunk **head, struct slab_chunk *ch, bool open)
{
	struct slab_chunk **nx = open ? &ch->open_next : &ch->next;
	struct slab_chunk **pv = open ? &ch->open_prev : &ch->prev;
	*pv = NULL;
	*nx = *head;
	if (*head)
		*(open ? &(*head)->open_prev : &(*head)->prev) = ch;
	*head = ch;
}

static void chunk_list_remove(struct slab_chunk **head, struct slab_chunk *ch, bool open)
{
	struct slab_chunk *nx = open ? ch->open_next : ch->next;
	struct slab_chunk *pv = open ? ch->open_prev : ch->prev;
	if (pv)
		*(open ? &pv->open_next : &pv->next) = nx;
	else
		*head = nx;
	if (nx)
		*(open ? &nx->open_prev : &nx->prev) = pv;
}

/* A new chunk owned by cpu, every slab slot UNUSED, for a slab of span k: a small
 * one (one header page, slots below SLAB_SMALL_SLOTS) while cpu is sparse and k fits
 * there; NULL when out of VA or frames. */
static struct slab_chunk *chunk_new(struct slab_heap *h, unsigned cpu, unsigned k)
{
	struct slab_cpu *c = &h->cpu[cpu];
	unsigned hp = c->sparse && k < SLAB_SMALL_SLOTS ? 1 : SLAB_HDR_PAGES, n;
	uint64_t va, bl[4];
	if (h->env.va->alloc(h->env.va_st, cpu, SLAB_CHUNK, SLAB_CHUNK, &va) != MM_OK)
		return NULL;
	slab_before_map(h, cpu, hp);
	if (heap_back_range(&h->env, cpu, va, (uint64_t)hp * PAGE_SIZE, bl, 4, &n) != MM_OK) {
		h->env.va->free(h->env.va_st, cpu, va, SLAB_CHUNK);
		return NULL;
	}
	struct slab_chunk *ch = (struct slab_chunk *)(uintptr_t)va;
	mm_zero(ch, MM_MIN(sizeof(*ch), (size_t)hp * PAGE_SIZE)); /* every descriptor: page 0 */
	ch->magic = SLAB_MAGIC;
	ch->owner = cpu;
	ch->unused = slab_chunk_slots(hp); /* slot 0 holds this header */
	ch->nhdr = (uint16_t)n;
	ch->hdr_pages = (uint16_t)hp;
	for (unsigned i = 0; i < n; i++)
		ch->hdr_blocks[i] = bl[i];
	chunk_list_push(&c->chunks, ch, false);
	chunk_list_push(&c->open, ch, true);
	ch->in_open = 1;
	atomic_store_rlx(&c->nchunks, c->nchunks + 1);
	atomic_store_rlx(&c->hdr_pages, c->hdr_pages + hp);
	slab_count_frames(h, (int64_t)hp);
	__atomic_add_fetch(&h->va_bytes, SLAB_CHUNK, __ATOMIC_RELAXED);
	return ch;
}

static void chunk_idle(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch);

/* Decommits slab s (EMPTY, or ACTIVE with no object out, off every list) and
 * frees its slots. Unbacking may re-enter the heap (a frame free list that spills
 * into it): s is LEAVING meanwhile, its slots still taken, so no nested call can
 * pick it or its slots; and ch is pinned (live), so a nested free that empties
 * ch's last ACTIVE slab cannot idle and release ch while the loop below still
 * reads s's block list from ch's header (seen: a SIGSEGV in heap_unback_range,
 * freelist-*-slab on va_churn at 2 CPUs). Such an idle happens here instead. */
static void slab_decommit(struct slab_heap *h, unsigned cpu, struct slab_chunk *ch, struct slab *s)
{
	s->state = SLAB_LEAVING;
	ch->live++;
	heap_unback_range(&h->env, cpu, slab_base(ch, s), (uint64_t)s->npages * PAGE_SIZE,
			  slab_blocks(ch, s), s->nblocks);
	ch->live--;
	slab_count_frames(h, -(int64_t)s->npages);
	h->cpu[ch->owner].slab_pages -= s->npages;
	unsigned i = (unsigned)(s - ch->slabs);
	s->state = SLAB_UNUSED;
	s->npages = s->nblocks = 0;
	ch->unused |= (uint32_t)(((1ull << s->span) - 1) << i);
	if (!ch->in_open && !ch->leaving) {
		chunk_list_push(&h->cpu[ch->owner].open, ch, true);
		ch->in_open = 1;
	}
	if (!ch->live && !ch->kept_empty && !ch->leaving) /* a nested free emptied it */
		chunk_idle(h, &h->cpu[ch->owner], ch);
}

/* Takes EMPTY slab s off c's lists. */
static void slab_empty_del(struct slab_cpu *c, struct slab *s)
{
	slab_list_remove(&c->empty[s->span], s);
	c->empty_pages -= s->npages;
}

/* Decommits every EMPTY slab of ch (c is its owner's): their slots go UNUSED.
 * All of them leave c's lists before the first unback, which may re-enter the heap
 * (and must not take one of them meanwhile). */
static void chunk_drop_empty(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch)
{
	uint32_t mine = 0;
	for (unsigned i = 1; i < SLAB_SLOTS; i++) {
		struct slab *s = &ch->slabs[i];
		if (!(ch->unused >> i & 1) && ch->head[i] == i && s->state == SLAB_EMPTY) {
			slab_empty_del(c, s);
			s->state = SLAB_LEAVING;
			mine |= 1u << i;
		}
	}
	for (unsigned i = 1; i < SLAB_SLOTS; i++)
		if (mine >> i & 1)
			slab_decommit(h, ch->owner, ch, &ch->slabs[i]);
}

/* Removes every mapping of an idle chunk and returns its address range. */
static void chunk_release(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch)
{
	unsigned cpu = ch->owner;
	MM_ASSERT(ch->live == 0, "slab: releasing a chunk with live slabs");
	/* Off every list first: the unbacks below may re-enter the heap. */
	if (ch->in_open)
		chunk_list_remove(&c->open, ch, true);
	ch->in_open = 0;
	ch->leaving = 1;
	chunk_list_remove(&c->chunks, ch, false);
	atomic_store_rlx(&c->nchunks, c->nchunks - 1);
	chunk_drop_empty(h, c, ch);
	uint64_t bl[4], va = (uint64_t)(uintptr_t)ch;
	unsigned n = ch->nhdr, hp = ch->hdr_pages;
	for (unsigned i = 0; i < n; i++)
		bl[i] = ch->hdr_blocks[i];
	atomic_store_rlx(&c->hdr_pages, c->hdr_pages - hp);
	heap_unback_range(&h->env, cpu, va, (uint64_t)hp * PAGE_SIZE, bl, n);
	h->env.va->free(h->env.va_st, cpu, va, SLAB_CHUNK);
	slab_count_frames(h, -(int64_t)hp);
	__atomic_sub_fetch(&h->va_bytes, SLAB_CHUNK, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->chunks_returned, 1, __ATOMIC_RELAXED);
}

/* A small chunk c keeps idle, or NULL. */
static struct slab_chunk *chunk_kept_small(struct slab_cpu *c)
{
	for (struct slab_chunk *ch = c->chunks; ch; ch = ch->next)
		if (ch->kept_empty && ch->hdr_pages < SLAB_HDR_PAGES)
			return ch;
	return NULL;
}

/* ch has no ACTIVE slab left: keep it or give it back (the policy). A full chunk
 * takes the place of a kept small one (which cannot hold every span: kept, it
 * would send such slabs to a new chunk, released when they empty). */
static void chunk_idle(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch)
{
	struct slab_chunk *sm;
	if (c->nempty_chunks >= h->env.keep_empty_chunks && ch->hdr_pages == SLAB_HDR_PAGES &&
	    c->nempty_chunks && (sm = chunk_kept_small(c))) {
		sm->kept_empty = 0;
		c->nempty_chunks--;
		chunk_release(h, c, sm);
	}
	if (c->nempty_chunks < h->env.keep_empty_chunks) {
		ch->kept_empty = 1;
		c->nempty_chunks++;
	} else {
		chunk_release(h, c, ch);
	}
}

static void slab_activate(struct slab_cpu *c, struct slab_chunk *ch, struct slab *s,
			  unsigned cls)
{
	s->state = SLAB_ACTIVE;
	s->cls = (uint8_t)cls;
	s->size = slab_class_size(cls);
	s->cap = s->span * SLAB_SLOT / s->size;
	s->used = s->bump = s->low = 0;
	s->asleep = 0;
	s->limit = slab_limit(s);
	s->free = NULL;
	s->base = slab_base(ch, s);
	s->next = s->prev = NULL;
	if (ch->live++ == 0 && ch->kept_empty) {
		ch->kept_empty = 0;
		c->nempty_chunks--;
	}
}

/* Pages slab s of c should have committed after its next commit (need: up to its
 * next object). */
static uint32_t slab_commit_want(const struct slab_cpu *c, const struct slab *s, uint32_t need)
{
	uint32_t total = (uint32_t)(MM_ALIGN_UP((uint64_t)s->cap * s->size, PAGE_SIZE) / PAGE_SIZE);
	MM_ASSERT(s->state == SLAB_ACTIVE && s->bump == s->limit && s->bump < s->cap &&
			  need <= total,
		  "slab: commit of a slab that has room or is full");
	if (c->sparse || s->size >= SLAB_COMMIT_BIG)
		return need;
	uint64_t adapt = MM_MAX(c->slab_pages >> SLAB_COMMIT_SHIFT, (uint64_t)s->npages);
	uint32_t step = 1u << mm_log2_floor(MM_MIN(MM_MAX(adapt, (uint64_t)1), SLAB_COMMIT_MAX));
	uint32_t want = MM_MIN(MM_MAX(need, s->npages + step), total);
	/* A power of two is one frame block, one map call: round up to one when that
	 * adds at most a quarter. */
	uint32_t delta = want - s->npages, pow2 = 1u << mm_log2_ceil(delta);
	if (s->npages + pow2 <= total && pow2 - delta <= delta / 4)
		want = s->npages + pow2;
	return want;
}

bool slab_commit(struct slab_heap *h, unsigned cpu, struct slab *s)
{
	struct slab_chunk *ch = slab_chunk_of(s);
	uint32_t need = (uint32_t)MM_ALIGN_UP(((uint64_t)s->bump + 1) * s->size, PAGE_SIZE) /
			PAGE_SIZE;
	struct slab_cpu *c = &h->cpu[cpu];
	uint32_t want = slab_commit_want(c, s, need);
	unsigned n;
	slab_before_map(h, cpu, want - s->npages);
	for (;;) {
		uint64_t va = slab_base(ch, s) + (uint64_t)s->npages * PAGE_SIZE;
		if (heap_back_range(&h->env, cpu, va, (uint64_t)(want - s->npages) * PAGE_SIZE,
				    slab_blocks(ch, s) + s->nblocks,
				    s->span * SLAB_SLOT_PAGES - s->nblocks, &n) == MM_OK)
			break;
		if (want == need)
			return false;
		want = need; /* short of frames: just the next object */
	}
	slab_count_frames(h, (int64_t)(want - s->npages));
	c->slab_pages += want - s->npages;
	s->nblocks = (uint16_t)(s->nblocks + n);
	s->npages = (uint16_t)want;
	s->limit = slab_limit(s);
	if (c->sparse && c->slab_pages >= SLAB_SPARSE_PAGES)
		slab_sparse_end(c);
	atomic_store_rlx(&c->commits, c->commits + 1);
	return true;
}

/* Most EMPTY pages c may keep above the heap's peak (heap_slab.h: SLAB_GRACE_SHIFT,
 * SLAB_GRACE_PAGES). */
static uint32_t slab_grace_max(const struct slab_heap *h, const struct slab_cpu *c)
{
	uint64_t g = MM_MIN(c->slab_pages >> SLAB_GRACE_SHIFT, (uint64_t)SLAB_GRACE_PAGES);
	return (uint32_t)MM_MIN(g, (uint64_t)h->keep_pages);
}

void slab_before_map(struct slab_heap *h, unsigned cpu, uint64_t frames)
{
	struct slab_cpu *c = &h->cpu[cpu];
	if (c->nlcache)
		slab_large_cache_trim(h, cpu, frames);
	uint64_t now = atomic_load_rlx(&h->frames), peak = atomic_load_rlx(&h->peak_frames);
	uint64_t over = now + frames > peak ? now + frames - peak : 0;
	uint32_t gmax = slab_grace_max(h, c);
	c->grace = MM_MIN(c->grace, gmax);
	for (unsigned k = SLAB_MAX_SPAN; k >= 1 && over && c->empty_pages > c->grace; k--)
		while (over && c->empty[k] && c->empty_pages > c->grace) {
			struct slab *s = c->empty[k];
			over -= MM_MIN(over, (uint64_t)s->npages);
			c->grace = MM_MIN(c->grace + s->npages, gmax);
			slab_empty_del(c, s);
			slab_decommit(h, cpu, slab_chunk_of(s), s);
		}
}

bool slab_drop_empty(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	bool any = false;
	for (unsigned k = 1; k <= SLAB_MAX_SPAN; k++)
		while (c->empty[k]) {
			struct slab *s = c->empty[k];
			slab_empty_del(c, s);
			slab_decommit(h, cpu, slab_chunk_of(s), s);
			any = true;
		}
	return any;
}

/* First slot of a run of k UNUSED slots in ch, or 0 if there is none. */
static unsigned chunk_find_run(const struct slab_chunk *ch, unsigned k)
{
	uint32_t m = ch->unused;
	for (unsigned i = 1; i < k && m; i++)
		m &= ch->unused >> i;
	return m ? (unsigned)__builtin_ctz(m) : 0;
}

/* A kept idle chunk of cpu with its EMPTY slabs decommitted (every slot free),
 * or NULL if cpu keeps none. Without it, a slab whose span no open chunk has
 * room for would take a new chunk while an idle one is kept, and its chunk
 * would be released as soon as the slab empties (over the keep): a new chunk,
 * its mappings and a release on every alloc/free pair. */
static struct slab_chunk *chunk_reuse_idle(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_chunk *ch = c->chunks;
	while (ch && !ch->kept_empty)
		ch = ch->next;
	if (!ch)
		return NULL;
	ch->kept_empty = 0; /* pinned (live) while the unbacks may re-enter the heap */
	c->nempty_chunks--;
	ch->live++;
	chunk_drop_empty(h, c, ch);
	ch->live--;
	return ch;
}

/* An ACTIVE slab of class cls, maybe without room. */
static struct slab *slab_get_once(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab_cpu *c = &h->cpu[cpu];
	unsigned k = slab_class_span(cls), i = 0;
	struct slab *s = c->empty[k];
	if (s) {
		slab_empty_del(c, s);
		slab_activate(c, slab_chunk_of(s), s, cls);
		return s;
	}
	struct slab_chunk *ch = c->open;
	for (unsigned n = 0; ch && n < SLAB_OPEN_SCAN && !(i = chunk_find_run(ch, k)); n++)
		ch = ch->open_next;
	if (!i && (ch = chunk_reuse_idle(h, cpu)) && !(i = chunk_find_run(ch, k)) && !ch->live)
		chunk_idle(h, c, ch); /* a nested call took its slots: keep it idle again */
	if (!i) {
		if (!(ch = chunk_new(h, cpu, k)))
			return NULL;
		i = chunk_find_run(ch, k);
		MM_ASSERT(i, "slab: a new chunk without a run of free slots");
	}
	s = &ch->slabs[i];
	ch->unused &= ~(uint32_t)(((1ull << k) - 1) << i);
	for (unsigned j = i; j < i + k; j++)
		ch->head[j] = (uint8_t)i;
	if (!ch->unused) {
		chunk_list_remove(&c->open, ch, true);
		ch->in_open = 0;
	}
	s->span = (uint8_t)k;
	s->npages = s->nblocks = 0;
	slab_activate(c, ch, s, cls);
	return s;
}

/* slab_get_once, and a commit if the slab has no room; NULL on failure (the
 * slab handed back). */
struct slab *slab_get_room(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab *s = slab_get_once(h, cpu, cls);
	if (s && !slab_room(s) && !slab_commit(h, cpu, s)) {
		slab_put_empty(h, &h->cpu[cpu], s);
		s = NULL;
	}
	return s;
}

/* The EMPTY slab of c emptied longest ago (smallest stamp), or NULL. */
static struct slab *slab_empty_oldest(struct slab_cpu *c)
{
	struct slab *old = NULL;
	for (unsigned k = 1; k <= SLAB_MAX_SPAN; k++)
		for (struct slab *s = c->empty[k]; s; s = s->next)
			if (!old || (int32_t)(s->bump - old->bump) < 0)
				old = s;
	return old;
}

void slab_put_empty(struct slab_heap *h, struct slab_cpu *c, struct slab *s)
{
	struct slab_chunk *ch = slab_chunk_of(s);
	MM_ASSERT(s->state == SLAB_ACTIVE && s->used == 0, "slab: emptying a slab in use");
	if (s->npages && s->npages <= h->keep_pages) {
		s->state = SLAB_EMPTY;
		s->free = NULL;
		s->bump = c->empty_seq++;
		slab_list_push(&c->empty[s->span], s);
		c->empty_pages += s->npages;
	} else {
		slab_decommit(h, ch->owner, ch, s);
	}
	if (--ch->live == 0)
		chunk_idle(h, c, ch);
	while (c->empty_pages > h->keep_pages) { /* the oldest EMPTY slabs go first */
		struct slab *o = slab_empty_oldest(c);
		slab_empty_del(c, o);
		slab_decommit(h, c - h->cpu, slab_chunk_of(o), o);
	}
}

/* An ACTIVE slab of class cls with room among c's chunks (awake ones first). */
struct slab *slab_find_room(struct slab_cpu *c, unsigned cls)
{
	for (struct slab *s = c->avail[cls]; s; s = s->next)
		if (slab_room(s)) {
			slab_list_remove(&c->avail[cls], s);
			slab_list_push(&c->avail[cls], s);
			return s;
		}
	for (struct slab_chunk *ch = c->chunks; ch; ch = ch->next)
		for (unsigned i = 1; i < SLAB_SLOTS; i++) {
			struct slab *s = &ch->slabs[i];
			if (!(ch->unused >> i & 1) && ch->head[i] == i &&
			    s->state == SLAB_ACTIVE && s->cls == cls && s->asleep && s->free) {
				s->asleep = 0;
				s->low = 0;
				slab_list_push(&c->avail[cls], s);
				return s;
			}
		}
	return NULL;
}
