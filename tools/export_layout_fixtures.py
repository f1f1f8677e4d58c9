#!/usr/bin/env python3
"""Fixtures for models that are not NCHW RGB: ONNX written node by node as tf2onnx writes
Keras models (NHWC input, Transposes around the convolutions), and a 1-channel model.

Developer tool only. Run with Debian's PyTorch and onnx:

    /usr/bin/python3 tools/export_layout_fixtures.py            # all of them
    /usr/bin/python3 tools/export_layout_fixtures.py tf2onnx_flatten

Same file format as tools/export_fixtures.py (NAME.onnx, NAME.json, NAME.bin), so the
torch-reference tests run on them too. There is no TensorFlow here, so the tf2onnx graphs
are written with onnx.helper, reproducing tf2onnx's pattern exactly: TensorFlow op names
scoped by Keras layer (`sequential/conv2d/Relu`, tensors `...:0`), a Transpose named
`<conv op>__<n>` before (perm 0,3,1,2) and after (perm 0,2,3,1) each NHWC Conv, pooling and
FusedBatchNorm, BiasAdd as an Add of a [C] vector on the NHWC tensor, TensorFlow's 'SAME'
padding as explicit (asymmetric) pads, Flatten as a Reshape to [-1, H*W*C] of the NHWC
tensor, global average pooling as ReduceMean over axes 1, 2, Dense as MatMul + Add, a final
Softmax whose output is named after the Keras output layer, a dynamic batch 'unk__N' and
producer 'tf2onnx'.

- tf2onnx_flatten: after tf2onnx's transpose optimiser (the usual file): one Transpose
  after the input, one before the Flatten; every map between is NCHW.
- tf2onnx_transposes: as tf2onnx converts before optimising (what remains when the
  optimiser cannot push a Transpose through): maps stay NHWC between the convolutions,
  with a residual Add and a BatchNormalization.

Every node is evaluated in torch float64 alongside, so the references (activations and
gradients at Keras layers, stored NCHW; input gradients in the input's own NHWC layout)
come from torch autograd on exactly the graph written.
"""
import collections
import functools
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_fixtures as ef  # noqa: E402

NUM_CLASSES = ef.NUM_CLASSES


class Builder:
    """Writes ONNX nodes and evaluates each one in torch (float64) as it goes."""

    def __init__(self, input_name, x):
        self.nodes, self.inits, self.vals = [], [], {input_name: x}
        # How each 4-D tensor lies: the input is NHWC; Conv, MaxPool and BatchNormalization
        # make NCHW; a Transpose swaps; other ops keep their first input's layout.
        self.layout = {input_name: 'NHWC'}
        self.counter = 4

    def name(self, base):
        """tf2onnx's utils.make_name: `<base>__<n>` with a global counter."""
        self.counter += 1
        return f'{base}__{self.counter}'

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        if arr.dtype == np.float32:
            self.vals[name] = torch.from_numpy(arr.astype(np.float64))
        return name

    def op(self, op_type, node_name, inputs, fn, out=None, **attrs):
        out = out or f'{node_name}:0'
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=node_name, **attrs))
        self.vals[out] = fn(*[self.vals.get(i) for i in inputs])
        if op_type in ('Conv', 'MaxPool', 'BatchNormalization'):
            self.layout[out] = 'NCHW'
        elif op_type == 'Transpose':
            self.layout[out] = 'NCHW' if attrs['perm'] == [0, 3, 1, 2] else 'NHWC'
        elif inputs[0] in self.layout:
            self.layout[out] = self.layout[inputs[0]]
        return out

    def transpose(self, node_name, x, perm):
        return self.op('Transpose', node_name, [x], lambda t: t.permute(*perm), perm=perm)

    def conv(self, node_name, x, w, b=None, stride=1, pads=(0, 0, 0, 0)):
        """ONNX pads [top, left, bottom, right]."""
        t, l, bo, r = pads
        k = self.vals[w].shape[2:]
        inputs = [x, w] + ([b] if b else [])

        def fn(xv, wv, bv=None):
            return F.conv2d(F.pad(xv, (l, r, t, bo)), wv, bv, stride)
        return self.op('Conv', node_name, inputs, fn, dilations=[1, 1], group=1, kernel_shape=list(k),
                       pads=list(pads), strides=[stride, stride])

    def maxpool(self, node_name, x, k):
        return self.op('MaxPool', node_name, [x], lambda v: F.max_pool2d(v, k, k),
                       kernel_shape=[k, k], pads=[0, 0, 0, 0], strides=[k, k])


