#!/usr/bin/env python3
"""References for the methods of issue 13, computed in float64 with torch on the fixture
models (rebuilt exactly as tools/export_fixtures.py builds them, and checked against the
logits stored in test/fixtures/models/NAME.json), each from the formula of the cited code:

    /usr/bin/python3 tools/method_references.py     # writes test/fixtures/method-refs.json

- ig: Captum IntegratedGradients._attribute (captum/attr/_core/integrated_gradients.py at
  pytorch/captum faac0877) with approximation_parameters (_utils/approximation_methods.py):
  n = steps + 1 points; delta = sum(attributions) - (F(x) - F(x')).
- layer-ig: Captum LayerIntegratedGradients (layer_integrated_gradients.py): the layer's
  output replaced by A(x') + a (A(x) - A(x')) (a forward hook) while the model runs on x;
  gradients w.r.t. those scaled activations; delta against F(x) - F(x').
- conductance: Captum LayerConductance._attribute (layer_conductance.py) with the alphas of
  riemann_trapezoid for n_steps + 1 points (uniform i/m): sum_(i<m) g_i (A_(i+1) - A_i).
- scorecam: pytorch-grad-cam ScoreCAM.get_cam_weights (score_cam.py at jacobgil/pytorch-grad-cam
  084273b): UpsamplingBilinear2d (align_corners) to the input, per-channel (m - min) / (max - min
  + 1e-8), input * mask, softmax over channels of the target logits; cam = ReLU(sum_k w_k A_k).
- eigencam / eigengradcam: get_2d_projection_with_sign_correction (utils/svd_on_activations.py)
  of A and of grad * A; cam = ReLU(projection).
- occlusion: Captum Occlusion (occlusion.py, feature_ablation.py with use_weights): window
  (C, w, w), strides (C, s, s), shift counts ceil((D - w) / s) + 1, the last window cropped;
  attribution = sum over windows of (F(x) - F(occluded)) * mask / sum of masks.
- guided-backprop: Captum GuidedBackprop (guided_backprop_deconvnet.py): a backward hook on
  every nn.ReLU returning ReLU(grad_input); the input gradient.
- guided-gradcam: Captum GuidedGradCam (guided_grad_cam.py): LayerGradCam at the layer with
  relu_attributions, F.interpolate(mode='nearest') to the input, times the guided gradient.
- rise: the authors' RISE (eclique/RISE explanations.py generate_masks / forward): grids
  rand(N, s, s) < p, skimage resize(order=1, mode='reflect', anti_aliasing=False) to (s + 1) *
  cell, crop at a random shift; saliency = probs(x * M)^T M / N / p. The random numbers are the
  library's PRNG (mulberry32, src/prng.ts, ported below) so both draw the same masks.
- noise (smoothing): Captum NoiseTunnel (noise_tunnel.py) over Saliency: the method on each
  noisy copy, combined as smoothgrad (mean), smoothgrad_sq (mean of squares) or vargrad
  (variance); the Gaussian noise is the library's (Box-Muller on the PRNG, ported below).
- eigen (smoothing): pytorch-grad-cam's eigen_smooth for Grad-CAM: get_2d_projection (sign
  corrected) of weights * activations.
The target is the logit of each sample's target (RISE: its probability), as the fixtures record it.
"""
import collections
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_common import ROOT, Mulberry32 as Prng, capture, layer_grad, mix_seed, rebuild_fixture, write_json  # noqa: E402

LAYERS = {'resnet': 'layer2', 'vgg': 'features.10'}  # the fixtures' last recorded layers
BASELINE = -0.5  # a constant baseline tensor (not zero, so x - x' differs from x)


def rebuild(name):
    """The fixture's torch model in float64, its samples (input, target) and JSON."""
    f = rebuild_fixture(name)
    return f.model, f.samples, f.meta


def approximation(rule, n):
    """Captum's approximation_parameters(method) step sizes and alphas for n points."""
    if rule == 'gauss-legendre':
        x, w = np.polynomial.legendre.leggauss(n)
        return list(0.5 * w), list(0.5 * (1 + x))
    deltas = [1 / n] * n
    if rule == 'trapezoid':
        deltas[0] /= 2
        deltas[-1] /= 2
        alphas = torch.linspace(0, 1, n, dtype=torch.float64).tolist()
    elif rule == 'left':
        alphas = torch.linspace(0, 1 - 1 / n, n, dtype=torch.float64).tolist()
    elif rule == 'right':
        alphas = torch.linspace(1 / n, 1, n, dtype=torch.float64).tolist()
    else:
        alphas = torch.linspace(1 / (2 * n), 1 - 1 / (2 * n), n, dtype=torch.float64).tolist()
    return deltas, alphas


def logit(model, x, target):
    return model(x)[:, target]


