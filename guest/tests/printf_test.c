/* printf_test.c: the guest's kvsnprintf (guest/printf.c, compiled here hosted)
 * against the host C library's snprintf on seeded random conversion specs,
 * buffer sizes (truncation) and arguments: same text, same return value. */
#include "../../strategies/tests/testlib.h"
#include "../printf.c"

static const char *const convs[] = {"d",   "i",	  "u",	"x",  "X", "ld", "lu", "lx", "lld",
				    "llu", "llx", "zu", "zx", "s", "c",	 "p",  "%"};

static int both(char *a, char *b, size_t n, const char *fmt, ...)
{
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int ra = kvsnprintf(a, n, fmt, ap);
	int rb = vsnprintf(b, n, fmt, aq);
	va_end(aq);
	va_end(ap);
	CHECK(ra == rb, "format '%s' n=%zu: returned %d, libc %d", fmt, n, ra, rb);
	CHECK(n == 0 || strcmp(a, b) == 0, "format '%s' n=%zu: '%s' vs libc '%s'", fmt, n, a, b);
	return ra;
}

static uint64_t pick(struct rng *r)
{
	switch (rng_next(r) % 4) {
	case 0:
		return rng_next(r) % 10;
	case 1:
		return (uint64_t) - (int64_t)(rng_next(r) % 1000);
	case 2:
		return rng_next(r);
	default:
		return rng_next(r) & 0xffffffffu;
	}
}

static void one(struct rng *r)
{
	const char *conv = convs[rng_next(r) % (sizeof(convs) / sizeof(convs[0]))];
	bool text = conv[0] == 's' || conv[0] == 'c' || conv[0] == 'p' || conv[0] == '%';
	const char *flag = (const char *[]){"", "-", "0"}[rng_next(r) % 3];
	if ((text && flag[0] == '0') || conv[0] == '%')
		flag = "";
	char fmt[64], width[8] = "";
	if (rng_next(r) % 2 && conv[0] != '%')
		snprintf(width, sizeof(width), "%u", (unsigned)(rng_next(r) % 25));
	if (width[0] == '0')
		width[0] = '\0';
	snprintf(fmt, sizeof(fmt), "<%s%s%s%s>", conv[0] == '%' ? "%" : "%", flag, width, conv);
	char a[96], b[96];
	size_t n = rng_next(r) % 4 == 0 ? rng_next(r) % 12 : sizeof(a);
	uint64_t v = pick(r);
	const char *strs[] = {"", "x", "hello", "a longer string of text"};
	if (conv[0] == 's')
		both(a, b, n, fmt, strs[v % 4]);
	else if (conv[0] == 'c')
		both(a, b, n, fmt, 'A' + (int)(v % 26));
	else if (conv[0] == 'p')
		both(a, b, n, fmt, (void *)(uintptr_t)(v | 1));
	else if (conv[0] == '%')
		both(a, b, n, fmt);
	else if (conv[0] == 'z')
		both(a, b, n, fmt, (size_t)v);
	else if (strncmp(conv, "ll", 2) == 0)
		both(a, b, n, fmt, (long long)v);
	else if (conv[0] == 'l')
		both(a, b, n, fmt, (long)v);
	else
		both(a, b, n, fmt, (int)v);
}

int main(void)
{
	uint64_t seed = getenv("MTB_SEED") ? strtoull(getenv("MTB_SEED"), NULL, 0) : 20261125;
	printf("seed %" PRIu64 "\n", seed);
	struct rng r = {seed};
	char a[64], b[64];
	both(a, b, sizeof(a), "plain text, no conversions");
	both(a, b, sizeof(a), "%d %d %u", INT32_MIN, INT32_MAX, UINT32_MAX);
	both(a, b, sizeof(a), "%lld %llu %llx", (long long)INT64_MIN,
	     (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX);
	both(a, b, sizeof(a), "%05d|%-5d|%5d|%016lx", -42, -42, -42, 0xabcdefUL);
	for (int i = 0; i < 200000; i++)
		one(&r);
	puts("printf_test: ok");
	return 0;
}
