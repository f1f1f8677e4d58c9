import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokensGrid, tokenGrid } from '../../src/engine/tokens.js';
import { OptionError } from '../../src/errors.js';

test('token grids are inferred from the patch grid: ViT, DeiT, no class token, hierarchical halvings', () => {
  assert.deepEqual(tokenGrid(['N', 197, 768], [14, 14]), { grid: [14, 14], drop: 1, count: 197 });
  assert.deepEqual(tokenGrid(['N', 198, 384], [14, 14]), { grid: [14, 14], drop: 2, count: 198 });
  assert.deepEqual(tokenGrid(['N', 196, 768], [14, 14]), { grid: [14, 14], drop: 0, count: 196 });
  assert.deepEqual(tokenGrid(['N', 49, 768], [56, 56]), { grid: [7, 7], drop: 0, count: 49 });
  assert.deepEqual(tokenGrid(['N', 25, 40], [4, 6]), { grid: [4, 6], drop: 1, count: 25 });
});

test('layouts that are not tokens on the grid, or that are ambiguous, get no grid', () => {
  assert.equal(tokenGrid(['N', 768, 196], [14, 14]), undefined, 'a flattened conv map [N, D, H*W]');
  assert.equal(tokenGrid(['N', 17, 16], [4, 4]), undefined, 'tokens and channels would both fit');
  assert.equal(tokenGrid(['N', 200, 768], [14, 14]), undefined, 'four extra tokens');
  assert.equal(tokenGrid(['N', 197, 768], undefined), undefined, 'no patch embedding');
  assert.equal(tokenGrid([1, 197, 768], [14, 14]), undefined, 'no batch axis');
  assert.equal(tokenGrid(['N', 197, 768, 2], [14, 14]), undefined);
});

test('options override: the grid, the dropped tokens, or both', () => {
  assert.deepEqual(tokenGrid(['N', 197, 768], undefined, { grid: [14, 14] }), { grid: [14, 14], drop: 1, count: 197 });
  assert.deepEqual(tokenGrid(['N', 201, 768], [14, 14], { drop: 5 }), { grid: [14, 14], drop: 5, count: 201 });
  assert.deepEqual(tokenGrid(['N', 17, 16], [4, 4], { grid: [4, 4], drop: 1 }), { grid: [4, 4], drop: 1, count: 17 });
  assert.equal(tokenGrid(['N', 197, 768], [14, 14], { grid: [14, 14], drop: 2 }), undefined);
  assert.equal(tokenGrid(['N', 197, 768], [14, 14], { grid: [7, 7] }), undefined);
});

test('--tokens-grid parses HxW', () => {
  assert.deepEqual(parseTokensGrid('14x14'), [14, 14]);
  assert.deepEqual(parseTokensGrid(' 7X12 '), [7, 12]);
  for (const bad of ['14', '0x4', '4x', 'ax4', '4x4x4', '-2x3']) assert.throws(() => parseTokensGrid(bad), (e: Error) => e instanceof OptionError && /--tokens-grid/.test(e.message));
});
