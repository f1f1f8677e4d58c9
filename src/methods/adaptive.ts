/**
 * Adaptive path steps (`steps: 'auto'`). The path [0, 1] is cut into intervals, each with its
 * midpoint evaluated. An interval's estimated error is what its midpoint changed: the rule
 * over the whole interval against the rule over its two halves (Richardson-style), measured
 * on what the user sees — the heatmap (through the method's cam) and the completeness sum —
 * plus the interval's own completeness residual, sum(IG over it) - (s(b) - s(a)), which
 * catches a score jump that falls between two points. What a midpoint changed in the heatmap
 * is the error of the coarser sum; the finer sum's is estimated as a share of it
 * (HEATMAP_ERROR_SHARE, measured). Intervals with the largest estimated
 * error are halved, many at a time (so model batches stay full), until the summed estimate
 * meets the tolerance or the evaluation cap is reached.
 *
 * Memory: A and g of every held point (8 bytes per element of each layer), at most
 * `maxStoredPoints` of them; past that, the intervals that matter least are frozen (their
 * sums kept, their points released) and are never halved again.
 */
import { OptionError } from '../errors.js';
import { pathPoint, ruleWeights, MAX_STEPS, type StieltjesRule } from './quadrature.js';
import { runBatches, type Evaluations } from './runner.js';
import type { BuiltSession, Pipeline } from './pipeline.js';
import type { LayerPathSums } from './path.js';
import type { OptionInfo } from './method.js';
import type { CommonOptions } from './types.js';
import type { EngineSession, FloatTensor } from '../engine/runtime/runtime.js';

/** The options of a method that takes `steps: 'auto'`. */
export interface AdaptiveStepsOptions {
  /** Intervals m of a uniform path, or 'auto': refined where it matters until `tolerance` is met. */
  steps?: number | 'auto';
  /**
   * steps 'auto': the estimated error to reach, relative: of the heatmap (L2, centred, at the
   * layer) and of the completeness sum (over the score's change along the path). Default 0.01.
   */
  tolerance?: number;
  /** steps 'auto': the most model evaluations along one image's path. Default 200. */
  maxEvaluations?: number;
}

export const ADAPTIVE_OPTIONS: readonly (keyof AdaptiveStepsOptions)[] = ['tolerance', 'maxEvaluations'];
export const DEFAULT_TOLERANCE = 0.01;
export const DEFAULT_MAX_EVALUATIONS = 200;
/** Intervals of the first grid, each with its midpoint: 2 * 2 + 1 = 5 points. */
export const INITIAL_INTERVALS = 2;
/** Points of the first grid: the fewest evaluations 'auto' makes. */
export const INITIAL_POINTS = 2 * INITIAL_INTERVALS + 1;
/** How a form sets tolerance and maxEvaluations (they apply with steps 'auto'). */
export const ADAPTIVE_OPTION_INFO: Readonly<Record<'tolerance' | 'maxEvaluations', OptionInfo>> = {
  tolerance: { description: "steps 'auto': the estimated relative error of the heatmap and the completeness sum to reach", type: 'number', default: DEFAULT_TOLERANCE, min: 1e-6, max: 1, when: { steps: 'auto' } },
  maxEvaluations: { description: "steps 'auto': the most model evaluations along one image's path", type: 'integer', default: DEFAULT_MAX_EVALUATIONS, min: INITIAL_POINTS, max: MAX_STEPS + 1, when: { steps: 'auto' } },
};
/** Narrower intervals are not halved: float32 inputs no longer tell their points apart. */
const MIN_WIDTH = 2 ** -20;
/**
 * The heatmap error left after the last midpoints, as a share of the change they made. That
 * change is the error of the coarser sum (Richardson: of the finer one, 1/3 of it for a smooth
 * integrand, all of it where the midpoints only began to resolve a turn); measured against
 * m = 400 on MobileNet v1 photos, the finer sum's true heatmap error was a median 0.53 of it at
 * conv_pw_11_relu (150 rounds, 24 photos) and 0.55 at conv_pw_13_relu; 0.6 keeps a margin.
 */
