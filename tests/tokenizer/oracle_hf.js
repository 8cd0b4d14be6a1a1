#!/usr/bin/env node
// Oracle: Hugging Face's Rust tokenizers (Node binding @anush008/tokenizers).
// usage: node oracle_hf.js TOKENIZER_JSON [--no-special] [--time] < texts.jsonl > ids.jsonl
// Reads {"text": ...} lines, writes {"ids": [...]} lines in the same order.
// --time prints "seconds N" (encoding only, one batch) on stderr; run it with
// RAYON_NUM_THREADS=1 for the single-threaded reference speed.
'use strict';
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, '../oracles/node_modules/@anush008/tokenizers'));

async function main() {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const addSpecialTokens = !args.includes('--no-special');
  const tok = Tokenizer.fromFile(file);
  const texts = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l).text);
  const t0 = process.hrtime.bigint();
  const encs = await tok.encodeBatch(texts, { addSpecialTokens });
  const t1 = process.hrtime.bigint();
  if (args.includes('--time'))
    process.stderr.write(`seconds ${Number(t1 - t0) / 1e9}\n`);
  const out = encs.map((e) => JSON.stringify({ ids: Array.from(e.getIds()) })).join('\n');
  process.stdout.write(out + (out ? '\n' : ''));
}
main().catch((e) => { console.error(e); process.exit(1); });
