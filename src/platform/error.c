/* Error text for amp error codes. */
#include "amp/platform.h"

static const char *const amp_error_text[AMP_ERRNO_MAX] = {
    [AMP_OK] = "success",
    [AMP_EINVAL] = "invalid argument",
    [AMP_ENOBUFS] = "no free buffer",
    [AMP_ETIMEDOUT] = "timed out",
    [AMP_EMSGSIZE] = "message larger than the buffer",
    [AMP_ENOTCONN] = "endpoint has no destination address",
    [AMP_EADDRINUSE] = "endpoint address already in use",
    [AMP_EADDRNOTAVAIL] = "no free endpoint address",
    [AMP_ENOENT] = "not found",
    [AMP_EBADMSG] = "malformed data from the peer",
    [AMP_ERANGE] = "index, length or address out of bounds",
    [AMP_EAGAIN] = "try again",
    [AMP_ENODEV] = "remote core is gone",
    [AMP_EBUSY] = "busy",
    [AMP_ENOEXEC] = "not an executable for this board",
    [AMP_EIO] = "I/O error",
    [AMP_ENOSPC] = "not enough space",
    [AMP_ENOTSUP] = "not supported",
};

const char *amp_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err >= AMP_ERRNO_MAX || !amp_error_text[err])
        return "unknown error";
    return amp_error_text[err];
}
