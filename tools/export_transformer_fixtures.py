#!/usr/bin/env python3
"""Export small vision transformers to ONNX with pytorch-grad-cam references.

Developer tool only (CI and users never run Python). Run with Debian's PyTorch:

    /usr/bin/python3 tools/export_transformer_fixtures.py          # writes test/fixtures/transformers/
    /usr/bin/python3 tools/export_transformer_fixtures.py vit      # only these
    /usr/bin/python3 tools/export_transformer_fixtures.py --bench DIR   # full-size ViT-B/16, random weights

No torchvision or timm here: the modules below reproduce torchvision's `vit_b_16` and
`swin_t` module structure and naming (so torch.onnx names the nodes as it names theirs:
`/encoder/layers/encoder_layer_1/ln_1/...`, `/features/3/...`) at small sizes, seeded.

For every model NAME it writes NAME.onnx, NAME.json and NAME.bin (float32 little-endian,
indexed by the JSON as {byteOffset, length, shape}). References are computed in float64 on
a copy of the float32 model:
- per sample and layer: the layer's activation as the ONNX tensor holds it (tokens
  [N, 1 + H*W, D] or Swin maps [N, H, W, C]), its gradients of the target logit and
  probability;
- `gradcam`: pytorch-grad-cam's GradCAM with its reshape transform (vit_reshape_transform:
  drop the class token, tokens to an H x W grid, channels first; for torchvision's Swin maps
  a permute to channels first), logit score, at the layer's grid before upsampling:
  ReLU(sum_k mean_hw(dS/dA_k) A_k);
- `rsi`: RSI-Grad-CAM as the project defines it (GUIDE.md: post-softmax score, m = 50,
  trapezoid Riemann-Stieltjes sum along x' + (i/m)(x - x') from the zero baseline, guided
  weights, and `rsiReluGrad`: the relu-grad weighting), at the same grid, on the same reshaped maps.
"""
import collections
import copy
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_common import ROOT, TensorBlob, layer_grad, write_json  # noqa: E402

OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'transformers')
NUM_CLASSES = 10
STEPS = 50


# ----------------------------------------------------------------------------
# torchvision's VisionTransformer (vision_transformer.py), same module names.
# ----------------------------------------------------------------------------

