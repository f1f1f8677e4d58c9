/**
 * Checks the fixtures written by tools/export_fixtures.py: onnxruntime-node must reproduce
 * the PyTorch logits and the recorded layer activations (proving each layer's `onnxTensor`
 * is the module's output), and the stored Grad-CAM maps must follow from the stored
 * activations and gradients. Run with `npx tsx tools/check-fixtures.ts [NAME ...]`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const { onnx } = onnxProto;
const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'models');
/** Float32 ORT against float64 torch: allowed |diff| relative to the tensor's largest magnitude. */
const TOLERANCE = 1e-5;

interface Ref { byteOffset: number; length: number; shape: number[] }
interface Sample {
  target: number;
  input: Ref;
  logits: Ref;
  probs: Ref;
  layers: Record<string, { activation: Ref; gradLogit: Ref; gradProb: Ref; gradcam?: Ref }>;
}
interface Meta {
  name: string;
  onnx: string;
  bin: string;
  opset: number;
  dynamicBatch: boolean;
  input: { name: string; shape: number[]; layout: string };
  /** `is: 'probs'` when the model's output is its softmax (a Keras model's Dense with softmax). */
  output: { name: string; is?: 'logits' | 'probs' };
  /** `layout: 'NHWC'`: the ONNX tensor is NHWC, its references are stored NCHW. */
  layers: { modulePath: string; onnxTensor: string; shape: number[]; layout?: string }[];
  samples: Sample[];
}

/** Largest |a - b| over the largest |b|, so one number reads as a relative error. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function softmax(x: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / s);
}

/** Grad-CAM as pytorch-grad-cam defines it: ReLU(sum_k mean_hw(dlogit/dA_k) * A_k). */
function gradcam(act: Float32Array, grad: Float32Array, shape: number[]): Float32Array {
  const [, c, h, w] = shape as [number, number, number, number];
  const cam = new Float32Array(h * w);
  for (let k = 0; k < c; k++) {
    let mean = 0;
    for (let i = 0; i < h * w; i++) mean += grad[k * h * w + i]!;
    mean /= h * w;
    for (let i = 0; i < h * w; i++) cam[i]! += mean * act[k * h * w + i]!;
  }
  return cam.map((v) => Math.max(v, 0));
}

/**
 * The model onnxruntime will load: without Dropout's `is_test`, which exporters for opset <= 6
 * kept writing and onnxruntime rejects at opset 7 (the engine's opset upgrade drops it too).
 */
function runnable(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const n of model.graph!.node!) if (n.opType === 'Dropout') n.attribute = (n.attribute ?? []).filter((a) => a.name !== 'is_test');
  return onnx.ModelProto.encode(model).finish();
}

/** [N, H, W, C] data -> [N, C, H, W]. */
function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): { data: Float32Array; dims: number[] } {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++) {
    for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) for (let k = 0; k < c!; k++) out[((b * c! + k) * h! + y) * w! + x] = data[((b * h! + y) * w! + x) * c! + k]!;
  }
  return { data: out, dims: [n!, c!, h!, w!] };
}

/** The model with the recorded layer tensors added as graph outputs, so ORT returns them. */
function withLayerOutputs(bytes: Uint8Array, tensors: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(runnable(bytes));
  for (const name of tensors) {
    model.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } }));
  }
  return onnx.ModelProto.encode(model).finish();
}

async function checkModel(meta: Meta): Promise<number> {
  const bin = readFileSync(path.join(DIR, meta.bin));
  const arr = (r: Ref) => new Float32Array(bin.buffer.slice(bin.byteOffset + r.byteOffset, bin.byteOffset + r.byteOffset + r.length * 4));
  const onnxPath = path.join(DIR, meta.onnx);
  const plain = await ort.InferenceSession.create(runnable(readFileSync(onnxPath)));
  const tensors = meta.layers.map((l) => l.onnxTensor);
  const probed = await ort.InferenceSession.create(withLayerOutputs(readFileSync(onnxPath), tensors));
  let worst = 0;
  const parts: string[] = [];
  const note = (label: string, e: number) => {
    worst = Math.max(worst, e);
    parts.push(`${label} ${e.toExponential(1)}`);
  };

  for (const [i, s] of meta.samples.entries()) {
    const feed = { [meta.input.name]: new ort.Tensor('float32', arr(s.input), s.input.shape) };
    const out = await plain.run(feed);
    const output = out[meta.output.name]!.data as Float32Array;
    if (meta.output.is === 'probs') note(`s${i} probs`, relErr(output, arr(s.probs)));
    else {
      note(`s${i} logits`, relErr(output, arr(s.logits)));
      note(`s${i} probs`, relErr(softmax(output), arr(s.probs)));
    }
    const probedOut = await probed.run(feed);
    for (const layer of meta.layers) {
      const rec = s.layers[layer.modulePath]!;
      const raw = probedOut[layer.onnxTensor]!;
      const got = layer.layout === 'NHWC' ? nhwcToNchw(raw.data as Float32Array, raw.dims) : raw;
      if (got.dims.join('x') !== rec.activation.shape.join('x')) {
        throw new Error(`${meta.name}: ${layer.onnxTensor} has shape ${got.dims.join('x')}, recorded ${rec.activation.shape.join('x')}`);
      }
      note(`s${i} ${layer.modulePath}`, relErr(got.data as Float32Array, arr(rec.activation)));
      if (rec.gradcam) {
        note(`s${i} cam`, relErr(gradcam(arr(rec.activation), arr(rec.gradLogit), rec.activation.shape), arr(rec.gradcam)));
      }
    }
  }

  if (meta.dynamicBatch) {
    // Both samples as one batch of 2: the dynamic batch axis must really be dynamic.
    const [a, b] = meta.samples as [Sample, Sample];
    const x = new Float32Array([...arr(a.input), ...arr(b.input)]);
    const out = await plain.run({ [meta.input.name]: new ort.Tensor('float32', x, [2, ...a.input.shape.slice(1)]) });
    const want = meta.output.is === 'probs' ? [...arr(a.probs), ...arr(b.probs)] : [...arr(a.logits), ...arr(b.logits)];
    note('batch2', relErr(out[meta.output.name]!.data as Float32Array, want));
  }
  const status = worst <= TOLERANCE ? 'ok  ' : 'FAIL';
  console.log(`${status} ${meta.name.padEnd(24)} opset ${meta.opset} worst ${worst.toExponential(2)} | ${parts.join(', ')}`);
  return worst;
}

const only = process.argv.slice(2);
const names = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5))
  .filter((n) => only.length === 0 || only.includes(n)).sort();
let failed = 0;
for (const name of names) {
  const meta = JSON.parse(readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as Meta;
  if ((await checkModel(meta)) > TOLERANCE) failed++;
}
console.log(`${names.length - failed}/${names.length} fixtures reproduce within ${TOLERANCE} (relative to each tensor's max |value|)`);
if (failed > 0) process.exit(1);