export const HEATMAP_ERROR_SHARE = 0.6;
/**
 * The share of an interval's error that halving it is expected to remove, to judge how many
 * intervals a round halves: 3/4 where the integrand is smooth (the error falls four-fold).
 * Where it is not, the next round halves more; a lower share halves more at once and ends
 * past the tolerance (conv_pw_11_relu at 0.05, 24 photos: median 18 evaluations with 1/2, 17
 * with 3/4, the heatmaps as close to m = 400).
 */
const HALVING_CUT = 0.75;

/** Refuses tolerance and maxEvaluations that are out of range, or given without steps 'auto'. */
export function checkAdaptiveOptions(o: AdaptiveStepsOptions & { paths?: unknown }): void {
  if (o.steps !== 'auto') {
    const given = ADAPTIVE_OPTIONS.filter((k) => o[k] !== undefined);
    if (given.length) throw new OptionError(`${given.join(' and ')} ${given.length === 1 ? 'applies' : 'apply'} only with steps 'auto'`);
    return;
  }
  if (o.paths !== undefined) throw new OptionError("steps 'auto' refines the straight path; it cannot be combined with custom paths");
  const t = o.tolerance;
  if (t !== undefined && !(typeof t === 'number' && Number.isFinite(t) && t > 0 && t <= 1)) throw new OptionError(`tolerance must be a number in (0, 1], got ${String(t)}`);
  const m = o.maxEvaluations;
  if (m !== undefined && !(Number.isSafeInteger(m) && m >= INITIAL_POINTS && m <= MAX_STEPS + 1)) {
    throw new OptionError(`maxEvaluations must be an integer from ${INITIAL_POINTS} to ${MAX_STEPS + 1}, got ${String(m)}`);
  }
}

/** One layer of what is integrated. */
export interface RefineLayer {
  /** Elements of the layer for one image (C * H * W). */
  size: number;
  /** Positions of the cam (H * W). */
  hw: number;
}

export interface RefineSpec {
  layers: RefineLayer[];
  /** Gradient transforms integrated besides IG (the weighting's integrands), in order. */
  integrands: ((g: number) => number)[];
  rule: StieltjesRule;
  tolerance: number;
  maxEvaluations: number;
  /** Narrower intervals are not halved. Default 2^-20 (float32 inputs barely tell such points apart). */
  minWidth?: number;
  /** The most points whose A and g are held at once (at least INITIAL_POINTS + 2). Default: no limit. */
  maxStoredPoints?: number;
  /**
   * Layer `layer`'s cam before the ReLU, [hw], from integrals (IG first, then the integrands in
   * order) and the activations at the image (aX) and the baseline (a0).
   */
  cam(layer: number, integrals: Float32Array[], aX: Float32Array, a0: Float32Array): Float32Array;
}

/** What the refinement gives for one path. */
export interface RefinedPath {
  /** Per layer: IG, then each integrand's integral, [C * H * W] in float64. */
  integrals: Float64Array[][];
  /** Per layer: activations at the image (alpha 1) and at the baseline (alpha 0). */
  aX: Float32Array[];
  a0: Float32Array[];
  /** The evaluated points in path order, their scores, and per layer the running sum of IG up to each. */
  alphas: number[];
  scores: number[];
  runningSum: number[][];
  /** Model evaluations along the path. */
  evaluations: number;
  rounds: number;
  /** True when the cap stopped the refinement before the tolerance was met. */
  capReached: boolean;
  /** Per layer: estimated relative error of the heatmap and of the completeness sum. */
  heatmapError: number[];
  completenessError: number[];
  /** The largest of them: what was compared with the tolerance. */
  estimatedError: number;
}

interface Point {
  alpha: number;
  score: number;
  /** Per layer; undefined once released. */
  a?: Float32Array[];
  g?: Float32Array[];
}

