/**
 * Token layers seen as maps, as pytorch-grad-cam's `reshape_transform` sees them: a vision
 * transformer's tokens [N, K + H*W, D] (K leading tokens, the class token of ViT and DeiT's
 * distillation token, are dropped) become a map [N, D, H, W]. The grid is the patch grid of
 * the model's patch embedding (a Conv whose kernel equals its stride, as ViT's `conv_proj`
 * and Swin's patch embedding are), or its halvings for hierarchical models that keep tokens
 * [N, H*W, C] (timm's Swin); options override it. Swin models that keep [N, H, W, C] maps
 * (torchvision's) are channels-last maps, handled by the layout tracking (layout.ts).
 *
 * A 3-D layer whose tokens cannot be placed on a grid stays [N, S, D]: methods refuse it,
 * naming the options that place it, so no cam is ever drawn on a guessed grid.
 */
import { OptionError } from '../errors.js';
import { attrInt, attrInts } from './graph/attributes.js';
import type { Known } from './graph/shape-inference.js';
import type { LayerInfo } from './layers.js';
import { BATCH, type Graph, type Shape } from './graph/types.js';

/** Where a token layer's tokens lie: `drop` leading tokens, then an H x W grid row by row. */
export interface TokenGrid {
  /** [H, W] of the grid. */
  grid: [number, number];
  /** Leading tokens that are not on the grid (1 for ViT's class token). */
  drop: number;
  /** Tokens in the tensor (drop + H * W). */
  count: number;
}

/** The reshape transform's settings (CLI `--tokens-grid HxW`, `--drop-tokens K`). */
export interface TokenOptions {
  /** [H, W] of the token grid; default: the patch grid. */
  grid?: [number, number];
  /** Leading tokens to drop; default: the tokens beyond the grid (at most 2). */
  drop?: number;
}

/** The most leading tokens inferred without options (class and distillation tokens). */
const MAX_INFERRED_DROP = 2;

/**
 * The patch grid [H, W]: the output size of the first Conv whose kernel equals its stride
 * (> 1) and that has no padding, i.e. cuts the image into patches.
 */
export function patchGrid(graph: Graph, shapes: Map<string, Known>): [number, number] | undefined {
  for (const n of graph.nodes) {
    if (n.opType !== 'Conv') continue;
    const kernel = attrInts(n, 'kernel_shape') ?? (shapes.get(n.inputs[1]!)?.shape?.slice(2) as number[] | undefined);
    const strides = attrInts(n, 'strides');
    const pads = attrInts(n, 'pads') ?? [];
    if (!kernel || !strides || kernel.length !== 2 || attrInt(n, 'group', 1) !== 1) continue;
    if (kernel.some((k, i) => k !== strides[i] || k < 2) || pads.some((p) => p !== 0)) continue;
    const s = shapes.get(n.outputs[0]!)?.shape;
    if (s?.length === 4 && typeof s[2] === 'number' && typeof s[3] === 'number') return [s[2], s[3]];
  }
  return undefined;
}

/**
 * The grid of a layer of shape [N, S, D], or undefined when it is not a token layer this can
 * place. Without options: S = K + H*W of the patch grid (K <= 2), or S = H*W of a grid halved
 * 1-4 times; a D that would fit as well makes the layout ambiguous (undefined).
 */
export function tokenGrid(shape: Shape, patch: [number, number] | undefined, options: TokenOptions = {}): TokenGrid | undefined {
  if (shape.length !== 3 || shape[0] !== BATCH) return undefined;
  const [, s, d] = shape;
  if (typeof s !== 'number' || typeof d !== 'number') return undefined;
  const at = (grid: [number, number], drop: number): TokenGrid | undefined =>
    drop >= 0 && drop + grid[0] * grid[1] === s && grid[0] * grid[1] > 1 ? { grid, drop, count: s } : undefined;
  if (options.grid) {
    const extra = s - options.grid[0] * options.grid[1];
    return options.drop !== undefined ? at(options.grid, options.drop) : extra <= MAX_INFERRED_DROP ? at(options.grid, extra) : undefined;
  }
  if (!patch) return undefined;
  const grids: [number, number][] = [patch];
  for (let k = 1; k <= 4; k++) {
    const f = 2 ** k;
    if (patch[0] % f === 0 && patch[1] % f === 0) grids.push([patch[0] / f, patch[1] / f]);
  }
  const fits = (n: number, g: [number, number], drop?: number) => {
    const extra = n - g[0] * g[1];
    return drop !== undefined ? extra === drop : extra >= 0 && extra <= (g === patch ? MAX_INFERRED_DROP : 0);
  };
  for (const g of grids) {
    if (!fits(s, g, options.drop)) continue;
    // [N, D, H*W] (a flattened conv map) would fit too: which axis holds the tokens is unclear.
    if (grids.some((h) => fits(d, h, options.drop))) return undefined;
    return at(g, s - g[0] * g[1]);
  }
  return undefined;
}

/** `--tokens-grid` text: HxW. */
export function parseTokensGrid(text: string, what = '--tokens-grid'): [number, number] {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  const grid = m ? ([Number(m[1]), Number(m[2])] as [number, number]) : undefined;
  if (!grid || grid.some((v) => !Number.isSafeInteger(v) || v < 1)) throw new OptionError(`${what} must be HxW with positive integers (e.g. 14x14), got '${text}'`);
  return grid;
}

/** Checks library options (the CLI parses its own). */
export function checkTokenOptions(o: TokenOptions | undefined, source: string): void {
  if (!o) return;
  if (o.grid !== undefined && (!Array.isArray(o.grid) || o.grid.length !== 2 || o.grid.some((v) => !Number.isSafeInteger(v) || v < 1))) {
    throw new OptionError(`${source}: tokens.grid must be [height, width] with positive integers, got ${JSON.stringify(o.grid)}`);
  }
  if (o.drop !== undefined && (!Number.isSafeInteger(o.drop) || o.drop < 0)) {
    throw new OptionError(`${source}: tokens.drop must be a non-negative integer, got ${JSON.stringify(o.drop)}`);
  }
}

/** The one-line refusal for a 3-D layer whose tokens are not on a known grid. */
export function unknownTokenLayout(tensor: string, shape: Shape): OptionError {
  return new OptionError(
    `layer '${tensor}' has shape [${shape.join(', ')}] and its tokens are on no known grid; if it holds tokens [N, K + H*W, D], set --tokens-grid HxW and --drop-tokens K (library: tokens: { grid: [H, W], drop: K })`,
  );
}

/**
 * Give every 3-D layer [N, S, D] whose tokens lie on a grid its map shape [N, D, H, W] (as
 * methods see it) and its grid. `layers` are changed in place.
 */
export function applyTokenGrids(layers: LayerInfo[], patch: [number, number] | undefined, options: TokenOptions = {}): void {
  for (const l of layers) {
    const g = tokenGrid(l.shape, patch, options);
    if (!g) continue;
    l.tokens = g;
    l.shape = [BATCH, l.shape[2]!, g.grid[0], g.grid[1]];
    l.spatial = g.grid;
  }
}
