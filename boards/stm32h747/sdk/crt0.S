/*
 * crt0 for sim-h747 firmware: the first bytes of flash (entry 0x08100000).
 * Stack at the top of SRAM, copy .data from flash, zero .bss, run main,
 * exit_group(main's return value). The resource table is left alone: the
 * host may have written into it before boot.
 */
    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    mov     $__stack_top, %esp      /* board addresses are below 4 GiB */
    xor     %ebp, %ebp
    cld
    mov     $__data_load, %esi
    mov     $__data_start, %edi
    mov     $__data_end, %ecx
    sub     %edi, %ecx
    rep movsb
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb
    call    main
    mov     %eax, %edi
1:  mov     $231, %eax              /* exit_group */
    syscall
    jmp     1b
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
