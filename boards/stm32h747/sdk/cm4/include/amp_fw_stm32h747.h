/*
 * amp_fw_stm32h747.h - what the M4 SDK adds to amp_fw.h on the STM32H747.
 */
#ifndef AMP_FW_STM32H747_H
#define AMP_FW_STM32H747_H

#include <stdint.h>

/* The M4's clock in Hz, read by amp_fw_board_init (default 64 MHz, HSI at
 * reset). Set it first if the host changed the clocks. */
extern uint32_t SystemCoreClock;

/*
 * SysTick rate of the HAL. 100 Hz: timeouts are checked every 10 ms (the
 * clock itself is interpolated to SysTick's resolution), and an idle core
 * wakes 100 times a second. Firmware that wants 1 kHz may change it: the
 * emulated core models any rate.
 */
#define AMP_FW_TICK_HZ 100u

/* Clocks, SysTick, the HSEM doorbell interrupt; interrupts on. Called by the
 * start-up code before main. */
void amp_fw_board_init(void);
/* Exception handlers (weak in the vector table: define one to override). */
void Reset_Handler(void);
void Default_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void);
void DebugMon_Handler(void);
void PendSV_Handler(void);
void SysTick_Handler(void);
void HSEM2_IRQHandler(void);
void IRQ_Default_Handler(void);

/* SysTick interrupts taken since boot. */
uint32_t amp_fw_tick_count(void);

#endif /* AMP_FW_STM32H747_H */
