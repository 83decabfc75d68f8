#include "lib.h"

/* Loads an empty IDT and raises an exception: no handler, no double-fault handler, so the CPU triple-faults. */
void guest_main(const u8 *bp)
{
    (void)bp;
    puts("triple fault guest: faulting now\n");
    struct { u16 limit; u64 base; } __attribute__((packed)) idt = { 0, 0 };
    __asm__ volatile("lidt %0; ud2" : : "m"(idt));
}
