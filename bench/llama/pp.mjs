// Prompt-processing speed of llama.cpp (the prebuilt CPU build that
// node-llama-cpp ships) on a GGUF file, as llama-bench's pp test measures
// it: one batch of N tokens into an empty context, best of REPEATS.
//   usage: node pp.mjs MODEL.gguf N REPEATS THREADS
// Prints one JSON object.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, n, repeats, threads] = process.argv.slice(2);
const N = Number(n), T = Number(threads);
const llama = await getLlama({gpu: false, build: "never", maxThreads: T,
                              logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({contextSize: N + 64, batchSize: N, sequences: 1,
                                           threads: {ideal: T, min: T}});
const sequence = context.getSequence();
const tokens = Array.from({length: N}, (_, i) => 1 + (i * 7919) % 100000);
let best = Infinity;
for (let r = -1; r <= Number(repeats); r++) { // runs -1 and 0 warm up (pages, threads)
    await sequence.clearHistory();
    const t0 = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    const dt = (performance.now() - t0) / 1000;
    if (r > 0 && dt < best)
        best = dt;
}
console.log(JSON.stringify({tokens_per_second: N / best, seconds: best, threads: T,
                            build: llama.buildType, cpu_variant: llama.cpuMathCores ?? null}));
await context.dispose();
await model.dispose();
await llama.dispose();
