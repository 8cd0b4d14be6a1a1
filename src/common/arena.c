#include "common/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (1u << 20)

struct rmb_arena_block {
    rmb_arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

void *rmb_arena_alloc(rmb_arena *a, size_t size)
{
    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    rmb_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

char *rmb_arena_strndup(rmb_arena *a, const char *s, size_t len)
{
    char *p = rmb_arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void rmb_arena_free(rmb_arena *a)
{
    while (a->head) {
        rmb_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}
