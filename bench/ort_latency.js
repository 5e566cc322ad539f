// Latency of a model in ONNX Runtime (npm onnxruntime-node): median of runs on
// one .npy input, for `winq bench` comparisons. Prints JSON.
// Usage: NODE_PATH=.deps/ort/node_modules node bench/ort_latency.js MODEL INPUT.npy [RUNS] [THREADS]
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readNpy(path) {
  const b = fs.readFileSync(path);
  const hlen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = b[6] === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + hlen);
  if (!header.includes("'<f4'")) throw new Error(path + ': only float32 arrays are supported');
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + start + hlen, b.byteOffset + b.length));
  return new ort.Tensor('float32', data, shape);
}

async function main() {
  const [model, input, runsArg, threadsArg] = process.argv.slice(2);
  const runs = Number(runsArg || 200), threads = Number(threadsArg || 1);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const feeds = { [session.inputNames[0]]: readNpy(input) };
  for (let i = 0; i < 10; ++i) await session.run(feeds);
  const t = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(JSON.stringify({ model, runs, threads, median_ms: t[Math.floor(t.length / 2)] }));
}

main().catch(e => { console.error('ort_latency: ' + e.message); process.exit(1); });
