/* libFuzzer target: the chat-template parser and interpreter.  The input is
 * template source; it is parsed and, if valid, rendered for a short
 * conversation with and without the generation prompt.  Any input must end
 * in text or a clear error, never a crash, a leak or a hang (templates are
 * bounded in steps, memory and nesting). */
#include "rmb/chat_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    rmb_chat_template *t = NULL;
    rmb_error err;
    if (rmb_chat_template_parse(&t, src, "<s>", "</s>", &err) == RMB_OK) {
        const rmb_message msgs[3] = {
            {"system", " Be brief. "}, {"user", "Hi <think>x</think> 😀"}, {"assistant", "ok\n"}};
        for (int gen = 0; gen < 2; gen++) {
            char *text = NULL;
            if (rmb_chat_template_render(t, msgs, 3, gen, &text, &err) == RMB_OK && !text)
                abort(); /* success always yields text */
            free(text);
        }
        rmb_chat_template_close(t);
    }
    free(src);
    return 0;
}
