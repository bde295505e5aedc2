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
 * SysTick rate of the HAL from start-up until the first amp_fw_doorbell_wait
 * sleeps. From then on the wait sets each period itself (tickless): the wrap
 * comes when its timeout is due, or after at most 2^24 clocks (262 ms at
 * 64 MHz), so an idle core wakes ~4 times a second. The clock
 * (amp_fw_time_ns) counts SysTick clocks whatever the period. SysTick_Handler
 * belongs to the HAL: firmware must not override it.
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

/* SysTick interrupts taken since boot (one per period, see above). */
uint32_t amp_fw_tick_count(void);

#endif /* AMP_FW_STM32H747_H */
