"""Helpers the reference and fixture scripts share (imported, never run):

- `rebuild_fixture(name)`: a fixture model of tools/export_fixtures.py rebuilt in float64 with
  the same seeds, checked against the logits stored in test/fixtures/models/NAME.json, and its
  samples (input, target);
- `capture` / `layer_grad`: a module's output and its gradient of the target's logit or
  probability (forward hooks);
- `Mulberry32` and `mix_seed`: src/prng.ts in Python, so references draw the library's numbers;
- `TensorBlob` and `write_json`: the fixtures' float32 .bin blobs (referenced from the JSON as
  {byteOffset, length, shape}) and JSON files.
"""
import collections
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'test', 'fixtures', 'models')
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import export_fixtures as ef  # noqa: E402

Fixture = collections.namedtuple('Fixture', 'model layout meta samples')


def read_tensor(data, ref):
    """A float32 tensor of a .bin blob ({byteOffset, length, shape}) as float64."""
    a = np.frombuffer(data, dtype='<f4', count=ref['length'], offset=ref['byteOffset'])
    return torch.from_numpy(a.reshape(ref['shape']).astype(np.float64))


def rebuild_fixture(name):
    """The fixture's torch model in float64 (as export_fixtures.export_one builds it), its input
    layout, JSON and samples [(input, target)]; fails if the rebuilt model's logits differ from
    the stored ones (relative to their largest magnitude) by 1e-5 or more."""
    ctor, shape, layout, *_ = ef.SPECS[name]
    seed = 1000 + list(ef.SPECS).index(name)
    torch.manual_seed(seed)
    model = ef.randomise(ctor(), seed)
    dummy = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1))
    ef.calibrate_logits(model, dummy)
    model = model.double().eval()
    meta = json.load(open(os.path.join(MODELS, f'{name}.json')))
    data = open(os.path.join(MODELS, f'{name}.bin'), 'rb').read()
    samples = []
    for s in meta['samples']:
        x = read_tensor(data, s['input'])
        with torch.no_grad():
            logits = model(x)
        stored = read_tensor(data, s['logits'])
        err = float((logits - stored).abs().max() / stored.abs().max())
        assert err < 1e-5, f'{name}: rebuilt model differs from the fixture ({err})'
        samples.append((x, s['target']))
    return Fixture(model, layout, meta, samples)


def capture(model, module, x):
    """The module's output (gradient retained) and the model's logits at x."""
    store = {}

    def hook(_m, _i, out):
        out.retain_grad()
        store['a'] = out

    h = module.register_forward_hook(hook)
    try:
        logits = model(x)
    finally:
        h.remove()
    return store['a'], logits


def layer_grad(model, module, x, target, score='logit'):
    """A, dy/dA at the module (y: the target's logit, or its probability with score
    'softmax'), and the logits; x is not changed."""
    a, logits = capture(model, module, x.clone().requires_grad_(False))
    y = logits if score == 'logit' else torch.softmax(logits, dim=1)
    y[:, target].sum().backward()
    return a.detach(), a.grad.detach(), logits.detach()


class Mulberry32:
    """src/prng.ts's Prng."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    def float(self):
        return self.next_u32() / 4294967296

    def int(self, lo, hi):
        return lo + self.next_u32() % (hi - lo + 1)


def mix_seed(seed, index):
    """src/prng.ts mixSeed."""
    m = 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & m

    h = (imul(seed & m, 0x9E3779B1) ^ imul(index & m, 0x85EBCA77)) & m
    for _ in range(2):
        h ^= h >> 16
        h = imul(h, 0x85EBCA6B)
        h ^= h >> 13
        h = imul(h, 0xC2B2AE35)
        h ^= h >> 16
        h = (h + 0x27D4EB2F) & m
    return h


class TensorBlob:
    """Accumulates float32 little-endian tensors; `add` returns the JSON reference to one."""

    def __init__(self):
        self.chunks = []
        self.offset = 0

    def add(self, t):
        a = np.ascontiguousarray(np.asarray(t, dtype='<f4'))
        ref = {'byteOffset': self.offset, 'length': int(a.size), 'shape': list(a.shape)}
        self.chunks.append(a.tobytes())
        self.offset += a.nbytes
        return ref

    def write(self, path):
        with open(path, 'wb') as f:
            for c in self.chunks:
                f.write(c)


def write_json(path, value, indent=None, newline=True):
    """json.dump to `path` (compact unless `indent`), with a final newline unless told not."""
    with open(path, 'w') as f:
        json.dump(value, f, indent=indent)
        if newline:
            f.write('\n')
