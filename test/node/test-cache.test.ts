/**
 * `npm test` preloads test/helpers/temp-cache.mjs so tests never write into the user's cache
 * folder: a run of the test runner (and every process it starts, as the runner's children and
 * spawned CLIs do) sees one fresh cache folder in the temp folder, removed when the run ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/fixtures.js';

const SETUP = path.join(REPO_ROOT, 'test', 'helpers', 'temp-cache.mjs');

/** Runs `node --import temp-cache.mjs -e script` with `env` (not the caller's test cache) and returns its stdout lines. */
function run(script: string, env: NodeJS.ProcessEnv): string[] {
  const clean = { ...process.env, ...env };
  if (!('RSI_GRAD_CAM_TEST_CACHE' in env)) delete clean.RSI_GRAD_CAM_TEST_CACHE;
  return execFileSync(process.execPath, ['--import', SETUP, '--input-type=module', '-e', script], { env: clean, encoding: 'utf8' }).trim().split('\n');
}

test('the test cache: a fresh temp folder the cache and session store use, shared with child processes, removed at exit', async () => {
  const script = [
    "import { execFileSync } from 'node:child_process';",
    "import { existsSync } from 'node:fs';",
    "const { defaultCacheDir } = await import(process.argv[1]);",
    "const child = execFileSync(process.execPath, ['-e', 'console.log(process.env.RSI_GRAD_CAM_CACHE)'], { encoding: 'utf8' }).trim();",
    'console.log(defaultCacheDir()); console.log(child); console.log(existsSync(defaultCacheDir()));',
  ].join('\n');
  // The store's folder comes from download.ts's defaultCacheDir: import it as compiled by tsx.
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--import', SETUP, '--input-type=module', '-e', script, path.join(REPO_ROOT, 'src', 'node', 'download.ts')],
    { env: { ...process.env, RSI_GRAD_CAM_TEST_CACHE: '', RSI_GRAD_CAM_CACHE: path.join(os.homedir(), '.cache', 'rsi-grad-cam') }, encoding: 'utf8', cwd: REPO_ROOT },
  ).trim().split('\n');
  const [dir, child, existed] = out;
  assert.ok(dir!.startsWith(path.join(os.tmpdir(), 'rsi-grad-cam-test-cache-')), `cache folder ${dir}`);
  assert.equal(child, dir, 'a child process shares the folder');
  assert.equal(existed, 'true');
  assert.equal(existsSync(dir!), false, 'the folder is removed when the run ends');
});

test('the test cache: $RSI_GRAD_CAM_TEST_CACHE names a folder to use and keep', () => {
  const keep = mkdtempSync(path.join(os.tmpdir(), 'rsi-keep-'));
  try {
    const [dir] = run('console.log(process.env.RSI_GRAD_CAM_CACHE)', { RSI_GRAD_CAM_TEST_CACHE: keep });
    assert.equal(dir, keep);
    assert.ok(existsSync(keep), 'a folder the user named is kept');
    // Without it, a new folder each run.
    const before = new Set(readdirSync(os.tmpdir()));
    const [a] = run('console.log(process.env.RSI_GRAD_CAM_CACHE)', {});
    const [b] = run('console.log(process.env.RSI_GRAD_CAM_CACHE)', {});
    assert.notEqual(a, b);
    assert.ok(!before.has(path.basename(a!)) && !existsSync(a!) && !existsSync(b!));
  } finally {
    rmSync(keep, { recursive: true, force: true });
  }
});
