// The entry points of mask() for bytes, mask_inplace() for bytearray and
// mask_batch(), the calls Python makes most: written in C around the Go
// exports gomask_mask, gomask_mask_copy, gomask_mask_inplace and
// gomask_mask_vectors (the masking stays in Go).
//
// Why: a call through ctypes costs about 100 ns plus 50 ns per argument,
// more than masking a kilobyte, and each check in Python 20 ns or more;
// checking the arguments, making the result object in Python, getting
// a bytearray's address there (ctypes from_buffer) or pinning it for a call
// without the GIL costs as much again, or more. These functions take the
// Python objects themselves (their id()) and ask CPython directly, as a C
// extension would, through function pointers Python hands over once per
// loaded library (gomask_set_python_api): the library links against no
// Python, so one build still serves every Python 3. Doing it here rather
// than from Go also saves a Go-to-C transition per call. Whether to release
// the GIL and how many goroutines to use is decided here too, from sizes
// Python sets (gomask_set_mask_policy), so that Python passes only the
// object and the key.
//
// The rules that make this safe:
//   - Python calls these functions only through ctypes.PyDLL, so the
//     calling thread holds the GIL (is attached, on free-threaded builds)
//     when they start and when they return;
//   - nothing is read from an object before its exact type is checked:
//     gomask_mask_new and gomask_mask_bytearray take any two objects and
//     decline (Python then validates them on its general path) unless they
//     are a bytes or bytearray and a bytes key of 4 bytes; Python checks
//     the tuple of bytes of gomask_mask_batch first, and the C API checks
//     it again;
//   - without the GIL (large buffers, so that other threads run meanwhile)
//     Go only touches memory that cannot move: the data of an immutable
//     bytes object the caller holds, a new bytes object nobody else has
//     seen yet, or a bytearray pinned by a buffer export
//     (PyObject_GetBuffer: resizing it raises BufferError until
//     PyBuffer_Release);
//   - with the GIL held for the whole call (short buffers, policy.gil_max),
//     no other thread can resize or free a bytearray between reading its
//     address and Go masking it; Python sets gil_max to 0 on free-threaded
//     CPython without a GIL, so that every bytearray is pinned there;
//   - the CPython functions used run no Python code (sizes and data
//     pointers of bytes, bytearray and tuple objects, creating bytes and list
//     objects, setting an exception, a bytearray's buffer export, releasing
//     and taking back the GIL), and all are in the stable ABI;
//   - no Python pointer is kept after the call.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "_cgo_export.h"

#if defined(_WIN32)
#define GOMASK_C_EXPORT __declspec(dllexport)
#else
#define GOMASK_C_EXPORT __attribute__((visibility("default")))
#endif

// Py_buffer, as laid out since Python 3.3 (part of the stable ABI since
// 3.11; src/gomask/_buffers.py declares the same).
typedef struct {
	void *buf;
	void *obj;
	ptrdiff_t len;
	ptrdiff_t itemsize;
	int readonly;
	int ndim;
	char *format;
	ptrdiff_t *shape;
	ptrdiff_t *strides;
	ptrdiff_t *suboffsets;
	void *internal;
} gomask_py_buffer;

enum { GOMASK_PyBUF_WRITABLE = 0x0001 };

