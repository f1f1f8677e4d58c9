#!/usr/bin/env python3
"""Reference for several-layer CAMs: pytorch-grad-cam's aggregate_multi_layers on the
fixtures' torch Grad-CAM maps (test/fixtures/models/NAME.json/.bin, see export_fixtures.py).

    /usr/bin/python3 tools/multilayer_reference.py   # writes test/fixtures/multilayer.json

As pytorch-grad-cam (base_cam.py, utils/image.py at jacobgil/pytorch-grad-cam 084273b):
per layer, cam = ReLU(cam); scale_cam_image(cam, size): cam - min, / (1e-7 + max), resized
to the input (cv2.resize INTER_LINEAR: the half-pixel bilinear of F.interpolate with
align_corners=False when enlarging); then concatenate, ReLU, mean over layers, and
scale_cam_image again.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'test', 'fixtures', 'models')


def read(bin_bytes, ref):
    a = np.frombuffer(bin_bytes, dtype='<f4', count=ref['length'], offset=ref['byteOffset'])
    return a.reshape(ref['shape']).astype(np.float64)


def scale_cam_image(cam, size=None):
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    if size is not None:
        t = torch.from_numpy(cam)[None, None]
        cam = F.interpolate(t, size=size, mode='bilinear', align_corners=False)[0, 0].numpy()
    return cam


def main():
    out = {}
    for name in ['resnet', 'mobilenetv2']:
        meta = json.load(open(os.path.join(MODELS, f'{name}.json')))
        data = open(os.path.join(MODELS, f'{name}.bin'), 'rb').read()
        size = meta['input']['shape'][2:]
        layers = [l['modulePath'] for l in meta['layers']]
        samples = []
        for s in meta['samples']:
            per_layer = [scale_cam_image(np.maximum(read(data, s['layers'][l]['gradcam'])[0], 0), size) for l in layers]
            agg = np.maximum(np.stack(per_layer), 0).mean(axis=0)
            samples.append({'target': s['target'], 'heatmap': [round(float(v), 8) for v in scale_cam_image(agg).ravel()]})
        out[name] = {'layers': layers, 'size': size, 'samples': samples}
    with open(os.path.join(ROOT, 'test', 'fixtures', 'multilayer.json'), 'w') as f:
        json.dump(out, f)
        f.write('\n')


if __name__ == '__main__':
    main()
