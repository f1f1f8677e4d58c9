// Preloaded (node --import) by `npm test`: every test process, and the CLI runs they spawn,
// share one cache folder (downloads, built sessions) made for this run in the system's temp
// folder and removed when the run ends, so tests never fill ~/.cache/rsi-grad-cam on the
// machine that runs them. The test runner's process makes the folder; its child processes
// inherit the variables and keep it. Set $RSI_GRAD_CAM_TEST_CACHE to a folder to use (and
// keep) that one instead, e.g. to reuse built sessions across local runs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

if (!process.env.RSI_GRAD_CAM_TEST_CACHE) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsi-grad-cam-test-cache-'));
  process.env.RSI_GRAD_CAM_TEST_CACHE = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}
process.env.RSI_GRAD_CAM_CACHE = process.env.RSI_GRAD_CAM_TEST_CACHE;
