import assert from 'node:assert/strict';
import test from 'node:test';
import { progressBar } from '../../src/cli/progress.js';

test('without a terminal, progress is written as plain lines with count, percentage and ETA', (t) => {
  if (process.stderr.isTTY) return t.skip('stderr is a terminal here');
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const quiet = progressBar('eval', 'images'); // default interval: nothing within 30 s
    quiet.update('a.jpg', 1, 10);
    assert.deepEqual(lines, []);
    const p = progressBar('eval', 'images', -1);
    p.update('b.jpg', 0, 4);
    p.update('c.jpg', 2, 4);
    p.stop();
  } finally {
    process.stderr.write = write;
  }
  assert.equal(lines.length, 2);
  assert.equal(lines[0], 'eval 0/4 images (0%) | b.jpg\n');
  assert.match(lines[1]!, /^eval 2\/4 images \(50%\), ETA <1 min \| c\.jpg\n$/);
});
