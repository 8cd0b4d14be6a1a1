/* Safetensors files: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.  Files are
 * memory-mapped and tensors point into the mapping, never copied. */
#ifndef RMB_MODEL_SAFETENSORS_H
#define RMB_MODEL_SAFETENSORS_H

#include "model/tensor.h"

#include <stddef.h>
#include <stdint.h>

/* One parsed file.  tensors[] is sorted by name. */
typedef struct rmb_st_file {
    char *path;
    void *map; /* NULL when parsed from a caller's buffer */
    size_t map_size;
    rmb_tensor *tensors;
    size_t n_tensors;
} rmb_st_file;

/* Sorts tensors by name, the order lookups expect. */
void rmb_tensors_sort(rmb_tensor *t, size_t n);

/* Parses a whole safetensors image in data[0..size): validates the header
 * length, every entry's dtype, shape and offsets against the data that is
 * really there.  name is used in messages.  Tensors point into data. */
rmb_status rmb_safetensors_parse(rmb_st_file *out, const void *data, size_t size,
                                 const char *name, rmb_error *err);
/* Maps path read-only and parses it. */
rmb_status rmb_safetensors_open(rmb_st_file *out, const char *path, rmb_error *err);
/* Unmaps and frees; safe on a zeroed or failed file. */
void rmb_safetensors_close(rmb_st_file *f);

#endif