def rng(seed):
    return np.random.default_rng(seed)


def weight(g, shape, fan_in):
    return (g.standard_normal(shape) * (2.0 / fan_in) ** 0.5).astype(np.float32)


def bias(g, n):
    return (g.standard_normal(n) * 0.1).astype(np.float32)


def nhwc_conv(b, g, scope, x, cin, cout, k, stride=1, pads=None, act=True, with_bias=True):
    """Conv2D of a Keras layer on an NHWC tensor, unoptimised: T, Conv, T, BiasAdd (Add), Relu."""
    p = k // 2
    pads = pads or (p, p, p, p)
    w = b.const(f'{scope}/Conv2D/ReadVariableOp:0', weight(g, (cout, cin, k, k), cin * k * k))
    op = f'{scope}/Conv2D'
    t = b.transpose(b.name(op), x, [0, 3, 1, 2])
    y = b.conv(op, t, w, stride=stride, pads=pads)
    y = b.transpose(b.name(op), y, [0, 2, 3, 1])
    if with_bias:
        bb = b.const(f'{scope}/BiasAdd/ReadVariableOp:0', bias(g, cout))
        y = b.op('Add', f'{scope}/BiasAdd', [y, bb], lambda u, v: u + v)
    if act:
        y = b.op('Relu', f'{scope}/Relu', [y], torch.relu)
    return y


def dense_head(b, g, scope, x, n_in):
    w = b.const(f'{scope}/MatMul/ReadVariableOp:0', weight(g, (n_in, NUM_CLASSES), n_in))
    bb = b.const(f'{scope}/BiasAdd/ReadVariableOp:0', bias(g, NUM_CLASSES))
    y = b.op('MatMul', f'{scope}/MatMul', [x, w], lambda u, v: u @ v)
    logits = b.op('Add', f'{scope}/BiasAdd', [y, bb], lambda u, v: u + v)
    return logits


def tf2onnx_flatten(b, g):
    """Keras Sequential: Conv2D(relu), MaxPool, Conv2D(relu), MaxPool, Flatten, Dense(softmax); optimised."""
    x = b.transpose('sequential/conv2d/BiasAdd__6', 'input_1', [0, 3, 1, 2])
    w1 = b.const('sequential/conv2d/Conv2D/ReadVariableOp:0', weight(g, (8, 3, 3, 3), 27))
    b1 = b.const('sequential/conv2d/BiasAdd/ReadVariableOp:0', bias(g, 8))
    y = b.conv('sequential/conv2d/BiasAdd', x, w1, b1, pads=(1, 1, 1, 1))
    y = b.op('Relu', 'sequential/conv2d/Relu', [y], torch.relu)
    y = b.maxpool('sequential/max_pooling2d/MaxPool', y, 2)                       # 16x16
    w2 = b.const('sequential/conv2d_1/Conv2D/ReadVariableOp:0', weight(g, (16, 8, 3, 3), 72))
    b2 = b.const('sequential/conv2d_1/BiasAdd/ReadVariableOp:0', bias(g, 16))
    y = b.conv('sequential/conv2d_1/BiasAdd', y, w2, b2, pads=(1, 1, 1, 1))
    y = b.op('Relu', 'sequential/conv2d_1/Relu', [y], torch.relu)
    y = b.maxpool('sequential/max_pooling2d_1/MaxPool', y, 2)                     # 8x8
    y = b.transpose('sequential/max_pooling2d_1/MaxPool__28', y, [0, 2, 3, 1])    # NHWC for Flatten
    shape = b.const('const_fold_opt__30', np.array([-1, 8 * 8 * 16], dtype=np.int64))
    y = b.op('Reshape', 'sequential/flatten/Reshape', [y, shape], lambda u, _s: u.reshape(u.shape[0], -1))
    return dense_head(b, g, 'sequential/dense', y, 8 * 8 * 16), 'sequential/dense/Softmax'


