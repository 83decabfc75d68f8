#include "lib.h"

/* Prints over the 8250 and powers off. */
void guest_main(const u8 *bp)
{
    (void)bp;
    puts("hello from the kraud test guest\n");
}
