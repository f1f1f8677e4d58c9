/**
 * Output folders that cannot take the results are user errors: exit 1 and one line naming
 * the folder, for every command that writes (the real CLI in a child process). Read-only and
 * full folders are real: a read-only mode for a non-root user, else (root ignores modes) a
 * read-only or tiny tmpfs when this machine lets us mount one; skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { exitCodeFor } from '../../src/cli/errors.js';
import { OutputError } from '../../src/errors.js';
import { toOutputError, writeFileAtomic } from '../../src/node/output.js';

const DEMO = path.join(REPO_ROOT, 'assets', 'demo');
const PHOTO = path.join(DEMO, 'images', 'demo-00000.png');

/** Commands that write into `out`. */
const COMMANDS: [string, (out: string) => string[]][] = [
  ['generate', (out) => ['generate', '--count', '1', '--size', '32', '--out', out]],
  ['explain', (out) => ['explain', PHOTO, '--model', path.join(DEMO, 'demo-cnn.onnx'), '--method', 'gradcam', '--out', out]],
  ['demo', (out) => ['demo', '--steps', '2', '--out', out]],
];

async function expectRefused(args: string[], folder: string, reason: RegExp) {
  const r = await runCli(args);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`error: cannot write to the output folder ${folder}: `), lines[0]);
  assert.match(lines[0]!, reason);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('a file where the output folder should be, and a folder under a file: exit 1 naming the folder', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-out-'));
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'not a folder');
  for (const [, args] of COMMANDS) await expectRefused(args(file), file, /a file of that name is in the way \(EEXIST\)$/);
  const under = path.join(file, 'sub', 'folder');
  for (const [, args] of COMMANDS.slice(0, 2)) await expectRefused(args(under), under, new RegExp(`${file} is a file, not a folder \\(ENOTDIR\\)$`));
});

/** A tmpfs mounted at a new folder (root only), or why not. */
function mountTmpfs(options: string): { dir: string; unmount: () => void } | string {
  if (process.getuid?.() !== 0) return 'mounting needs root';
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-mnt-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    return `cannot mount a tmpfs here (${String((e as Error).message).split('\n')[0]})`;
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

test('a read-only output folder: exit 1 naming it', async (t) => {
  let dir: string;
  let done = () => {};
  let reason: RegExp;
  if (process.getuid?.() !== 0) {
    dir = mkdtempSync(path.join(tmpdir(), 'rsi-ro-'));
    chmodSync(dir, 0o555);
    reason = /permission denied \(EACCES\)$/;
  } else {
    const m = mountTmpfs('ro,size=64k');
    if (typeof m === 'string') return t.skip(`root ignores folder modes and ${m}`);
    [dir, done, reason] = [m.dir, m.unmount, /read-only file system \(EROFS\)$/];
  }
  try {
    for (const [, args] of COMMANDS) await expectRefused(args(dir), dir, reason);
    // A new folder inside it, two levels deep.
    await expectRefused(COMMANDS[0]![1](path.join(dir, 'new', 'folder')), path.join(dir, 'new', 'folder'), reason);
  } finally {
    done();
  }
});

test('a full disk: exit 1 naming the folder, no partial or temporary file left', async (t) => {
  const m = mountTmpfs('size=16k');
  if (typeof m === 'string') return t.skip(m);
  try {
    // generate at its default image size, so that it needs more than the disk holds.
    const commands = COMMANDS.map(([name, args]): [string, (out: string) => string[]] => [name, name === 'generate' ? (out) => ['generate', '--count', '3', '--out', out] : args]);
    for (const [name, args] of commands) {
      const out = path.join(m.dir, name);
      await expectRefused(args(out), out, /no space left on the disk \(ENOSPC\)$/);
      const left = existsSync(out) ? readdirSync(out, { recursive: true }).map(String) : [];
      assert.ok(left.every((f) => !f.endsWith('.tmp') && !f.endsWith('.png')), `${name} left ${left}`);
    }
  } finally {
    m.unmount();
  }
});

test('the mapping: a real ENOSPC (from /dev/full) and a folder in the way are OutputErrors naming the folder; other errors stay internal', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('needs /dev/full');
  let enospc: unknown;
  try {
    writeFileSync('/dev/full', 'x'.repeat(4096));
  } catch (e) {
    enospc = e;
  }
  const mapped = toOutputError(enospc, '/data/out');
  assert.ok(mapped instanceof OutputError);
  assert.equal(mapped.message, 'cannot write to the output folder /data/out: no space left on the disk (ENOSPC)');
  assert.equal(exitCodeFor(mapped), 1);
  // Without a folder, an error without a path cannot be placed: not mapped.
  assert.equal(toOutputError(enospc), undefined);

  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-map-'));
  mkdirSync(path.join(dir, 'picture.png'));
  await assert.rejects(writeFileAtomic(path.join(dir, 'picture.png'), new Uint8Array(4)), (e: Error) => {
    assert.ok(e instanceof OutputError);
    assert.equal(e.message, `cannot write to the output folder ${dir}: ${path.join(dir, 'picture.png')} is a folder (EISDIR)`);
    return true;
  });
  assert.deepEqual(readdirSync(dir), ['picture.png'], 'the temporary file is removed');
  // A read-side error is not an output problem: still an internal error (exit 2).
  let statError: unknown;
  try {
    execFileSync('false');
  } catch (e) {
    statError = e;
  }
  assert.equal(exitCodeFor(statError), 2);
  assert.equal(exitCodeFor(Object.assign(new Error('EACCES: permission denied, scandir'), { code: 'EACCES', syscall: 'scandir', path: '/x' })), 2);
});