def integrated_gradients(model, x, target, baseline, steps, rule):
    n = steps + 1
    step_sizes, alphas = approximation(rule, n)
    scaled = torch.cat([baseline + a * (x - baseline) for a in alphas]).requires_grad_()
    grads = torch.autograd.grad(logit(model, scaled, target).sum(), scaled)[0]
    total = (grads * torch.tensor(step_sizes, dtype=torch.float64).view(n, 1, 1, 1)).sum(0, keepdim=True)
    attributions = total * (x - baseline)
    with torch.no_grad():
        delta = attributions.sum().item() - (logit(model, x, target) - logit(model, baseline, target)).item()
    return attributions, delta


def layer_integrated_gradients(model, module, x, target, baseline, steps, rule):
    n = steps + 1
    step_sizes, alphas = approximation(rule, n)
    acts = {}
    h = module.register_forward_hook(lambda _m, _i, o: acts.__setitem__('a', o))
    with torch.no_grad():
        fx = logit(model, x, target).item()
        a_x = acts['a'].clone()
        fb = logit(model, baseline, target).item()
        a_b = acts['a'].clone()
    h.remove()
    scaled = torch.cat([a_b + a * (a_x - a_b) for a in alphas]).requires_grad_()
    h = module.register_forward_hook(lambda _m, _i, _o: scaled)
    try:
        out = logit(model, x.expand(n, *x.shape[1:]), target).sum()
    finally:
        h.remove()
    grads = torch.autograd.grad(out, scaled)[0]
    total = (grads * torch.tensor(step_sizes, dtype=torch.float64).view(n, 1, 1, 1)).sum(0, keepdim=True)
    attributions = total * (a_x - a_b)
    return attributions, attributions.sum().item() - (fx - fb)


def conductance(model, module, x, target, baseline, steps):
    alphas = torch.linspace(0, 1, steps + 1, dtype=torch.float64).tolist()
    scaled = torch.cat([baseline + a * (x - baseline) for a in alphas])
    out, logits = capture(model, module, scaled)
    logits[:, target].sum().backward()
    a, g = out.detach(), out.grad
    attributions = ((a[1:] - a[:-1]) * g[:-1]).sum(0, keepdim=True)
    with torch.no_grad():
        delta = attributions.sum().item() - (logit(model, x, target) - logit(model, baseline, target)).item()
    return attributions, delta


def layer_values(model, module, x, target):
    """A and d logit / dA at the layer."""
    a, g, _ = layer_grad(model, module, x, target)
    return a, g


def score_cam(model, module, x, target):
    a, _ = layer_values(model, module, x, target)
    up = torch.nn.UpsamplingBilinear2d(size=x.shape[-2:])(a)
    maxs = up.view(1, up.size(1), -1).max(dim=-1)[0][:, :, None, None]
    mins = up.view(1, up.size(1), -1).min(dim=-1)[0][:, :, None, None]
    up = (up - mins) / (maxs - mins + 1e-8)
    inputs = x[:, None] * up[:, :, None]
    with torch.no_grad():
        scores = logit(model, inputs[0], target)
    weights = torch.softmax(scores, dim=-1)
    return torch.relu((weights[:, None, None] * a[0]).sum(0))


def projection_with_sign_correction(t):
    r = t[0].reshape(t.shape[1], -1).T.numpy()
    r = r - r.mean(axis=0)
    _, _, vt = np.linalg.svd(r, full_matrices=True)
    p = (r @ vt[0]).reshape(t.shape[2:])
    if abs(p.min()) > abs(p.max()):
        p = -p
    return torch.from_numpy(np.maximum(p, 0))


def occlusion(model, x, target, window, stride, value):
    _, c, h, w = x.shape
    counts = [int(np.ceil((d - window) / stride)) + 1 for d in (h, w)]
    total = torch.zeros_like(x)
    weights = torch.zeros_like(x)
    with torch.no_grad():
        fx = logit(model, x, target)
        for i in range(counts[0]):
            for j in range(counts[1]):
                mask = torch.zeros_like(x)
                mask[:, :, i * stride:i * stride + window, j * stride:j * stride + window] = 1
                occluded = x * (1 - mask) + value * mask
                total += (fx - logit(model, occluded, target)).view(1, 1, 1, 1) * mask
                weights += mask
    return total / weights


def guided_backprop(model, x, target):
    hooks = [m.register_full_backward_hook(lambda _m, gi, _go: (torch.relu(gi[0]),))
             for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        xin = x.clone().requires_grad_()
        logit(model, xin, target).sum().backward()
    finally:
        for h in hooks:
            h.remove()
    return xin.grad


def guided_gradcam(model, module, x, target):
    a, g = layer_values(model, module, x, target)
    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True))
    up = torch.nn.functional.interpolate(cam, size=x.shape[2:], mode='nearest')
    return guided_backprop(model, x, target) * up


def noisy_copy(x, stdev, seed, image, sample):
    """src/methods/smoothing.ts noisyCopy: Box-Muller pairs on the PRNG."""
    prng = Prng(mix_seed(mix_seed(seed, image), sample))
    flat_x = x.reshape(-1).clone()
    n = flat_x.numel()
    for i in range(0, n, 2):
        u = 1 - prng.float()
        v = prng.float()
        r = np.sqrt(-2 * np.log(u))
        flat_x[i] += stdev * r * np.cos(2 * np.pi * v)
        if i + 1 < n:
            flat_x[i + 1] += stdev * r * np.sin(2 * np.pi * v)
    return flat_x.view_as(x)


