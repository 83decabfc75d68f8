/* Entry in 64-bit mode as the Linux boot protocol leaves it: RSI = boot_params, interrupts off. */
    .section .text.start, "ax"
    .globl _start
_start:
    lea stack_top(%rip), %rsp
    mov %rsi, %rdi
    call guest_main
    call poweroff
1:  hlt
    jmp 1b

    .section .bss
    .balign 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
