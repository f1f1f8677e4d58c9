/**
 * End to end, the real binary on models as exporters write them (test fixtures): torch's
 * F.pad chains, timm's TF-'same' padding, an opset-7 export, and onnxruntime's three
 * quantization formats. Each explains with exit 0 and a heatmap that is not blank; the
 * quantized ones say, in one note line, that gradients come from a float twin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/fixtures.js';

const MODELS = ['variety_pad.onnx', 'variety_pad_same.onnx', 'variety_opset7.onnx', 'quantized/dynamic.onnx', 'quantized/qdq.onnx', 'quantized/qoperator.onnx'];

test('explain: padded, TF-same, opset-7 and quantized models give a non-blank heatmap; quantized ones print the twin note', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-exporters-'));
  // A real picture: a bright disc on a dark gradient, at another size than the models'.
  const w = 48;
  const h = 40;
  const pixels = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - 30) ** 2 + (y - 15) ** 2 < 100;
      pixels.set(disc ? [250, 220, 40] : [x * 3, 40, y * 4], (y * w + x) * 3);
    }
  }
  const image = path.join(out, 'disc.png');
  await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
  for (const model of MODELS) {
    for (const method of ['gradcam', 'rsi-grad-cam']) {
      const dir = path.join(out, model.replace(/[/.]/g, '_'), method);
      // guided: the weighting that keeps only units raising the score, so a non-blank map shows the
      // gradient reached the layer; relu-grad (the default) may legitimately be all zero on these
      // random-weight fixtures (its channel weights can be negative) and then the CLI warns.
      const steps = method === 'rsi-grad-cam' ? ['--steps', '8', '--weighting', 'guided'] : [];
      const r = await runCli(['explain', image, '--model', path.join(FIXTURES, model), '--preprocess', 'unit', '--method', method, ...steps, '--out', dir, '--raw']);
      assert.equal(r.code, 0, `${model} ${method}: ${r.stderr}`);
      const notes = r.stderr.split('\n').filter((l) => l.startsWith('note: ') && /quantized/.test(l));
      if (model.startsWith('quantized/')) {
        assert.equal(notes.length, 1, `${model}: one note line about quantization`);
        assert.match(notes[0]!, /is quantized \(.+\): predictions come from the model as it is, gradients and activations from a float twin/);
      } else assert.deepEqual(notes, [], `${model}: no note`);
      const j = JSON.parse(readFileSync(path.join(dir, `disc.${method}.json`), 'utf8'));
      assert.ok(j.cam.length > 1 && j.cam.every(Number.isFinite), `${model} ${method}: cam`);
      assert.ok(Math.max(...j.cam) > 0, `${model} ${method}: the cam is not blank`);
    }
  }
});
