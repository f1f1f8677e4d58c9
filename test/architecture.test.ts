/**
 * The core (engine, methods, image maths) must run in the browser on onnxruntime-web, so it
 * may not import Node-only modules; those live in src/node/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers/fixtures.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('core modules import no Node-only modules', () => {
  const core = ['engine', 'methods', 'image', 'metrics', 'importers'].map((d) => path.join(REPO_ROOT, 'src', d)).filter((d) => {
    try {
      return statSync(d).isDirectory();
    } catch {
      return false;
    }
  });
  assert.ok(core.length >= 2);
  const bad: string[] = [];
  for (const f of core.flatMap(files)) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = m[1]!;
      if (/^node:|^(fs|path|os|child_process|worker_threads|sharp|onnxruntime-node)$/.test(spec) || spec.includes('/node/')) {
        bad.push(`${path.relative(REPO_ROOT, f)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});
