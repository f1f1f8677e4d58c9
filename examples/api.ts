/**
 * The README's library example: load a model, list layers, explain a photo with both
 * methods, write the picture. Run: npx tsx examples/api.ts PHOTO MODEL
 */
import { loadModel, explainFile, renderOverlay, encodePng } from '../src/index.js';
import { writeFile } from 'node:fs/promises';

const [photo = 'photo.jpg', source = 'mobilenet_v1_0.25_224'] = process.argv.slice(2);
const classifier = await loadModel(source); // .onnx, model.json, URL or catalogue name
console.log(classifier.layers().filter((l) => l.isDefault)); // the default target layer

for (const method of ['gradcam', 'rsi-grad-cam'] as const) {
  const r = await explainFile(classifier, photo, { method, steps: 50 });
  const e = r.explanation; // cam, camShape, heatmap, weights, target, score, completenessError, timings
  console.log(method, classifier.label(e.target), e.probability.toFixed(3), e.camShape, e.completenessError, `${e.timings.explain.toFixed(0)} ms`);
  await writeFile(`${method}.png`, await encodePng(renderOverlay(r.photo, r.photoHeatmap, { colormap: 'jet', alpha: 0.5 })));
}
await classifier.dispose();
