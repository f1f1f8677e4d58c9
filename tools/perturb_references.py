#!/usr/bin/env python3
"""References for the perturbation and eigen methods: Score-CAM, Eigen-CAM, Eigen-Grad-CAM
(pytorch-grad-cam), Occlusion (Captum) and RISE (the authors' code), computed in float64 torch
on the fixture models (test/fixtures/models, rebuilt here from tools/export_fixtures.py with
the same seeds and checked against the stored logits).

    /usr/bin/python3 tools/perturb_references.py        # writes test/fixtures/perturb-refs.json
    CAPTUM_SRC=/path/with/captum GRADCAM_SRC=/path/with/pytorch_grad_cam \\
        /usr/bin/python3 tools/perturb_references.py --check-libraries

Each formula is written out below from the reference code (pytorch-grad-cam 084273b,
captum faac0877, eclique/RISE d91ea00); `--check-libraries` also runs those libraries
themselves (sources from their git trees; pytorch-grad-cam's cv2/ttach/sklearn imports are
stubbed, they are not used by the functions called) and prints how far they are from the
formulas here.

- Score-CAM (score_cam.py): A [1, C, h, w] upsampled with UpsamplingBilinear2d (align_corners
  True) to the input's H x W, each channel scaled (m - min) / (max - min + 1e-8), input * mask
  per channel, score = the target logit (ClassifierOutputTarget), weights = softmax over
  channels; BaseCAM: cam = ReLU(sum_k w_k A_k).
- Eigen-CAM / Eigen-Grad-CAM (svd_on_activations.get_2d_projection): the [h*w, C] matrix of A
  (of dlogit/dA * A), mean over positions subtracted, projected on the first right singular
  vector (numpy SVD). Its sign is numpy's (arbitrary), so the stored projection applies
  get_2d_projection_with_sign_correction's rule (negated when |min| > |max|); cam =
  ReLU(projection).
- Occlusion (occlusion.py, feature_ablation.py): window (C, w, w) over [C, H, W] (for an NHWC
  model (w, w, C) over [H, W, C]), shift counts ceil((D - window) / stride) + 1 per dim, each
  window a F.pad of ones (negative pads crop the last one), input * (1 - mask) + value * mask,
  attribution = sum over windows of (F(x) - F(x_occluded)) * mask / sum of masks. F = logits.
- RISE (explanations.py RISE.generate_masks / forward): s x s grids of rand < p, each resized
  with skimage.transform.resize(order=1, mode='reflect', anti_aliasing=False) to (s + 1) *
  cell_size (cell_size = ceil(input / s)) and cropped at a random shift [x:x+H, y:y+W];
  saliency = sum_i softmax(model(x * M_i))[target] M_i / N / p. The random draws are the
  library's PRNG (src/prng.ts, mulberry32, ported below) in the library's order: all grids
  (mask, row, column), then each mask's (row, column) shift; s = ceil(max(H, W) / cell).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_common import ROOT, Mulberry32, layer_grad, rebuild_fixture, write_json  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'perturb-refs.json')

# name: (CAM layer module path, occlusion (window, stride, value), RISE (masks, cell, keep, seed))
CASES = {
    'mobilenetv2': ('features.4', (6, 4, 0.0), (96, 8, 0.5, 7)),
    'densenet': ('features.relu5', (5, 3, 0.5), (96, 11, 0.3, 11)),
    'variety_nhwc': ('conv3', (6, 4, -0.25), (96, 8, 0.5, 3)),
    'variety_pad_same': ('dw', (7, 4, 0.0), (96, 7, 0.6, 5)),
}


# ---------------------------------------------------------------------------------------------
# The fixture models, rebuilt as export_fixtures.export_one builds them.
# ---------------------------------------------------------------------------------------------

def rebuild(name):
    f = rebuild_fixture(name)
    return f.model, f.layout, f.meta, f.samples


def activations_and_grad(model, layer, x, target):
    """A and d logit_target / dA at `layer` ([1, C, h, w] each)."""
    a, g, _ = layer_grad(model, dict(model.named_modules())[layer], x, target)
    return a, g


def image_hw(x, layout):
    return x.shape[1:3] if layout == 'NHWC' else x.shape[2:4]


def times_mask(x, mask, layout):
    """x [1, ...] times masks [n, H, W] over every channel -> [n, ...]."""
    return x * (mask[:, :, :, None] if layout == 'NHWC' else mask[:, None, :, :])


# ---------------------------------------------------------------------------------------------
# The methods.
# ---------------------------------------------------------------------------------------------

def score_cam(model, layout, a, x, target):
    h, w = image_hw(x, layout)
    up = torch.nn.UpsamplingBilinear2d(size=(h, w))(a)[0]  # [C, H, W]
    flat = up.reshape(up.shape[0], -1)
    mx, mn = flat.max(dim=1)[0][:, None, None], flat.min(dim=1)[0][:, None, None]
    masks = (up - mn) / (mx - mn + 1e-8)
    with torch.no_grad():
        scores = model(times_mask(x, masks, layout))[:, target]
    weights = torch.softmax(scores, dim=0)
    cam = torch.clamp((weights[:, None, None] * a[0]).sum(dim=0), min=0)
    return weights, cam


def get_2d_projection(activations):
    """pytorch-grad-cam's get_2d_projection for one image [C, h, w], and the corrected sign."""
    m = activations.reshape(activations.shape[0], -1).transpose()
    m = m - m.mean(axis=0)
    _, _, vt = np.linalg.svd(m, full_matrices=True)
    projection = (m @ vt[0, :]).reshape(activations.shape[1:])
    corrected = -projection if abs(projection.min()) > abs(projection.max()) else projection
    return projection, corrected