def tf2onnx_transposes(b, g):
    """Keras functional model, unoptimised: NHWC maps between Transposed convs, residual, BN."""
    y = nhwc_conv(b, g, 'model/conv2d', 'input_1', 3, 8, 3)                       # 32x32x8
    op = 'model/max_pooling2d/MaxPool'
    t = b.transpose(b.name(op), y, [0, 3, 1, 2])
    t = b.maxpool(op, t, 2)
    pooled = b.transpose(b.name(op), t, [0, 2, 3, 1])                            # 16x16x8
    # TensorFlow 'SAME' with stride 2 on an even size pads only after: pads [0, 0, 1, 1].
    y = nhwc_conv(b, g, 'model/conv2d_1', pooled, 8, 16, 3, stride=2, pads=(0, 0, 1, 1))   # 8x8x16
    y = nhwc_conv(b, g, 'model/conv2d_2', y, 16, 16, 3, act=False)
    s = nhwc_conv(b, g, 'model/conv2d_3', pooled, 8, 16, 1, stride=2, act=False)
    y = b.op('Add', 'model/add/add', [y, s], lambda u, v: u + v)
    op = 'model/batch_normalization/FusedBatchNormV3'
    c = 16
    gamma = b.const(f'{op}/ReadVariableOp:0', (1 + 0.2 * g.standard_normal(c)).astype(np.float32))
    beta = b.const(f'{op}/ReadVariableOp_1:0', (0.1 * g.standard_normal(c)).astype(np.float32))
    mean = b.const(f'{op}/ReadVariableOp_2:0', (0.2 * g.standard_normal(c)).astype(np.float32))
    var = b.const(f'{op}/ReadVariableOp_3:0', (0.5 + g.random(c)).astype(np.float32))
    t = b.transpose(b.name(op), y, [0, 3, 1, 2])
    eps = 0.001

    def bn(x, ga, be, mu, va):
        r = (1, -1, 1, 1)
        return (x - mu.view(r)) / torch.sqrt(va.view(r) + eps) * ga.view(r) + be.view(r)
    t = b.op('BatchNormalization', op, [t, gamma, beta, mean, var], bn, epsilon=eps)
    y = b.transpose(b.name(op), t, [0, 2, 3, 1])
    y = b.op('Relu', 'model/activation/Relu', [y], torch.relu)                      # NHWC, last map
    y = b.op('ReduceMean', 'model/global_average_pooling2d/Mean', [y], lambda u: u.mean(dim=(1, 2)),
             axes=[1, 2], keepdims=0)
    return dense_head(b, g, 'model/dense', y, 16), 'model/dense/Softmax'


def tf2onnx_rescaling(b, g):
    """Keras Sequential starting with Rescaling(1/255) (the model takes 0-255 pixels); optimised;
    GlobalAveragePooling2D as a ReduceMean over the NCHW spatial axes."""
    scale = b.const('sequential/rescaling/Cast/x:0', np.array(1 / 255, dtype=np.float32))
    offset = b.const('sequential/rescaling/Cast_1/x:0', np.array(0, dtype=np.float32))
    y = b.op('Mul', 'sequential/rescaling/mul', ['input_1', scale], lambda u, v: u * v)
    y = b.op('Add', 'sequential/rescaling/add', [y, offset], lambda u, v: u + v)
    y = b.transpose('sequential/conv2d/BiasAdd__6', y, [0, 3, 1, 2])
    w1 = b.const('sequential/conv2d/Conv2D/ReadVariableOp:0', weight(g, (8, 3, 3, 3), 27))
    b1 = b.const('sequential/conv2d/BiasAdd/ReadVariableOp:0', bias(g, 8))
    y = b.conv('sequential/conv2d/BiasAdd', y, w1, b1, pads=(1, 1, 1, 1))
    y = b.op('Relu', 'sequential/conv2d/Relu', [y], torch.relu)
    y = b.maxpool('sequential/max_pooling2d/MaxPool', y, 2)
    w2 = b.const('sequential/conv2d_1/Conv2D/ReadVariableOp:0', weight(g, (16, 8, 3, 3), 72))
    b2 = b.const('sequential/conv2d_1/BiasAdd/ReadVariableOp:0', bias(g, 16))
    y = b.conv('sequential/conv2d_1/BiasAdd', y, w2, b2, pads=(1, 1, 1, 1))
    y = b.op('Relu', 'sequential/conv2d_1/Relu', [y], torch.relu)
    y = b.op('ReduceMean', 'sequential/global_average_pooling2d/Mean', [y], lambda u: u.mean(dim=(2, 3)),
             axes=[2, 3], keepdims=0)
    return dense_head(b, g, 'sequential/dense', y, 16), 'sequential/dense/Softmax'