// The table of gomask_set_python_api, in this order.
typedef struct {
	char *(*bytearray_as_string)(void *);                         // PyByteArray_AsString
	ptrdiff_t (*bytearray_size)(void *);                          // PyByteArray_Size
	void *(*bytes_from_string_and_size)(const char *, ptrdiff_t); // PyBytes_FromStringAndSize
	char *(*bytes_as_string)(void *);                             // PyBytes_AsString
	ptrdiff_t (*bytes_size)(void *);                              // PyBytes_Size
	void (*err_set_string)(void *, const char *);                 // PyErr_SetString
	void *(*err_no_memory)(void);                                 // PyErr_NoMemory
	void (*decref)(void *);                                       // Py_DecRef
	int (*get_buffer)(void *, gomask_py_buffer *, int);           // PyObject_GetBuffer
	void (*release_buffer)(gomask_py_buffer *);                   // PyBuffer_Release
	void *(*save_thread)(void);                                   // PyEval_SaveThread
	void (*restore_thread)(void *);                               // PyEval_RestoreThread
	ptrdiff_t (*tuple_size)(void *);                              // PyTuple_Size
	void *(*tuple_get_item)(void *, ptrdiff_t);                   // PyTuple_GetItem
	void *(*list_new)(ptrdiff_t);                                 // PyList_New
	int (*list_set_item)(void *, ptrdiff_t, void *);              // PyList_SetItem
	void *(*object_type)(void *);                                 // PyObject_Type
	void (*incref)(void *);                                       // Py_IncRef
	void *value_error;                                            // PyExc_ValueError
	void *panic_type;                                             // the class of Go errors
	void *bytes_type;                                             // bytes
	void *bytearray_type;                                         // bytearray
	void *none;                                                   // None
} gomask_python_api;

enum { GOMASK_PYTHON_API_SIZE = 23 };

// Written once per loaded library, under the GIL, before any of its users
// runs.
static gomask_python_api api;
static int api_ready;

// The sizes that decide how a call runs (gomask_set_mask_policy); atomic,
// since free-threaded Python may call while another thread sets them.
static size_t policy_gil_max = (size_t)-1;
static size_t policy_parallel_min = (size_t)-1;
static size_t policy_workers = 1;

// gomask_set_python_api installs the n entries of table (function
// pointers, then two exception classes); it returns 0, or -1 if the table
// is not the expected one (nothing is installed then).
GOMASK_C_EXPORT int32_t gomask_set_python_api(void **table, size_t n) {
	if (table == NULL || n != GOMASK_PYTHON_API_SIZE) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (table[i] == NULL) {
			return -1;
		}
	}
	api.bytearray_as_string = (char *(*)(void *))table[0];
	api.bytearray_size = (ptrdiff_t(*)(void *))table[1];
	api.bytes_from_string_and_size = (void *(*)(const char *, ptrdiff_t))table[2];
	api.bytes_as_string = (char *(*)(void *))table[3];
	api.bytes_size = (ptrdiff_t(*)(void *))table[4];
	api.err_set_string = (void (*)(void *, const char *))table[5];
	api.err_no_memory = (void *(*)(void))table[6];
	api.decref = (void (*)(void *))table[7];
	api.get_buffer = (int (*)(void *, gomask_py_buffer *, int))table[8];
	api.release_buffer = (void (*)(gomask_py_buffer *))table[9];
	api.save_thread = (void *(*)(void))table[10];
	api.restore_thread = (void (*)(void *))table[11];
	api.tuple_size = (ptrdiff_t(*)(void *))table[12];
	api.tuple_get_item = (void *(*)(void *, ptrdiff_t))table[13];
	api.list_new = (void *(*)(ptrdiff_t))table[14];
	api.list_set_item = (int (*)(void *, ptrdiff_t, void *))table[15];
	api.object_type = (void *(*)(void *))table[16];
	api.incref = (void (*)(void *))table[17];
	api.value_error = table[18];
	api.panic_type = table[19];
	api.bytes_type = table[20];
	api.bytearray_type = table[21];
	api.none = table[22];
	api_ready = 1;
	return 0;
}

// gomask_set_mask_policy sets how the functions below run: buffers of at
// least gil_max bytes are masked without the GIL (and a bytearray is pinned
// meanwhile), and buffers of at least parallel_min bytes on up to workers
// goroutines.
GOMASK_C_EXPORT void gomask_set_mask_policy(size_t gil_max, size_t parallel_min, size_t workers) {
	__atomic_store_n(&policy_gil_max, gil_max, __ATOMIC_RELAXED);
	__atomic_store_n(&policy_parallel_min, parallel_min, __ATOMIC_RELAXED);
	__atomic_store_n(&policy_workers, workers ? workers : 1, __ATOMIC_RELAXED);
}

static int without_gil(size_t n) {
	return n >= __atomic_load_n(&policy_gil_max, __ATOMIC_RELAXED);
}

