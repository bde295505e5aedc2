/* dekker.c with its loop in SRAM: barriers executed from RAM. */
#define DEKKER_IN_RAM
#include "dekker.c"
