/*
 * virtual_uart: announces "vuart-channel" and echoes every message back,
 * unchanged, to whoever sent it. Uses the board's host-built table
 * (MicroPython's model). amp_fw_serve() in boards/stm32h747/sdk/hal.c shows the steps:
 * start rpmsg, create the endpoint, serve.
 */
#include "amp_fw.h"

int main(void)
{
    return amp_fw_serve("virtual_uart", "vuart-channel", amp_fw_echo);
}
