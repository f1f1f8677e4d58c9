/** `rsi-grad-cam serve`: headers, MIME types, paths outside the page, a port in use. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ensurePageBuilt, serve } from '../helpers/web.js';

test('serve: isolation headers on every file, JavaScript and wasm MIME types, nothing outside the page, a busy port is exit 1', async () => {
  ensurePageBuilt();
  const s = await serve();
  try {
    const index = await fetch(s.url);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /^text\/html/);
    const html = await index.text();
    const script = /src="\.\/(assets\/index-[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the built index.html loads its script from assets/');
    const js = await fetch(new URL(script, s.url), { method: 'HEAD' });
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    for (const h of ['cross-origin-opener-policy', 'cross-origin-embedder-policy', 'cross-origin-resource-policy']) assert.ok(js.headers.get(h), h);
    assert.match(js.headers.get('cache-control')!, /immutable/);
    for (const bad of ['/../package.json', '/%2e%2e/package.json', '/assets/../../src/core.ts', '/nope.html']) {
      const r = await fetch(new URL(bad, s.url).href.replace(/\/package\.json$/, '/package.json'));
      assert.ok(r.status === 404 || r.status === 403, `${bad}: ${r.status}`);
    }
    assert.equal((await fetch(s.url, { method: 'POST' })).status, 405);
    const port = new URL(s.url).port;
    const second = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--port', port], { cwd: REPO_ROOT }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`--port ${port}: the port is in use`));
  } finally {
    await s.stop();
  }
});
