/*
 * fw_text.h - text helpers shared by the Python tests' firmware (no libc
 * printf in firmware).
 */
#ifndef FW_TEXT_H
#define FW_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Write v in decimal at buf[at], not past buf[max - 1]; returns the new end. */
static inline size_t fw_put_u32(char *buf, size_t at, size_t max, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n && at < max)
        buf[at++] = digits[--n];
    return at;
}

#endif /* FW_TEXT_H */