TF2ONNX = collections.OrderedDict([
    ('tf2onnx_flatten', (tf2onnx_flatten, ['conv2d', 'max_pooling2d_1'],
                         'tf2onnx (optimised) Keras Sequential: NHWC input, one Transpose after it and one before '
                         'the Flatten (a Reshape of the NHWC map), NCHW convs between')),
    ('tf2onnx_transposes', (tf2onnx_transposes, ['conv2d', 'max_pooling2d', 'activation'],
                            'tf2onnx (before optimisation) Keras functional model: Transposes around every Conv, '
                            'MaxPool and BatchNormalization, BiasAdd and ReLU and the residual Add on NHWC maps, '
                            'ReduceMean over axes 1, 2')),
    ('tf2onnx_rescaling', (tf2onnx_rescaling, ['conv2d', 'conv2d_1'],
                           'tf2onnx (optimised) Keras Sequential starting with Rescaling(1/255): Mul and Add on the NHWC '
                           'input (the model takes 0-255 pixels), ReduceMean over axes 2, 3 as the pooling head')),
])


def scope_output(graph, scope):
    """The Keras layer's output as the engine finds it: the last tensor made in the scope and
    read outside, looking through Transposes that only change the layout."""
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)

    def inside(n):
        return n.name.startswith(scope + '/')

    def is_t(n):
        return n.op_type == 'Transpose'

    def readers(t):
        out = []
        for c in consumers[t]:
            out += [c] + (readers(c.output[0]) if is_t(c) else [])
        return out
    outputs = {o.name for o in graph.output}
    found = None
    for n in graph.node:
        if not inside(n) or is_t(n):
            continue
        for o in n.output:
            if o in outputs or any(not is_t(c) and not inside(c) for c in readers(o)):
                found = o
    return found


def export_tf2onnx(name, seed):
    build, keras_layers, description = TF2ONNX[name]
    shape = (1, 32, 32, 3)
    # The graph once, to know its tensors; then per sample in float64 with autograd.
    g = rng(seed)
    b0 = Builder('input_1', torch.zeros(shape, dtype=torch.float64))
    logits, softmax_name = build(b0, g)
    nodes = b0.nodes + [helper.make_node('Softmax', [logits], ['dense'], name=softmax_name, axis=-1)]
    graph = helper.make_graph(
        nodes, 'tf2onnx',
        [helper.make_tensor_value_info('input_1', TensorProto.FLOAT, ['unk__N', 32, 32, 3])],
        [helper.make_tensor_value_info('dense', TensorProto.FLOAT, ['unk__N', NUM_CLASSES])],
        b0.inits)
    model = helper.make_model(graph, producer_name='tf2onnx', producer_version='1.16.1 15c810',
                              opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(ef.OUT_DIR, name + '.onnx'))

    layers = {k: scope_output(graph, prefix + '/' + k)
              for k in keras_layers for prefix in [nodes[-1].name.split('/')[0]]}
    gx = torch.Generator().manual_seed(seed + 100)
    blob = ef.Blob()
    samples = []
    layer_meta = []
    for i, rule in enumerate(['argmax', 'fixed']):
        x = torch.randn(shape, generator=gx).double()
        if name == 'tf2onnx_rescaling':
            x = (x * 60 + 128).clamp(0, 255).float().double()  # pixel-like values; float32-exact
        x.requires_grad_(True)
        b = Builder('input_1', x)
        build(b, rng(seed))
        lg = b.vals[logits]
        probs = torch.softmax(lg, dim=1)
        target = int(lg[0].argmax()) if rule == 'argmax' else ef.FIXED_TARGET
        acts = {k: b.vals[t] for k, t in layers.items()}
        for a in acts.values():
            a.retain_grad()
        lg[0, target].backward(retain_graph=True)
        g_logit = {k: a.grad.clone() for k, a in acts.items()}
        gx_logit = x.grad.clone()
        for a in acts.values():
            a.grad = None
        x.grad = None
        probs[0, target].backward()
        g_prob = {k: a.grad.clone() for k, a in acts.items()}
        gx_prob = x.grad.clone()
        # Layers are recorded NCHW (the engine exposes every map so); the input stays NHWC.
        nhwc = {k: b.layout[t] == 'NHWC' for k, t in layers.items()}

        def nchw(k, v):
            return v.permute(0, 3, 1, 2) if nhwc[k] else v
        rec = {'target': target, 'targetRule': rule, 'input': blob.add(x.detach()), 'logits': blob.add(lg.detach()),
               'probs': blob.add(probs.detach()),
               'inputGrad': {'logit': blob.add(gx_logit), 'prob': blob.add(gx_prob)}, 'layers': {}}
        for k in keras_layers:
            a = nchw(k, acts[k].detach())
            gl = nchw(k, g_logit[k])
            rec['layers'][k] = {'activation': blob.add(a), 'gradLogit': blob.add(gl), 'gradProb': blob.add(nchw(k, g_prob[k])),
                                'gradcam': blob.add(ef.gradcam(a, gl))}
        samples.append(rec)
        if i == 0:
            for k in keras_layers:
                layer_meta.append({'modulePath': k, 'moduleType': 'Keras layer', 'onnxTensor': layers[k],
                                   'layout': 'NHWC' if nhwc[k] else 'NCHW',
                                   'shape': list(nchw(k, acts[k]).shape), 'gradcamTarget': k == keras_layers[-1]})
    write_meta(name, description, model, shape, 'NHWC', layer_meta, samples, blob, output_is='probs',
               params=sum(int(np.prod(t.dims)) for t in b0.inits if t.data_type == TensorProto.FLOAT))


