/** The package's folders are found from the module's own location (src/ here; dist/src/ in the package: tools/check-package.sh). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ASSETS, PACKAGE_ROOT, PACKAGE_VERSION } from '../../src/node/package-root.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

test('the package root is the repository root; assets and version come from it', () => {
  assert.equal(path.resolve(PACKAGE_ROOT), path.resolve(REPO_ROOT));
  assert.ok(existsSync(path.join(ASSETS, 'imagenet-labels.json')));
  assert.ok(existsSync(path.join(ASSETS, 'demo', 'demo-cnn.onnx')));
  assert.equal(PACKAGE_VERSION, JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
});
