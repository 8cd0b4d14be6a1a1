/* Chat templates rendered from JSON messages (internal: for rmb render,
 * whose messages may carry any fields a template reads). */
#ifndef RMB_TEXT_TEMPLATE_JSON_H
#define RMB_TEXT_TEMPLATE_JSON_H

#include "rmb/chat_template.h"

#include <jansson.h>

/* Renders messages (a JSON array of objects, only read) to text, which the
 * caller frees. */
rmb_status chat_template_render_json(const rmb_chat_template *t, json_t *messages,
                                     bool add_generation_prompt, char **text, rmb_error *err);

#endif
