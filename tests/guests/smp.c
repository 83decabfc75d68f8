#include "lib.h"

/*
 * Finds the MP floating pointer where Linux looks (the last KiB of base memory, then the BIOS area), checks both
 * checksums, prints what the configuration table says, then starts every application processor the way Linux
 * does (INIT, then a startup IPI) on a real-mode trampoline that counts itself in, and prints how many came.
 */
#define TRAMPOLINE 0x40000UL /* SIPI vector 0x40 */
#define COUNTER (TRAMPOLINE + 0x100)
#define LAPIC 0xfee00000UL

static const u8 *find_mpf(u64 from, u64 to)
{
    for (u64 a = from; a + 16 <= to; a += 16) {
        const u8 *p = (const u8 *)a;
        if (memcmp(p, "_MP_", 4) || p[8] != 1) continue;
        u8 sum = 0;
        for (int i = 0; i < 16; i++) sum += p[i];
        if (sum == 0) return p;
    }
    return 0;
}

static void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC + reg, v); }

static void delay(void) { for (volatile int i = 0; i < 200000; i++) { } }

void guest_main(const u8 *bp)
{
    (void)bp;
    const u8 *mpf = find_mpf(0x9fc00, 0xa0000);
    if (!mpf) mpf = find_mpf(0xf0000, 0x100000);
    if (!mpf) { puts("mp: no floating pointer\n"); return; }
    puts("mpf=");
    puthex((u64)mpf);
    const u8 *t = (const u8 *)(u64)*(const u32 *)(mpf + 4);
    u16 length = *(const u16 *)(t + 4), count = *(const u16 *)(t + 34);
    u8 sum = 0;
    for (int i = 0; i < length; i++) sum += t[i];
    puts(memcmp(t, "PCMP", 4) == 0 && sum == 0 ? " table ok" : " table bad");
    puts(" lapic=");
    puthex(*(const u32 *)(t + 36));
    puts("\n");

    int cpus = 0, bsp = -1, pins = 0, aps[256], naps = 0;
    const u8 *e = t + 44;
    for (int i = 0; i < count; i++) {
        switch (e[0]) {
        case 0:
            cpus++;
            if (e[3] & 2) bsp = e[1]; else if (e[3] & 1) aps[naps++] = e[1];
            e += 20;
            break;
        case 2:
            puts("ioapic id=");
            putdec(e[1]);
            puts(" addr=");
            puthex(*(const u32 *)(e + 4));
            puts("\n");
            e += 8;
            break;
        case 3:
            if (e[5] == e[7]) pins++;
            e += 8;
            break;
        default:
            e += 8;
        }
    }
    puts("cpus=");
    putdec(cpus);
    puts(" bsp=");
    putdec(bsp);
    puts(" isa-pins=");
    putdec(pins);
    puts("\n");

    /* cli; lock inc word cs:[0x100]; 1: hlt; jmp 1b */
    static const u8 trampoline[] = { 0xfa, 0xf0, 0x2e, 0xff, 0x06, 0x00, 0x01, 0xf4, 0xeb, 0xfd };
    memcpy((void *)TRAMPOLINE, trampoline, sizeof trampoline);
    *(volatile u16 *)COUNTER = 0;
    lapic_write(0xf0, 0x1ff); /* software-enable the local APIC */
    for (int i = 0; i < naps; i++) {
        lapic_write(0x310, (u32)aps[i] << 24);
        lapic_write(0x300, 0x4500); /* INIT, assert */
        delay();
        lapic_write(0x310, (u32)aps[i] << 24);
        lapic_write(0x300, 0x4600 | (TRAMPOLINE >> 12)); /* startup IPI */
    }
    for (long spin = 0; spin < 100000000L && *(volatile u16 *)COUNTER < naps; spin++) { }
    puts("aps started=");
    putdec(*(volatile u16 *)COUNTER);
    puts("\nsmp done\n");
}
