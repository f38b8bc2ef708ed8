// Why: the AppendLog appends by storing into a shared file mapping instead of calling write(2)
// per set. A store into a MAP_SHARED page lands in the kernel's page cache at once, so it
// survives a process crash exactly as a write(2) does, without the ~1 µs syscall; and sealed
// files are read through read-only mappings instead of pread(2). Node has no mmap, so this is the
// smallest addon that gives one: map() and reserve(), nothing else. A mapping is released by
// the garbage collector (finalizer -> munmap), never explicitly, so no JS view can outlive it.

#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static napi_value throw_errno(napi_env env, int err, const char* what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, err == ENOSPC ? "ENOSPC" : err == ENOMEM ? "ENOMEM" : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static void unmap(napi_env env, void* data, void* hint) {
  size_t len = (size_t)(uintptr_t)hint;
  munmap(data, len);
  int64_t ignored;
  napi_adjust_external_memory(env, -(int64_t)len, &ignored);
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "too few arguments");
    return 0;
  }
  return 1;
}

// map(fd, length, writable) -> ArrayBuffer over a MAP_SHARED mapping of the file's first `length` bytes.
static napi_value Map(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args(env, info, 3, argv)) return NULL;
  int32_t fd;
  int64_t len;
  bool writable;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &len) != napi_ok ||
      napi_get_value_bool(env, argv[2], &writable) != napi_ok || len <= 0) {
    napi_throw_type_error(env, NULL, "map(fd, length > 0, writable)");
    return NULL;
  }
  void* p = mmap(NULL, (size_t)len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return throw_errno(env, errno, "mmap");
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, (size_t)len, unmap, (void*)(uintptr_t)len, &ab) != napi_ok) {
    munmap(p, (size_t)len);
    napi_throw_error(env, NULL, "cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  // The pages are not on V8's heap; telling it their size lets GC release dead mappings sooner.
  int64_t ignored;
  napi_adjust_external_memory(env, len, &ignored);
  return ab;
}

// reserve(fd, length): allocates disk blocks for [0, length) (posix_fallocate), so that a store
// into the mapping can never hit a full disk (which would be SIGBUS instead of an error).
static napi_value Reserve(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return NULL;
  int32_t fd;
  int64_t len;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &len) != napi_ok || len <= 0) {
    napi_throw_type_error(env, NULL, "reserve(fd, length > 0)");
    return NULL;
  }
  int err = posix_fallocate(fd, 0, (off_t)len);
  if (err != 0) return throw_errno(env, err, "fallocate");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, Map, NULL, &f);
  napi_set_named_property(env, exports, "map", f);
  napi_create_function(env, "reserve", NAPI_AUTO_LENGTH, Reserve, NULL, &f);
  napi_set_named_property(env, exports, "reserve", f);
  return exports;
}
