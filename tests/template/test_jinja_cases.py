"""rmb's Jinja interpreter against Python's jinja2 (the transformers setup)
on small templates: each case is rendered by both and must be byte-identical;
templates jinja2 rejects must be rejected by rmb too, with the line named.

usage: test_jinja_cases.py RMB"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

CONV = [
    {"role": "system", "content": "  Be brief.\n"},
    {"role": "user", "content": "Hello, wörld! 你好 😀"},
    {"role": "assistant", "content": "<think>\nplan\n</think>\n\nHi there.", "n": 3,
     "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1, "y": [1.5, None, True]}}}]},
    {"role": "user", "content": "Tabs\tand \"quotes\" and 'single' and \\ back\r\nslash"},
]
TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": {"content": "<pad>"},
          "additional_special_tokens": ["<a>", {"content": "<b>"}]}

# (template, messages or None for CONV, add_generation_prompt)
CASES = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw
    ("{% for m in messages %}\n  {{ m.role }}\n  {% endfor %}\n", None, False),
    ("  {%- for m in messages -%}  [{{- m.role -}}]  {%- endfor %}  x  ", None, False),
    ("a\n    {% if true %}\nb\n    {% endif %}\nc\n", None, False),
    ("a {% if true %} b {% endif %} c", None, False),
    ("a\n  {%+ if true %}b{% endif +%}\nc", None, False),
    ("x\n  {# comment #}\ny {#- c -#} z\n  {# multi\nline #}  w", None, False),
    ("{% raw %}{{ not rendered }}{% endraw %}\n{%- raw -%}  {% x %}  {%- endraw %}!", None, False),
    ("line1\r\nline2\rline3\n\n", None, False),
    ("{{ 'a' }}\n{{ 'b' }}\n", None, False),
    ("\t {% if true %}x{% endif %}\n\t{{ 'y' }}", None, False),
    ("\u3000 {% if true %}x{% endif %}", None, False),
    # expressions and operators
    ("{{ 1 + 2 * 3 - 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", None, False),
    ("{{ 1.5 + 2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 1.0e-5 }} {{ 0.0001 }} {{ 3.0 }} {{ -0.0 }} {{ 2.5e-7 }}", None, False),
    ("{{ 1_000 + 1 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", None, False),
    ("{{ 'a' ~ 1 ~ none ~ true ~ [1, 'x'] }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 'x' + 'y' }}", None, False),
    ("{{ true and 'yes' }} {{ false or 'fallback' }} {{ 0 or '' or 'z' }} {{ not 0 }} {{ not not 'a' }}", None, False),
    ("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1,2] == [1,2] }} {{ (1,2) == [1,2] }} {{ 1 != 2 }}", None, False),
    ("{{ 'ell' in 'hello' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 3 not in [1] }}", None, False),
    ("{{ 'yes' if messages else 'no' }} {{ 'a' if false }}|{{ 1 if 0 else 2 if 0 else 3 }}", None, False),
    ("{{ True }} {{ False }} {{ None }} {{ none }} {{ [] }} {{ {} }} {{ () }} {{ (1,) }} {{ (1, 'a') }}", None, False),
    ("{{ [1, 'a', \"it's\", 'say \"hi\"', 1.5, none, true, {'k': [1]}, (2, 3)] }}", None, False),
    ("{{ {'a': 1, 'b': 'two', 3: none} }} {{ messages[0] }}", None, False),
    ("{{ ['\\n\\t\\\\', 'é', '\\x00\\x7f\\x85', '\\u2028', 'a\\'b'] }}", None, False),
    ("{{ -3 }} {{ +3 }} {{ -(2 + 3) }} {{ - 1.5 }} {{ 2 - -1 }}", None, False),
    ("{{ 'abc' 'def' }} {{ \"a\\tb\\u00e9\\x41\\101\\q\" }} {{ 'a\\\nb' }}", None, False),
    # attributes, items, slices
    ("{{ messages[1].content }}|{{ messages[1]['role'] }}|{{ messages[-1].role }}|{{ messages[10] }}|{{ messages[0].nope }}", None, False),
    ("{{ messages[1].content[0] }}{{ messages[1].content[-1] }}{{ messages[1].content[7:12] }}{{ messages[1].content[::-1] }}", None, False),
    ("{{ [1,2,3,4,5][1:] }} {{ [1,2,3,4,5][:-2] }} {{ [1,2,3,4,5][::2] }} {{ [1,2,3,4,5][::-1] }} {{ [1,2,3,4,5][4:1:-1] }} {{ [1,2,3][5:] }} {{ (1,2,3)[1:] }}", None, False),
    ("{{ 'héllo'[1:3] }} {{ 'abc'[-2:] }} {{ 'abc'[:100] }} {{ 'abc'[-100:1] }}", None, False),
    ("{{ messages[2].tool_calls[0].function.arguments.y[0] }} {{ messages.0.role }}", None, False),
    # statements
    ("{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", None, False),
    ("{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if not loop.last else '-' }} {% endfor %}", None, False),
    ("{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }} {% endfor %}", None, False),
    ("{% for m in [] %}x{% else %}empty{% endfor %}{% for m in messages %}{% else %}no{% endfor %}", None, False),
    ("{% for m in messages %}{% if loop.index == 2 %}{% continue %}{% endif %}{% if loop.index == 4 %}{% break %}{% endif %}{{ m.role }} {% endfor %}", None, False),
    ("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", None, False),
    ("{% for c in 'héllo' %}[{{ c }}]{% endfor %}{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", None, False),
    ("{% for i in range(3) %}{% for j in range(i) %}{{ i }}{{ j }} {% endfor %}{% endfor %}{{ range(2, 10, 3) | list }}{{ range(5, 0, -2) | list }}", None, False),
    ("{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = i * 10 %}{{ x }} {% endfor %}{{ x }}", None, False),
    ("{% set ns = namespace(total=0, items=[]) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ ns.items }} {{ ns.missing is defined }}", None, False),
    ("{% if false %}a{% elif 0 %}b{% elif 'x' %}c{% else %}d{% endif %}{% if none %}e{% else %}f{% endif %}", None, False),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}{% set (c, d) = [3, 4] %}{{ c }}{{ d }}", None, False),
    ("{% set block %}\n  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}]", None, False),
    ("{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }} {{ greet(punct='.', name='c') }}", None, False),
    ("{% macro render(m) -%}\n  <{{ m.role }}>\n{%- endmacro %}{% for m in messages %}{{ render(m) }}{% endfor %}", None, False),
    ("{% macro row(m, sep) %}[{{ caller() }}{{ sep }}{{ m.role }}]{% endmacro %}{% for m in messages %}{% call row(m, ':') %}{{ loop.index }}{% endcall %}{% endfor %}", None, False),
    ("{% macro f(a, b, c='z') %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ f(*[1, 2]) }} {{ f(1, **{'b': 'x', 'c': 'y'}) }} {{ f(*messages[:2]) | length }}", None, False),
    ("{% set g = 'outer' %}{% macro show() %}{{ g }}{% endmacro %}{{ show() }}{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}<{{ m.content }}>{% endgeneration %}{% endif %}{% endfor %}", None, False),
    ("{% filter upper %}shout {{ messages[0].role }}{% endfilter %}", None, False),
    ("{% if messages[0].role == 'system' %}{% set sys = messages[0].content %}{% set rest = messages[1:] %}{% else %}{% set rest = messages %}{% endif %}{{ sys | trim }}|{{ rest | length }}", None, False),
    # filters
    ("[{{ messages[0].content | trim }}] [{{ '  x  ' | trim('x ') }}] [{{ 'xxhixx' | trim('x') }}] [{{ '\u3000 a \u2003' | trim }}]", None, False),
    ("{{ messages | length }} {{ 'héllo' | length }} {{ {'a': 1} | count }} {{ messages[0] | length }}", None, False),
    ("{{ nope | default('dflt') }} {{ '' | default('e') }} {{ '' | default('e', true) }} {{ none | default('n') }} {{ nope | d('x') }} [{{ nope | default }}]", None, False),
    ("{{ messages[2] | tojson }}\n{{ messages[2].tool_calls | tojson(indent=2) }}\n{{ {'b': 1, 'a': [ ]} | tojson(sort_keys=true) }}", None, False),
    ("{{ 'é\"\\\\\\n\\u0001\\x7f' | tojson }} {{ 1.0 | tojson }} {{ [1e100, -0.5] | tojson }} {{ {1: 2, none: 3, true: 4} | tojson }}", None, False),
    ("{{ {'a': [1, {'b': none}]} | tojson(indent=4, separators=(',', ' = ')) }} {{ 'é' | tojson(ensure_ascii=true) }} {{ '😀' | tojson(ensure_ascii=true) }}", None, False),
    ("{{ 'hello World' | upper }} {{ 'HeLLo' | lower }} {{ 'hello WORLD' | capitalize }} {{ 'hello big-world (x)' | title }} {{ 'ÉCOLE' | lower }}", None, False),
    ("{{ ['a', 'b', 1] | join(', ') }} {{ 'abc' | join('-') }} {{ messages | join('|', attribute='role') }} {{ [1,2] | join }}", None, False),
    ("{{ messages | first }} {{ (messages | last).role }} {{ 'abc' | first }} {{ [] | first }} {{ 'abc' | list }} {{ {'a': 1, 'b': 2} | items | list }}", None, False),
    ("{{ 'aXbXc' | replace('X', '-') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'abc' | replace('', '.') }} {{ 123 | string }} {{ none | string }}", None, False),
    ("{{ '42' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '3.5' | int }} {{ '2.5' | float }} {{ 'no' | float }} {{ true | int }} {{ ' 12 ' | int }}", None, False),
    ("{{ -3 | abs }} {{ (-3) | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }}", None, False),
    ("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='role') | list }} {{ messages | rejectattr('role', 'eq', 'user') | list | length }}", None, False),
    ("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ messages | selectattr('tool_calls') | list | length }}", None, False),
    ("{{ messages | map(attribute='n', default=0) | list }} {{ ['a', 'B'] | map('upper') | list }} {{ [' a ', 'b '] | map('trim') | join }}", None, False),
    ("{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(1, blank=true) }}|{{ 'x\\ny' | indent('> ') }}", None, False),
    ("{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ messages | sort(attribute='role') | map(attribute='role') | join(',') }}", None, False),
    ("{{ [1, 2, 1, 3] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ ['b', 'A'] | max }} {{ [1, 2.5] | sum }} {{ [[1], [2]] | sum(start=[]) }}", None, False),
    ("{{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ '<a href=\"x\">&\\'</a>' | e }} {{ 'x' | safe }} {{ {'b': 1, 'a': 2} | dictsort }} {{ 'one two  three' | wordcount }}", None, False),
    ("{{ messages[0] | attr('role') }} {{ messages | map('length') | list }}", None, False),
    ("{{ 1e3 | wordcount }} {{ 'héllo wörld_x 12,5 — ok' | wordcount }} {{ 2.5 | round }} {{ 7 | round }} {{ [[1], [2]] | sum(start=[]) }}", None, False),
    # tests
    ("{{ x is defined }} {{ x is undefined }} {{ messages is defined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }}", None, False),
    ("{{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ true is true }} {{ 0 is false }} {{ false is false }} {{ {} is mapping }} {{ [] is mapping }}", None, False),
    ("{{ 'a' is sequence }} {{ [] is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ range is callable }} {{ 'x' is callable }}", None, False),
    ("{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 2 is ge 2 }} {{ 2 is in [1, 2] }} {{ 'b' is in 'abc' }}", None, False),
    ("{{ 2.5 is odd }} {{ 3.0 is odd }} {{ 4.0 is even }} {{ 7.5 is divisibleby 2.5 }} {{ 'k' in {'k': 1} }}", None, False),
    ("{{ none is sameas none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'Abc' is lower }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 1 is not none }} {{ x is not defined }}", None, False),
    ("{% if messages[0].content is string and messages[0].content is not none %}s{% endif %}{% if messages[2].tool_calls is iterable %}i{% endif %}", None, False),
    # string methods
    ("[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\\n\\na\\n'.lstrip('\\n') }}][{{ 'a\\n\\n'.rstrip() }}][{{ 'abcba'.strip('ab') }}][{{ 'éaé'.strip('é') }}]", None, False),
    ("{{ messages[2].content.startswith('<think>') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith(('x',)) }}", None, False),
    ("{{ messages[2].content.split('</think>')[-1].lstrip('\\n') }}|{{ messages[2].content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}", None, False),
    ("{{ 'a b  c\\td\\n'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ ''.split() }} {{ ''.split(',') }} {{ '  x  '.split(' ') }}", None, False),
    ("{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }}", None, False),
    ("{{ 'aXbX'.replace('X', 'y') }} {{ 'aaa'.replace('a', 'b', 1) }} {{ 'abcabc'.find('c') }} {{ 'abc'.find('z') }} {{ 'abcabc'.rfind('b') }} {{ 'aXbX'.count('X') }}", None, False),
    ("{{ ', '.join(['a', 'b']) }} {{ '{} and {}'.format('x', 1) }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='n') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'aB'.islower() }}", None, False),
    # dict methods
    ("{% for k, v in messages[2].items() %}{{ k }};{% endfor %} {{ messages[0].keys() | list }} {{ messages[0].values() | list | length }} {{ messages[0].get('role') }} {{ messages[0].get('x', 'dflt') }} {{ messages[0].get('x') }}", None, False),
    ("{{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {{ [1, 2, 2].count(2) }} {{ [1, 2].index(2) }}", None, False),
    # variables and special tokens
    ("{{ bos_token }}|{{ eos_token }}|{{ pad_token }}|{{ unk_token }}|{{ additional_special_tokens }}|{{ tools }}|{{ documents }}|{{ add_generation_prompt }}", None, True),
    ("{% if add_generation_prompt %}<gen>{% endif %}{{ messages | length }}", None, True),
    ("{% if add_generation_prompt %}<gen>{% endif %}", None, False),
    ("{{ strftime_now('%Y') | length }} {{ raise_exception is defined }}", None, False),
    ("{{ bos_token + messages[0]['content'] | trim + eos_token }}", None, False),
    # loops with complex state (as the real templates use them)
    ("{%- set ns = namespace(last=-1) %}{%- for m in messages[::-1] %}{%- set i = (messages|length - 1) - loop.index0 %}{%- if ns.last == -1 and m.role == 'user' %}{%- set ns.last = i %}{%- endif %}{%- endfor %}{{ ns.last }}", None, False),
    ("{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 1) %}alt{% endif %}{% endfor %}", None, False),
    ("{{ messages[1:] | map(attribute='role') | join(' ') }} {{ (messages | selectattr('role', 'in', ['user', 'system']) | list)[0].role }}", None, False),
    # messages variations: empty and content lists
    ("{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for part in m.content %}{{ part.text }}{% endfor %}{% endif %}{% endfor %}",
     [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]}], False),
    ("[{% for m in messages %}{{ m }}{% endfor %}]{{ messages }}", [], False),
]

# Templates both must reject: (template, text rmb's error must contain).
ERRORS = [
    ("{% for m in messages %}x", "line 1"),
    ("a\nb\n{% if true %}x{% endfor %}", "line 3"),
    ("{{ 1 + }}", "line 1"),
    ("line\n{{ 'x' | nosuchfilter }}", "nosuchfilter"),
    ("{{ x is nosuchtest }}", "nosuchtest"),
    ("{% nosuchtag %}", "nosuchtag"),
    ("one\ntwo {{ 'unterminated }}", "line 2"),
    ("{{ 1 }", "line 1"),
    ("{# never closed", "comment"),
    ("{% raw %}never closed", "raw"),
    ("{% if messages %}\n\n{{ raise_exception('Roles must alternate') }}{% endif %}", "Roles must alternate"),
    ("{{ messages.append(1) }}", "unsafe"),
    ("{{ undefined_var.attr }}", "undefined_var"),
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ 'a' + 1 }}", "unsupported operand"),
    ("{% break %}", "loop"),
    ("{{ '\\N{DASH}' }}", "escape"),
    ("{{ range(1000000) | length }}", "range"),
    ("{% set a, b = [1, 2, 3] %}", "unpack"),
    ("{{ (1, 2) | tojson(indent=2) }}{{ x | tojson }}", "serializable"),
    ("{% for a in 5 %}{% endfor %}", "iterable"),
    ("{{ 1 < 'a' }}", "not supported"),
    ("{{ [1] in {} }}", "unhashable"),
    ("{{ [1] | indent }}", "indent"),
]


def check_cli(rmb, tmp):
    """rmb render's contract: --help, usage errors, and bad lines named."""
    failures = 0
    model = oracle.model_dir_for("{{ messages[0].content }}", {}, tmp)
    runs = [
        (["render", "--help"], "", 0, "--generation-prompt"),
        (["render"], "", 2, "--model"),
        (["render", "--model", tmp + "/absent"], "", 1, "tokenizer_config.json"),
        (["render", "--model", model], '{"messages": [{"content": "a"}]}\n{"messages": 3}\n', 1,
         "stdin: line 2: messages"),
        (["render", "--model", model], '{"messages": [{"content": "a"}]}\nnot json\n', 1,
         "stdin: line 2"),
    ]
    for args, stdin, want_rc, needle in runs:
        p = subprocess.run([rmb] + args, input=stdin.encode(), capture_output=True)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        if p.returncode != want_rc or needle not in out:
            failures += 1
            print(f"rmb {' '.join(args)}: rc={p.returncode} (want {want_rc}), output {out!r}")
    return failures


