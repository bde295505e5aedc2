# The core's options for the STM32H747's M7 (the host role), in one place:
# read by micropython.mk (the stm32 port's build) and by this tree's
# mk/micropython.mk, which compile-checks and tests that very loader
# (tests/c/test_elf_mcu.c).
# The M4 is 32-bit: the loader reads ELF32 only (src/remoteproc/elf.c).
# As upstream, the rings are always MicroPython's SRAM4 table and a
# firmware's own .resource_table is not used, so the loader does not read
# section headers. OMPY_FW_VDEV=1 honours that table (Linux's model, ~1.5 KiB).
OMPY_FW_VDEV ?= 0
OMPY_M7_CORE_DEFS := -DAMP_ELF_64=0 -DAMP_RPROC_FW_VDEV=$(OMPY_FW_VDEV) -DAMP_ELF_RSC=$(OMPY_FW_VDEV)
