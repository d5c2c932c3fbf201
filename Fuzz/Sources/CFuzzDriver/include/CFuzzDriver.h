#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, -sanitize=fuzzer): runs the fuzzing loop with the given callback.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Calls LLVMFuzzerRunDriver; exists so the Swift entry points need no C declarations of their own.
int edgeway_run_fuzzer(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