def write_meta(name, description, model, shape, layout, layer_meta, samples, blob, output_is, params):
    graph = model.graph

    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]
    meta = {
        'name': name,
        'description': description,
        'generator': 'tools/export_layout_fixtures.py (torch %s, onnx %s)' % (torch.__version__, onnx.__version__),
        'onnx': name + '.onnx',
        'bin': name + '.bin',
        'binFormat': 'float32 little-endian; each tensor reference is {byteOffset, length, shape}',
        'opset': 13,
        'dynamicBatch': True,
        'params': params,
        'opTypes': sorted({n.op_type for n in graph.node}),
        'producer': model.producer_name,
        'input': {'name': graph.input[0].name, 'shape': list(shape), 'onnxShape': dims(graph.input[0]), 'layout': layout},
        'output': {'name': graph.output[0].name, 'shape': [1, NUM_CLASSES], 'onnxShape': dims(graph.output[0]), 'is': output_is},
        'numClasses': NUM_CLASSES,
        'gradcamLayer': layer_meta[-1]['modulePath'],
        'layers': layer_meta,
        'samples': samples,
        'precision': 'references computed in float64 with the float32 weights, stored as float32; '
                     'layer tensors stored NCHW (field layout: how the ONNX tensor itself lies)',
    }
    with open(os.path.join(ef.OUT_DIR, name + '.bin'), 'wb') as f:
        f.write(blob.bytes())
    with open(os.path.join(ef.OUT_DIR, name + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'{name}: {meta["params"]} params, ops {" ".join(meta["opTypes"])}')
    for lm in layer_meta:
        print(f'  {lm["modulePath"]} -> {lm["onnxTensor"]} {lm["shape"]} ({lm.get("layout", "NCHW")})')


# --- 1 input channel (MNIST / FER / sketch style), exported by torch ---

class GrayNet(nn.Module):
    """28x28 greyscale (or `cin` channels): conv-BN-ReLU, MaxPool, conv-BN-ReLU, GlobalAveragePool, Linear."""

    def __init__(self, cin=1):
        super().__init__()
        self.features = nn.Sequential(
            ef.conv_bn(cin, 8), nn.MaxPool2d(2, 2),     # 0, 1 -> 14x14
            ef.conv_bn(8, 16), nn.MaxPool2d(2, 2),      # 2, 3 -> 7x7
            ef.conv_bn(16, 16))                         # 4
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


TORCH = collections.OrderedDict([
    ('variety_gray', (GrayNet, (1, 1, 28, 28), 'NCHW', 13, True, ['features.1', 'features.4'],
                      '1 input channel, 28x28 (MNIST / FER style): conv-BN-ReLU, MaxPool, GlobalAveragePool, Linear')),
    ('variety_la', (functools.partial(GrayNet, 2), (1, 2, 28, 28), 'NCHW', 13, True, ['features.1', 'features.4'],
                    '2 input channels (luminance, alpha), 28x28: conv-BN-ReLU, MaxPool, GlobalAveragePool, Linear')),
    ('variety_rgba', (functools.partial(GrayNet, 4), (1, 4, 32, 32), 'NCHW', 13, True, ['features.1', 'features.4'],
                      '4 input channels (RGB, alpha), 32x32: conv-BN-ReLU, MaxPool, GlobalAveragePool, Linear')),
])


def main(argv):
    os.makedirs(ef.OUT_DIR, exist_ok=True)
    everything = list(TF2ONNX) + list(TORCH)
    for name in argv or everything:
        seed = 2000 + everything.index(name) if name in everything else sys.exit(f'unknown fixture {name}; known: {", ".join(everything)}')
        if name in TF2ONNX:
            export_tf2onnx(name, seed)
        else:
            ef.SPECS[name] = TORCH[name]
            ef.export_one(name, seed)


if __name__ == '__main__':
    main(sys.argv[1:])
