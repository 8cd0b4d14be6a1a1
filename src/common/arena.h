/* A bump allocator: many small allocations freed all at once.  Used for the
 * benchmark's strings and arrays, which live as long as the dataset. */
#ifndef RMB_COMMON_ARENA_H
#define RMB_COMMON_ARENA_H

#include <stddef.h>

typedef struct rmb_arena_block rmb_arena_block;

typedef struct rmb_arena {
    rmb_arena_block *head;
} rmb_arena;

/* size bytes aligned for any type; NULL when out of memory. */
void *rmb_arena_alloc(rmb_arena *a, size_t size);
/* A NUL-terminated copy of len bytes. */
char *rmb_arena_strndup(rmb_arena *a, const char *s, size_t len);
void rmb_arena_free(rmb_arena *a);

#endif
