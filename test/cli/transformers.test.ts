/**
 * End to end on the torch-exported ViT and Swin fixtures (tools/export_transformer_fixtures.py):
 * `layers` lists token layers with their grid, `explain` gives a map on the token grid, and
 * the tokens options override or are refused in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';

const DIR = fileURLToPath(new URL('../fixtures/transformers/', import.meta.url));
const VIT = path.join(DIR, 'vit.onnx');
const SWIN = path.join(DIR, 'swin.onnx');

test('layers lists the ViT token layers as maps on the 4x6 patch grid, the last ln_1 marked default', async () => {
  const r = await runCli(['layers', '--model', VIT]);
  assert.equal(r.code, 0, r.stderr);
  const line = (module: string) => r.stdout.split('\n').find((l) => l.trimEnd().endsWith(module))!;
  assert.match(line('encoder.layers.encoder_layer_1.ln_1'), /^\*.*\[N, 40, 4, 6\]\s+4x6\s+tokens\+1/);
  assert.match(line('encoder.layers.encoder_layer_0.mlp.mlp.1'), /\[N, 80, 4, 6\]\s+4x6\s+tokens\+1/);
  const json = JSON.parse((await runCli(['layers', '--model', VIT, '--json'])).stdout) as { name: string; tokens?: { grid: number[]; drop: number }; default: boolean }[];
  const def = json.find((l) => l.default)!;
  assert.deepEqual(def.tokens, { grid: [4, 6], drop: 1, count: 25 });
  const swin = await runCli(['layers', '--model', SWIN]);
  assert.match(swin.stdout.split('\n').find((l) => l.trimEnd().endsWith(' features.3.1.norm1'))!, /\[N, 32, 8, 8\]\s+8x8\s+NHWC/);
});

test('explain on the ViT and the Swin: a map on the token grid, not blank; a wrong --tokens-grid is refused in one line', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-vit-'));
  const w = 60;
  const h = 40;
  const pixels = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels.set((x - 40) ** 2 + (y - 15) ** 2 < 80 ? [250, 220, 40] : [x * 3, 40, y * 5], (y * w + x) * 3);
  const image = path.join(out, 'disc.png');
  await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
  for (const [model, grid, layer] of [[VIT, [4, 6], 'encoder.layers.encoder_layer_1.ln_1'], [SWIN, [8, 8], 'features.3']] as const) {
    for (const method of ['gradcam', 'rsi-grad-cam']) {
      const dir = path.join(out, path.basename(model), method);
      const r = await runCli(['explain', image, '--model', model, '--preprocess', 'imagenet', '--method', method, '--layer', layer, '--steps', '8', '--out', dir, '--raw']);
      assert.equal(r.code, 0, `${model} ${method}: ${r.stderr}`);
      const j = JSON.parse(readFileSync(path.join(dir, `disc.${method}.json`), 'utf8'));
      assert.deepEqual(j.camShape, grid);
      assert.ok(Math.max(...j.cam) > 0, `${model} ${method}: the cam is not blank`);
    }
  }
  const given = await runCli(['explain', image, '--model', VIT, '--preprocess', 'imagenet', '--method', 'gradcam', '--tokens-grid', '4x6', '--drop-tokens', '1', '--out', path.join(out, 'given'), '--raw']);
  assert.equal(given.code, 0, given.stderr);
  const wrong = await runCli(['explain', image, '--model', VIT, '--preprocess', 'imagenet', '--method', 'gradcam', '--layer', 'encoder.layers.encoder_layer_1.ln_1', '--tokens-grid', '5x5', '--drop-tokens', '1', '--out', path.join(out, 'wrong')]);
  assert.equal(wrong.code, 1);
  const lines = wrong.stderr.trim().split('\n');
  assert.equal(lines.length, 1, wrong.stderr);
  assert.match(lines[0]!, /ln_1.*\[N, 25, 40\].*--tokens-grid HxW and --drop-tokens K/);
  const bad = await runCli(['layers', '--model', VIT, '--tokens-grid', '14']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--tokens-grid must be HxW/);
});
