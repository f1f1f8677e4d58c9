/**
 * The core (engine, methods, image maths, importers, metrics) must run in the browser on
 * onnxruntime-web, so nothing reachable from src/core.ts may import Node-only modules;
 * those live in src/node/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers/fixtures.js';

const NODE_ONLY = /^node:|^(fs|path|os|child_process|worker_threads|sharp|onnxruntime-node|cli-progress|commander)$/;

test('nothing reachable from src/core.ts imports Node-only modules', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (NODE_ONLY.test(spec)) bad.push(`${path.relative(REPO_ROOT, file)} imports ${spec}`);
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        if (target.includes(`${path.sep}src${path.sep}node${path.sep}`)) bad.push(`${path.relative(REPO_ROOT, file)} imports ${spec}`);
        else if (existsSync(target)) visit(target);
      }
    }
  };
  visit(path.join(REPO_ROOT, 'src/core.ts'));
  assert.ok(seen.size > 40, `only ${seen.size} files reached`);
  assert.deepEqual(bad, []);
});
