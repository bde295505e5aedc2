/*
 * amp-rpmsg-check: the guest half of make test-linux. Runs inside User-mode
 * Linux (linked -static, started by the guest's init) and talks to our
 * remote role through the kernel's rpmsg_char interfaces:
 *   - /dev/rpmsgN of the announced "rpmsg-raw" channel: every payload size
 *     1..496 must come back byte for byte, and a 497-byte write must be
 *     refused by Linux (EMSGSIZE);
 *   - /dev/rpmsg_ctrl0, RPMSG_CREATE_EPT_IOCTL: an endpoint of our own
 *     towards the same service, for a burst of COUNT verified round trips
 *     with up to WINDOW messages in flight.
 * Prints "amp-check: ..." lines and ends with "amp-check: PASS" (status 0)
 * or "amp-check: FAIL ..." (status 1). Every wait is bounded.
 *
 *   amp-rpmsg-check [COUNT [WINDOW]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rpmsg.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 496
#define WAIT_MS 5000

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("amp-check: FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_attr(const char *dev, const char *attr, char *buf, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "/sys/class/rpmsg/%s/%s", dev, attr);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, (int)size, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* The rpmsgN endpoint device named `name`, waiting up to WAIT_MS for it. */
static void find_eptdev(const char *name, char *out, size_t size)
{
    double end = now_s() + WAIT_MS / 1000.0;
    do {
        DIR *d = opendir("/sys/class/rpmsg");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char n[64];
            if (strncmp(e->d_name, "rpmsg", 5) || !strncmp(e->d_name, "rpmsg_ctrl", 10))
                continue;
            if (strlen(e->d_name) < size && read_attr(e->d_name, "name", n, sizeof(n)) == 0 &&
                !strcmp(n, name)) {
                memcpy(out, e->d_name, strlen(e->d_name) + 1);
                closedir(d);
                return;
            }
        }
        if (d)
            closedir(d);
        usleep(10000);
    } while (now_s() < end);
    die("no rpmsg endpoint device named %s within %d ms", name, WAIT_MS);
}

static int open_dev(const char *dev)
{
    char path[64];
    snprintf(path, sizeof(path), "/dev/%s", dev);
    double end = now_s() + WAIT_MS / 1000.0;
    for (;;) {
        int fd = open(path, O_RDWR);
        if (fd >= 0)
            return fd;
        if (now_s() > end)
            die("open %s: %s", path, strerror(errno));
        usleep(10000);
    }
}

static void fill(uint8_t *buf, size_t len, uint32_t seq)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
    if (len >= 4)
        memcpy(buf, &seq, 4);
}

/* Read one message within WAIT_MS: its length. */
static size_t read_msg(int fd, uint8_t *buf, size_t size, const char *what)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int rc = poll(&p, 1, WAIT_MS);
    if (rc == 0)
        die("%s: no reply within %d ms", what, WAIT_MS);
    if (rc < 0)
        die("%s: poll: %s", what, strerror(errno));
    ssize_t n = read(fd, buf, size);
    if (n < 0)
        die("%s: read: %s", what, strerror(errno));
    return (size_t)n;
}

/*
 * The burst's watchdog: no poll per message (each guest syscall is costly
 * under UML), but a SIGALRM every WAIT_MS that ends the run if no echo
 * arrived since the last one.
 */
static volatile unsigned long burst_done, burst_seen;

static void watchdog(int sig)
{
    (void)sig;
    if (burst_done == burst_seen) {
        static const char msg[] = "amp-check: FAIL burst: no echo within the watchdog period\n";
        ssize_t n = write(1, msg, sizeof(msg) - 1);
        (void)n;
        _exit(1);
    }
    burst_seen = burst_done;
    alarm(WAIT_MS / 1000);
}

static void write_msg(int fd, const uint8_t *buf, size_t len, const char *what)
{
    ssize_t n = write(fd, buf, len);
    if (n != (ssize_t)len)
        die("%s: write of %zu bytes: %s", what, len, n < 0 ? strerror(errno) : "short");
}

