/**
 * Forward-only methods share their perturbed copies across the targets of one image in one
 * call (src/methods/shared-forwards.ts): each target's map equals the map of a call for that
 * target alone, for every target kind, and the copies run once (model evaluations counted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { sameImageGroups } from '../../src/methods/shared-forwards.js';
import type { Target } from '../../src/methods/targets.js';
import { generateSample } from '../../src/demo/generate.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DEMO = path.join(REPO_ROOT, 'assets', 'demo', 'demo-cnn.onnx');

/** The methods and small settings; the layer is the demo's last 12x12 map (64 channels). */
const METHODS: { method: string; options: Record<string, unknown> }[] = [
  { method: 'scorecam', options: { layer: 'block4_relu2' } },
  { method: 'ablationcam', options: { layer: 'block4_relu2' } },
  { method: 'rise', options: { masks: 60, seed: 3 } },
  { method: 'occlusion', options: { window: 16, stride: 16 } },
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('equal images group by content, whatever the array', () => {
  const a = new Float32Array([1, 2, 3]);
  const groups = sameImageGroups([a, new Float32Array([1, 2, 4]), a, a.slice(), new Float32Array([1, 2, 4])]);
  assert.deepEqual(groups, [[0, 2, 3], [1, 4]]);
  // -0 and 0 differ in bits: not merged (bit-equal copies give bit-equal forwards).
  assert.deepEqual(sameImageGroups([new Float32Array([0]), new Float32Array([-0])]), [[0], [1]]);
});

test('Score-CAM, Ablation-CAM, RISE and Occlusion: three targets on one image give each target\'s own map, for the forwards of one', async () => {
  const classifier = await loadModel(DEMO);
  try {
    const tensor = (i: number) => classifier.toTensor({ width: 96, height: 96, data: generateSample(5, i, 96).rgb });
    const x = tensor(0);
    const other = tensor(1);
    const k = classifier.model.numClasses;
    const kinds: { name: string; targets: Target[] }[] = [
      { name: 'classes', targets: [1, 0, k - 1] },
      { name: 'class, contrast, weighted classes', targets: [2, { contrast: [0, 3] }, { classes: [1, 2, 4], weights: [0.5, -1.25, 2] }] },
      { name: 'units through a sigmoid', targets: [0, 2, 1].map((unit) => ({ unit, activation: 'sigmoid' as const })) },
      { name: 'units through a softmax', targets: [3, 0].map((unit) => ({ unit, activation: 'softmax' as const })) },
      { name: 'raw logits', targets: [1, 4].map((unit) => ({ unit })) },
    ];
    for (const { method, options } of METHODS) {
      for (const { name, targets } of kinds) {
        const counted = async (images: Float32Array[], t: Target[]) => {
          let done = 0;
          const out = await classifier.explain(images, { method, ...options, targets: t, onProgress: (d: number) => (done = d) });
          return { out, done };
        };
        // The same image three ways: the same array, a copy, the array again; another image in between.
        const images = targets.map((_, i) => (i === 1 ? x.slice() : x));
        const together = await counted([...images, other], [...targets, targets[0]!]);
        const alone = await Promise.all(targets.map((t) => counted([x], [t])));
        for (const [i, a] of alone.entries()) {
          const e = together.out[i]!;
          const what = `${method}, ${name}, target ${i}`;
          assert.deepEqual(e.objective, a.out[0]!.objective, what);
          // A one-hot or two-term row scores y exactly as the graph does; more terms may sum in another order.
          const tol = name.includes('weighted') && i === 2 ? 1e-6 : 0;
          const d = maxDiff(e.heatmap, a.out[0]!.heatmap);
          assert.ok(d <= tol, `${what}: heatmaps differ by ${d}`);
          if (Number.isFinite(a.out[0]!.score)) assert.ok(Math.abs(e.score - a.out[0]!.score) <= 1e-6 * (1 + Math.abs(a.out[0]!.score)), `${what}: score ${e.score} vs ${a.out[0]!.score}`);
        }
        // The other image is its own.
        const [o] = (await counted([other], [targets[0]!])).out;
        assert.ok(maxDiff(together.out.at(-1)!.heatmap, o!.heatmap) === 0, `${method}: the other image`);
        // Model evaluations: a prediction per image, then the copies of each distinct image once.
        const copies = alone[0]!.done - 1;
        assert.equal(together.done, images.length + 1 + 2 * copies, `${method}, ${name}: evaluations`);
      }
    }
  } finally {
    await classifier.dispose();
  }
});
