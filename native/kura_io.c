/*
 * kura_io: non-blocking positional reads for the block engine.
 *
 * preadv2(RWF_NOWAIT) returns data only if it is already in the page cache and
 * fails with EAGAIN instead of waiting for the disk. The engine tries it on the
 * event loop first and sends only real disk reads to libuv's thread pool, which
 * saves a thread hand-off per cached read (the same trick Samba and QEMU use).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/uio.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

static napi_value throw_errno(napi_env env, int err) {
  napi_throw_error(env, "EIO", strerror(err));
  return NULL;
}

/* readNowait(fd, buffer, offset, length, position) -> bytes read, or -1 when it would block */
static napi_value read_nowait(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "readNowait(fd, buffer, offset, length, position)");
    return NULL;
  }
  int32_t fd;
  uint8_t *data;
  size_t size;
  int64_t offset, length, position;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], (void **)&data, &size) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_get_value_int64(env, argv[4], &position) != napi_ok) {
    napi_throw_type_error(env, NULL, "readNowait: bad argument types");
    return NULL;
  }
  if (offset < 0 || length < 0 || (size_t)(offset + length) > size || position < 0) {
    napi_throw_range_error(env, NULL, "readNowait: range outside the buffer");
    return NULL;
  }
  struct iovec iov = {.iov_base = data + offset, .iov_len = (size_t)length};
  ssize_t n;
  do {
    n = preadv2(fd, &iov, 1, (off_t)position, RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  napi_value out;
  if (n < 0) {
    /* EOPNOTSUPP: the kernel or file system lacks RWF_NOWAIT; the caller falls back for good. */
    if (errno == EAGAIN) {
      napi_create_int32(env, -1, &out);
      return out;
    }
    if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) {
      napi_create_int32(env, -2, &out);
      return out;
    }
    return throw_errno(env, errno);
  }
  napi_create_int64(env, (int64_t)n, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "readNowait", NAPI_AUTO_LENGTH, read_nowait, NULL, &fn);
  napi_set_named_property(env, exports, "readNowait", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
