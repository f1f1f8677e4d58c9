/** Shared set-up for method tests: a fixture model in a pipeline. */
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { loadFixture, type Fixture } from './fixtures.js';

export const runtime = createNodeRuntime({ threads: 1 });

export async function fixturePipeline(name: string): Promise<{ fx: Fixture; model: Model; pipeline: Pipeline; images: Float32Array[] }> {
  const fx = loadFixture(name);
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: name });
  const images = fx.meta.samples.map((s) => fx.read(s.input));
  return { fx, model, pipeline: new Pipeline(model, runtime), images };
}
