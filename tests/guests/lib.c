#include "lib.h"

#define COM1 0x3f8

void putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) { } /* wait for THR empty */
    outb(COM1, (u8)c);
}

void puts(const char *s) { while (*s) putc(*s++); }

void puthex(u64 v)
{
    puts("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        int d = (v >> i) & 0xf;
        if (d || started || i == 0) { putc("0123456789abcdef"[d]); started = 1; }
    }
}

void putdec(u64 v)
{
    char b[24];
    int n = 0;
    do { b[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) putc(b[--n]);
}

void putbytes(const u8 *p, int n) { for (int i = 0; i < n; i++) putc(p[i] >= 32 && p[i] < 127 ? p[i] : '.'); }

void poweroff(void)
{
    outb(0x64, 0xfe); /* i8042 reset: the VMM treats it as power-off */
    for (;;) __asm__ volatile("hlt");
}

void *memset(void *d, int c, u64 n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, u64 n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }
int memcmp(const void *a, const void *b, u64 n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++) if (*p != *q) return *p - *q;
    return 0;
}
u64 strlen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
const char *strstr(const char *h, const char *n)
{
    u64 l = strlen(n);
    for (; *h; h++) if (!memcmp(h, n, l)) return h;
    return 0;
}

const char *boot_cmdline(const u8 *bp) { return (const char *)(u64)*(const u32 *)(bp + BP_CMD_LINE_PTR); }
