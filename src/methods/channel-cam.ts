/**
 * The frame of forward-only CAMs that run one model evaluation per channel of the layer
 * (Ablation-CAM, Score-CAM): the score and the layers' activations at the image from a
 * forward that exposes them, then the per-channel evaluations.
 */
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { BaseCam, type CamLayer } from './base-cam.js';
import type { CommonOptions } from './types.js';

export abstract class ChannelCam extends BaseCam<CommonOptions> {
  /** A forward exposing the layers, with the score (no gradients). */
  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { expose: layers.map((l) => l.info.tensor), score };
  }

  /** One forward per image, then one evaluation per channel of each layer. */
  protected override plannedEvaluations(images: readonly Float32Array[], layers: CamLayer[]): number {
    return images.length * (1 + layers.reduce((n, l) => n + l.channels, 0));
  }
}