static size_t workers_for(size_t n) {
	return n >= __atomic_load_n(&policy_parallel_min, __ATOMIC_RELAXED)
		? __atomic_load_n(&policy_workers, __ATOMIC_RELAXED)
		: 1;
}

// raise_error sets the Go error err as the Python exception (and frees it).
static void raise_error(gomask_error *err) {
	api.err_set_string(api.panic_type, err->message ? err->message : "gomask: Go error");
	gomask_error_free(err);
}

// is_exactly reports whether the type of obj is type itself (Python's
// `type(obj) is type`: a subclass could override what the fast paths
// assume, so subclasses take Python's general path).
static int is_exactly(void *obj, void *type) {
	void *t = api.object_type(obj); // a new reference; obj keeps its type alive anyway
	api.decref(t);
	return t == type;
}

// key_data returns the data of key if it is a bytes object of exactly 4
// bytes, else NULL (without an exception: Python's general path checks it
// and says what is wrong).
static uint8_t *key_data(void *key) {
	if (!is_exactly(key, api.bytes_type) || api.bytes_size(key) != 4) {
		return NULL;
	}
	return (uint8_t *)api.bytes_as_string(key);
}

// gomask_mask_new is mask(data, key) for the common case, data a bytes
// object and key a bytes object of 4 bytes (both passed as their id()):
// it returns a new bytes object holding data masked with key. For any other
// arguments it returns None, does nothing else, and Python takes its
// general path, which validates them. It is an exception to the error
// convention of the exports: it returns a new reference, or NULL with a
// Python exception set (MemoryError, or GoPanicError with Go's message).
GOMASK_C_EXPORT void *gomask_mask_new(void *data, void *key) {
	if (!api_ready || data == NULL || key == NULL) {
		// Python never calls it so. Without the API no exception can be
		// set; ctypes then reports the NULL as a ValueError.
		if (api_ready) {
			api.err_set_string(api.value_error, "gomask_mask_new: NULL object or key");
		}
		return NULL;
	}
	uint8_t *k = key_data(key);
	if (k == NULL || !is_exactly(data, api.bytes_type)) {
		api.incref(api.none);
		return api.none;
	}
	uint8_t *src = (uint8_t *)api.bytes_as_string(data);
	ptrdiff_t size = api.bytes_size(data);
	// A NULL source makes an uninitialised object, never a cached one
	// (PyBytes_FromStringAndSize caches only the 1-byte objects it copies,
	// and the empty one, which Go then does not write).
	void *obj = api.bytes_from_string_and_size(NULL, size);
	if (obj == NULL) {
		return NULL; // MemoryError is set
	}
	if (size == 0) {
		return obj;
	}
	size_t n = (size_t)size;
	uint8_t *dst = (uint8_t *)api.bytes_as_string(obj);
	gomask_error *err;
	if (!without_gil(n)) {
		err = gomask_mask_copy(dst, src, n, k);
	} else {
		// Nobody else has obj yet, and src and k are the data of bytes
		// objects the caller holds: none can change without the GIL.
		void *state = api.save_thread();
		err = gomask_mask(dst, src, n, k, workers_for(n));
		api.restore_thread(state);
	}
	if (err != NULL) {
		raise_error(err);
		api.decref(obj);
		return NULL;
	}
	return obj;
}

