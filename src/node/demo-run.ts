/**
 * The offline demo: the small CNN and generated images shipped in assets/demo, Grad-CAM and
 * RSI-Grad-CAM side by side with the ground-truth box, and the share of each heatmap's
 * energy inside the box. Both methods use the post-softmax score here, the regime where a
 * saturated softmax starves Grad-CAM's single-point gradient.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { drawBoxes } from '../image/draw.js';
import { renderOverlay } from '../image/overlay.js';
import type { Box, RgbImage } from '../image/types.js';
import { energyPointingGame } from '../metrics/energy-pointing.js';
import { ModelFormatError } from '../errors.js';
import { explainFile } from './explain-files.js';
import { loadModel } from './load-model.js';
import { ASSETS } from './package-root.js';
import { captionTile, grid, writeFileAtomic } from './render.js';
import type { ScoreMode } from '../engine/model.js';
import type { MethodName } from '../methods/registry.js';
import { optionsFor } from '../methods/method.js';

export const DEMO_DIR = path.join(ASSETS, 'demo');

/** One column of the demo picture (also the columns of tools/demo-saturation.ts). */
export const DEMO_COLUMNS: readonly { label: string; method: MethodName; score: ScoreMode }[] = [
  { label: 'Grad-CAM (softmax)', method: 'gradcam', score: 'softmax' },
  { label: 'RSI-Grad-CAM (softmax)', method: 'rsi-grad-cam', score: 'softmax' },
  { label: 'Grad-CAM (logit)', method: 'gradcam', score: 'logit' },
];

export interface DemoRow {
  file: string;
  label: string;
  predicted: string;
  probability: number;
  /** Per column: share of heatmap energy inside the box, cam maximum before normalisation. */
  results: { label: string; energy: number; camMax: number; allZero: boolean }[];
}

export interface DemoResult {
  picture: string;
  rows: DemoRow[];
}

interface DemoAnnotations {
  images: { file: string; label: number; name: string; boxes: Box[] }[];
}

/** Run the demo into `outDir`; returns the picture's path and the numbers. */
export async function runDemo(outDir: string, options: { steps?: number; onImage?: (i: number, n: number) => void; signal?: AbortSignal } = {}): Promise<DemoResult> {
  const modelPath = path.join(DEMO_DIR, 'demo-cnn.onnx');
  if (!existsSync(modelPath)) throw new ModelFormatError(`${modelPath}: the demo model is missing from the package`);
  const ann = JSON.parse(readFileSync(path.join(DEMO_DIR, 'annotations.json'), 'utf8')) as DemoAnnotations;
  // The shipped model is tiny (its sessions build in a moment), and the demo leaves the cache untouched.
  const classifier = await loadModel(modelPath, { runtimeOptions: { sessionCache: false } });
  const tiles: RgbImage[] = [];
  const rows: DemoRow[] = [];
  try {
    for (const [i, a] of ann.images.entries()) {
      options.onImage?.(i, ann.images.length);
      const file = [path.join(DEMO_DIR, a.file), path.join(DEMO_DIR, 'images', a.file)].find((f) => existsSync(f))!;
      const row: DemoRow = { file: path.basename(file), label: a.name, predicted: '', probability: 0, results: [] };
      let photo: RgbImage | undefined;
      const cols: RgbImage[] = [];
      for (const c of DEMO_COLUMNS) {
        const settings = optionsFor(classifier.method(c.method), { steps: options.steps ?? 50, signal: options.signal });
        const r = await explainFile<string>(classifier, file, { ...settings, method: c.method, score: c.score, targets: a.label });
        photo ??= r.photo;
        const e = r.explanation;
        row.predicted = classifier.label(e.topk[0]!.index);
        row.probability = e.probability;
        const energy = energyPointingGame(r.photoHeatmap.data, r.photo.width, r.photo.height, a.boxes);
        const camMax = Math.max(...e.cam);
        row.results.push({ label: c.label, energy, camMax, allZero: camMax === 0 });
        const overlay = drawBoxes(renderOverlay(r.photo, r.photoHeatmap), a.boxes, { color: [255, 255, 255], thickness: 1 });
        cols.push(await captionTile(overlay, [`in box ${(energy * 100).toFixed(0)}%`, camMax === 0 ? 'cam = 0' : `max ${camMax.toExponential(1)}`], { fontSize: 10 }));
      }
      const boxed = drawBoxes(photo!, a.boxes, { color: [0, 255, 0], thickness: 1 });
      tiles.push(await captionTile(boxed, [`${a.name}`, `p=${row.probability.toFixed(6)}`], { fontSize: 10 }), ...cols);
      rows.push(row);
    }
  } finally {
    await classifier.dispose();
  }
  const png = await grid(tiles, DEMO_COLUMNS.length + 1, { columnHeaders: ['image (truth box)', ...DEMO_COLUMNS.map((c) => c.label)], fontSize: 11 });
  const picture = path.join(outDir, 'demo.png');
  await writeFileAtomic(picture, png);
  return { picture, rows };
}