interface Interval {
  a: number;
  c: number;
  b: number;
  frozen: boolean;
  /** Per layer: cam(S) - cam(S - delta), the heatmap change the midpoint made, [hw]. */
  heat: Float32Array[];
  /** Per layer: sum of delta (the completeness sum's change) and the residual sum(IG) - (s(b) - s(a)). */
  dTotal: number[];
  resid: number[];
  /** Per layer: sum of IG over [a, c] and over [c, b]. */
  halves: [number, number][];
  /** Per layer: estimated errors (relative), refreshed every round. */
  eHeat: number[];
  eComp: number[];
}

/**
 * The refinement of one path: call `next()` for the alphas to evaluate, `add()` each one's
 * values, and again until `next()` gives none; then `result()`.
 */
export class PathRefinement {
  private readonly points = new Map<number, Point>();
  private intervals: Interval[] = [];
  /** Intervals whose midpoints were asked for and not yet taken in. */
  private pending: { a: number; c: number; b: number }[] = [];
  private asked: number[] = [];
  /** Per layer, per integrand (IG first): the current estimate, sum over intervals of the rule on their halves. */
  private readonly sums: Float64Array[][];
  private readonly aX: Float32Array[] = [];
  private readonly a0: Float32Array[] = [];
  private readonly wPrev: number;
  private readonly wCur: number;
  private readonly transforms: (((g: number) => number) | undefined)[];
  private estimates = { heat: [] as number[], comp: [] as number[], max: Infinity, ratio: [] as number[] };
  private started = false;
  private done = false;
  evaluations = 0;
  rounds = 0;
  capReached = false;

  constructor(private readonly spec: RefineSpec) {
    [this.wPrev, this.wCur] = ruleWeights(spec.rule);
    this.transforms = [undefined, ...spec.integrands];
    this.sums = spec.layers.map((L) => this.transforms.map(() => new Float64Array(L.size)));
  }

  /** The alphas to evaluate next (all of them before calling again); none when the refinement is over. */
  next(): number[] {
    if (this.asked.some((alpha) => !this.points.has(alpha))) throw new Error('PathRefinement.next: not every asked point was added');
    if (!this.started) {
      this.started = true;
      const n = 2 * INITIAL_INTERVALS;
      this.pending = Array.from({ length: INITIAL_INTERVALS }, (_, k) => ({ a: (2 * k) / n, c: (2 * k + 1) / n, b: (2 * k + 2) / n }));
      return this.ask(Array.from({ length: n + 1 }, (_, i) => i / n));
    }
    if (this.done) return [];
    this.rounds++;
    this.takeIn();
    this.estimate();
    const chosen = this.choose();
    if (!chosen.length) {
      this.done = true;
      return [];
    }
    const alphas: number[] = [];
    for (const iv of chosen) {
      this.intervals.splice(this.intervals.indexOf(iv), 1);
      const d = (iv.a + iv.c) / 2;
      const e = (iv.c + iv.b) / 2;
      this.pending.push({ a: iv.a, c: d, b: iv.c }, { a: iv.c, c: e, b: iv.b });
      alphas.push(d, e);
    }
    return this.ask(alphas);
  }

  /** One evaluated point: its score and, per layer, A and g (kept, not copied). */
  add(alpha: number, score: number, a: Float32Array[], g: Float32Array[]): void {
    if (!this.asked.includes(alpha) || this.points.has(alpha)) throw new Error(`PathRefinement.add: alpha ${alpha} was not asked for`);
    this.points.set(alpha, { alpha, score, a, g });
    this.evaluations++;
    if (alpha === 0) a.forEach((x, l) => (this.a0[l] = x.slice()));
    if (alpha === 1) a.forEach((x, l) => (this.aX[l] = x.slice()));
  }

  result(): RefinedPath {
    if (!this.done) throw new Error('PathRefinement.result: the refinement is not over');
    const pts = [...this.points.values()].sort((p, q) => p.alpha - q.alpha);
    const ivs = [...this.intervals].sort((p, q) => p.a - q.a);
    const runningSum = this.spec.layers.map((_, l) => {
      const out = [0];
      let s = 0;
      for (const iv of ivs) for (const h of iv.halves[l]!) out.push((s += h));
      return out;
    });
    return {
      integrals: this.sums,
      aX: this.aX,
      a0: this.a0,
      alphas: pts.map((p) => p.alpha),
      scores: pts.map((p) => p.score),
      runningSum,
      evaluations: this.evaluations,
      rounds: this.rounds,
      capReached: this.capReached,
      heatmapError: this.estimates.heat,
      completenessError: this.estimates.comp,
      estimatedError: this.estimates.max,
    };
  }

