/**
 * Run by tools/check-package.sh inside a fresh project where the packed tarball is installed:
 * compiled there with tsc against the installed type declarations, then run with
 *   node library-call.mjs <mobilenet model.json> <imagenet-val-200 folder>
 * It uses the package only through its public entry points, as a user would.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { explainFile, loadModel, type PhotoExplanation } from 'rsi-grad-cam';
import { Runtime } from 'rsi-grad-cam/core';

const [modelJson, photos] = process.argv.slice(2);
if (!modelJson || !photos) throw new Error('usage: node library-call.mjs MODEL_JSON IMAGENET_VAL_200_DIR');
const annotations = JSON.parse(readFileSync(path.join(photos, 'annotations.json'), 'utf8')) as {
  images: { file: string; label: number; name: string }[];
};
const first = annotations.images[0]!;
const file = path.join(photos, 'images', first.file);

const classifier = await loadModel(modelJson);
try {
  const started = Date.now();
  const result: PhotoExplanation = await explainFile(classifier, file, { method: 'rsi-grad-cam', targets: first.label });
  const e = result.explanation;
  const map = result.photoHeatmap;
  const fail = (why: string): never => {
    throw new Error(`library call on ${file}: ${why}`);
  };
  if (e.target !== first.label) fail(`explained class ${e.target}, asked for ${first.label}`);
  if (map.width !== result.photo.width || map.height !== result.photo.height) fail(`heatmap ${map.width}x${map.height} for a ${result.photo.width}x${result.photo.height} photo`);
  const span = (data: Float32Array) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data) {
      if (!Number.isFinite(v)) fail('non-finite heatmap value');
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return [lo, hi];
  };
  // Min-max normalised at the model input; resampled onto the photo, so within [0, 1] there.
  const [lo, hi] = span(e.heatmap);
  if (lo !== 0 || hi !== 1) fail(`heatmap spans [${lo}, ${hi}], expected [0, 1]`);
  const [plo, phi] = span(map.data);
  if (plo < 0 || phi > 1 || phi < 0.5) fail(`heatmap on the photo spans [${plo}, ${phi}]`);
  if (!(Math.abs(e.relativeCompletenessError ?? Infinity) < 0.1)) fail(`relative completeness error ${e.relativeCompletenessError}`);
  if (!(classifier.runtime instanceof Runtime)) fail("the classifier's runtime is not the Runtime that 'rsi-grad-cam/core' exports");
  console.log(
    `library call: ${first.file} (${first.name}) at ${e.layer}: top-1 ${classifier.label(e.topk[0]!.index)} p=${e.topk[0]!.probability.toFixed(3)}, ` +
      `p(${first.name})=${e.probability.toFixed(3)}, relative completeness error ${e.relativeCompletenessError!.toExponential(2)}, ` +
      `heatmap ${map.width}x${map.height}, ${Date.now() - started} ms`,
  );
} finally {
  await classifier.dispose();
}
