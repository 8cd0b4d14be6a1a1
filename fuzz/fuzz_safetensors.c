/* libFuzzer target: the safetensors header parser on arbitrary bytes. */
#include "model/safetensors.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rmb_st_file f;
    rmb_error err;
    memset(&f, 0, sizeof f);
    if (rmb_safetensors_parse(&f, data, size, "fuzz", &err) == RMB_OK) {
        /* Every tensor must lie inside the input. */
        for (size_t i = 0; i < f.n_tensors; i++) {
            const uint8_t *p = f.tensors[i].data;
            if (p < data || p + f.tensors[i].n_bytes > data + size)
                __builtin_trap();
        }
    }
    rmb_safetensors_close(&f);
    return 0;
}