  private ask(alphas: number[]): number[] {
    this.asked = alphas;
    return alphas;
  }

  /** Makes the pending intervals: their sums join the estimate, their heatmap changes are measured. */
  private takeIn(): void {
    const fresh = this.pending;
    this.pending = [];
    const L = this.spec.layers.length;
    const made = fresh.map(({ a, c, b }) => {
      const iv: Interval = { a, c, b, frozen: false, heat: [], dTotal: [], resid: [], halves: [], eHeat: [], eComp: [] };
      for (let l = 0; l < L; l++) {
        // The first grid's intervals bring their whole sum; a halved interval's coarse sum is in the estimate already.
        const t = this.totals(iv, l, this.sums[l]!, this.rounds === 1 ? 'fine' : 'delta');
        iv.dTotal[l] = t.delta;
        iv.halves[l] = [t.left, t.right];
        iv.resid[l] = t.left + t.right - (this.point(b).score - this.point(a).score);
      }
      this.intervals.push(iv);
      return iv;
    });
    for (let l = 0; l < L; l++) {
      const S = this.sums[l]!.map((s) => Float32Array.from(s));
      const camS = this.spec.cam(l, S, this.aX[l]!, this.a0[l]!);
      const size = this.spec.layers[l]!.size;
      const delta = this.transforms.map(() => new Float64Array(size));
      for (const iv of made) {
        for (const d of delta) d.fill(0);
        this.totals(iv, l, delta, 'delta');
        const without = this.sums[l]!.map((full, t) => {
          const out = new Float32Array(size);
          const d = delta[t]!;
          for (let e = 0; e < size; e++) out[e] = full[e]! - d[e]!;
          return out;
        });
        const camWithout = this.spec.cam(l, without, this.aX[l]!, this.a0[l]!);
        iv.heat[l] = camS.map((v, j) => v - camWithout[j]!);
      }
    }
  }

  /**
   * Adds the interval's fine sums (rule on both halves) or its delta (fine - coarse) to
   * `into`, per integrand; returns IG's totals.
   */
  private totals(iv: { a: number; c: number; b: number }, l: number, into: Float64Array[], what: 'fine' | 'delta'): { left: number; right: number; delta: number } {
    const pa = this.point(iv.a);
    const pc = this.point(iv.c);
    const pb = this.point(iv.b);
    const Aa = pa.a![l]!, Ac = pc.a![l]!, Ab = pb.a![l]!;
    const Ga = pa.g![l]!, Gc = pc.g![l]!, Gb = pb.g![l]!;
    const wp = this.wPrev;
    const wc = this.wCur;
    let left = 0;
    let right = 0;
    let delta = 0;
    this.transforms.forEach((f, t) => {
      const out = into[t]!;
      const n = out.length;
      for (let e = 0; e < n; e++) {
        const ga = f ? f(Ga[e]!) : Ga[e]!;
        const gc = f ? f(Gc[e]!) : Gc[e]!;
        const gb = f ? f(Gb[e]!) : Gb[e]!;
        const tl = (wp * ga + wc * gc) * (Ac[e]! - Aa[e]!);
        const tr = (wp * gc + wc * gb) * (Ab[e]! - Ac[e]!);
        const fine = tl + tr;
        const d = fine - (wp * ga + wc * gb) * (Ab[e]! - Aa[e]!);
        out[e]! += what === 'fine' ? fine : d;
        if (t === 0) {
          left += tl;
          right += tr;
          delta += d;
        }
      }
    });
    return { left, right, delta };
  }

