import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DEMO = path.join(REPO_ROOT, 'assets', 'demo');
const NO_NETWORK = pathToFileURL(path.join(REPO_ROOT, 'test', 'helpers', 'no-network.mjs')).href;

test('demo runs offline and writes its picture: one row per shipped image, four columns of the model input size', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-demo-'));
  const cache = mkdtempSync(path.join(tmpdir(), 'rsi-demo-cache-'));
  const r = await runCli(['demo', '--out', out, '--steps', '10'], {
    env: { NODE_OPTIONS: `--import=${NO_NETWORK}`, RSI_GRAD_CAM_CACHE: cache },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /no-network/);
  assert.deepEqual(readdirSync(cache), [], 'nothing downloaded or cached');

  const images = (JSON.parse(readFileSync(path.join(DEMO, 'annotations.json'), 'utf8')) as { images: { file: string; name: string }[] }).images;
  const [size] = (JSON.parse(readFileSync(path.join(DEMO, 'preprocess.json'), 'utf8')) as { size: [number, number] }).size;
  // The printed table: a row per image with its class, and a mean row.
  for (const img of images) assert.match(r.stdout, new RegExp(`\\| ${path.basename(img.file)} \\| ${img.name} \\| [01]\\.\\d{6} \\| \\d+\\.\\d% `));
  assert.match(r.stdout, /\| mean \| \| \| \d+\.\d% \| \d+\.\d% \| \d+\.\d% \|/);

  // The grid (src/node/render.ts): 4 px gaps; the photo and three methods per row; each tile
  // is the image plus a two-line caption band (10 px text: 2 x 13 + 2 x 3 px); a header row on top.
  const meta = await sharp(path.join(out, 'demo.png')).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 4 + 4 * (size! + 4));
  const rows = 4 + images.length * (size! + 32 + 4);
  const header = meta.height! - rows;
  assert.ok(header >= 20 && header <= 80, `header row ${header} px (height ${meta.height})`);
});