def occlusion(model, layout, x, target, window, stride, value):
    """Captum's Occlusion for one image, as its FeatureAblation loop computes it; [C, H, W]."""
    inp = x[0]
    win = (inp.shape[0], window, window) if layout == 'NCHW' else (window, window, inp.shape[2])
    strides = (stride, stride, stride)
    counts = [int(np.ceil((inp.shape[d] - win[d]) / strides[d])) + 1 for d in range(3)]
    ones = torch.ones(win, dtype=torch.float64)
    with torch.no_grad():
        base = model(x)[0, target]
        total = torch.zeros_like(inp)
        weight = torch.zeros_like(inp)
        for f in range(int(np.prod(counts))):
            rem, start = f, []
            for d in range(3):
                start.append((rem % counts[d]) * strides[d])
                rem //= counts[d]
            after = [inp.shape[d] - start[d] - win[d] for d in range(3)]
            pads = [v for pair in zip(after, start) for v in pair][::-1]
            mask = F.pad(ones, tuple(pads))  # negative pads crop, as in Captum
            occluded = inp * (1 - mask) + value * mask
            diff = base - model(occluded[None])[0, target]
            total += diff * mask
            weight += mask
    attr = total / weight
    return attr.permute(2, 0, 1) if layout == 'NHWC' else attr


def rise_masks(n, hw, cell, keep, seed):
    """RISE.generate_masks with the library's draws; [n, H, W] float32 (as the authors' .float())."""
    from skimage.transform import resize
    h, w = int(hw[0]), int(hw[1])
    s = math.ceil(max(h, w) / cell)
    cell_size = np.ceil(np.array([h, w]) / s)
    up_size = (s + 1) * cell_size
    rng = Mulberry32(seed)
    grid = np.array([rng.float() < keep for _ in range(n * s * s)], dtype='float32').reshape(n, s, s)
    shifts = [(rng.int(0, int(cell_size[0]) - 1), rng.int(0, int(cell_size[1]) - 1)) for _ in range(n)]
    masks = np.empty((n, h, w))
    for i, (sx, sy) in enumerate(shifts):
        masks[i] = resize(grid[i], up_size, order=1, mode='reflect', anti_aliasing=False)[sx:sx + h, sy:sy + w]
    return torch.from_numpy(masks).float().double(), s


def rise(model, layout, x, target, n, cell, keep, seed):
    masks, s = rise_masks(n, image_hw(x, layout), cell, keep, seed)
    with torch.no_grad():
        p = torch.softmax(model(times_mask(x, masks, layout)), dim=1)[:, target]
    sal = (p[:, None] * masks.reshape(n, -1)).sum(dim=0) / n / keep
    return sal, masks, s


# ---------------------------------------------------------------------------------------------

def flat(t):
    return [float(f'{v:.9g}') for v in np.asarray(t, dtype=np.float64).ravel()]


