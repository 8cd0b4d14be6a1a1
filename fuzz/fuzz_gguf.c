/* libFuzzer target: the GGUF reader on arbitrary bytes. */
#include "model/gguf.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rmb_gguf_file f;
    rmb_error err;
    memset(&f, 0, sizeof f);
    if (rmb_gguf_parse(&f, data, size, "fuzz", &err) == RMB_OK) {
        /* Every tensor, string and array must lie inside the input. */
        const uint8_t *end = data + size;
        for (size_t i = 0; i < f.n_tensors; i++) {
            const uint8_t *p = f.tensors[i].data;
            if (p < data || p + f.tensors[i].n_bytes > end || (p - data) % f.alignment)
                __builtin_trap();
        }
        for (size_t i = 0; i < f.n_kvs; i++) {
            const rmb_gguf_kv *kv = &f.kvs[i];
            if ((const uint8_t *)kv->key.s + kv->key.len > end)
                __builtin_trap();
            for (size_t k = 0; kv->strs && k < kv->n; k++)
                if ((const uint8_t *)kv->strs[k].s + kv->strs[k].len > end)
                    __builtin_trap();
        }
    }
    rmb_gguf_close(&f);
    return 0;
}
