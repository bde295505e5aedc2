/*
 * Loading firmware files into the board, reading the trace buffer, and
 * finding the helper program amp-simcore.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_internal.h"

#ifndef AMP_LIBEXECDIR
#define AMP_LIBEXECDIR "/usr/local/libexec/amp"
#endif

#define EM_X86_64 62
#define EM_ARM 40
/* Firmware for a 1 MiB flash plus debug info; anything bigger is a mistake. */
#define MAX_IMAGE_SIZE (64u << 20)

/* What a non-regular file is, for the message that refuses it. */
static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device" :
           S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a plain file";
}

/*
 * Read a whole regular file. Returns 0 with a malloc'ed buffer, or an error.
 * Opened non-blocking, so a FIFO (or a device) is refused by the fstat()
 * below instead of hanging open() until a writer turns up.
 */
static int read_image(const char *path, void **out, size_t *size, char *errmsg, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        /* A socket cannot be opened at all (ENXIO): say what it is. */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            sim_errmsg(errmsg, errlen, "%s: not a regular file (%s); give the path of a "
                       "firmware ELF file", path, file_kind(st.st_mode));
            return -AMP_EINVAL;
        }
        sim_errmsg(errmsg, errlen, "%s: cannot open: %s", path,
                   e == ENOENT ? "no such file" : strerror(e));
        return e == ENOENT ? -AMP_ENOENT : -AMP_EIO;
    }
    struct stat st;
    int rc = 0;
    void *buf = NULL;
    if (fstat(fd, &st) != 0) {
        sim_errmsg(errmsg, errlen, "%s: cannot stat: %s", path, strerror(errno));
        rc = -AMP_EIO;
    } else if (S_ISDIR(st.st_mode)) {
        sim_errmsg(errmsg, errlen, "%s: is a directory, not a firmware file", path);
        rc = -AMP_EINVAL;
    } else if (!S_ISREG(st.st_mode)) {
        sim_errmsg(errmsg, errlen, "%s: not a regular file (%s); give the path of a firmware "
                   "ELF file", path, file_kind(st.st_mode));
        rc = -AMP_EINVAL;
    } else if (st.st_size == 0) {
        sim_errmsg(errmsg, errlen, "%s: file is empty", path);
        rc = -AMP_ENOEXEC;
    } else if ((uint64_t)st.st_size > MAX_IMAGE_SIZE) {
        sim_errmsg(errmsg, errlen, "%s: file is too large for firmware (%lu bytes)", path,
                   (unsigned long)st.st_size);
        rc = -AMP_ENOEXEC;
    } else if (!(buf = malloc((size_t)st.st_size))) {
        sim_errmsg(errmsg, errlen, "%s: out of memory", path);
        rc = -AMP_ENOSPC;
    } else {
        size_t got = 0, want = (size_t)st.st_size;
        while (got < want) {
            ssize_t n = read(fd, (char *)buf + got, want - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                sim_errmsg(errmsg, errlen, "%s: cannot read: %s", path, strerror(errno));
                rc = -AMP_EIO;
                break;
            }
            if (n == 0) {
                sim_errmsg(errmsg, errlen, "%s: file shrank while being read", path);
                rc = -AMP_EIO;
                break;
            }
            got += (size_t)n;
        }
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *size = (size_t)st.st_size;
    return 0;
}

static bool problem_has_address(enum amp_elf_problem p)
{
    return p == AMP_ELF_SEG_FILE_RANGE || p == AMP_ELF_SEG_OUTSIDE_MAP ||
           p == AMP_ELF_SEG_OVERLAP || p == AMP_ELF_BAD_RSC_TABLE || p == AMP_ELF_ENTRY_OUTSIDE;
}