  private point(alpha: number): Point {
    const p = this.points.get(alpha);
    if (!p || !p.a || !p.g) throw new Error(`PathRefinement: point ${alpha} is not held`);
    return p;
  }

  /**
   * Each interval's relative errors under the current estimate (to choose what to halve), and
   * per layer the estimate's: the heatmap change all the last midpoints made together (as
   * m against m/2 steps would show), and the completeness sum's actual residual.
   */
  private estimate(): void {
    const scale = scoreScale([...this.points.values()].sort((p, q) => p.alpha - q.alpha).map((p) => p.score));
    const heat: number[] = [];
    const comp: number[] = [];
    const ratio: number[] = [];
    this.spec.layers.forEach((_, l) => {
      const cam = this.spec.cam(l, this.sums[l]!.map((s) => Float32Array.from(s)), this.aX[l]!, this.a0[l]!);
      const together = new Float32Array(cam.length);
      for (const iv of this.intervals) iv.heat[l]!.forEach((v, j) => (together[j]! += v));
      const e = relativeHeatmapChanges(cam, [...this.intervals.map((iv) => iv.heat[l]!), together]);
      const h = HEATMAP_ERROR_SHARE * e.pop()!;
      let hSum = 0;
      let cSum = 0;
      let resid = 0;
      this.intervals.forEach((iv, i) => {
        iv.eHeat[l] = HEATMAP_ERROR_SHARE * e[i]!;
        iv.eComp[l] = Math.max(Math.abs(iv.dTotal[l]!), Math.abs(iv.resid[l]!)) / scale;
        hSum += iv.eHeat[l]!;
        cSum += iv.eComp[l]!;
        resid += iv.resid[l]!;
      });
      const c = Math.abs(resid) / scale;
      heat.push(h);
      comp.push(c);
      // How the totals relate to the intervals' own errors, to predict what halving some of them leaves.
      ratio.push(hSum > 0 ? h / hSum : 0, cSum > 0 ? c / cSum : 0);
    });
    this.estimates = { heat, comp, max: Math.max(...heat, ...comp), ratio };
  }

  /**
   * The intervals to halve this round: the worst first, while they are at least half as bad as
   * the worst and the predicted error is above the tolerance.
   */
  private choose(): Interval[] {
    const { tolerance, maxEvaluations } = this.spec;
    const worst = (iv: Interval) => Math.max(...iv.eHeat, ...iv.eComp);
    const { heat, comp, ratio } = this.estimates;
    const left = [...heat, ...comp];
    const room = Math.floor((maxEvaluations - this.evaluations) / 2);
    const candidates = this.intervals.filter((iv) => !iv.frozen && iv.b - iv.a > (this.spec.minWidth ?? MIN_WIDTH)).sort((p, q) => worst(q) - worst(p));
    const top = candidates.length ? worst(candidates[0]!) : 0;
    const chosen: Interval[] = [];
    for (const iv of candidates) {
      if (Math.max(...left) <= tolerance || worst(iv) === 0 || worst(iv) < 0.5 * top) break;
      if (chosen.length >= room) {
        this.capReached = true;
        break;
      }
      chosen.push(iv);
      iv.eHeat.forEach((e, l) => (left[l]! -= HALVING_CUT * e * ratio[2 * l]!));
      iv.eComp.forEach((e, l) => (left[heat.length + l]! -= HALVING_CUT * e * ratio[2 * l + 1]!));
    }
    if (!chosen.length && this.estimates.max > tolerance && room === 0) this.capReached = true;
    return this.fitMemory(chosen, candidates);
  }

  /** Freezes the least important intervals while the held points would exceed maxStoredPoints. */
  private fitMemory(chosen: Interval[], candidates: Interval[]): Interval[] {
    const limit = this.spec.maxStoredPoints ?? Infinity;
    const held = () => [...this.points.values()].filter((p) => p.a).length;
    const idle = candidates.filter((iv) => !chosen.includes(iv)).reverse();
    while (held() + 2 * chosen.length > limit) {
      const iv = idle.shift();
      if (iv) this.freeze(iv);
      else chosen.pop();
    }
    return chosen;
  }

