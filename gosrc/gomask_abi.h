// The C types of the gomask library's exports (exports.go), shared by the
// cgo preambles of package main. Python declares the same layouts with
// ctypes in src/gomask/_native.py; changing any of them requires bumping
// abiVersion there and in exports.go.
#ifndef GOMASK_ABI_H
#define GOMASK_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum {
	GOMASK_EVALUE = 1,
	GOMASK_EOVERFLOW = 2,
	GOMASK_EPANIC = 3,
};

typedef struct {
	int32_t code;
	char *message;
} gomask_error;

typedef struct {
	char *data;
	size_t len;
} gomask_string;

typedef struct {
	gomask_string name;
	int64_t age;
} gomask_friend;

typedef struct {
	gomask_string name;
	int64_t age;
	gomask_string *cars;
	size_t n_cars;
	gomask_friend *friends;
	size_t n_friends;
} gomask_person;

#endif
