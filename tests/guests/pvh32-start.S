/* PVH entry (32-bit protected mode, paging off, EBX = hvm_start_info): own stack, then pvh_main(EBX). */
    .code32
    .section .text.start, "ax"
    .globl pvh32_start
pvh32_start:
    mov $stack_top, %esp
    push %ebx
    call pvh_main
    mov $0xfe, %al              /* i8042 reset: the VMM treats it as power-off */
    out %al, $0x64
1:  hlt
    jmp 1b

    /* In .data, not .bss: this part is flattened with objcopy -O binary, which would drop trailing bss. */
    .section .data
    .balign 16
    .space 4096
stack_top:

    .section .note.GNU-stack, "", @progbits
