/**
 * One forward for every target on the same image. A target's score is linear in the scored
 * output y (score = sum_k row_k y_k for every target kind: a class, weighted classes, a
 * contrast, a unit through its activation; see targets.ts), and the forward that computes y
 * does not depend on the row. So when one call explains the same image for several targets
 * (the eval's class sensitivity: the target, the runner-up and a random class), the many
 * perturbed copies of forward-only methods (Score-CAM, Ablation-CAM, RISE, Occlusion) run
 * once: the forward fetches y, and each target's score is its row times y, on the CPU.
 * A group of one image runs as before: the graph's own score.
 */
import type { FloatTensor } from '../engine/runtime/runtime.js';
import type { ImageResult, MethodContext } from './base-cam.js';
import type { BuiltSession, Pipeline } from './pipeline.js';
import { runBatches } from './runner.js';
import type { CommonOptions } from './types.js';

/**
 * The call's images grouped by content (the same array, or the same float32 bits): groups in
 * order of their first image, each group's indices ascending.
 */
export function sameImageGroups(images: readonly Float32Array[]): number[][] {
  const groups: number[][] = [];
  const byHash = new Map<number, number[][]>();
  for (const [i, x] of images.entries()) {
    const h = contentHash(x);
    const candidates = byHash.get(h) ?? [];
    const group = candidates.find((g) => sameBits(images[g[0]!]!, x));
    if (group) {
      group.push(i);
      continue;
    }
    const created = [i];
    candidates.push(created);
    byHash.set(h, candidates);
    groups.push(created);
  }
  return groups;
}

/** Distinct images of a call: how many images' worth of copies it runs. */
export function distinctImages(images: readonly Float32Array[]): number {
  return sameImageGroups(images).length;
}

/**
 * Runs `each` once per group of equal images, which gives one result per member (its
 * target's); the results in image order, each member charged an equal share of the time.
 */
export async function perImageGroup(images: readonly Float32Array[], each: (group: readonly number[]) => Promise<Omit<ImageResult, 'ms'>[]>): Promise<ImageResult[]> {
  const results = new Array<ImageResult>(images.length);
  for (const group of sameImageGroups(images)) {
    const t0 = performance.now();
    const out = await each(group);
    const ms = (performance.now() - t0) / group.length;
    group.forEach((img, m) => (results[img] = { ...out[m]!, ms }));
  }
  return results;
}

/** Items built from one group's image, run once and scored for every member's target. */
export interface GroupBatches {
  count: number;
  batchSize: number;
  /** Feeds of items [start, start + n); `rows` is the targets input to feed (n rows). */
  feeds(start: number, n: number, rows: Float32Array[]): Record<string, FloatTensor>;
  /** Outputs to fetch besides the score. */
  fetch?: string[];
  /** Items [start, start + n): the outputs and `scores[m][j]`, item start + j's score for the group's member m. */
  take(out: Record<string, FloatTensor>, start: number, n: number, scores: Float32Array[]): void;
}

/**
 * Runs a group's items through `built` (a graph with a score) in batches: once, whatever the
 * number of members. Returns the milliseconds spent.
 */
export function runForTargets<O extends CommonOptions>(
  pipeline: Pipeline, built: BuiltSession, ctx: MethodContext<O>, group: readonly number[], b: GroupBatches,
): Promise<number> {
  const rows = group.map((i) => ctx.targets[i]!.row);
  const { score, scored } = built.outputs;
  const shared = group.length > 1;
  const scoring = shared ? rowScorers(rows) : undefined;
  return runBatches(
    built.session,
    {
      count: b.count,
      batchSize: b.batchSize,
      source: pipeline.model.source,
      fetch: [...(b.fetch ?? []), shared ? scored! : score!],
      feeds: (start, n) => b.feeds(start, n, new Array<Float32Array>(n).fill(rows[0]!)),
      take: (out, start, n) => b.take(out, start, n, scoring ? scoring.map((f) => f(out[scored!]!.data, n)) : [out[score!]!.data]),
    },
    ctx.evaluations,
  );
}

/**
 * For each row, the scores of n items from their y ([n, K]) as the graph computes them:
 * float32 products summed (only the row's non-zero entries: a class target's score is then
 * exactly y_c, bit for bit the graph's), rounded to float32.
 */
function rowScorers(rows: readonly Float32Array[]): ((y: Float32Array, n: number) => Float32Array)[] {
  return rows.map((row) => {
    const k = row.length;
    const nz = [...row.keys()].filter((i) => row[i] !== 0);
    return (y, n) => {
      const out = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (const c of nz) s += Math.fround(row[c]! * y[j * k + c]!);
        out[j] = s;
      }
      return out;
    };
  });
}

/** FNV-1a over the values' bits: equal images hash alike, so only a hash's images are compared. */
function contentHash(x: Float32Array): number {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193);
  return h >>> 0;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