def main():
    rmb = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        tokens = oracle.special_tokens(TOKENS)
        for i, (source, messages, gen) in enumerate(CASES):
            messages = CONV if messages is None else messages
            expected = oracle.render(oracle.compile_template(source), messages, gen, tokens)
            model = oracle.model_dir_for(source, TOKENS, tmp)
            got, err, rc = oracle.rmb_render(rmb, model, [messages], gen)
            if rc != 0 or got != [expected]:
                failures += 1
                print(f"case {i} differs: {source!r}\n  jinja2: {expected!r}\n  rmb:    "
                      f"{got[0] if got else None!r}\n  {err.strip()}")
        for source, needle in ERRORS:
            try:
                oracle.render(oracle.compile_template(source), CONV, False, tokens)
                print(f"oracle accepted {source!r}: fix the test")
                failures += 1
                continue
            except Exception:
                pass
            model = oracle.model_dir_for(source, TOKENS, tmp)
            got, err, rc = oracle.rmb_render(rmb, model, [CONV], False)
            if rc == 0 or needle not in err or "rmb:" not in err:
                failures += 1
                print(f"error case {source!r}: rc={rc}, stderr={err.strip()!r}, wanted {needle!r}")
        failures += check_cli(rmb, tmp)
    total = len(CASES) + len(ERRORS)
    print(f"{total - failures}/{total} cases agree with jinja2")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
