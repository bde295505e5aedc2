/*
 * platforms/openamp-linux: a host that destroys its endpoint and closes the
 * socket at once. Its kick and the EOF reach the remote in one wake-up; the
 * remote must still see the NS destroy before it is told the peer is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "openamp_linux.h"

#define SERVICE "amp-oltest-svc"

static char shm_name[64], sock_path[108];

static int no_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                 void *priv)
{
    (void)ept, (void)data, (void)len, (void)src, (void)priv;
    return AMP_RPMSG_RELEASE;
}

static void unbound(struct amp_rpmsg_endpoint *ept, void *priv)
{
    (void)ept;
    (*(unsigned *)priv)++;
}

/* The child: bind to the service, then NS destroy and close back to back. */
static int host_child(void)
{
    struct amp_ol_options opt = { .shm_name = shm_name, .socket_path = sock_path,
                                  .connect_timeout_ms = 5000 };
    char err[256];
    struct amp_ol *ol;
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ept;
    if (amp_ol_open(&ol, AMP_RPMSG_HOST, &opt, err, sizeof err) ||
        amp_ol_rpmsg(ol, &dev, 5000, err, sizeof err)) {
        fprintf(stderr, "host: %s\n", err);
        return 1;
    }
    if (amp_rpmsg_create_ept(&ept, dev, SERVICE, AMP_RPMSG_ADDR_ANY, AMP_RPMSG_ADDR_ANY, no_rx,
                             NULL, NULL))
        return 1;
    for (int i = 0; i < 500 && !amp_rpmsg_ept_is_ready(&ept); i++) {
        amp_rpmsg_poll(dev);
        amp_rpmsg_wait(dev, 10);
    }
    if (!amp_rpmsg_ept_is_ready(&ept))
        return 1;
    amp_rpmsg_destroy_ept(&ept);
    amp_ol_close(ol);
    return 0;
}

static void test_destroy_then_close_is_seen_before_gone(void **state)
{
    (void)state;
    snprintf(shm_name, sizeof shm_name, "amp-oltest-c-%d.shm", (int)getpid());
    snprintf(sock_path, sizeof sock_path, "/tmp/amp-oltest-c-%d.event", (int)getpid());
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(host_child());

    struct amp_ol_options opt = { .shm_name = shm_name, .socket_path = sock_path,
                                  .connect_timeout_ms = 5000, .unlink_shm_on_close = true };
    char err[256];
    struct amp_ol *ol;
    struct amp_rpmsg_device *dev;
    assert_int_equal(amp_ol_open(&ol, AMP_RPMSG_REMOTE, &opt, err, sizeof err), 0);
    assert_int_equal(amp_ol_rpmsg(ol, &dev, 5000, err, sizeof err), 0);
    unsigned unbinds = 0;
    struct amp_rpmsg_endpoint ept;
    assert_int_equal(amp_rpmsg_create_ept(&ept, dev, SERVICE, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, no_rx, unbound, &unbinds), 0);
    /* The host has bound, destroyed and closed: its kick and EOF are both pending. */
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    const struct amp_platform *p = amp_ol_platform(ol);
    assert_int_equal(p->ops->wait(p->ctx, 1000), 0);       /* the kick: poll the rings */
    assert_true(amp_rpmsg_poll(dev) >= 0);
    assert_int_equal(unbinds, 1);                           /* the NS destroy handled */
    assert_int_equal(p->ops->wait(p->ctx, 1000), -AMP_ENODEV);  /* then: gone */
    assert_int_equal(amp_rpmsg_wait(dev, 1000), -AMP_ENODEV);
    amp_rpmsg_destroy_ept(&ept);
    amp_ol_close(ol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_destroy_then_close_is_seen_before_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