// gomask_mask_bytearray is mask_inplace(obj, key) for the common case, obj
// a bytearray and key a bytes object of 4 bytes (both passed as their
// id()): it masks obj in place and returns 0. For any other arguments it
// returns 1, does nothing else, and Python takes its general path. Errors
// are raised as Python exceptions (ctypes.PyDLL checks for one after every
// call): GoPanicError with Go's message, or BufferError if the bytearray
// cannot be pinned.
GOMASK_C_EXPORT int32_t gomask_mask_bytearray(void *obj, void *key) {
	if (!api_ready || obj == NULL || key == NULL) {
		if (api_ready) {
			api.err_set_string(api.value_error, "gomask_mask_bytearray: NULL object or key");
		}
		return -1;
	}
	uint8_t *k = key_data(key);
	if (k == NULL || !is_exactly(obj, api.bytearray_type)) {
		return 1;
	}
	ptrdiff_t size = api.bytearray_size(obj);
	if (size <= 0) {
		return 0;
	}
	size_t n = (size_t)size;
	gomask_error *err = NULL;
	if (!without_gil(n)) {
		// The GIL is held until the call returns: nothing can resize it.
		err = gomask_mask_inplace((uint8_t *)api.bytearray_as_string(obj), n, k);
	} else {
		gomask_py_buffer view;
		if (api.get_buffer(obj, &view, GOMASK_PyBUF_WRITABLE) != 0) {
			return -1; // the exception is set
		}
		if (view.len > 0) {
			// k is the data of a bytes object the caller holds: immutable.
			size_t len = (size_t)view.len;
			void *state = api.save_thread();
			err = gomask_mask((uint8_t *)view.buf, (uint8_t *)view.buf, len, k, workers_for(len));
			api.restore_thread(state);
		}
		api.release_buffer(&view);
	}
	if (err != NULL) {
		raise_error(err);
		return -1;
	}
	return 0;
}

// gomask_mask_batch returns a new list holding, for each bytes object of
// the tuple payloads (its address, from id()), a new bytes object with it
// masked from position 0 with its own key: keys holds keys_len ==
// 4 * len(payloads) bytes, the key of payload i at 4 * i. Go masks them all
// in one call, without the GIL if they add up to at least the policy's
// gil_max bytes (the tuple, which the caller holds, keeps every payload
// alive and unchanged meanwhile; the new objects are nobody else's yet). It
// returns NULL with a Python exception set on error (TypeError for an item
// that is not bytes; Python checks that first).
GOMASK_C_EXPORT void *gomask_mask_batch(void *payloads, uint8_t *keys, size_t keys_len) {
	if (!api_ready || payloads == NULL) {
		if (api_ready) {
			api.err_set_string(api.value_error, "gomask_mask_batch: NULL tuple");
		}
		return NULL;
	}
	ptrdiff_t count = api.tuple_size(payloads);
	if (count < 0) {
		return NULL; // SystemError is set: not a tuple
	}
	if (keys == NULL || keys_len % 4 != 0 || keys_len / 4 != (size_t)count) {
		api.err_set_string(api.value_error, "gomask_mask_batch: not 4 key bytes per payload");
		return NULL;
	}
	void *result = api.list_new(count);
	if (result == NULL || count == 0) {
		return result;
	}
	size_t m = (size_t)count;
	uint8_t **srcs = malloc(m * sizeof *srcs);
	uint8_t **dsts = malloc(m * sizeof *dsts);
	size_t *lens = malloc(m * sizeof *lens);
	if (srcs == NULL || dsts == NULL || lens == NULL) {
		api.err_no_memory();
		goto fail;
	}
	size_t total = 0;
	for (size_t i = 0; i < m; i++) {
		void *item = api.tuple_get_item(payloads, (ptrdiff_t)i); // borrowed
		char *data = item ? api.bytes_as_string(item) : NULL;
		if (data == NULL) {
			goto fail; // TypeError (not bytes) is set
		}
		ptrdiff_t n = api.bytes_size(item);
		void *out = api.bytes_from_string_and_size(NULL, n); // new, uncached (NULL source)
		if (out == NULL) {
			goto fail; // MemoryError is set
		}
		api.list_set_item(result, (ptrdiff_t)i, out); // steals out
		srcs[i] = (uint8_t *)data;
		dsts[i] = (uint8_t *)api.bytes_as_string(out);
		lens[i] = (size_t)n;
		total += (size_t)n;
	}
	gomask_error *err;
	if (without_gil(total)) {
		void *state = api.save_thread();
		err = gomask_mask_vectors(dsts, srcs, lens, m, keys, keys_len);
		api.restore_thread(state);
	} else {
		err = gomask_mask_vectors(dsts, srcs, lens, m, keys, keys_len);
	}
	if (err != NULL) {
		raise_error(err);
		goto fail;
	}
	free(srcs);
	free(dsts);
	free(lens);
	return result;
fail:
	free(srcs);
	free(dsts);
	free(lens);
	api.decref(result); // frees the objects made so far
	return NULL;
}
