/**
 * The model fuzzer at any size (the test in test/fuzz/ runs a small, fixed number in CI):
 *
 *     nice -n 19 npx tsx tools/fuzz.ts --runs 2000 --seed 11 --log /tmp/fuzz.jsonl
 *
 * Generates `--runs` mutated fixture models (test/fuzz/mutations.ts), loads and explains each
 * through the real path in a child process (per-case timeout), and prints how many were
 * refused with a clear error (by kind of message), explained plausibly, or anything else.
 * `--log` writes every case with its outcome as JSON lines.
 */
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { writeModel, writeTestImage } from '../test/fuzz/evaluate.js';
import { caseArbitrary, describe, mutate, type FuzzCase } from '../test/fuzz/mutations.js';
import { CaseRunner, type RunResult } from '../test/fuzz/runner.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    seed: { type: 'string', default: '11' },
    log: { type: 'string' },
    timeout: { type: 'string', default: '120000' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);

/** A message with names, numbers and shapes blanked, so messages group by kind. */
export function messageKind(message: string, dir: string): string {
  return message
    .split(dir).join('<dir>')
    .replace(/<dir>\/[^\s:']*/g, '<file>')
    .replace(/'[^']*'/g, "'_'")
    .replace(/\[[^\]]*\]/g, '[_]')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/g, 'N')
    .replace(/\(([^()]{40,})\)/g, '(…)')
    .slice(0, 140);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'rsi-fuzz-'));
const image = path.join(work, 'photo.png');
await writeTestImage(image);
const dir = path.join(work, 'case');
const cases = fc.sample(caseArbitrary, { seed, numRuns: runs });
const runner = new CaseRunner(Number(values.timeout));
if (values.log) writeFileSync(values.log, '');

const byStatus = new Map<string, number>();
/** Outcomes per model format (onnx, tfjs). */
const byFormat = new Map<string, Map<string, number>>();
const byKind = new Map<string, number>();
const examples = new Map<string, string>();
let okSame = 0;
const baseline = new Map<string, number | undefined>();
const t0 = performance.now();
try {
  for (const [i, c] of cases.entries()) {
    let r: RunResult;
    try {
      const entry = writeModel(mutate(c), dir);
      r = await runner.run(entry, dir, image);
    } catch (e) {
      r = { status: 'internal', message: `while mutating: ${(e as Error).message}`, stderr: '', ms: 0 };
    }
    if (r.stderr.trim()) r.message = `${r.message} [stderr: ${r.stderr.trim().slice(0, 200)}]`;
    const status = r.stderr.trim() && r.status !== 'crash' ? `${r.status}+stderr` : r.status;
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    const format = c.seed.split(':')[0]!;
    if (!byFormat.has(format)) byFormat.set(format, new Map());
    byFormat.get(format)!.set(status, (byFormat.get(format)!.get(status) ?? 0) + 1);
    const kind = `${status}: ${r.status === 'ok' ? '' : messageKind(r.message, dir)}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    if (!examples.has(kind)) examples.set(kind, `${describe(c)} -> ${r.message.slice(0, 300)}`);
    if (r.status === 'ok') {
      if (!baseline.has(c.seed)) baseline.set(c.seed, await topOf(c.seed));
      if (r.top1 === baseline.get(c.seed)) okSame++;
    }
    if (values.log) appendFileSync(values.log, `${JSON.stringify({ i, case: c, describe: describe(c), ...r })}\n`);
    if ((i + 1) % 100 === 0) process.stderr.write(`${i + 1}/${runs} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
} finally {
  await runner.close();
}

async function topOf(seedName: string): Promise<number | undefined> {
  const c: FuzzCase = { seed: seedName, mutations: [] };
  const r = await runner.run(writeModel(mutate(c), dir), dir, image);
  return r.top1;
}

const line = (k: string, v: number) => `${String(v).padStart(6)}  ${k}`;
process.stdout.write(`\n${runs} cases from seed ${seed} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n\nBy outcome:\n`);
for (const [k, v] of [...byStatus].sort((a, b) => b[1] - a[1])) process.stdout.write(`${line(k, v)}\n`);
process.stdout.write(`  (of the ok: ${okSame} with the unmutated model's top-1 class)\n\nBy format:\n`);
for (const [f, m] of byFormat) {
  const n = [...m.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`${line(f, n)}: ${[...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
}
process.stdout.write('\nBy kind of message:\n');
for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1])) process.stdout.write(`${line(k, v)}\n`);
const bad = [...examples].filter(([k]) => !/^(ok|user-error):/.test(k));
if (bad.length) {
  process.stdout.write('\nExamples of anything not ok or a clear error:\n');
  for (const [k, v] of bad) process.stdout.write(`- ${k}\n    ${v}\n`);
}
rmSync(work, { recursive: true, force: true });
