/*
 * Loading files that are not firmware files (issue 8, item 2): a FIFO, a
 * character device, a socket. Each is refused at once with a message naming
 * it, and the board is left as it was. open() of a FIFO without a writer
 * blocks forever unless it is non-blocking, so every test runs under
 * alarm(): a hang ends the program with a message instead of stalling
 * `make test`.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "amp/sim.h"
#include "firmware_dir.h"

/* Loads are instant; this only bounds a hang. */
#define HANG_SECONDS 10

static char fw_dir[PATH_MAX];
static char tmp_dir[] = "/tmp/amp-test-load-XXXXXX";

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_load_files: a load hung (no answer in 10 s)\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

struct fixture {
    char name[64];
    struct amp_sim_board *board;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->name, sizeof fx->name, "tload%d", (int)getpid());
    struct amp_sim_options opt = { .name = fx->name, .remove_flash_on_close = true };
    char err[256];
    if (amp_sim_open(&fx->board, &opt, err, sizeof err) != 0) {
        print_error("amp_sim_open: %s\n", err);
        free(fx);
        return -1;
    }
    *state = fx;
    alarm(HANG_SECONDS);
    return 0;
}

static int teardown(void **state)
{
    alarm(0);
    struct fixture *fx = *state;
    amp_sim_close(fx->board);
    free(fx);
    return 0;
}

/* Refused with -AMP_EINVAL, a message naming the file and what it is, and
 * nothing loaded. */
static void expect_refused(struct fixture *fx, const char *path, const char *kind)
{
    char err[512] = "unset";
    enum amp_rproc_state before = amp_rproc_state(amp_sim_rproc(fx->board));
    int rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    print_message("    %s\n", err);
    assert_int_equal(rc, -AMP_EINVAL);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a regular file"));
    assert_non_null(strstr(err, kind));
    assert_int_equal(amp_rproc_state(amp_sim_rproc(fx->board)), before);
}

static void tmp_path(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, "%s/%s", tmp_dir, name);
    assert_true(n > 0 && (size_t)n < len);
}

static void test_fifo_is_refused_at_once(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    /* No writer: a blocking open() would never return. */
    expect_refused(fx, path, "FIFO");
    /* A good load still works afterwards, and a FIFO after it leaves it loaded. */
    char fw[PATH_MAX + 32], err[512];
    snprintf(fw, sizeof fw, "%s/virtual_uart.elf", fw_dir);
    int rc = amp_sim_load_file(fx->board, fw, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    expect_refused(fx, path, "FIFO");
    assert_int_equal(amp_rproc_state(amp_sim_rproc(fx->board)), AMP_RPROC_LOADED);
    assert_int_equal(unlink(path), 0);
}

static void test_character_device_is_refused(void **state)
{
    struct fixture *fx = *state;
    /* /dev/zero would read forever-zeros; /dev/null would look empty. */
    expect_refused(fx, "/dev/zero", "character device");
    expect_refused(fx, "/dev/null", "character device");
}

static void test_socket_is_refused(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    tmp_path(path, sizeof path, "sock");
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    assert_true(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    /* open() of a socket fails (ENXIO): the message still says what it is. */
    expect_refused(fx, path, "socket");
    close(s);
    assert_int_equal(unlink(path), 0);
}

int main(void)
{
    if (test_firmware_dir(fw_dir, sizeof fw_dir) != 0)
        return 1;
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifo_is_refused_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_character_device_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_is_refused, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmp_dir);
    return failed;
}