  private freeze(iv: Interval): void {
    iv.frozen = true;
    const used = new Set(this.intervals.filter((x) => !x.frozen).flatMap((x) => [x.a, x.c, x.b]));
    for (const alpha of [iv.a, iv.c, iv.b]) {
      if (used.has(alpha)) continue;
      const p = this.points.get(alpha)!;
      p.a = undefined;
      p.g = undefined;
    }
  }
}

/**
 * How much each change d to a cam (before its ReLU) alters the heatmap, which shows ReLU(cam)
 * min-max normalised, so neither an offset nor a rescaling counts: over the positions where
 * the cam is positive (all, for a cam with no positive value), cam and cam - d are centred and
 * scaled to unit L2 norm, and the result is the distance between them — about the angle between
 * them in radians (for a small d: d's part orthogonal to the cam, over the cam's norm), up to 2
 * for an inverted map. Nonlinear on purpose: a change as large as the cam itself (an interval
 * that carries most of the integral, its midpoint unresolved) leaves cam - d pointing anywhere,
 * and counts fully, not as a mere rescaling. An all-zero cam gives 0; a change leaving
 * nothing (cam - d constant there) gives 1. 1 - the heatmaps' correlation is about half its square.
 */
export function relativeHeatmapChanges(cam: Float32Array, changes: Float32Array[]): number[] {
  let mask: Uint8Array | undefined = Uint8Array.from(cam, (v) => (v > 0 ? 1 : 0));
  let shown = centred(cam, mask);
  let scale = Math.sqrt(dot(shown, shown));
  if (scale === 0) {
    mask = undefined;
    shown = centred(cam);
    scale = Math.sqrt(dot(shown, shown));
  }
  if (scale === 0) return changes.map(() => 0);
  return changes.map((d) => {
    const v = centred(cam.map((x, j) => x - d[j]!), mask);
    const norm = Math.sqrt(dot(v, v));
    if (norm === 0) return 1;
    let s = 0;
    for (let j = 0; j < v.length; j++) s += (shown[j]! / scale - v[j]! / norm) ** 2;
    return Math.sqrt(s);
  });
}

/**
 * What completeness errors are measured against: the score's total variation along the
 * points (in path order) — |s(x) - s(x')| on a monotone path, more when the score turns —
 * and never less than 1e-4 of the score's size.
 */
export function scoreScale(scores: readonly number[]): number {
  let variation = 0;
  for (let i = 1; i < scores.length; i++) variation += Math.abs(scores[i]! - scores[i - 1]!);
  const s0 = scores[0]!;
  const s1 = scores[scores.length - 1]!;
  return Math.max(variation, 1e-4 * Math.max(1, Math.abs(s0), Math.abs(s1)));
}

/** v minus its mean, over the positions in `mask` (all when none); 0 outside it. */
function centred(v: Float32Array, mask?: Uint8Array): Float64Array {
  const out = Float64Array.from(v, (x, j) => (mask && !mask[j] ? 0 : x));
  let mean = 0;
  for (const x of out) mean += x;
  mean /= out.length;
  for (let j = 0; j < out.length; j++) out[j]! -= mean;
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s;
}

/**
 * How many images are refined together, and how many points each may hold. Together: enough
 * that a round's new points (two per halved interval) fill the batches, as long as each image
 * can still hold min(cap, 4 * INITIAL_POINTS) points. The held points of a group (8 bytes per
 * layer element each) stay within the memory budget, besides the batch's own memory.
 */
export function refineGroups(
  pipeline: Pipeline, options: Pick<CommonOptions, 'memoryBudgetMB'>, sizes: number[], images: number, batch: number, cap: number,
): { group: number; maxStoredPoints: number } {
  const perPoint = 8 * sizes.reduce((a, b) => a + b, 0);
  const budget = pipeline.memoryBudgetMB(options) * 1024 * 1024;
  const fits = (group: number) => Math.floor(budget / (group * perPoint));
  let group = Math.max(1, Math.min(images, Math.ceil(batch / 2)));
  while (group > 1 && fits(group) < Math.min(cap, 4 * INITIAL_POINTS)) group--;
  return { group, maxStoredPoints: Math.max(INITIAL_POINTS + 2, Math.min(cap, fits(group))) };
}

