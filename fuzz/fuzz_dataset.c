/* libFuzzer: the benchmark-file reader on arbitrary bytes, as a pairwise
 * and as a Best-of-N file.  It must fail cleanly, never crash. */
#include "data/dataset_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const struct {
        rmb_set set;
        const char *path;
    } kinds[] = {{RMB_SET_PAIRWISE, "Pairwise_set/Helpfulness/Chat/Discussion"},
                 {RMB_SET_BON, "BoN_set/Harmlessness/S1"}};
    for (size_t k = 0; k < 2; k++) {
        rmb_dataset *ds;
        rmb_error err;
        rmb_dataset_parse_text(&ds, kinds[k].set, kinds[k].path, (const char *)data, size, &err);
        rmb_dataset_close(ds);
    }
    return 0;
}
