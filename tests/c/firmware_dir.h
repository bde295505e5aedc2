/*
 * Where the test firmware is: build/firmware/, next to the directory of the
 * test program (build/tests/), and the build folder itself.
 */
#ifndef TEST_FIRMWARE_DIR_H
#define TEST_FIRMWARE_DIR_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 0 with out = "<dir of this program>/.." (build/), -1 if it does not fit. */
static inline int test_build_dir(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int w = snprintf(out, len, "%s/..", self);
    return w > 0 && (size_t)w < len ? 0 : -1;
}

/* 0 with out = "<build>/firmware", -1 if it does not fit. */
static inline int test_firmware_dir(char *out, size_t len)
{
    char build[PATH_MAX];
    if (test_build_dir(build, sizeof build) != 0)
        return -1;
    int w = snprintf(out, len, "%s/firmware", build);
    return w > 0 && (size_t)w < len ? 0 : -1;
}

#endif
