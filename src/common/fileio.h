/* Whole-file reads and all-or-nothing writes. */
#ifndef RMB_COMMON_FILEIO_H
#define RMB_COMMON_FILEIO_H

#include "rmb/common.h"

#include <stdint.h>
#include <stdio.h>

/* Reads path into a NUL-terminated buffer the caller frees. */
rmb_status rmb_read_file(const char *path, char **data, size_t *len, rmb_error *err);

/* Creates dir and its parents (like mkdir -p). */
rmb_status rmb_mkdirs(const char *dir, rmb_error *err);

/* An output file that appears under its final name only when committed:
 * writes go to a temporary file beside it, which rmb_outfile_commit renames
 * into place.  A set of outputs is committed together by closing all of them
 * first (rmb_outfile_close) and renaming them only when every one succeeded. */
typedef struct rmb_outfile {
    FILE *fp;
    char *path;
    char *tmp_path;
} rmb_outfile;

rmb_status rmb_outfile_open(rmb_outfile *f, const char *path, rmb_error *err);
/* Flushes and closes the temporary file; reports a write error. */
rmb_status rmb_outfile_close(rmb_outfile *f, rmb_error *err);
/* Renames a closed temporary file into place. */
rmb_status rmb_outfile_commit(rmb_outfile *f, rmb_error *err);
/* Removes the temporary file if still there and frees f's memory. */
void rmb_outfile_discard(rmb_outfile *f);

/* Writes text to path atomically. */
rmb_status rmb_write_file_atomic(const char *path, const char *text, size_t len, rmb_error *err);

/* Maps the regular file path read-only: *map (NULL for an empty file) and
 * *size.  Undo with rmb_unmap_file. */
rmb_status rmb_map_file(const char *path, void **map, size_t *size, rmb_error *err);
void rmb_unmap_file(void *map, size_t size);
/* Drops the pages wholly inside [p, p + n), part of a mapping made by
 * rmb_map_file, from this process's memory; touched again, they are read
 * back from the file. */
void rmb_map_release(const void *p, size_t n);

/* The last component of path, trailing slashes ignored: returns where it
 * starts in path and sets *len ("a/b/" gives "b"). */
const char *rmb_path_last(const char *path, size_t *len);

/* A stable 64-bit digest of the files in dir whose names end in one of
 * suffixes, taken in name order (names and contents), continuing from h
 * (start with RMB_FNV_OFFSET): FNV-1a over 64-bit little-endian words, the
 * tail zero-padded.  It identifies a model's files in stored fingerprints,
 * so it never changes between versions.  A file that cannot be read is an
 * error naming it. */
/* One file's part of rmb_digest_dir, continuing from h: name (with its NUL;
 * none when NULL), the 64-bit size, then the bytes.  Texts held in memory
 * digest as the files they came from would. */
uint64_t rmb_digest_bytes(uint64_t h, const char *name, const void *data, size_t size);
/* The same for the file at path (a model held in one file). */
rmb_status rmb_digest_file(uint64_t h, const char *path, const char *name, uint64_t *out,
                           rmb_error *err);

rmb_status rmb_digest_dir(uint64_t h, const char *dir, const char *const *suffixes,
                          size_t n_suffixes, uint64_t *out, rmb_error *err);

#endif
