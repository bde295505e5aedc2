/*
 * streamer: firmware for the Python tests. Serves "stream": a message
 * "COUNT [SIZE [TIMEOUT_MS]]" (decimal) makes it send COUNT lines back to
 * the sender, each "line <i>\n" padded with '.' to SIZE bytes (default: no
 * padding), every send waiting up to TIMEOUT_MS (default 1000, like the
 * SDK's helpers; -1 forever) for a free buffer. It then traces
 *
 *   "stream: sent <ok> of <count>"
 *
 * and each failed send as "stream: send: <reason>", so a test can check
 * from the trace that no send timed out on the remote.
 */
#include "amp_fw.h"
#include "fw_text.h"

#define LINE_MAX 496

static struct amp_rpmsg_device dev;
static struct amp_rpmsg_endpoint stream;

/* Parse the next decimal number (optionally negative) from s[*at..len). */
static bool get_num(const char *s, size_t len, size_t *at, int32_t *out)
{
    while (*at < len && s[*at] == ' ')
        (*at)++;
    bool neg = *at < len && s[*at] == '-';
    if (neg)
        (*at)++;
    if (*at >= len || s[*at] < '0' || s[*at] > '9')
        return false;
    int32_t v = 0;
    while (*at < len && s[*at] >= '0' && s[*at] <= '9' && v < 100000000)
        v = v * 10 + (s[(*at)++] - '0');
    *out = neg ? -v : v;
    return true;
}

static void trace_num(const char *what, uint32_t v)
{
    char buf[16];
    size_t n = fw_put_u32(buf, 0, sizeof buf - 1, v);
    buf[n] = '\0';
    amp_fw_trace(what);
    amp_fw_trace(buf);
}

static int on_request(struct amp_rpmsg_endpoint *e, void *data, size_t len, uint32_t src,
                      void *priv)
{
    (void)priv;
    char req[32];
    size_t n = len < sizeof req ? len : sizeof req;
    for (size_t i = 0; i < n; i++)
        req[i] = ((const char *)data)[i];   /* copy once: shared memory */
    size_t at = 0;
    int32_t count = 0, size = 0, timeout = AMP_FW_SEND_TIMEOUT_MS;
    if (!get_num(req, n, &at, &count) || count < 0) {
        amp_fw_trace("stream: bad request\n");
        return AMP_RPMSG_RELEASE;
    }
    (void)(get_num(req, n, &at, &size) && get_num(req, n, &at, &timeout));
    if (size > LINE_MAX)
        size = LINE_MAX;
    uint32_t ok = 0;
    for (int32_t i = 0; i < count; i++) {
        char line[LINE_MAX];
        size_t k = 0;
        const char *word = "line ";
        while (*word)
            line[k++] = *word++;
        k = fw_put_u32(line, k, LINE_MAX, (uint32_t)i);
        while ((int32_t)k < size - 1)
            line[k++] = '.';
        line[k++] = '\n';
        int rc = amp_rpmsg_send_offchannel(e, e->addr, src, line, k, timeout);
        if (rc < 0)
            amp_fw_trace_error("stream: send", rc);
        else
            ok++;
    }
    trace_num("stream: sent ", ok);
    trace_num(" of ", (uint32_t)count);
    amp_fw_trace("\n");
    return AMP_RPMSG_RELEASE;
}

int main(void)
{
    amp_fw_trace("stream: up\n");
    amp_fw_platform(AMP_FW_WAIT_BLOCKING);
    int rc = amp_fw_rpmsg_start(&dev, AMP_FW_BOOT_TIMEOUT_MS);
    if (rc) {
        amp_fw_trace_error("stream: rpmsg start", rc);
        return 2;
    }
    rc = amp_rpmsg_create_ept(&stream, &dev, "stream", AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY,
                              on_request, NULL, NULL);
    if (rc) {
        amp_fw_trace_error("stream: endpoint", rc);
        return 3;
    }
    return amp_fw_rpmsg_run(&dev) ? 4 : 0;
}
