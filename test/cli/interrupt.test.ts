/**
 * Ctrl-C on the real CLI (a child process, SIGINT): the command stops between images (and,
 * through the explanation's AbortSignal, between batches of one image) with exit 130 and one
 * line saying what it wrote; the files written are complete and no temporary file is left. A
 * second Ctrl-C stops at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DEMO = path.join(REPO_ROOT, 'assets', 'demo');
const PHOTOS = ['00000', '00001', '00003', '00004', '00008', '00018', '00058', '00088'].map((s) => path.join(DEMO, 'images', `demo-${s}.png`));

/** Runs a slow `explain` over the photos into `out` and sends SIGINT (`times` of them, 50 ms apart) once the first heatmap is written. */
async function interruptExplain(out: string, times: number) {
  let pid = 0;
  const run = runCli(['explain', ...PHOTOS, '--model', path.join(DEMO, 'demo-cnn.onnx'), '--steps', '400', '--internal-batch-size', '8', '--out', out], {
    onSpawn: (p) => (pid = p),
    timeoutMs: 600_000,
  });
  const pngs = () => (existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.png')) : []);
  let sent = 0;
  const poll = setInterval(() => {
    if (sent === 0 && pngs().length === 0) return;
    if (sent < times) {
      process.kill(pid, 'SIGINT');
      sent++;
    } else clearInterval(poll);
  }, 50);
  const r = await run;
  clearInterval(poll);
  assert.ok(sent >= 1, `no SIGINT was sent: ${r.stderr}`);
  return r;
}

function checkStopped(r: { code: number | null; stderr: string; stdout: string }, out: string) {
  assert.equal(r.code, 130, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1]!;
  assert.ok(lines.every((l) => !/error/.test(l)), r.stderr);
  const left = readdirSync(out);
  assert.deepEqual(left.filter((f) => !f.endsWith('.png')), [], 'no temporary or other files');
  assert.ok(left.length >= 1 && left.length < PHOTOS.length, `stopped early: ${left.length} of ${PHOTOS.length} written`);
  const m = /^interrupted \(Ctrl-C\): stopped after writing (\d+) files? in (.+) \(last: (.+)\)$/.exec(last);
  assert.ok(m, last);
  assert.equal(Number(m[1]), left.length, 'the line counts the files written');
  assert.equal(m[2], out);
  assert.ok(left.includes(m[3]!), `last file ${m[3]} is there`);
  return left;
}

test('Ctrl-C stops explain between images: exit 130, one line naming what was written, complete files only', async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'rsi-int-')), 'out');
  const r = await interruptExplain(out, 1);
  const left = checkStopped(r, out);
  for (const f of left) {
    const meta = await sharp(path.join(out, f)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 96, 96], f);
  }
});

test('a second Ctrl-C stops at once, still with exit 130, the line and no temporary file', async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'rsi-int2-')), 'out');
  const r = await interruptExplain(out, 2);
  checkStopped(r, out);
});

/** CPU seconds process `pid` has used (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime
  } catch {
    return 0;
  }
}

test('Ctrl-C during one long explanation stops it between batches: exit 130, nothing written', { skip: existsSync('/proc/self/stat') ? false : 'needs /proc to see that the explanation is under way' }, async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'rsi-int3-')), 'out');
  let pid = 0;
  // 10,000 path points one by one: minutes of work (then the image would be written and the
  // exit code 0 if the signal were not honoured between batches).
  const run = runCli(['explain', PHOTOS[0]!, '--model', path.join(DEMO, 'demo-cnn.onnx'), '--steps', '10000', '--internal-batch-size', '1', '--out', out], {
    onSpawn: (p) => (pid = p),
    timeoutMs: 900_000,
  });
  // Start-up and loading the demo model take about 2 CPU seconds; past 10 the explanation runs.
  const poll = setInterval(() => {
    if (cpuSeconds(pid) < 10) return;
    clearInterval(poll);
    process.kill(pid, 'SIGINT');
  }, 100);
  const r = await run;
  clearInterval(poll);
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr.trim().split('\n').pop(), 'interrupted (Ctrl-C): stopped before writing any file');
  assert.deepEqual(existsSync(out) ? readdirSync(out) : [], []);
});
