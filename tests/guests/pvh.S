/*
 * The PVH test guest as a vmlinux is built: an ELF64 whose XEN_ELFNOTE_PHYS32_ENTRY note points at 32-bit code
 * (pvh32.bin, linked at 2 MiB) while e_entry is a 64-bit entry. A VMM that ignores the note enters _start in
 * 64-bit mode, which says so and powers off.
 */
    .section .text.pvh32, "ax"
pvh32:
    .incbin "pvh32.bin"

    .code64
    .section .text, "ax"
    .globl _start
_start:
    lea wrong(%rip), %rsi
1:  lodsb
    test %al, %al
    jz 2f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 1b
2:  mov $0xfe, %al
    out %al, $0x64
3:  hlt
    jmp 3b

    .section .rodata
wrong:
    .asciz "pvh guest: entered at the 64-bit e_entry, not the PVH entry\n"

    /* Elf64_Nhdr: namesz, descsz, type = XEN_ELFNOTE_PHYS32_ENTRY (18); name "Xen"; the entry's physical address. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 8, 18
    .asciz "Xen"
    .balign 4
    .quad pvh32
    .balign 4

    .section .note.GNU-stack, "", @progbits
