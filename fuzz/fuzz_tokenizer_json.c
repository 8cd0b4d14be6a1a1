/* libFuzzer target: the tokenizer.json loader (and, when a mutated file
 * loads, an encode of a fixed text and of the input bytes themselves). */
#include "rmb/tokenizer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rmb_tokenizer *tok;
    rmb_error err = {0};
    if (rmb_tokenizer_load(&tok, (const char *)data, size, &err) != RMB_OK)
        return 0;
    static const char text[] = "Hello  world!\r\n 123 <s>x</s> caf\xc3\xa9 \xff\xfe end";
    int32_t *ids;
    size_t n;
    if (rmb_tokenizer_encode(tok, text, sizeof text - 1, true, &ids, &n, &err) == RMB_OK)
        free(ids);
    if (rmb_tokenizer_encode(tok, (const char *)data, size < 4096 ? size : 4096, false, &ids, &n, &err) == RMB_OK)
        free(ids);
    for (size_t i = 0; i < rmb_tokenizer_vocab_size(tok) && i < 64; i++)
        (void)rmb_tokenizer_token(tok, (int32_t)i);
    rmb_tokenizer_close(tok);
    return 0;
}
