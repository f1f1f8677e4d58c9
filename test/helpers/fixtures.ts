/** Access to the torch-exported fixture models in test/fixtures/models (see tools/export_fixtures.py). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED = path.resolve(REPO_ROOT, '..', 'shared');

export interface TensorRef {
  byteOffset: number;
  length: number;
  shape: number[];
}

export interface FixtureLayer {
  modulePath: string;
  onnxTensor: string;
  shape: number[];
}

export interface FixtureSample {
  target: number;
  input: TensorRef;
  logits: TensorRef;
  probs: TensorRef;
  inputGrad: { logit: TensorRef; prob: TensorRef };
  layers: Record<string, { activation: TensorRef; gradLogit: TensorRef; gradProb: TensorRef; gradcam?: TensorRef }>;
}

export interface Fixture {
  name: string;
  onnxPath: string;
  meta: {
    opset: number;
    dynamicBatch: boolean;
    numClasses: number;
    gradcamLayer: string;
    input: { name: string; shape: number[]; layout: string };
    layers: FixtureLayer[];
    samples: FixtureSample[];
  };
  read(ref: TensorRef): Float32Array;
}

export function loadFixture(name: string, dir = FIXTURES): Fixture {
  const meta = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const bin = readFileSync(path.join(dir, `${name}.bin`));
  const buf = new Uint8Array(bin).buffer;
  return {
    name,
    onnxPath: path.join(dir, `${name}.onnx`),
    meta,
    read: (ref) => new Float32Array(buf.slice(ref.byteOffset, ref.byteOffset + ref.length * 4)),
  };
}

/** max |a - b| / max |b|: the relative error used against torch's references. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}
