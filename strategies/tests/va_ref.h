/* va_ref.h: a trivial, obviously correct va_ops for host tests of the mm API
 * (strategies/tests/va_ref.c): one byte per 4 KiB page, first fit, one mutex. */
#ifndef VA_REF_H
#define VA_REF_H

#include "../va.h"

extern const struct va_ops va_ref_ops;

#endif