def noise_tunnel_saliency(model, x, target, image, samples, stdev, seed, kind):
    maps = []
    for k in range(samples):
        xin = noisy_copy(x, stdev, seed, image, k).requires_grad_()
        logit(model, xin, target).sum().backward()
        maps.append(xin.grad.abs())
    m = torch.stack(maps)
    if kind == 'smoothgrad':
        return m.mean(0)
    if kind == 'smoothgrad_sq':
        return (m * m).mean(0)
    return (m * m).mean(0) - m.mean(0) ** 2


def rise(model, x, target, n, cell, keep, seed):
    from skimage.transform import resize
    h, w = x.shape[2:]
    s = int(np.ceil(max(h, w) / cell))
    cell_size = np.ceil(np.array([h, w]) / s).astype(int)
    up_size = (s + 1) * cell_size
    prng = Prng(seed)
    grid = np.array([1.0 if prng.float() < keep else 0.0 for _ in range(n * s * s)], dtype=np.float32).reshape(n, s, s)
    masks = np.empty((n, h, w))
    for i in range(n):
        dy = prng.int(0, cell_size[0] - 1)
        dx = prng.int(0, cell_size[1] - 1)
        masks[i] = resize(grid[i], up_size, order=1, mode='reflect', anti_aliasing=False)[dy:dy + h, dx:dx + w]
    m = torch.from_numpy(masks)[:, None]
    with torch.no_grad():
        p = torch.softmax(model(m * x), dim=1)[:, target]
    return (p[:, None] * m.view(n, -1)).sum(0).view(h, w) / n / keep


def flat(t):
    return [float('%.8g' % float(v)) for v in t.detach().reshape(-1)]


def main():
    out = collections.OrderedDict()
    for name in ['resnet', 'vgg']:
        model, samples, _meta = rebuild(name)
        ref = {'baseline': BASELINE, 'ig': {}}
        for rule, steps in [('gauss-legendre', 8), ('trapezoid', 8), ('left', 5)]:
            atts, deltas = [], []
            for x, target in samples:
                a, d = integrated_gradients(model, x, target, torch.full_like(x, BASELINE), steps, rule)
                atts.append(flat(a))
                deltas.append(d)
            ref['ig'][rule] = {'steps': steps, 'attributions': atts, 'delta': deltas}
        layer = LAYERS[name]
        module = dict(model.named_modules())[layer]
        ref['layer'] = layer
        ref['layer-ig'] = {}
        for rule, steps in [('gauss-legendre', 8), ('trapezoid', 6)]:
            res = [layer_integrated_gradients(model, module, x, t, torch.full_like(x, BASELINE), steps, rule) for x, t in samples]
            ref['layer-ig'][rule] = {'steps': steps, 'attributions': [flat(a) for a, _ in res], 'delta': [d for _, d in res]}
        res = [conductance(model, module, x, t, torch.full_like(x, BASELINE), 10) for x, t in samples]
        ref['conductance'] = {'steps': 10, 'attributions': [flat(a) for a, _ in res], 'delta': [d for _, d in res]}
        ref['scorecam'] = [flat(score_cam(model, module, x, t)) for x, t in samples]
        ref['eigencam'] = [flat(projection_with_sign_correction(layer_values(model, module, x, t)[0])) for x, t in samples]
        ref['eigengradcam'] = [flat(projection_with_sign_correction(torch.mul(*layer_values(model, module, x, t)))) for x, t in samples]
        ref['occlusion'] = {'window': 6, 'stride': 4, 'value': 0.25, 'attributions': [flat(occlusion(model, x, t, 6, 4, 0.25)) for x, t in samples]}
        ref['guided-backprop'] = [flat(guided_backprop(model, x, t)) for x, t in samples]
        ref['guided-gradcam'] = [flat(guided_gradcam(model, module, x, t)) for x, t in samples]
        ref['rise'] = {'masks': 60, 'cell': 5, 'keep': 0.4, 'seed': 7, 'saliency': [flat(rise(model, x, t, 60, 5, 0.4, 7)) for x, t in samples]}
        ref['noise'] = {'samples': 4, 'stdev': 0.3, 'seed': 11}
        for kind in ['smoothgrad', 'smoothgrad_sq', 'vargrad']:
            ref['noise'][kind] = [flat(noise_tunnel_saliency(model, x, t, i, 4, 0.3, 11, kind)) for i, (x, t) in enumerate(samples)]
        ref['eigen-gradcam'] = []
        for x, t in samples:
            a, g = layer_values(model, module, x, t)
            ref['eigen-gradcam'].append(flat(projection_with_sign_correction(g.mean(dim=(2, 3), keepdim=True) * a)))
        out[name] = ref
    write_json(os.path.join(ROOT, 'test', 'fixtures', 'method-refs.json'), out)


if __name__ == '__main__':
    main()