int amp_sim_load_file(struct amp_sim_board *board, const char *path, char *errmsg,
                      size_t errlen)
{
    sim_errmsg(errmsg, errlen, "%s", "");
    if (!board || !path) {
        sim_errmsg(errmsg, errlen, "amp_sim_load_file: no board or no path");
        return -AMP_EINVAL;
    }
    void *image;
    size_t size;
    int rc = read_image(path, &image, &size, errmsg, errlen);
    if (rc)
        return rc;

    /* The core type follows the machine: ELF32 EM_ARM runs on the emulated
     * Cortex-M4, anything else must be native x86-64 (the loader says so). */
    const uint8_t *h = image;
    bool arm = size >= 20 && h[4] == 1 && h[5] == 1 && (h[18] | h[19] << 8) == EM_ARM;
    struct amp_elf_error err = { .problem = AMP_ELF_OK, .segment = -1 };
    rc = amp_rproc_load(&board->rproc, image, size, arm ? EM_ARM : EM_X86_64, &err);
    free(image);
    if (rc == 0) {
        board->core_type = arm ? SIM_CORE_CM4 : SIM_CORE_NATIVE;
        board->elf_entry = board->rproc.entry;
        return 0;
    }
    if (rc == -AMP_EBUSY) {
        sim_errmsg(errmsg, errlen, "%s: cannot load while the core is running (stop it first)",
                   path);
    } else if (err.problem == AMP_ELF_OK) {
        sim_errmsg(errmsg, errlen, "%s: cannot load: %s", path, amp_strerror(rc));
    } else {
        char seg[32] = "", addr[80] = "";
        if (err.segment >= 0)
            snprintf(seg, sizeof seg, " (segment %d)", err.segment);
        if (problem_has_address(err.problem))
            snprintf(addr, sizeof addr, " at address 0x%lx, size 0x%lx",
                     (unsigned long)err.addr, (unsigned long)err.size);
        sim_errmsg(errmsg, errlen, "%s: %s%s%s", path, amp_elf_problem_str(err.problem), seg,
                   addr);
    }
    return rc;
}

int amp_sim_read_trace(struct amp_sim_board *board, char *buf, size_t len)
{
    if (!board || !buf || len == 0)
        return -AMP_EINVAL;
    buf[0] = '\0';
    /* The firmware's own TRACE entry (checked against the map at start), else
     * the host-built table's. */
    const volatile char *src = board->rproc.trace;
    size_t src_len = board->rproc.trace_len;
    if ((!src || !src_len) && board->has_layout) {
        /* A table-less layout names its trace itself, or has none. */
        src_len = board->layout.trace_len;
        src = src_len ? amp_mem_da_to_va(&board->map, board->layout.trace_da, src_len) : NULL;
    } else if (!src || !src_len) {
        src = amp_mem_da_to_va(&board->map, AMP_H747_TRACE_DA, AMP_H747_TRACE_LEN);
        src_len = AMP_H747_TRACE_LEN;
    }
    if (!src)
        return -AMP_ENOENT;
    /* The core may be writing it right now: copy byte by byte. A host that
     * zeroed the buffer (MicroPython clears shared memory) leaves NULs before
     * the firmware's write position: skip them, keep the text after. */
    size_t n = 0;
    for (size_t i = 0; i < src_len && n + 1 < len; i++) {
        char c = src[i];
        if (c != '\0')
            buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;  /* below len and the region size (1 MiB at most) */
}

/* ---- Finding amp-simcore ---- */

static bool is_program(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int copy_path(char *out, size_t len, const char *path)
{
    if (strlen(path) >= len)
        return -AMP_ENOSPC;
    memcpy(out, path, strlen(path) + 1);
    return 0;
}

/* Try dir/amp-simcore, dir/../bin/ (the build tree), dir/../libexec/amp/
 * (an installed program or library), dir/../../../libexec/amp/ (an installed
 * Python module: PREFIX/lib/pythonX.Y/site-packages). */
static bool try_dir(const char *file, char *out, size_t len)
{
    char dir[PATH_MAX];
    if (!file || !*file || !realpath(file, dir))
        return false;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *slash = '\0';
    static const char *const rel[] = { "/amp-simcore", "/../bin/amp-simcore",
                                       "/../libexec/amp/amp-simcore",
                                       "/../../../libexec/amp/amp-simcore" };
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX];
        int n = snprintf(cand, sizeof cand, "%s%s", dir, rel[i]);
        if (n > 0 && (size_t)n < sizeof cand && is_program(cand) &&
            copy_path(out, len, cand) == 0)
            return true;
    }
    return false;
}

int amp_sim_find_simcore(char *path, size_t len)
{
    if (!path || len == 0)
        return -AMP_EINVAL;
    path[0] = '\0';
    const char *env = getenv("AMP_SIMCORE");
    if (env && *env)
        return is_program(env) ? copy_path(path, len, env) : -AMP_ENOENT;

    /* Next to the shared object holding this code (e.g. the Python module)... */
    Dl_info info;
    if (dladdr((void *)amp_sim_find_simcore, &info) && info.dli_fname &&
        try_dir(info.dli_fname, path, len))
        return 0;
    /* ...or to the program itself. */
    if (try_dir("/proc/self/exe", path, len))
        return 0;
    if (is_program(AMP_LIBEXECDIR "/amp-simcore"))
        return copy_path(path, len, AMP_LIBEXECDIR "/amp-simcore");
    return -AMP_ENOENT;
}
