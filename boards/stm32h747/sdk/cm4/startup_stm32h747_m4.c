/*
 * Start-up of the STM32H747's Cortex-M4: the vector table (16 system
 * exceptions + 150 interrupts, RM0399 "NVIC" table) and the reset handler.
 * The M4 boots from BOOT_CM4_ADD0 (0x08100000, flash bank 2, by default):
 * the core loads MSP from word 0 and jumps to word 1 (ARMv7-M B1.5.5).
 * Reset: VTOR to our table, .data from flash, .bss zeroed, the board set up
 * (hal_stm32h747.c), main(). The resource table is left alone: the
 * host may have written into it before releasing the core.
 */
#include "amp_fw.h"
#include "amp_fw_stm32h747.h"
#include "stm32h747_regs.h"

extern uint32_t __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];


/* Every handler is weak: a firmware overrides it by defining the name. */
#define WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))
WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);
WEAK_HANDLER(HSEM2_IRQHandler);
WEAK_HANDLER(IRQ_Default_Handler);

typedef void (*vector_t)(void);

/* .isr_vector is placed first in flash by the linker script. */
__attribute__((section(".isr_vector"), used))
const vector_t amp_fw_vectors[16 + STM32H747_IRQ_COUNT] = {
    [0] = (vector_t)(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 ... 16 + HSEM2_IRQn - 1] = IRQ_Default_Handler,
    [16 + HSEM2_IRQn] = HSEM2_IRQHandler,
    [16 + HSEM2_IRQn + 1 ... 16 + STM32H747_IRQ_COUNT - 1] = IRQ_Default_Handler,
};

/* An exception nobody handles: stop where a debugger (or the simulator) shows it. */
void Default_Handler(void)
{
    for (;;)
        __asm__ volatile("bkpt #0xEE");
}

void Reset_Handler(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)amp_fw_vectors;
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    amp_fw_board_init();
    amp_fw_exit(main());
}
