/**
 * Score-CAM (Wang et al., CVPR-W 2020), as pytorch-grad-cam's `ScoreCAM`: each channel of the
 * layer, upsampled to the input (bilinear with align_corners, as torch's UpsamplingBilinear2d)
 * and scaled to [0, 1], masks the input; the weights are the softmax over channels of the
 * target's scores on the masked inputs (run in batches); cam = ReLU(sum_k w_k A_k).
 */
import type { ImageResult, LayerMaps, MethodContext } from './base-cam.js';
import { ChannelCam } from './channel-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import { perImageGroup } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

export class ScoreCam extends ChannelCam {
  readonly name = 'scorecam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Score-CAM');
  readonly capabilities = ScoreCam.capabilities;

  protected async run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const model = p.model;
    const { images, layers } = ctx;
    const built = await p.session(this.sessionFor(layers, ctx.score));
    const width = model.scoreWidth(ctx.score);
    const [ih, iw] = model.imageSize;
    const c = model.channels;
    const per = p.imageSize();
    return perImageGroup(images, async (group) => {
      const x = images[group[0]!]!;
      const { acts, ys } = await this.atImage(ctx, built, group);
      // Per member (target) of the group: the masked inputs run once for all.
      const maps: LayerMaps[][] = group.map(() => []);
      for (const [li, L] of layers.entries()) {
        const a = acts[li]!;
        const scores = await this.channelScores(ctx, built, group, L, (start, n, rows) => {
          const data = new Float32Array(n * per);
          for (let j = 0; j < n; j++) {
            const mask = unitScaled(resizeAlignCorners(a.subarray((start + j) * L.hw, (start + j + 1) * L.hw), L.height, L.width, ih, iw));
            // The mask multiplies every input channel, in the input's own layout.
            for (let q = 0; q < ih * iw; q++) {
              for (let k = 0; k < c; k++) {
                const e = model.inputLayout === 'NCHW' ? k * ih * iw + q : q * c + k;
                data[j * per + e] = x[e]! * mask[q]!;
              }
            }
          }
          return p.feeds(p.batchTensor(data, n), rows, width);
        });
        scores.forEach((s, m) => maps[m]!.push({ activations: a, weights: softmax(Float64Array.from(s)) }));
      }
      return group.map((_img, m) => ({ layers: maps[m]!, score: ys[m]! }));
    });
  }
}

/** Bilinear resize with align_corners=True (torch's UpsamplingBilinear2d): corners map to corners. */
export function resizeAlignCorners(src: ArrayLike<number>, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const sy = oh > 1 ? (h - 1) / (oh - 1) : 0;
  const sx = ow > 1 ? (w - 1) / (ow - 1) : 0;
  for (let y = 0; y < oh; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let xx = 0; xx < ow; xx++) {
      const fx = xx * sx;
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      const top = src[y0 * w + x0]! + (src[y0 * w + x1]! - src[y0 * w + x0]!) * wx;
      const bottom = src[y1 * w + x0]! + (src[y1 * w + x1]! - src[y1 * w + x0]!) * wx;
      out[y * ow + xx] = top + (bottom - top) * wy;
    }
  }
  return out;
}

/** (m - min) / (max - min + 1e-8), as ScoreCAM scales each upsampled channel. */
function unitScaled(m: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return m.map((v) => (v - lo) / (hi - lo + 1e-8));
}

function softmax(s: Float64Array): Float32Array {
  let max = -Infinity;
  for (const v of s) max = Math.max(max, v);
  let z = 0;
  const e = s.map((v) => {
    const t = Math.exp(v - max);
    z += t;
    return t;
  });
  return Float32Array.from(e, (v) => v / z);
}
