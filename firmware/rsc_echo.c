/*
 * rsc_echo: carries its own resource table (Linux's model: vrings at
 * address ANY, allocated by the host and written back before boot; a trace
 * buffer in our SRAM), announces "rsc-echo" and echoes every message.
 */
#include "amp_fw.h"

#define TRACE_LEN 256

AMP_FW_TRACE_AREA(TRACE_LEN);
AMP_FW_RSC_TABLE(resource_table, 64, 32, AMP_FW_TRACE_DA, TRACE_LEN);

int main(void)
{
    return amp_fw_serve("rsc_echo", "rsc-echo", amp_fw_echo);
}
