#!/usr/bin/env node
// Oracle for the ids rule: Hugging Face's Rust tokenizers (Node binding
// @anush008/tokenizers) encoding texts rendered by jinja2, with HF's own
// truncation, for several settings at once (the tokenizer is loaded once).
// usage: node oracle_ids.js TOKENIZER_JSON SETTING... < texts.jsonl > ids.jsonl
//   SETTING: MAX_LENGTH:left|right|none:0|1 (1 = add special tokens)
//   input {"text": ...} lines; output {"ids": [[ids of setting 1], ...]} lines.
'use strict';
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, '../oracles/node_modules/@anush008/tokenizers'));

async function main() {
  const [file, ...settings] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(file);
  const texts = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l).text);
  const results = [];
  for (const setting of settings) {
    const [maxLength, direction, special] = setting.split(':');
    if (Number(maxLength) > 0 && direction !== 'none')
      tok.setTruncation(Number(maxLength), { direction });
    else
      tok.disableTruncation();
    const encs = await tok.encodeBatch(texts, { addSpecialTokens: special === '1' });
    results.push(encs.map((e) => Array.from(e.getIds())));
  }
  const out = texts.map((_, i) => JSON.stringify({ ids: results.map((r) => r[i]) })).join('\n');
  process.stdout.write(out + (out ? '\n' : ''));
}
main().catch((e) => { console.error(e); process.exit(1); });
