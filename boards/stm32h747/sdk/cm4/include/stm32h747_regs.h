/*
 * stm32h747_regs.h - the STM32H747 registers the AMP code touches, from
 * RM0399 (rev 4) and the ARMv7-M / ARMv7E-M Architecture Reference Manual.
 * Used by the M4 firmware SDK and the M7 host platform. Plain addresses: no
 * vendor header needed.
 */
#ifndef STM32H747_REGS_H
#define STM32H747_REGS_H

#include <stdint.h>

#define STM32_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- HSEM, hardware semaphores (RM0399 section 11, D3 AHB4) ---- */
#define HSEM_BASE        0x58026400u
#define HSEM_R(n)        STM32_REG(HSEM_BASE + 0x000u + 4u * (n))  /* 2-step lock / free */
#define HSEM_RLR(n)      STM32_REG(HSEM_BASE + 0x080u + 4u * (n))  /* 1-step lock (read) */
#define HSEM_C1IER       STM32_REG(HSEM_BASE + 0x100u)             /* CPU1 (M7) line */
#define HSEM_C1ICR       STM32_REG(HSEM_BASE + 0x104u)
#define HSEM_C1ISR       STM32_REG(HSEM_BASE + 0x108u)
#define HSEM_C1MISR      STM32_REG(HSEM_BASE + 0x10Cu)
#define HSEM_C2IER       STM32_REG(HSEM_BASE + 0x110u)             /* CPU2 (M4) line */
#define HSEM_C2ICR       STM32_REG(HSEM_BASE + 0x114u)
#define HSEM_C2ISR       STM32_REG(HSEM_BASE + 0x118u)
#define HSEM_C2MISR      STM32_REG(HSEM_BASE + 0x11Cu)
#define HSEM_CR          STM32_REG(HSEM_BASE + 0x140u)
#define HSEM_KEYR        STM32_REG(HSEM_BASE + 0x144u)
#define HSEM_LOCK        0x80000000u
#define HSEM_COREID_SHIFT 8u
#define HSEM_COREID_CM7  3u
#define HSEM_COREID_CM4  1u
/* The doorbells, as MicroPython's stm32 port uses them. */
#define HSEM_ID_TO_REMOTE 0u   /* the M7 frees it to notify the M4 */
#define HSEM_ID_TO_HOST   1u   /* the M4 frees it to notify the M7 */

/* ---- RCC (RM0399 section 8) ---- */
#define RCC_BASE         0x58024400u
#define RCC_CR           STM32_REG(RCC_BASE + 0x000u)
#define RCC_GCR          STM32_REG(RCC_BASE + 0x0A0u)   /* BOOT_C2 (bit 3) */
#define RCC_AHB4ENR      STM32_REG(RCC_BASE + 0x0E0u)
#define RCC_C1_AHB4ENR   STM32_REG(RCC_BASE + 0x140u)   /* per-CPU views */
#define RCC_C2_AHB4ENR   STM32_REG(RCC_BASE + 0x1A0u)
#define RCC_AHB4ENR_HSEMEN (1u << 25)
#define RCC_GCR_BOOT_C2  (1u << 3)

/* ---- SYSCFG: boot address of the M4 (RM0399 12.3.x) ---- */
#define SYSCFG_BASE      0x58000400u
#define SYSCFG_UR3       STM32_REG(SYSCFG_BASE + 0x30Cu) /* BCM4_ADD0 [31:16] (read-only copy) */

/* ---- FLASH option bytes: BOOT_CM4_ADD0 (RM0399 4.9.x) ---- */
#define FLASH_R_BASE     0x52002000u
#define FLASH_OPTKEYR    STM32_REG(FLASH_R_BASE + 0x008u)
#define FLASH_OPTCR      STM32_REG(FLASH_R_BASE + 0x018u)
#define FLASH_OPTSR_CUR  STM32_REG(FLASH_R_BASE + 0x01Cu)
#define FLASH_OPTSR_PRG  STM32_REG(FLASH_R_BASE + 0x020u)
#define FLASH_BOOT7_PRG  STM32_REG(FLASH_R_BASE + 0x044u)
#define FLASH_BOOT4_CUR  STM32_REG(FLASH_R_BASE + 0x048u)
#define FLASH_BOOT4_PRG  STM32_REG(FLASH_R_BASE + 0x04Cu)
#define FLASH_OPTKEY1    0x08192A3Bu
#define FLASH_OPTKEY2    0x4C5D6E7Fu
#define FLASH_OPTCR_OPTLOCK  (1u << 0)
#define FLASH_OPTCR_OPTSTART (1u << 1)
#define FLASH_OPTSR_OPT_BUSY (1u << 0)
#define FLASH_OPTSR_BCM4     (1u << 22)   /* the M4 boots at power-on */

/* ---- Cortex-M system control space (ARMv7-M B3.2-B3.5) ---- */
#define SYST_CSR         STM32_REG(0xE000E010u)
#define SYST_RVR         STM32_REG(0xE000E014u)
#define SYST_CVR         STM32_REG(0xE000E018u)
#define SYST_CSR_ENABLE  (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)   /* processor clock */
#define NVIC_ISER(n)     STM32_REG(0xE000E100u + 4u * (n))
#define NVIC_ICER(n)     STM32_REG(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n)     STM32_REG(0xE000E280u + 4u * (n))
#define NVIC_IPR8(n)     (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (n)))
#define SCB_ICSR         STM32_REG(0xE000ED04u)
#define SCB_VTOR         STM32_REG(0xE000ED08u)
#define SCB_AIRCR        STM32_REG(0xE000ED0Cu)
#define SCB_SCR          STM32_REG(0xE000ED10u)
#define SCB_CCR          STM32_REG(0xE000ED14u)
#define SCB_SHPR3        STM32_REG(0xE000ED20u)   /* PendSV [23:16], SysTick [31:24] */
#define SCB_CCR_IC       (1u << 17)   /* M7 only: instruction cache enable */
#define SCB_CCR_DC       (1u << 16)   /* M7 only: data cache enable */
#define MPU_TYPE         STM32_REG(0xE000ED90u)
#define MPU_CTRL         STM32_REG(0xE000ED94u)
#define MPU_RNR          STM32_REG(0xE000ED98u)
#define MPU_RBAR         STM32_REG(0xE000ED9Cu)
#define MPU_RASR         STM32_REG(0xE000EDA0u)
#define SCB_DCCMVAC      STM32_REG(0xE000EF68u)   /* M7: clean D-cache line by address */
#define SCB_DCIMVAC      STM32_REG(0xE000EF5Cu)   /* M7: invalidate D-cache line by address */

/* Interrupt numbers (RM0399 table "NVIC"). */
#define HSEM1_IRQn 125   /* HSEM interrupt line to CPU1 (M7) */
#define HSEM2_IRQn 126   /* HSEM interrupt line to CPU2 (M4) */
#define STM32H747_IRQ_COUNT 150

#endif /* STM32H747_REGS_H */