/** One image's path for `refinePaths`. */
export interface RefinedImage {
  image: Float32Array;
  baseline: Float32Array;
  /** The target row over the scored output (the backward pass's seed). */
  target: Float32Array;
  refinement: PathRefinement;
}

/**
 * Runs several images' refinements together: each round, every image's new points go
 * through `session` in shared batches of `batchSize`. The first round's points must be in
 * `evaluations`' total already; later rounds add theirs as they are asked for, so the total
 * of a progress report grows while the paths are refined.
 */
export async function refinePaths(
  pipeline: Pipeline,
  session: EngineSession,
  images: RefinedImage[],
  batchSize: number,
  fetch: { activations: string[]; gradients: string[]; score: string },
  sizes: number[],
  evaluations: Evaluations,
): Promise<void> {
  const per = pipeline.imageSize();
  let first = true;
  for (;;) {
    const items = images.flatMap((img) => img.refinement.next().map((alpha) => ({ img, alpha })));
    if (!items.length) return;
    if (!first) evaluations.plan(items.length);
    first = false;
    await runBatches(
      session,
      {
        source: pipeline.model.source,
        count: items.length,
        batchSize,
        fetch: [...fetch.activations, ...fetch.gradients, fetch.score],
        feeds: (start, n) => {
          const input = new Float32Array(n * per);
          const rows = items.slice(start, start + n).map((it, j) => {
            pathPoint(it.img.baseline, it.img.image, it.alpha, input, j * per);
            return it.img.target;
          });
          return pipeline.feeds(pipeline.batchTensor(input, n), rows, rows[0]!.length);
        },
        take: (out: Record<string, FloatTensor>, start, n) => {
          const s = out[fetch.score]!.data;
          for (let j = 0; j < n; j++) {
            const { img, alpha } = items[start + j]!;
            const slice = (name: string, l: number) => out[name]!.data.slice(j * sizes[l]!, (j + 1) * sizes[l]!);
            img.refinement.add(alpha, s[j]!, fetch.activations.map(slice), fetch.gradients.map(slice));
          }
        },
      },
      evaluations,
    );
  }
}

/** Layer `layer`'s cam before the ReLU from integrals (IG first, then the integrands in order), A(x) and A(x'): what a path's error is measured on. */
export type PathCam = RefineSpec['cam'];

/** A path's estimated relative errors at one layer (see RefinedPath). */
export interface PathEstimate {
  /** The larger of the two. */
  estimatedError: number;
  estimatedHeatmapError: number;
  estimatedCompletenessError: number;
}

/**
 * Fixed steps' estimate, from `layerPathSums(..., strides = [2])`: the sums over m steps against
 * those over every other point (m/2 steps), as 'auto' measures each interval — the heatmap's
 * change through `cam`, and per pair of steps the larger of the completeness sum's change and
 * its residual against the score change. None for fewer than 3 points.
 */
export function halvesEstimate(L: LayerPathSums, names: readonly string[], cam: (integrals: Float32Array[]) => Float32Array, scores: readonly number[]): PathEstimate | undefined {
  const h = L.coarse.find((c) => c.stride === 2);
  if (!h || scores.length < 3) return undefined;
  const f32 = (x: Float64Array[]) => x.map((v) => Float32Array.from(v));
  const camFine = cam(f32([L.sum, ...names.map((n) => L.integrals[n]!)]));
  const camCoarse = cam(f32([h.sum, ...names.map((n) => h.integrals[n]!)]));
  const [heat] = relativeHeatmapChanges(camFine, [camFine.map((v, j) => v - camCoarse[j]!)]);
  const at = [...h.runningSum.keys()].sort((a, b) => a - b);
  let comp = 0;
  for (let k = 1; k < at.length; k++) {
    const i = at[k - 1]!;
    const j = at[k]!;
    const f = L.runningSum[j]! - L.runningSum[i]!;
    const c = h.runningSum.get(j)! - h.runningSum.get(i)!;
    comp += Math.max(Math.abs(f - c), Math.abs(f - (scores[j]! - scores[i]!)));
  }
  comp /= scoreScale(scores);
  return { estimatedError: Math.max(heat!, comp), estimatedHeatmapError: heat!, estimatedCompletenessError: comp };
}

