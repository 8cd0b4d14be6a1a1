/* Dataset entry points for tests and fuzzing. */
#ifndef RMB_DATA_DATASET_INTERNAL_H
#define RMB_DATA_DATASET_INTERNAL_H

#include "rmb/dataset.h"

/* Parses text (len bytes) as one scenario file of the given set whose
 * location says category_path, into a new dataset (*out, which the caller
 * closes even on failure). */
rmb_status rmb_dataset_parse_text(rmb_dataset **out, rmb_set set, const char *category_path,
                                  const char *text, size_t len, rmb_error *err);

#endif
