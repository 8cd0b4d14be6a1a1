/* The compute backend: the one seam between what a model is (rmb_net: its
 * configuration, architecture description and bound tensors, model/net.h)
 * and the machine that runs its layers.  The batch planner (batch.c) and
 * the heads (arch.h's rmb_head_ops) are device-neutral: the planner builds
 * packs, a backend runs them, the heads read the few hidden rows they
 * need back on the host.  A backend is a table of functions, like an
 * architecture; model.c picks one by rmb_model_options.device.
 *
 * Adding a backend (e.g. "cuda"): a folder src/model/<name>/ whose one
 * exported symbol is an rmb_backend_ops, and one line in model.c's
 * backends[] table.
 *
 * Bit identity, stated per backend (each backend's ops says which of these
 * it keeps, in its own comment):
 *   - within a backend, a row of a pack computes exactly (bit for bit) what
 *     it computes when its sequence runs alone, whatever else the pack
 *     holds, its place in it, the pass budget and the thread count; so batch
 *     scores equal single ones.  The CPU backend keeps it for every kernel
 *     set and compute mode.
 *   - across backends, or kernel sets, or compute modes, results agree
 *     within the compute mode's tolerance only. */
#ifndef RMB_MODEL_BACKEND_H
#define RMB_MODEL_BACKEND_H

#include "model/net.h"
#include "model/weights.h"
#include "rmb/model.h"

#include <stddef.h>
#include <stdint.h>

/* The interface version a backend implements; a backend whose ops carry
 * another version is refused (rmb_model_open fails, RMB_EUNSUPPORTED). */
#define RMB_BACKEND_VERSION 1

/* Several sequences in one pass.  A span is a sequence's own rows
 * [start, start + len) of the pack, at positions plen, plen + 1, ...: its
 * first plen positions are the rows [prefix, prefix + plen), a prefix that
 * several spans share (itself a span with plen 0, placed before them).
 * Every row attends only within its own sequence, so each span's result
 * is what the sequence gives alone. */
typedef struct rmb_span {
    size_t prefix, plen, start, len;
} rmb_span;

typedef struct rmb_pack {
    const int32_t *ids; /* rows tokens, already checked against the vocabulary */
    size_t rows;
    const rmb_span *spans;
    size_t n_spans;
    const uint32_t *span_of; /* each row's span */
} rmb_pack;

/* How the backend should run: rmb_model_options' machine part, checked
 * (threads and chunk_tokens not negative) before a backend sees it. */
typedef struct rmb_backend_options {
    int threads;         /* worker threads including the caller; 0 = one per CPU */
    const char *kernels; /* a CPU kernel set's name; NULL = the best this CPU runs */
    rmb_compute compute; /* how the projections compute */
    size_t chunk_tokens; /* tokens per pass through a weight matrix; 0 = the backend's */
    const char *unit;    /* the device option after "name:" ("0" of "cuda:0"), or NULL */
} rmb_backend_options;

/* An open backend.  Every backend's state begins with this header, which
 * rmb_backend_ops.open fills; the rest is private to the backend. */
typedef struct rmb_backend {
    const struct rmb_backend_ops *ops;
} rmb_backend;

/* What a backend reports for run.json and benches. */
typedef struct rmb_backend_info {
    const char *kernels; /* the kernel set it computes with ("avx512", ...) */
    int threads;         /* host threads it runs */
} rmb_backend_info;

typedef struct rmb_backend_ops {
    /* RMB_BACKEND_VERSION when the table was written. */
    int version;
    /* The device option's name ("cpu"); unique among the backends. */
    const char *name;

    /* Opens a backend on a bound network: net (its config, description and
     * tensors, which must outlive the backend) and the weights they were
     * bound from (w: a backend may lay tensors out its own way and give the
     * file's pages back, rmb_weights_release).  The backend may keep
     * pointers into net but never changes it.  Fails with RMB_EUSAGE for
     * options the model cannot honour (naming the option and the model),
     * RMB_EUNSUPPORTED for ones this backend or machine lacks (naming what
     * it has), RMB_ENOMEM.  On failure *out is NULL and nothing is held. */
    rmb_status (*open)(rmb_backend **out, const rmb_net *net, const rmb_weights *w,
                       const rmb_backend_options *opt, rmb_error *err);
    /* Frees everything open made; NULL is a no-op. */
    void (*close)(rmb_backend *b);

    /* The most rows one pass should take: the planner's default budget
     * (memory grows with it; a longer single sequence still runs, alone). */
    size_t (*pass_rows)(const rmb_backend *b);
    void (*info)(const rmb_backend *b, rmb_backend_info *out);

    /* Runs every row of the pack through the layers (embedding, then each
     * decoder layer; not the final norm).  The result stays in the backend,
     * readable by hidden and logprobs, until the next run. */
    rmb_status (*run)(rmb_backend *b, const rmb_pack *pk, rmb_error *err);

    /* Copies the final residual stream of the last run's pack rows
     * rows[0..n) to out (n x hidden floats, row i at out + i * hidden),
     * BEFORE the final norm: heads apply the norm on the host
     * (rmb_net_final_norm), and custom heads such as ArmoRM's read the
     * residual.  Every row < the pack's rows. */
    rmb_status (*hidden)(rmb_backend *b, const size_t *rows, size_t n, float *out,
                         rmb_error *err);

    /* For language-model heads: out[i] = log softmax(lm_head . final_norm(h))
     * [tokens[i]], with h the final residual of pack row rows[i] of the last
     * run and lm_head the network's (rmb_net.lm_head: vocab x hidden, the
     * embedding when tied), for i < n.  The DPO scorer reads a response's
     * tokens this way: the log-probability of token t + 1 at row t.  The
     * vocabulary is streamed in blocks with a running maximum and sum of
     * exponentials per row, so no full vocabulary row is ever held: memory
     * is a block of rows times a block of the vocabulary.  tokens[i] in
     * [0, vocab).  Fails with RMB_EUNSUPPORTED when the network has no LM
     * head; NULL in a backend that has no such path (the same failure). */
    rmb_status (*logprobs)(rmb_backend *b, const size_t *rows, const int32_t *tokens, size_t n,
                           float *out, rmb_error *err);
} rmb_backend_ops;

/* The CPU backend (model/cpu/): every kernel set, compute mode and the
 * thread pool. */
extern const rmb_backend_ops rmb_backend_cpu;

#endif
