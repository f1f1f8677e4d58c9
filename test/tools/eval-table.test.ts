/**
 * tools/eval-table.ts, the by-method table the README's "Every method measured" is built with:
 * a row per method of an eval folder, a column per metric, cells paired over the images every
 * method has, and a method run on fewer images marked with its own n.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordLine, type ImageRecord } from '../../src/node/eval/results.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'eval-table-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(image: string, combos: ImageRecord['combos']): ImageRecord {
  return { image, label: 1, target: 1, probability: 0.9, combos };
}

test('--transpose --methods-of: one row per method, n per column, a shorter method with its own n', () => {
  const sanity = (rho: number) => ({ counts: [1], deepest: ['fc'], rho: [rho] });
  const lines = [
    // Per-image metrics of three images for both methods; the sanity check of 'b' on the first image only.
    record('i1.jpg', { 'a|conv': { pointing: 1, energy: 0.5 }, 'b|input': { pointing: 0, energy: 0.25 } }),
    record('i2.jpg', { 'a|conv': { pointing: 0, energy: 0.7 }, 'b|input': { pointing: 1, energy: 0.25 } }),
    record('i3.jpg', { 'a|conv': { pointing: 1, energy: 0.6 }, 'b|input': { pointing: 1, energy: 0.25 } }),
    record('i1.jpg', { 'a|conv': { sanity: sanity(0.2) }, 'b|input': { sanity: sanity(0.9) } }),
    record('i2.jpg', { 'a|conv': { sanity: sanity(0.4) } }),
  ];
  writeFileSync(path.join(dir, 'results.jsonl'), `${lines.map(recordLine).join('\n')}\n`);
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'tools/eval-table.ts', '--transpose', '--metrics', 'pointing,energy,sanity@1', '--methods-of', dir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const rows = out.trim().split('\n').map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  assert.deepEqual(rows[0], ['method', 'where', 'pointing ↑', 'energy ↑', 'sanity@1 →0']);
  assert.deepEqual(rows[2], ['*n (photos)*', '', '3', '3', '2']);
  // Method order as the folder holds them; 'where' is the layer (the input for input methods).
  assert.deepEqual(rows.slice(3).map((r) => r.slice(0, 2)), [['`a`', 'conv'], ['`b`', 'input']]);
  const mean = (cell: string) => Number(cell.split(' ')[0]);
  assert.equal(mean(rows[3]![2]!), 0.667);
  assert.equal(mean(rows[3]![3]!), 0.6);
  assert.equal(mean(rows[3]![4]!), 0.3);
  assert.equal(mean(rows[4]![2]!), 0.667);
  assert.equal(mean(rows[4]![3]!), 0.25);
  // 'b' has the sanity check on one image: its own mean, no interval, marked n=1.
  assert.equal(rows[4]![4], '0.900 (n=1)');
  assert.match(rows[3]![4]!, /^0\.300 ± [0-9.]+$/);
});
