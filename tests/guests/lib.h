/* Tiny freestanding runtime for the test guests: port IO, serial output, boot_params, power-off. */
#pragma once
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

void putc(char c);
void puts(const char *s);
void puthex(u64 v);
void putdec(u64 v);
void putbytes(const u8 *p, int n);
void poweroff(void) __attribute__((noreturn));
void *memset(void *d, int c, u64 n);
void *memcpy(void *d, const void *s, u64 n);
int memcmp(const void *a, const void *b, u64 n);
u64 strlen(const char *s);
const char *strstr(const char *h, const char *n);

/* boot_params fields (Documentation/arch/x86/zero-page.rst). */
#define BP_E820_ENTRIES 0x1e8
#define BP_HEADER 0x202
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_CMDLINE_SIZE 0x238
#define BP_E820_TABLE 0x2d0
const char *boot_cmdline(const u8 *bp);