def main():
    out = {'generator': 'tools/perturb_references.py (torch %s)' % torch.__version__, 'models': {}}
    for name, (layer, (win, stride, value), (n, cell, keep, seed)) in CASES.items():
        model, layout, meta, samples = rebuild(name)
        tensor = next(l['onnxTensor'] for l in meta['layers'] if l['modulePath'] == layer)
        entry = {'layer': tensor, 'layout': layout,
                 'occlusion': {'window': win, 'stride': stride, 'value': value},
                 'rise': {'masks': n, 'cell': cell, 'keep': keep, 'seed': seed},
                 'samples': []}
        for x, target in samples:
            a, g = activations_and_grad(model, layer, x.clone(), target)
            weights, cam = score_cam(model, layout, a, x, target)
            _, eig = get_2d_projection(a[0].numpy())
            _, eig_grad = get_2d_projection((g * a)[0].numpy())
            occ = occlusion(model, layout, x, target, win, stride, value)
            # The window spans every channel, so every channel holds the same map.
            assert float((occ - occ[0:1]).abs().max()) == 0.0
            sal, masks, s = rise(model, layout, x, target, n, cell, keep, seed)
            entry['samples'].append({
                'target': target,
                'scorecam': {'weights': flat(weights), 'cam': flat(cam)},
                'eigencam': {'cam': flat(np.maximum(eig, 0))},
                'eigengradcam': {'cam': flat(np.maximum(eig_grad, 0))},
                'occlusion': flat(occ[0]),
                'rise': flat(sal),
            })
        entry['rise']['grid'] = s
        entry['rise']['firstMask'] = flat(masks[0])
        out['models'][name] = entry
        print(f'{name}: layer {layer} -> {tensor}; RISE grid {s}x{s}')
    write_json(OUT, out)


# ---------------------------------------------------------------------------------------------
# --check-libraries: the formulas above against the libraries' own code.
# ---------------------------------------------------------------------------------------------

def stub_gradcam_imports():
    """Modules pytorch-grad-cam imports that Debian lacks; none is used by the code called here."""
    import importlib.util
    import types

    class Stub(types.ModuleType):
        __path__ = []

        def __getattr__(self, attr):
            if attr.startswith('__'):
                raise AttributeError(attr)
            return lambda *a, **k: None

    wanted = {'cv2': [], 'ttach': [], 'sklearn': ['decomposition'], 'torchvision': ['transforms'],
              'matplotlib': ['pyplot'], 'PIL': ['Image']}
    for top, subs in wanted.items():
        if importlib.util.find_spec(top) is None:
            for mod in [top] + [f'{top}.{s}' for s in subs]:
                sys.modules[mod] = Stub(mod)


def check_libraries():
    sys.path[:0] = [p for p in [os.environ.get('CAPTUM_SRC'), os.environ.get('GRADCAM_SRC')] if p]
    stub_gradcam_imports()
    from captum.attr import Occlusion
    from pytorch_grad_cam import ScoreCAM, EigenCAM, EigenGradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from pytorch_grad_cam.utils import svd_on_activations as svd

    def rel(a, b):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))

    for name, (layer, (win, stride, value), _) in CASES.items():
        model, layout, _, samples = rebuild(name)
        target_layer = dict(model.named_modules())[layer]
        for x, target in samples:
            a, g = activations_and_grad(model, layer, x.clone(), target)
            occ = occlusion(model, layout, x, target, win, stride, value)
            shape = (x.shape[1], win, win) if layout == 'NCHW' else (win, win, x.shape[3])
            lib = Occlusion(model).attribute(x, sliding_window_shapes=shape, strides=stride, baselines=value, target=target)[0]
            lib = lib.permute(2, 0, 1) if layout == 'NHWC' else lib
            print(f'{name} target {target}: Occlusion vs captum {rel(occ, lib):.2e}', end='')
            if layout == 'NCHW':  # pytorch-grad-cam takes NCHW inputs only
                sc = ScoreCAM(model, [target_layer])
                sc.batch_size = 8
                lib_w = sc.get_cam_weights(x, target_layer, [ClassifierOutputTarget(target)], a.numpy(), None)[0]
                w, _ = score_cam(model, layout, a, x, target)
                print(f'; ScoreCAM weights {rel(w, lib_w):.2e}', end='')
            for cls, m in [(EigenCAM, a), (EigenGradCAM, g * a)]:
                raw, corrected = get_2d_projection(m[0].numpy())
                lib_p = svd.get_2d_projection(m.numpy())[0]
                lib_c = svd.get_2d_projection_with_sign_correction(m.numpy())[0]
                print(f'; {cls.__name__} {rel(raw, lib_p):.2e} (sign-corrected {rel(corrected, lib_c):.2e})', end='')
            print()


if __name__ == '__main__':
    check_libraries() if '--check-libraries' in sys.argv else main()
