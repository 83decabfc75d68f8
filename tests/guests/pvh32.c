/*
 * PVH test guest, 32-bit part (built with -m32): checks the entry state the PVH boot ABI promises and prints what
 * the VMM put in hvm_start_info: magic, command line, memory map and the initrd module. "pvh.triple" on the
 * command line makes it fault with no IDT instead, to show a triple fault in 32-bit mode ends the VM.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

/* Xen's public arch-x86/hvm/start_info.h, version 1. */
struct hvm_start_info {
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    u32 memmap_entries, reserved;
};
struct hvm_modlist_entry { u64 paddr, size, cmdline_paddr, reserved; };
struct hvm_memmap_table_entry { u64 addr, size; u32 type, reserved; };
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c)
{
    while (!(inb(0x3f8 + 5) & 0x20)) { } /* wait for THR empty */
    outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u64 v)
{
    puts("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        int d = (int)(v >> i) & 0xf;
        if (d || started || i == 0) { putc("0123456789abcdef"[d]); started = 1; }
    }
}
static void putdec(u32 v)
{
    char b[12];
    int n = 0;
    do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc(b[--n]);
}
static int contains(const char *h, const char *n)
{
    for (; *h; h++) {
        int i = 0;
        while (n[i] && h[i] == n[i]) i++;
        if (!n[i]) return 1;
    }
    return 0;
}
static const void *phys(u64 paddr) { return (const void *)(u32)paddr; }

void pvh_main(const struct hvm_start_info *si)
{
    u32 cr0, eflags;
    u16 cs;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("pushf; pop %0" : "=r"(eflags));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    puts("pvh entry: protected=");
    putdec(cr0 & 1);
    puts(" paging=");
    putdec(cr0 >> 31);
    puts(" interrupts=");
    putdec((eflags >> 9) & 1);
    puts(" cs=");
    puthex(cs);
    puts("\nebx=");
    puthex((u32)si);
    puts("\nmagic=");
    puthex(si->magic);
    puts(" version=");
    putdec(si->version);
    puts(" flags=");
    puthex(si->flags);
    puts(" rsdp=");
    puthex(si->rsdp_paddr);
    const char *cmdline = si->cmdline_paddr ? phys(si->cmdline_paddr) : "";
    puts("\ncmdline=");
    puts(cmdline);
    puts("\nmemmap_entries=");
    putdec(si->memmap_entries);
    puts("\n");
    const struct hvm_memmap_table_entry *m = phys(si->memmap_paddr);
    for (u32 i = 0; i < si->memmap_entries; i++) {
        puts("memmap ");
        puthex(m[i].addr);
        puts(" ");
        puthex(m[i].size);
        puts(" ");
        putdec(m[i].type);
        puts("\n");
    }
    puts("modules=");
    putdec(si->nr_modules);
    puts("\n");
    const struct hvm_modlist_entry *mod = phys(si->modlist_paddr);
    for (u32 i = 0; i < si->nr_modules; i++) {
        puts("module ");
        puthex(mod[i].paddr);
        puts(" ");
        putdec((u32)mod[i].size);
        puts(" ");
        const u8 *p = phys(mod[i].paddr);
        for (u32 j = 0; j < mod[i].size && j < 24; j++) putc(p[j] >= 32 && p[j] < 127 ? (char)p[j] : '.');
        puts("\n");
    }
    if (contains(cmdline, "pvh.triple")) {
        puts("pvh guest: faulting now\n");
        struct { u16 limit; u32 base; } __attribute__((packed)) idt = { 0, 0 };
        __asm__ volatile("lidt %0; ud2" : : "m"(idt));
    }
    puts("pvh done\n");
}