class MLPBlock(nn.Sequential):
    """torchvision's MLP(in_dim, [mlp_dim, in_dim], GELU): Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, dim, mlp_dim):
        super().__init__(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp_dim, dim), nn.Dropout(0.0))


class EncoderBlock(nn.Module):
    def __init__(self, heads, dim, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, mlp_dim)

    def forward(self, inp):
        x = self.ln_1(inp)
        x, _ = self.self_attention(query=x, key=x, value=x, need_weights=False)
        x = self.dropout(x)
        x = x + inp
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class Encoder(nn.Module):
    def __init__(self, seq_length, layers, heads, dim, mlp_dim):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, dim).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(collections.OrderedDict(
            (f'encoder_layer_{i}', EncoderBlock(heads, dim, mlp_dim)) for i in range(layers)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """torchvision's ViT; the image may be rectangular (torchvision asserts a square one) so
    that the fixtures tell the grid's height from its width."""

    def __init__(self, image_size, patch, layers, heads, dim, mlp_dim, num_classes):
        super().__init__()
        self.image_size = image_size
        self.patch_size = patch
        self.hidden_dim = dim
        self.conv_proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
        grid = (image_size[0] // patch, image_size[1] // patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder = Encoder(grid[0] * grid[1] + 1, layers, heads, dim, mlp_dim)
        self.heads = nn.Sequential(collections.OrderedDict(head=nn.Linear(dim, num_classes)))

    def _process_input(self, x):
        n, c, h, w = x.shape
        p = self.patch_size
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, (h // p) * (w // p))
        return x.permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        n = x.shape[0]
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


def randomize_vit(model, seed):
    """torchvision zero-initialises the head and the class token, which would make every
    gradient zero: give them (and the attention biases) small random values instead."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('class_token') or name.startswith('heads') or 'bias' in name:
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 if name.startswith('heads') else 0.1))


# ----------------------------------------------------------------------------
# torchvision's SwinTransformer (swin_transformer.py), same module names.
# ----------------------------------------------------------------------------

class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        H, W, _ = x.shape[-3:]
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x0 = x[..., 0::2, 0::2, :]
        x1 = x[..., 1::2, 0::2, :]
        x2 = x[..., 0::2, 1::2, :]
        x3 = x[..., 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1)
        return self.reduction(self.norm(x))


def window_attention(x, qkv, proj, bias, window, heads, shift):
    """torchvision's shifted_window_attention (v1) on x [B, H, W, C]."""
    B, H, W, C = x.shape
    pad_r = (window - W % window) % window
    pad_b = (window - H % window) % window
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    _, pH, pW, _ = x.shape
    shift = [0 if window >= pH else shift, 0 if window >= pW else shift]
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    nW = (pH // window) * (pW // window)
    x = x.view(B, pH // window, window, pW // window, window, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B * nW, window * window, C)
    t = F.linear(x, qkv.weight, qkv.bias)
    t = t.reshape(x.size(0), x.size(1), 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    q, k, v = t[0], t[1], t[2]
    q = q * (C // heads) ** -0.5
    attn = q.matmul(k.transpose(-2, -1)) + bias
    if sum(shift) > 0:
        mask = x.new_zeros((pH, pW))
        hs = ((0, -window), (-window, -shift[0]), (-shift[0], None))
        ws = ((0, -window), (-window, -shift[1]), (-shift[1], None))
        count = 0
        for h in hs:
            for w in ws:
                mask[h[0]:h[1], w[0]:w[1]] = count
                count += 1
        mask = mask.view(pH // window, window, pW // window, window).permute(0, 2, 1, 3).reshape(nW, window * window)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        attn = attn.view(x.size(0) // nW, nW, heads, x.size(1), x.size(1)) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))
    attn = F.softmax(attn, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.linear(x, proj.weight, proj.bias)
    x = x.view(B, pH // window, pW // window, window, window, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, pH, pW, C)
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim, window, shift, heads):
        super().__init__()
        self.window, self.shift, self.heads = window, shift, heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing='ij')).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += window - 1
        rel[:, :, 1] += window - 1
        rel[:, :, 0] *= 2 * window - 1
        self.register_buffer('relative_position_index', rel.sum(-1).flatten())

    def forward(self, x):
        n = self.window * self.window
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1)
        bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        return window_attention(x, self.qkv, self.proj, bias, self.window, self.heads, self.shift)


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, window, shift, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SwinTransformer(nn.Module):
    def __init__(self, patch, embed, depths, heads, window, num_classes):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, embed, kernel_size=patch, stride=patch), Permute([0, 2, 3, 1]), nn.LayerNorm(embed))]
        for i, depth in enumerate(depths):
            dim = embed * 2 ** i
            layers.append(nn.Sequential(*[SwinTransformerBlock(dim, heads[i], window, 0 if j % 2 == 0 else window // 2) for j in range(depth)]))
            if i < len(depths) - 1:
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        num_features = embed * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(num_features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)

    def forward(self, x):
        x = self.norm(self.features(x))
        return self.head(self.flatten(self.avgpool(self.permute(x))))


# ----------------------------------------------------------------------------
# pytorch-grad-cam's reshape transforms and the references.
# ----------------------------------------------------------------------------

def vit_reshape_transform(tensor, height, width, drop=1):
    """pytorch-grad-cam's vit_reshape_transform: drop the class token, tokens to H x W, channels first."""
    result = tensor[:, drop:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def swin_maps_transform(tensor):
    """torchvision's Swin keeps [N, H, W, C] maps: channels first."""
    return tensor.permute(0, 3, 1, 2)


def gradcam_ref(model, module, x, target, transform):
    """pytorch-grad-cam's GradCAM.get_cam_weights + BaseCAM.get_cam_image + ReLU, at the grid."""
    a, g, _ = layer_grad(model, module, x, target, 'logit')
    A, G = transform(a), transform(g)
    w = G.mean(dim=(2, 3))
    return torch.relu((w[:, :, None, None] * A).sum(dim=1))[0]


def rsi_ref(model, module, x, target, transform, steps=STEPS):
    """RSI-Grad-CAM at the grid, trapezoid sums along the straight path from 0: `guided` (IG =
    sum dy_c/dA * dA kept where A(x) > 0, IG > 0, A(x) - A(x') > 0) and `relu-grad` (the sum
    of ReLU(dy_c/dA) * dA); w_k = spatial mean; cam = ReLU(sum_k w_k A_k(x))."""
    base = torch.zeros_like(x)
    acts, grads = [], []
    for i in range(steps + 1):
        xi = base + (i / steps) * (x - base)
        a, g, _ = layer_grad(model, module, xi, target, 'softmax')
        acts.append(transform(a)[0])
        grads.append(transform(g)[0])
    ig = torch.zeros_like(acts[0])
    pos = torch.zeros_like(acts[0])
    for i in range(steps):
        ig += 0.5 * (grads[i] + grads[i + 1]) * (acts[i + 1] - acts[i])
        pos += 0.5 * (torch.relu(grads[i]) + torch.relu(grads[i + 1])) * (acts[i + 1] - acts[i])
    aX, a0 = acts[-1], acts[0]
    kept = torch.where((aX > 0) & (ig > 0) & (aX - a0 > 0), ig, torch.zeros_like(ig))
    cam = lambda m: torch.relu((m.mean(dim=(1, 2))[:, None, None] * aX).sum(dim=0))
    return cam(kept), cam(pos)


# ----------------------------------------------------------------------------
# Models and export.
# ----------------------------------------------------------------------------

def build(name):
    """(model, input [C, H, W], layers [(module path, kind, grid, drop)], opset, dynamic batch)."""
    torch.manual_seed({'vit': 1, 'vit_opset14': 1, 'swin': 2}[name])
    if name in ('vit', 'vit_opset14'):
        model = VisionTransformer((32, 48), 8, layers=2, heads=4, dim=40, mlp_dim=80, num_classes=NUM_CLASSES)
        randomize_vit(model, 11)
        grid = (4, 6)
        layers = [('encoder.layers.encoder_layer_1.ln_1', 'tokens', grid, 1),
                  ('encoder.layers.encoder_layer_0', 'tokens', grid, 1)]
        opset = 17 if name == 'vit' else 14
        return model, (3, 32, 48), layers, opset, True
    model = SwinTransformer(patch=4, embed=16, depths=[2, 2], heads=[2, 4], window=4, num_classes=NUM_CLASSES)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if 'bias' in pname:
                p.copy_(torch.randn(p.shape) * 0.1)
    # 64x64 / 4 -> 16x16 (stage 1, shifted windows), merged -> 8x8 (stage 2, shifted windows).
    layers = [('features.3', 'nhwc', (8, 8), 0), ('features.3.1.norm1', 'nhwc', (8, 8), 0), ('features.1', 'nhwc', (16, 16), 0)]
    return model, (3, 64, 64), layers, 17, True


def module_by_path(model, path):
    m = model
    for part in path.split('.'):
        m = getattr(m, part) if not part.isdigit() else m[int(part)]
    return m


def export(name):
    model, in_shape, layers, opset, dynamic = build(name)
    model.eval()
    os.makedirs(OUT_DIR, exist_ok=True)
    onnx_path = os.path.join(OUT_DIR, f'{name}.onnx')
    dummy = torch.randn(1, *in_shape)
    torch.onnx.export(model, dummy, onnx_path, opset_version=opset, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}} if dynamic else None, do_constant_folding=True)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)
    ops = collections.Counter(n.op_type for n in proto.graph.node)

    ref = copy.deepcopy(model).double().eval()
    g = torch.Generator().manual_seed(5)
    samples = []
    w = TensorBlob()
    for s in range(2):
        x = torch.randn((1, *in_shape), generator=g, dtype=torch.float64)
        x32 = x.float()
        with torch.no_grad():
            logits = ref(x32.double())
        target = int(logits.argmax()) if s == 0 else 3
        sample = {'target': target, 'input': w.add(x32[0]), 'logits': w.add(logits[0]), 'probs': w.add(torch.softmax(logits, 1)[0]), 'layers': {}}
        for path, kind, grid, drop in layers:
            module = module_by_path(ref, path)
            transform = (lambda t, grid=grid, drop=drop: vit_reshape_transform(t, grid[0], grid[1], drop)) if kind == 'tokens' else swin_maps_transform
            a, gl, _ = layer_grad(ref, module, x32.double(), target, 'logit')
            _, gp, _ = layer_grad(ref, module, x32.double(), target, 'softmax')
            sample['layers'][path] = {
                'activation': w.add(a[0]), 'gradLogit': w.add(gl[0]), 'gradProb': w.add(gp[0]),
                'gradcam': w.add(gradcam_ref(ref, module, x32.double(), target, transform)),
            }
            if path == layers[0][0]:
                guided, relu_grad = rsi_ref(ref, module, x32.double(), target, transform)
                sample['layers'][path]['rsi'] = w.add(guided)
                sample['layers'][path]['rsiReluGrad'] = w.add(relu_grad)
        samples.append(sample)
    meta = {
        'opset': opset, 'dynamicBatch': dynamic, 'numClasses': NUM_CLASSES, 'steps': STEPS,
        'input': {'name': 'input', 'shape': [1, *in_shape]},
        'layers': [{'modulePath': p, 'kind': k, 'grid': list(gr), 'drop': d, 'shape': [1, *samples[0]['layers'][p]['activation']['shape']]}
                   for p, k, gr, d in layers],
        'ops': dict(sorted(ops.items())),
        'samples': samples,
    }
    write_json(os.path.join(OUT_DIR, f'{name}.json'), meta, indent=1, newline=False)
    w.write(os.path.join(OUT_DIR, f'{name}.bin'))
    print(f'{name}: opset {opset}, {sum(ops.values())} nodes ({", ".join(f"{k} {v}" for k, v in sorted(ops.items()))}), '
          f'{os.path.getsize(onnx_path) // 1024} KiB')


def export_bench(out_dir):
    """Full-size ViT-B/16 (torchvision's vit_b_16 configuration), random weights, opset 17, dynamic batch."""
    torch.manual_seed(0)
    model = VisionTransformer((224, 224), 16, layers=12, heads=12, dim=768, mlp_dim=3072, num_classes=1000).eval()
    randomize_vit(model, 1)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, 'vit_b_16.onnx')
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, opset_version=17, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, do_constant_folding=True)
    print(path)


if __name__ == '__main__':
    args = sys.argv[1:]
    if args[:1] == ['--bench']:
        export_bench(args[1] if len(args) > 1 else os.path.join(ROOT, 'bench', '.cache'))
    else:
        for n in args or ['vit', 'vit_opset14', 'swin']:
            export(n)
