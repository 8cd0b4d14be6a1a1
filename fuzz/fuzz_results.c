/* libFuzzer: the results-file reader (JSON array or JSONL) on arbitrary
 * bytes.  It must fail cleanly, never crash. */
#include "eval/records.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rmb_records r;
    rmb_error err;
    if (rmb_records_parse(&r, "fuzz", text, size, NULL, &err) == RMB_OK)
        rmb_records_free(&r);
    free(text);
    return 0;
}
