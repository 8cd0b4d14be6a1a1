/* Whole-file reads and all-or-nothing writes. */
#ifndef RMB_COMMON_FILEIO_H
#define RMB_COMMON_FILEIO_H

#include "rmb/common.h"

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

#endif
