#include "common/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

const char *rmb_path_last(const char *path, size_t *len)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    *len = end - start;
    return path + start;
}

rmb_status rmb_map_file(const char *path, void **map, size_t *size, rmb_error *err)
{
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rmb_fail(err, RMB_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    rmb_status st = RMB_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = rmb_fail(err, RMB_EIO, "%s: not a regular file", path);
    else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            st = rmb_fail(err, RMB_EIO, "%s: cannot map: %s", path, strerror(errno));
        else {
            *map = m;
            *size = (size_t)sb.st_size;
        }
    }
    close(fd);
    return st;
}

void rmb_unmap_file(void *map, size_t size)
{
    if (map)
        munmap(map, size);
}

void rmb_map_release(const void *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = page > 0 ? (uintptr_t)page - 1 : 4095;
    uintptr_t a = ((uintptr_t)p + mask) & ~mask, b = ((uintptr_t)p + n) & ~mask;
    if (b > a) /* read-only and private: nothing of ours is lost */
        madvise((void *)a, b - a, MADV_DONTNEED);
}

#define DIGEST_PRIME 0x100000001b3ULL

static uint64_t digest_bytes(uint64_t h, const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--)
            w = w << 8 | p[i + (size_t)k];
        h = (h ^ w) * DIGEST_PRIME;
    }
    if (i < len) {
        uint64_t w = 0;
        for (size_t k = len; k-- > i;)
            w = w << 8 | p[k];
        h = (h ^ w) * DIGEST_PRIME;
    }
    return h;
}

uint64_t rmb_digest_bytes(uint64_t h, const char *name, const void *data, size_t size)
{
    if (name)
        h = digest_bytes(h, (const unsigned char *)name, strlen(name) + 1);
    uint64_t len = size;
    h = digest_bytes(h, (const unsigned char *)&len, sizeof len);
    return digest_bytes(h, data, size);
}

/* Memory-maps the file so that a model's weights are read once, in place. */
rmb_status rmb_digest_file(uint64_t h, const char *path, const char *name, uint64_t *out,
                           rmb_error *err)
{
    void *map;
    size_t size;
    rmb_status st = rmb_map_file(path, &map, &size, err);
    if (st)
        return st;
    *out = rmb_digest_bytes(h, name, map, size);
    rmb_unmap_file(map, size);
    return RMB_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *name, const char *const *suffixes, size_t n)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(suffixes[i]);
        if (len >= k && !strcmp(name + len - k, suffixes[i]))
            return 1;
    }
    return 0;
}

/* The names in dir that end in one of suffixes, sorted. */
static rmb_status list_names(const char *dir, const char *const *suffixes, size_t n_suffixes,
                             char ***names, size_t *count, rmb_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return rmb_fail(err, RMB_EIO, "%s: cannot open the directory: %s", dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    rmb_status st = RMB_OK;
    for (struct dirent *e; st == RMB_OK && (e = readdir(d));) {
        if (!has_suffix(e->d_name, suffixes, n_suffixes))
            continue;
        if (n == cap) {
            char **grown = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!grown) {
                st = rmb_fail(err, RMB_ENOMEM, "out of memory");
                break;
            }
            v = grown;
        }
        if (!(v[n] = strdup(e->d_name)))
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, name_cmp);
    *names = v;
    *count = n;
    return st;
}

rmb_status rmb_digest_dir(uint64_t h, const char *dir, const char *const *suffixes,
                          size_t n_suffixes, uint64_t *out, rmb_error *err)
{
    char **names = NULL;
    size_t n = 0;
    rmb_status st = list_names(dir, suffixes, n_suffixes, &names, &n, err);
    for (size_t i = 0; i < n; i++) {
        if (st == RMB_OK) {
            size_t len = strlen(dir) + strlen(names[i]) + 2;
            char *path = malloc(len);
            if (!path)
                st = rmb_fail(err, RMB_ENOMEM, "out of memory");
            else {
                snprintf(path, len, "%s/%s", dir, names[i]);
                st = rmb_digest_file(h, path, names[i], &h, err);
                free(path);
            }
        }
        free(names[i]);
    }
    free(names);
    *out = h;
    return st;
}
