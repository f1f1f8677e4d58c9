/**
 * Benchmark one architecture (run in its own process by bench/run.ts so that peak RSS
 * belongs to that model alone): Grad-CAM and RSI-Grad-CAM at the last and a middle layer,
 * then every registered method (or those in BENCH_METHODS) at the last layer with its
 * default options. Prints one JSON line.
 */
import { ARCHITECTURES, TRANSFORMERS } from './architectures.js';
import { Model } from '../src/engine/model.js';
import { Pipeline } from '../src/methods/pipeline.js';
import { GradCam } from '../src/methods/gradcam.js';
import { RsiGradCam } from '../src/methods/rsi-grad-cam.js';
import { createMethod, methodNames } from '../src/methods/registry.js';
import { optionsFor } from '../src/methods/method.js';
import { createNodeRuntime } from '../src/node/runtime.js';

const arch = process.argv[2]!;
const steps = Number(process.argv[3] ?? 50);
const build = ARCHITECTURES[arch];
if (!build) throw new Error(`unknown architecture ${arch}`);

const t0 = performance.now();
const model = Model.prepare(await build(), { source: arch });
const transformer = TRANSFORMERS.has(arch);
const pipeline = new Pipeline(model, createNodeRuntime());
const prepareMs = performance.now() - t0;

const per = pipeline.imageSize();
let seed = 7;
const image = new Float32Array(per).map(() => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return (seed / 4294967296) * 4 - 2;
});
const baseline = new Float32Array(per);

async function time(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  await fn(); // warm-up: builds the session
  const t = performance.now();
  for (let i = 0; i < repeat; i++) await fn();
  return (performance.now() - t) / repeat;
}

// (m + 1) plain forward passes, one image at a time, as a user would run them.
const { session, outputs } = await pipeline.session({});
const feed = { [model.inputName]: { data: image, dims: [1, ...model.inputShape.slice(1) as number[]] } };
const forwardMs = await time(() => session.run(feed, [outputs.logits]), 5);
// Sessions are released between measurements so peak RSS reflects one method at a time.
await pipeline.runtime.dispose();
const forwardsMs = forwardMs * (steps + 1);

const spatial = model.layers.filter((l) => l.shape.length === 4 && typeof l.shape[2] === 'number');
const last = model.layer();
// The middle layer is a cut of the graph (every path from the image to the output passes
// through it, so completeness applies): cutting there leaves no use of the image.
const isCut = (t: string) => !model.build({ feed: t }).graph.inputs.some((i) => i.name === model.inputName);
const half = Math.floor(spatial.findIndex((l) => l.tensor === last.tensor) / 2);
const order = spatial.map((_, i) => i).sort((a, b) => Math.abs(a - half) - Math.abs(b - half));
const middle = transformer ? last : spatial[order.find((i) => isCut(spatial[i]!.tensor)) ?? half]!;

const gc = new GradCam(pipeline);
const rsi = new RsiGradCam(pipeline);
const rows = [];
for (const [where, layer] of transformer ? ([['last', last]] as const) : ([['last', last], ['middle', middle]] as const)) {
  const gradcamMs = await time(() => gc.explain([image], { layer: layer.tensor }), 3);
  await pipeline.runtime.dispose();
  let completeness = 0;
  let batch = 0;
  const rsiMs = await time(async () => {
    const [r] = await rsi.explain([image], { layer: layer.tensor, steps, baseline });
    completeness = r!.relativeCompletenessError!;
    batch = pipeline.batchSize({}, steps + 1);
  }, 1);
  await pipeline.runtime.dispose();
  rows.push({ where, layer: layer.modules[layer.modules.length - 1] ?? layer.tensor, shape: layer.shape.slice(1), gradcamMs, rsiMs, ratio: rsiMs / forwardsMs, completeness, batch });
}
// Every method at the last layer, as a user runs it: the first call (which builds the
// sessions) and, when that took under WARM_LIMIT_MS, a second call with the sessions built.
const WARM_LIMIT_MS = Number(process.env.BENCH_WARM_LIMIT_MS ?? 30_000);
const methods = [];
for (const name of process.env.BENCH_METHODS?.split(',') ?? (transformer ? ['gradcam', 'rsi-grad-cam'] : methodNames())) {
  const method = createMethod(name, pipeline);
  let evaluations = 0;
  let completeness: number | null = null;
  const options = { ...optionsFor(method, { layer: last.tensor, steps, baseline }), onProgress: (_done: number, total: number) => (evaluations = total) };
  const once = async () => {
    const t = performance.now();
    const [r] = await method.explain([image], options);
    completeness = r!.relativeCompletenessError ?? null;
    return performance.now() - t;
  };
  const firstMs = await once();
  const warmMs = firstMs < WARM_LIMIT_MS ? await once() : null;
  await pipeline.runtime.dispose();
  methods.push({ name, firstMs, warmMs, evaluations, completeness });
}
const peakRssMB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ arch, steps, prepareMs, forwardMs, forwardsMs, rows, methods, peakRssMB }));
