#include "lib.h"

/* Prints what the VMM put in boot_params: the setup header magic, the command line and the e820 map. */
void guest_main(const u8 *bp)
{
    puts("header=");
    putbytes(bp + BP_HEADER, 4);
    puts("\ncmdline=");
    puts(boot_cmdline(bp));
    puts("\ncmdline_size=");
    putdec(*(const u32 *)(bp + BP_CMDLINE_SIZE));
    u8 n = bp[BP_E820_ENTRIES];
    puts("\ne820_entries=");
    putdec(n);
    puts("\n");
    for (int i = 0; i < n; i++) {
        const u8 *e = bp + BP_E820_TABLE + 20 * i;
        puts("e820 ");
        puthex(*(const u64 *)e);
        puts(" ");
        puthex(*(const u64 *)(e + 8));
        puts(" ");
        putdec(*(const u32 *)(e + 16));
        puts("\n");
    }
    u32 rd = *(const u32 *)(bp + BP_RAMDISK_IMAGE), rdsize = *(const u32 *)(bp + BP_RAMDISK_SIZE);
    puts("initrd=");
    puthex(rd);
    puts(" ");
    putdec(rdsize);
    if (rdsize) { puts(" "); putbytes((const u8 *)(u64)rd, rdsize < 24 ? rdsize : 24); }
    puts("\n");
    puts("rsi=");
    puthex((u64)bp);
    puts("\nbootinfo done\n");
}
