/**
 * Eigen-CAM (Muhammad and Yeasin, IJCNN 2020) and Eigen-Grad-CAM, as pytorch-grad-cam's
 * `EigenCAM` / `EigenGradCAM` (get_2d_projection): the positions x channels matrix of the
 * activations (of gradients x activations), centred over positions, projected on its first
 * principal direction. The SVD's sign is arbitrary (numpy's choice in pytorch-grad-cam); the
 * sign is fixed as pytorch-grad-cam's get_2d_projection_with_sign_correction does: flipped
 * when |min| > |max|. cam = ReLU(projection); `weights` is the principal direction.
 */
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { BaseCam, type CamLayer, type ImageResult, type MethodContext } from './base-cam.js';
import { get2dProjection } from './projection.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import type { CommonOptions } from './types.js';

abstract class EigenBase extends BaseCam<CommonOptions> {
  /** The [C, H*W] map whose first principal component is the cam. */
  protected abstract matrix(a: Float32Array, g: Float32Array | undefined): Float32Array;
  protected abstract readonly usesGradients: boolean;

  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    const tensors = layers.map((l) => l.info.tensor);
    return this.usesGradients ? { expose: tensors, score, wrt: tensors } : { expose: tensors, score };
  }

  protected run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    return this.runAtImages(ctx, (a, g, L) => {
      const { projection, direction } = get2dProjection(this.matrix(a, g), L.channels, L.hw);
      return { activations: a, weights: direction, cam: projection };
    });
  }
}

export class EigenCam extends EigenBase {
  readonly name = 'eigencam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Eigen-CAM');
  readonly capabilities = EigenCam.capabilities;
  protected readonly usesGradients = false;
  protected matrix(a: Float32Array): Float32Array {
    return a;
  }
}

export class EigenGradCam extends EigenBase {
  readonly name = 'eigengradcam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Eigen-Grad-CAM');
  readonly capabilities = EigenGradCam.capabilities;
  protected readonly usesGradients = true;
  protected matrix(a: Float32Array, g: Float32Array | undefined): Float32Array {
    return a.map((v, i) => v * g![i]!);
  }
}

