#include "common/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rmb_status rmb_read_file(const char *path, char **data, size_t *len, rmb_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return rmb_fail(err, RMB_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return rmb_fail(err, RMB_EIO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(fp);
        return rmb_fail(err, RMB_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (failed || got != size) {
        free(buf);
        return rmb_fail(err, RMB_EIO, "%s: read error", path);
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return RMB_OK;
}

rmb_status rmb_mkdirs(const char *dir, rmb_error *err)
{
    char *path = strdup(dir);
    if (!path)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (char *p = path + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                rmb_status st = rmb_fail(err, RMB_EIO, "%s: cannot create directory: %s", path, strerror(errno));
                free(path);
                return st;
            }
            if (end)
                break;
            *p = '/';
        }
    }
    free(path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rmb_fail(err, RMB_EIO, "%s: not a directory", dir);
    return RMB_OK;
}

rmb_status rmb_outfile_open(rmb_outfile *f, const char *path, rmb_error *err)
{
    memset(f, 0, sizeof *f);
    size_t n = strlen(path);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) {
        rmb_outfile_discard(f);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        rmb_status st = rmb_fail(err, RMB_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(f->tmp_path);
        f->tmp_path = NULL;
        rmb_outfile_discard(f);
        return st;
    }
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        rmb_outfile_discard(f);
        return rmb_fail(err, RMB_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    return RMB_OK;
}

rmb_status rmb_outfile_close(rmb_outfile *f, rmb_error *err)
{
    if (!f->fp)
        return RMB_OK;
    int failed = ferror(f->fp);
    failed |= fflush(f->fp) != 0;
    failed |= fsync(fileno(f->fp)) != 0;
    failed |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (failed)
        return rmb_fail(err, RMB_EIO, "%s: write error: %s", f->path, strerror(errno));
    return RMB_OK;
}

rmb_status rmb_outfile_commit(rmb_outfile *f, rmb_error *err)
{
    rmb_status st = rmb_outfile_close(f, err);
    if (st != RMB_OK)
        return st;
    if (rename(f->tmp_path, f->path) != 0)
        return rmb_fail(err, RMB_EIO, "%s: cannot rename into place: %s", f->path, strerror(errno));
    free(f->tmp_path);
    f->tmp_path = NULL;
    return RMB_OK;
}

void rmb_outfile_discard(rmb_outfile *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
}

rmb_status rmb_write_file_atomic(const char *path, const char *text, size_t len, rmb_error *err)
{
    rmb_outfile f;
    rmb_status st = rmb_outfile_open(&f, path, err);
    if (st != RMB_OK)
        return st;
    fwrite(text, 1, len, f.fp);
    st = rmb_outfile_commit(&f, err);
    rmb_outfile_discard(&f);
    return st;
}