static void check_echo(const uint8_t *got, size_t n, uint32_t seq, size_t len, const char *what)
{
    uint8_t want[MAX_PAYLOAD];
    fill(want, len, seq);
    if (n != len)
        die("%s: message %u came back with %zu bytes, sent %zu", what, seq, n, len);
    if (memcmp(got, want, len))
        die("%s: message %u (%zu bytes) came back changed", what, seq, len);
}

int main(int argc, char **argv)
{
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 10) : 50000;
    unsigned long window = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    if (!count || !window || window > 200)
        die("usage: amp-rpmsg-check [COUNT [WINDOW (1..200)]]");
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(30);          /* until the burst: the harness has its own timeout, this names the step */

    char raw[32], dst[32];
    find_eptdev("rpmsg-raw", raw, sizeof(raw));
    if (read_attr(raw, "dst", dst, sizeof(dst)))
        die("no dst attribute for %s", raw);
    int fd = open_dev(raw);
    uint8_t buf[MAX_PAYLOAD + 64], got[MAX_PAYLOAD + 64];

    /* Every size a message can have comes back as it was sent. */
    for (uint32_t len = 1; len <= MAX_PAYLOAD; len++) {
        fill(buf, len, len);
        write_msg(fd, buf, len, "rpmsg-raw");
        check_echo(got, read_msg(fd, got, sizeof(got), "rpmsg-raw"), len, len, "rpmsg-raw");
    }
    printf("amp-check: raw-echo sizes 1..%d ok on /dev/%s (remote addr %s)\n", MAX_PAYLOAD, raw,
           dst);

    /* One byte more than a buffer holds: Linux refuses it, nothing is sent. */
    fill(buf, MAX_PAYLOAD + 1, 0);
    ssize_t n = write(fd, buf, MAX_PAYLOAD + 1);
    if (n >= 0 || errno != EMSGSIZE)
        die("a %d-byte write gave %zd (%s), not EMSGSIZE", MAX_PAYLOAD + 1, n,
            n < 0 ? strerror(errno) : "accepted");
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 100) != 0)
        die("something came back after the refused write");
    printf("amp-check: oversize %d-byte write refused (EMSGSIZE)\n", MAX_PAYLOAD + 1);
    close(fd);

    /* An endpoint of our own through the control device, for the burst. */
    int ctrl = open_dev("rpmsg_ctrl0");
    struct rpmsg_endpoint_info info = { .src = RPMSG_ADDR_ANY };
    snprintf(info.name, sizeof(info.name), "amp-burst");
    info.dst = (uint32_t)strtoul(dst, NULL, 0);
    if (ioctl(ctrl, RPMSG_CREATE_EPT_IOCTL, &info))
        die("RPMSG_CREATE_EPT_IOCTL: %s", strerror(errno));
    char burst[32];
    find_eptdev("amp-burst", burst, sizeof(burst));
    int bfd = open_dev(burst);

    double t0 = now_s();
    unsigned long sent = 0, done = 0, bytes = 0;
    alarm(0);
    signal(SIGALRM, watchdog);
    burst_seen = ~0ul;
    alarm(WAIT_MS / 1000);
    while (done < count) {
        while (sent < count && sent - done < window) {
            size_t len = 1 + (sent * 7919u) % MAX_PAYLOAD;
            fill(buf, len, (uint32_t)sent);
            write_msg(bfd, buf, len, "burst");
            sent++;
        }
        size_t len = 1 + (done * 7919u) % MAX_PAYLOAD;
        ssize_t r = read(bfd, got, sizeof(got));
        if (r < 0)
            die("burst: read: %s", strerror(errno));
        check_echo(got, (size_t)r, (uint32_t)done, len, "burst");
        bytes += len;
        burst_done = ++done;
    }
    alarm(0);
    double dt = now_s() - t0;
    printf("amp-check: burst %lu messages verified, %lu bytes, window %lu, %.2f s (%.0f msg/s)\n",
           done, bytes, window, dt, done / dt);
    if (ioctl(bfd, RPMSG_DESTROY_EPT_IOCTL))
        die("RPMSG_DESTROY_EPT_IOCTL: %s", strerror(errno));
    close(bfd);
    close(ctrl);
    printf("amp-check: PASS\n");
    return 0;
}
