/* printf.c: kvsnprintf, a small freestanding vsnprintf (xv6 style).
 *
 * Output is truncated to n-1 characters and always NUL-terminated (n > 0); the
 * return value is the length the full output would have, like C99 vsnprintf.
 * Conversions: d i u x X p s c %, length modifiers l ll z, flags '-' '0', a
 * decimal field width. Unknown conversions are copied literally. No libc:
 * guest/tests/printf_test.c checks it against the host's snprintf.
 */
#include "kernel.h"

struct out {
	char *buf;
	size_t n, len; /* capacity, characters produced so far */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int count)
{
	while (count-- > 0)
		put(o, c);
}

/* Writes a field of text s (length len) padded to width. */
static void field(struct out *o, const char *s, int len, int width, bool left, char padc)
{
	if (!left)
		pad(o, padc, width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', width - len);
}

static void number(struct out *o, uint64_t v, bool neg, unsigned base, bool upper, int width,
		   bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = (int)sizeof(tmp);
	do {
		tmp[--i] = digits[v % base];
		v /= base;
	} while (v);
	int len = (int)sizeof(tmp) - i;
	if (neg && zero && !left) {
		put(o, '-');
		field(o, tmp + i, len, width - 1, false, '0');
		return;
	}
	if (neg)
		tmp[--i] = '-', len++;
	field(o, tmp + i, len, width, left, zero && !left ? '0' : ' ');
}

/* Reads the argument for an integer conversion with length lmod (0, 1=l, 2=ll, 3=z). */
static uint64_t int_arg(va_list *ap, int lmod, bool is_signed, bool *neg)
{
	int64_t s;
	*neg = false;
	if (!is_signed) {
		if (lmod == 0)
			return va_arg(*ap, unsigned int);
		return lmod == 3 ? va_arg(*ap, size_t) : va_arg(*ap, unsigned long long);
	}
	if (lmod == 0)
		s = va_arg(*ap, int);
	else
		s = lmod == 3 ? (int64_t)va_arg(*ap, size_t) : va_arg(*ap, long long);
	if (s < 0) {
		*neg = true;
		return (uint64_t)0 - (uint64_t)s;
	}
	return (uint64_t)s;
}

static void conversion(struct out *o, char c, va_list *ap, int lmod, int width, bool left,
		       bool zero)
{
	bool neg;
	uint64_t v;
	switch (c) {
	case 'd':
	case 'i':
	case 'u':
		v = int_arg(ap, lmod, c != 'u', &neg);
		number(o, v, neg, 10, false, width, left, zero);
		break;
	case 'x':
	case 'X':
		v = int_arg(ap, lmod, false, &neg);
		number(o, v, false, 16, c == 'X', width, left, zero);
		break;
	case 'p': {
		char tmp[20];
		struct out t = {tmp, sizeof(tmp), 2};
		tmp[0] = '0', tmp[1] = 'x';
		number(&t, (uintptr_t)va_arg(*ap, void *), false, 16, false, 0, false, false);
		field(o, tmp, (int)t.len, width, left, ' ');
		break;
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		int len = 0;
		if (!s)
			s = "(null)";
		while (s[len])
			len++;
		field(o, s, len, width, left, ' ');
		break;
	}
	case 'c': {
		char ch = (char)va_arg(*ap, int);
		field(o, &ch, 1, width, left, ' ');
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:
		put(o, '%'), put(o, c);
	}
}

int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap_in)
{
	struct out o = {buf, n, 0};
	va_list ap;
	va_copy(ap, ap_in);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		bool left = false, zero = false;
		int width = 0, lmod = 0;
		for (p++; *p == '-' || *p == '0'; p++)
			*p == '-' ? (left = true) : (zero = true);
		for (; *p >= '0' && *p <= '9'; p++)
			width = width * 10 + (*p - '0');
		for (; *p == 'l' || *p == 'z'; p++)
			lmod = *p == 'z' ? 3 : lmod + 1;
		if (!*p)
			break;
		conversion(&o, *p, &ap, lmod > 3 ? 2 : lmod, width, left, zero);
	}
	va_end(ap);
	if (n > 0)
		buf[o.len < n ? o.len : n - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = kvsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
