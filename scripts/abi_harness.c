/*
 * abi_harness.c: load a gomask library and call its C ABI as Python's ctypes
 * does, outside Python. scripts/release_check.py cross-compiles it with zig cc
 * and runs it on the cross-built libraries: for linux/arm64 under QEMU
 * (dlopen) and for windows/amd64 under wine (LoadLibrary).
 *
 *     abi_harness LIBRARY EXPECTED_ABI_VERSION
 *
 * EXPECTED_ABI_VERSION is ABI_VERSION of src/gomask/_abi.py. The prototypes
 * are those of gosrc/exports.go and gosrc/exports_debug.go; the error struct
 * and codes come from gosrc/gomask_abi.h (build with -I gosrc). It checks:
 * the ABI version, the build info, add(2, 3) and its overflow error (code
 * GOMASK_EOVERFLOW), the RFC 6455 section 5.7 example ("Hello" masked with
 * 37 fa 21 3d is 7f 9f 4d 51 58) through gomask_mask and gomask_mask_inplace,
 * and that a Go panic comes back as a GOMASK_EPANIC error, not a crash.
 * It prints one line per check and "all ok" last; exit status 0 only then.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gomask_abi.h"

#ifdef _WIN32
#include <windows.h>
typedef HMODULE library;
static library open_library(const char *path) { return LoadLibraryA(path); }
static void *symbol(library h, const char *name) { return (void *)GetProcAddress(h, name); }
static void print_open_error(const char *path) {
    fprintf(stderr, "LoadLibrary(%s) failed: error %lu\n", path, (unsigned long)GetLastError());
}
#else
#include <dlfcn.h>
typedef void *library;
static library open_library(const char *path) { return dlopen(path, RTLD_NOW); }
static void *symbol(library h, const char *name) { return dlsym(h, name); }
static void print_open_error(const char *path) {
    fprintf(stderr, "dlopen(%s) failed: %s\n", path, dlerror());
}
#endif

typedef uint32_t (*abi_version_fn)(void);
typedef char *(*build_info_fn)(void);
typedef void (*free_fn)(void *);
typedef void (*error_free_fn)(gomask_error *);
typedef gomask_error *(*add_fn)(int64_t, int64_t, int64_t *);
typedef gomask_error *(*mask_fn)(uint8_t *, const uint8_t *, size_t, const uint8_t *);
typedef gomask_error *(*mask_inplace_fn)(uint8_t *, size_t, const uint8_t *);
typedef gomask_error *(*debug_panic_fn)(const char *, size_t, int);

static int failures = 0;

static void fail(const char *what) {
    printf("FAIL %s\n", what);
    failures++;
}

static void *need(library h, const char *name) {
    void *p = symbol(h, name);
    if (!p) {
        printf("FAIL missing export %s\n", name);
        exit(1);
    }
    return p;
}

static void hex(const char *label, const uint8_t *p, size_t n) {
    printf("%s ", label);
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBRARY EXPECTED_ABI_VERSION\n", argv[0]);
        return 2;
    }
    unsigned long expected = strtoul(argv[2], NULL, 10);
    library h = open_library(argv[1]);
    if (!h) {
        print_open_error(argv[1]);
        return 1;
    }
    abi_version_fn abi_version = (abi_version_fn)need(h, "gomask_abi_version");
    build_info_fn build_info = (build_info_fn)need(h, "gomask_build_info");
    free_fn gomask_free = (free_fn)need(h, "gomask_free");
    error_free_fn error_free = (error_free_fn)need(h, "gomask_error_free");
    add_fn add = (add_fn)need(h, "gomask_add");
    mask_fn mask = (mask_fn)need(h, "gomask_mask");
    mask_inplace_fn mask_inplace = (mask_inplace_fn)need(h, "gomask_mask_inplace");
    debug_panic_fn debug_panic = (debug_panic_fn)need(h, "gomask_debug_panic");

    uint32_t version = abi_version();
    printf("abi %u (expected %lu)\n", (unsigned)version, expected);
    if (version != expected) {
        fail("gomask_abi_version() is not the expected ABI version");
        return 1; /* the prototypes below may not hold */
    }

    char *info = build_info();
    printf("info %s\n", info ? info : "(null)");
    if (!info) fail("gomask_build_info() returned NULL");
    gomask_free(info);

    int64_t sum = 0;
    gomask_error *err = add(2, 3, &sum);
    if (err || sum != 5) fail("gomask_add(2, 3) is not 5");
    if (err) error_free(err);
    err = add(INT64_MAX, 1, &sum);
    if (!err) {
        fail("gomask_add(INT64_MAX, 1) did not fail");
    } else {
        printf("add overflow: code %d: %s\n", (int)err->code, err->message ? err->message : "");
        if (err->code != GOMASK_EOVERFLOW) fail("gomask_add overflow: code is not GOMASK_EOVERFLOW");
        error_free(err);
    }

    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const uint8_t want[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t out[5] = {0};
    err = mask(out, (const uint8_t *)"Hello", 5, key);
    if (err) {
        fail("gomask_mask returned an error");
        error_free(err);
    }
    hex("mask", out, 5);
    if (memcmp(out, want, 5) != 0) fail("gomask_mask(\"Hello\", 37fa213d) is not 7f9f4d5158");

    uint8_t buf[5];
    memcpy(buf, "Hello", 5);
    err = mask_inplace(buf, 5, key);
    if (err) {
        fail("gomask_mask_inplace returned an error");
        error_free(err);
    }
    hex("mask_inplace", buf, 5);
    if (memcmp(buf, want, 5) != 0) fail("gomask_mask_inplace(\"Hello\", 37fa213d) is not 7f9f4d5158");

    const char *msg = "harness panic";
    err = debug_panic(msg, strlen(msg), 0);
    if (!err) {
        fail("gomask_debug_panic returned NULL");
    } else {
        printf("panic: code %d: %s\n", (int)err->code, err->message ? err->message : "");
        if (err->code != GOMASK_EPANIC) fail("gomask_debug_panic: code is not GOMASK_EPANIC");
        if (!err->message || !strstr(err->message, msg)) fail("gomask_debug_panic: no message");
        error_free(err);
    }

    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