/** One image's straight path for adaptivePathSums. */
export interface AdaptiveImage {
  image: Float32Array;
  baseline: Float32Array;
  /** The target row over the scored output (the backward pass's seed). */
  target: Float32Array;
}

/** What adaptivePathSums gives for one image: what layerPathSums gives for a fixed path, with the estimates. */
export interface AdaptivePathSums {
  layers: (LayerPathSums & PathEstimate)[];
  alphas: number[];
  scores: number[];
  evaluations: number;
  /** True when maxEvaluations stopped the refinement before the tolerance was met. */
  capReached: boolean;
  /** The largest layer estimate: what was compared with the tolerance. */
  estimatedError: number;
  /** Milliseconds: this image's share of its group's time. */
  ms: number;
}

/**
 * steps 'auto' for any path method: each image's straight path from its baseline is refined
 * (PathRefinement) until the estimated error of every layer's `cam` and completeness sum meets
 * `tolerance`, or `maxEvaluations`; images go in groups whose new points share batches.
 * `built` exposes and differentiates the layers (outputs in layer order) and scores the target.
 * The result per image has layerPathSums' shape, so a method computes its maps from fixed and
 * adaptive paths alike; the first round's points must be in `evaluations`' plan already.
 */
export async function adaptivePathSums(
  pipeline: Pipeline,
  built: BuiltSession,
  images: readonly AdaptiveImage[],
  layers: readonly RefineLayer[],
  rule: StieltjesRule,
  options: AdaptiveStepsOptions & Pick<CommonOptions, 'internalBatchSize' | 'memoryBudgetMB'>,
  evaluations: Evaluations,
  integrands: Record<string, (g: number) => number>,
  cam: PathCam,
): Promise<AdaptivePathSums[]> {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const maxEvaluations = options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS;
  const names = Object.keys(integrands);
  const sizes = layers.map((l) => l.size);
  const batch = pipeline.batchSize(options, images.length * maxEvaluations);
  const { group, maxStoredPoints } = refineGroups(pipeline, options, sizes, images.length, batch, maxEvaluations);
  const { outputs } = built;
  const out: AdaptivePathSums[] = [];
  for (let start = 0; start < images.length; start += group) {
    const t0 = performance.now();
    const members = images.slice(start, start + group).map((img) => ({
      ...img,
      refinement: new PathRefinement({ layers: [...layers], integrands: names.map((n) => integrands[n]!), rule, tolerance, maxEvaluations, maxStoredPoints, cam }),
    }));
    await refinePaths(pipeline, built.session, members, batch, { activations: outputs.activations, gradients: outputs.gradients, score: outputs.score! }, sizes, evaluations);
    const ms = (performance.now() - t0) / members.length;
    for (const { refinement } of members) {
      const r = refinement.result();
      out.push({
        layers: layers.map((_, l) => {
          const [sum, ...extra] = r.integrals[l]!;
          return {
            sum: sum!,
            integrals: Object.fromEntries(names.map((n, t) => [n, extra[t]!])),
            runningSum: r.runningSum[l]!,
            a0: r.a0[l]!,
            aX: r.aX[l]!,
            coarse: [],
            estimatedError: Math.max(r.heatmapError[l]!, r.completenessError[l]!),
            estimatedHeatmapError: r.heatmapError[l]!,
            estimatedCompletenessError: r.completenessError[l]!,
          };
        }),
        alphas: r.alphas,
        scores: r.scores,
        evaluations: r.evaluations,
        capReached: r.capReached,
        estimatedError: r.estimatedError,
        ms,
      });
    }
  }
  return out;
}
