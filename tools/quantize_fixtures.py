#!/usr/bin/env python3
"""Quantized ONNX fixtures, written with onnx.helper in the exact node patterns of
onnxruntime's quantization tools (onnxruntime/python/tools/quantization), which are not
installed here. Developer tool only; run with Debian's Python after export_fixtures.py:

    /usr/bin/python3 tools/export_fixtures.py quant_float
    /usr/bin/python3 tools/quantize_fixtures.py

From test/fixtures/models/quant_float.onnx (a torch export with references) it writes
test/fixtures/models/quantized/:

- dynamic.onnx   quantize_dynamic: DynamicQuantizeLinear on each Conv / MatMul input,
                 ConvInteger (uint8 weights: onnxruntime's CPU ConvInteger takes no int8),
                 MatMulInteger (int8 weights), Cast, Mul by the product of the scales
                 (`<name>_quant_scales_mul`), the Conv bias as Reshape + Add.
- qdq.onnx       quantize_static, QuantFormat.QDQ: QuantizeLinear -> DequantizeLinear pairs on
                 activations, int8 weights and int32 biases behind DequantizeLinear, the ReLUs
                 after convs removed (their range is the conv output's quantization range).
- qoperator.onnx quantize_static, QuantFormat.QOperator: QuantizeLinear at the input,
                 QLinearConv (ReLU folded into the output range), MaxPool on uint8,
                 com.microsoft QLinearAdd and QLinearGlobalAveragePool, DequantizeLinear before
                 the float Flatten, QuantizeLinear after it, QLinearMatMul, QLinearAdd for the
                 bias, DequantizeLinear to the logits.

Activation ranges come from calibration: the fixture's two samples and 30 seeded random
inputs, evaluated on the float graph with torch.nn.functional. Scales follow onnxruntime:
activations uint8 asymmetric over [min(0, lo), max(0, hi)], weights int8 symmetric (-127..127),
biases int32 with scale input_scale * weight_scale, round half to even.
"""
import json
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'test', 'fixtures', 'models')
OUT = os.path.join(MODELS, 'quantized')


# --- calibration -----------------------------------------------------------------------

def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def evaluate(graph, x):
    """Every tensor of the float graph for input x (the ops quant_float uses)."""
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    env[graph.input[0].name] = x
    for n in graph.node:
        a = attrs(n)
        i = [env[name] for name in n.input]
        if n.op_type == 'Conv':
            p = a.get('pads', [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3]
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get('strides', [1, 1]), p[:2], a.get('dilations', [1, 1]), a.get('group', 1))
        elif n.op_type == 'Relu':
            y = F.relu(i[0])
        elif n.op_type == 'MaxPool':
            y = F.max_pool2d(i[0], a['kernel_shape'], a.get('strides'), a.get('pads', [0, 0, 0, 0])[:2])
        elif n.op_type == 'Add':
            y = i[0] + i[1]
        elif n.op_type == 'GlobalAveragePool':
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif n.op_type == 'Flatten':
            y = torch.flatten(i[0], a.get('axis', 1))
        elif n.op_type == 'MatMul':
            y = i[0] @ i[1]
        else:
            raise ValueError(f'calibration: no evaluator for {n.op_type}')
        env[n.output[0]] = y
    return env


def calibrate(graph, inputs):
    lo, hi = {}, {}
    for x in inputs:
        for name, t in evaluate(graph, x).items():
            if t.dtype != torch.float32:
                continue
            lo[name] = min(lo.get(name, np.inf), float(t.min()))
            hi[name] = max(hi.get(name, -np.inf), float(t.max()))
    # onnxruntime: the input of a Relu that is its producer's only use takes the Relu's range.
    for out, inp in removable_relus(graph).items():
        lo[inp], hi[inp] = lo[out], hi[out]
    return lo, hi


def removable_relus(graph):
    """Relu output -> input, for each Relu that is its input's only use: onnxruntime's static
    quantization drops these (the input is quantized over the Relu's range instead)."""
    uses = {}
    for n in graph.node:
        for name in n.input:
            uses[name] = uses.get(name, 0) + 1
    return {n.output[0]: n.input[0] for n in graph.node if n.op_type == 'Relu' and uses[n.input[0]] == 1}


# --- quantization parameters -------------------------------------------------------------

def uint8_params(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    zp = int(np.clip(np.rint(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zp)


def quantize(values, scale, zp, dtype):
    info = np.iinfo(dtype)
    return np.clip(np.rint(values / scale) + int(zp), info.min, info.max).astype(dtype)


class Writer:
    """Collects initializers; names follow onnxruntime's quantizer."""

    def __init__(self, float_model):
        self.float = {t.name: numpy_helper.to_array(t) for t in float_model.graph.initializer}
        self.inits = {}

    def add(self, name, array):
        self.inits[name] = numpy_helper.from_array(np.asarray(array), name)
        return name

    def act(self, tensor, lo, hi):
        """`<tensor>_scale` and `<tensor>_zero_point` of a uint8 activation."""
        scale, zp = uint8_params(lo[tensor], hi[tensor])
        return self.add(tensor + '_scale', scale), self.add(tensor + '_zero_point', zp), float(scale)

    def weight_int8(self, name):
        w = self.float[name]
        scale = np.float32(max(np.abs(w).max(), 1e-8) / 127)
        self.add(name + '_quantized', np.clip(np.rint(w / scale), -127, 127).astype(np.int8))
        return name + '_quantized', self.add(name + '_scale', scale), self.add(name + '_zero_point', np.int8(0)), float(scale)

    def weight_uint8(self, name):
        w = self.float[name]
        scale, zp = uint8_params(float(w.min()), float(w.max()))
        self.add(name + '_quantized', quantize(w, scale, zp, np.uint8))
        return name + '_quantized', self.add(name + '_scale', scale), self.add(name + '_zero_point', zp), float(scale)

    def const_uint8(self, name):
        """A float initializer an op takes like an activation: uint8 over its own range."""
        b = self.float[name]
        scale, zp = uint8_params(float(b.min()), float(b.max()))
        self.add(name + '_quantized', quantize(b, scale, zp, np.uint8))
        self.add(name + '_scale', scale)
        self.add(name + '_zero_point', zp)

    def bias_int32(self, name, input_scale, weight_scale):
        scale = np.float32(input_scale * weight_scale)
        self.add(name + '_quantized', np.rint(self.float[name] / scale).astype(np.int32))
        return name + '_quantized', self.add(name + '_quantized_scale', scale), self.add(name + '_quantized_zero_point', np.int32(0))

    def model(self, float_model, nodes, name, ms_domain=False):
        g = float_model.graph
        graph = helper.make_graph(nodes, name, list(g.input), list(g.output), list(self.inits.values()))
        opsets = [helper.make_opsetid('', 13)]
        if ms_domain:
            opsets.append(helper.make_opsetid('com.microsoft', 1))
        m = helper.make_model(graph, opset_imports=opsets, producer_name='onnx.quantize', producer_version='1.16.0')
        m.ir_version = 7
        return m


def node_by_op(graph, op, index=0):
    return [n for n in graph.node if n.op_type == op][index]


# --- the three formats -------------------------------------------------------------------

def dynamic(float_model):
    """quantize_dynamic: ConvInteger / MatMulInteger blocks; everything else stays float."""
    g, w = float_model.graph, Writer(float_model)
    nodes, done = [], {}

    def dynamic_input(x):
        if x not in done:
            nodes.append(helper.make_node('DynamicQuantizeLinear', [x], [x + '_quantized', x + '_scale', x + '_zero_point'], x + '_QuantizeLinear'))
            done[x] = (x + '_quantized', x + '_scale', x + '_zero_point')
        return done[x]

    for n in g.node:
        if n.op_type not in ('Conv', 'MatMul'):
            nodes.append(n)
            continue
        xq, xs, xz = dynamic_input(n.input[0])
        wq, ws, wz, _ = w.weight_uint8(n.input[1]) if n.op_type == 'Conv' else w.weight_int8(n.input[1])
        kind = 'ConvInteger' if n.op_type == 'Conv' else 'MatMulInteger'
        name = n.name + '_quant'
        acc = n.output[0] + '_output_quantized'
        has_bias = n.op_type == 'Conv' and len(n.input) == 3
        scaled = n.output[0] + 'quant_scaled_output' if has_bias else n.output[0]
        integer = helper.make_node(kind, [xq, wq, xz, wz], [acc], name)
        if kind == 'ConvInteger':
            integer.attribute.extend(n.attribute)
        nodes += [
            integer,
            helper.make_node('Cast', [acc], [acc + '_cast_output'], acc + '_cast', to=TensorProto.FLOAT),
            helper.make_node('Mul', [xs, ws], [name + '_scales_mul:0'], name + '_scales_mul'),
            helper.make_node('Mul', [acc + '_cast_output', name + '_scales_mul:0'], [scaled], name + '_output_scale_mul'),
        ]
        if has_bias:
            out = n.output[0]
            w.add(out + '_bias_reshape_shape', np.array([1, -1, 1, 1], dtype=np.int64))
            w.add(n.input[2], w.float[n.input[2]])
            nodes += [
                helper.make_node('Reshape', [n.input[2], out + '_bias_reshape_shape'], [out + '_bias_reshape_output']),
                helper.make_node('Add', [scaled, out + '_bias_reshape_output'], [out], out + '_bias_add'),
            ]
    for name, array in w.float.items():
        if any(name in n.input for n in nodes) and name not in w.inits:
            w.add(name, array)
    return w.model(float_model, nodes, 'quant_dynamic')


def qdq(float_model, lo, hi):
    """quantize_static with QuantFormat.QDQ."""
    g, w = float_model.graph, Writer(float_model)
    removed_relu = removable_relus(g)
    nodes, scales, renamed = [], {}, {}

    def qdq_pair(t, share=None):
        """Q -> DQ on activation t; consumers read `<t>_DequantizeLinear_Output`."""
        s, z, scale = share or w.act(t, lo, hi)
        nodes.append(helper.make_node('QuantizeLinear', [t, s, z], [t + '_QuantizeLinear_Output'], t + '_QuantizeLinear'))
        nodes.append(helper.make_node('DequantizeLinear', [t + '_QuantizeLinear_Output', s, z], [t + '_DequantizeLinear_Output'], t + '_DequantizeLinear'))
        scales[t] = (s, z, scale)
        renamed[t] = t + '_DequantizeLinear_Output'

    def read(t):
        t = removed_relu.get(t, t)
        return renamed.get(t, t)

    qdq_pair(g.input[0].name)
    for n in g.node:
        if n.op_type == 'Relu' and n.output[0] in removed_relu:
            continue  # folded into the conv output's quantization range
        if n.op_type == 'Conv':
            x = read(n.input[0])
            wq, ws, wz, wscale = w.weight_int8(n.input[1])
            nodes.append(helper.make_node('DequantizeLinear', [wq, ws, wz], [n.input[1] + '_DequantizeLinear_Output'], n.input[1] + '_DequantizeLinear'))
            bq, bs, bz = w.bias_int32(n.input[2], scales[removed_relu.get(n.input[0], n.input[0])][2], wscale)
            nodes.append(helper.make_node('DequantizeLinear', [bq, bs, bz], [n.input[2] + '_DequantizeLinear_Output'], n.input[2] + '_DequantizeLinear'))
            conv = helper.make_node('Conv', [x, n.input[1] + '_DequantizeLinear_Output', n.input[2] + '_DequantizeLinear_Output'], [n.output[0]], n.name)
            conv.attribute.extend(n.attribute)
            nodes.append(conv)
            qdq_pair(n.output[0])
        elif n.op_type == 'MaxPool':
            pool = helper.make_node('MaxPool', [read(n.input[0])], [n.output[0]], n.name)
            pool.attribute.extend(n.attribute)
            nodes.append(pool)
            qdq_pair(n.output[0], share=scales[removed_relu.get(n.input[0], n.input[0])])
        elif n.op_type == 'Add' and n.output[0] != g.output[0].name:
            nodes.append(helper.make_node('Add', [read(i) for i in n.input], [n.output[0]], n.name))
            qdq_pair(n.output[0])
        elif n.op_type == 'MatMul':
            qdq_pair(n.input[0])
            wq, ws, wz, _ = w.weight_int8(n.input[1])
            nodes.append(helper.make_node('DequantizeLinear', [wq, ws, wz], [n.input[1] + '_DequantizeLinear_Output'], n.input[1] + '_DequantizeLinear'))
            nodes.append(helper.make_node('MatMul', [read(n.input[0]), n.input[1] + '_DequantizeLinear_Output'], [n.output[0]], n.name))
            qdq_pair(n.output[0])
        elif n.op_type == 'Add':
            # The bias Add writing the graph output: the constant operand is quantized like an
            # activation initializer; the output gets a QDQ pair whose DequantizeLinear writes it.
            bias = n.input[1]
            w.const_uint8(bias)
            nodes.append(helper.make_node('DequantizeLinear', [bias + '_quantized', bias + '_scale', bias + '_zero_point'], [bias + '_DequantizeLinear_Output'], bias + '_DequantizeLinear'))
            out = n.output[0]
            nodes.append(helper.make_node('Add', [read(n.input[0]), bias + '_DequantizeLinear_Output'], [out + '_QuantizeLinear_Input'], n.name))
            s, z, _ = w.act(out, lo, hi)
            nodes.append(helper.make_node('QuantizeLinear', [out + '_QuantizeLinear_Input', s, z], [out + '_QuantizeLinear_Output'], out + '_QuantizeLinear'))
            nodes.append(helper.make_node('DequantizeLinear', [out + '_QuantizeLinear_Output', s, z], [out], out + '_DequantizeLinear'))
        else:
            # GlobalAveragePool and Flatten are not in the QDQ registry: they stay float.
            nodes.append(helper.make_node(n.op_type, [read(i) for i in n.input], list(n.output), n.name, **attrs(n)))
    return w.model(float_model, nodes, 'quant_qdq')


def qoperator(float_model, lo, hi):
    """quantize_static with QuantFormat.QOperator."""
    g, w = float_model.graph, Writer(float_model)
    removed_relu = removable_relus(g)
    q = {}  # float tensor -> (quantized name, scale, zero point, scale value)
    nodes = []

    def src(t):
        return removed_relu.get(t, t)

    def quantized(t):
        t = src(t)
        if t not in q:  # a float tensor entering quantized ops: QuantizeLinear
            s, z, scale = w.act(t, lo, hi)
            nodes.append(helper.make_node('QuantizeLinear', [t, s, z], [t + '_quantized'], t + '_QuantizeLinear'))
            q[t] = (t + '_quantized', s, z, scale)
        return q[t]

    def output_params(t):
        s, z, scale = w.act(t, lo, hi)
        q[t] = (t + '_quantized', s, z, scale)
        return q[t]

    def dequantized(t):
        qt, s, z, _ = q[src(t)]
        nodes.append(helper.make_node('DequantizeLinear', [qt, s, z], [t], t + '_DequantizeLinear'))

    for n in g.node:
        out = n.output[0]
        if n.op_type == 'Relu' and out in removed_relu:
            continue
        if n.op_type == 'Conv':
            xq, xs, xz, xscale = quantized(n.input[0])
            wq, ws, wz, wscale = w.weight_int8(n.input[1])
            bq = w.bias_int32(n.input[2], xscale, wscale)[0]
            # QLinearConv takes the int32 bias alone; its scale is implied (input * weight scale).
            for unused in (bq + '_scale', bq + '_zero_point'):
                w.inits.pop(unused, None)
            yq, ys, yz, _ = output_params(out)
            conv = helper.make_node('QLinearConv', [xq, xs, xz, wq, ws, wz, ys, yz, bq], [yq], n.name + '_quant')
            conv.attribute.extend(n.attribute)
            nodes.append(conv)
        elif n.op_type == 'MaxPool':
            xq, xs, xz, scale = quantized(n.input[0])
            q[out] = (out + '_quantized', xs, xz, scale)
            pool = helper.make_node('MaxPool', [xq], [out + '_quantized'], n.name)
            pool.attribute.extend(n.attribute)
            nodes.append(pool)
        elif n.op_type == 'Add' and n.input[1] in w.float:
            # Bias Add of the head: the constant operand as a uint8 initializer.
            aq, as_, az, _ = quantized(n.input[0])
            bias = n.input[1]
            w.const_uint8(bias)
            yq, ys, yz, _ = output_params(out)
            nodes.append(helper.make_node('QLinearAdd', [aq, as_, az, bias + '_quantized', bias + '_scale', bias + '_zero_point', ys, yz], [yq], n.name + '_quant', domain='com.microsoft'))
        elif n.op_type == 'Add':
            aq, as_, az, _ = quantized(n.input[0])
            bq, bs, bz, _ = quantized(n.input[1])
            yq, ys, yz, _ = output_params(out)
            nodes.append(helper.make_node('QLinearAdd', [aq, as_, az, bq, bs, bz, ys, yz], [yq], n.name + '_quant', domain='com.microsoft'))
        elif n.op_type == 'GlobalAveragePool':
            xq, xs, xz, _ = quantized(n.input[0])
            yq, ys, yz, _ = output_params(out)
            nodes.append(helper.make_node('QLinearGlobalAveragePool', [xq, xs, xz, ys, yz], [yq], n.name + '_quant', domain='com.microsoft', channels_last=0))
        elif n.op_type == 'MatMul':
            aq, as_, az, _ = quantized(n.input[0])
            wq, ws, wz, _ = w.weight_int8(n.input[1])
            yq, ys, yz, _ = output_params(out)
            nodes.append(helper.make_node('QLinearMatMul', [aq, as_, az, wq, ws, wz, ys, yz], [yq], n.name + '_quant'))
        else:
            # Flatten is not in the QOperator registry: DequantizeLinear before it.
            for i in n.input:
                if src(i) in q:
                    dequantized(i)
            nodes.append(helper.make_node(n.op_type, list(n.input), list(n.output), n.name, **attrs(n)))
    dequantized(g.output[0].name)
    return w.model(float_model, nodes, 'quant_qoperator', ms_domain=True)


def main():
    float_model = onnx.load(os.path.join(MODELS, 'quant_float.onnx'))
    meta = json.load(open(os.path.join(MODELS, 'quant_float.json')))
    blob = open(os.path.join(MODELS, 'quant_float.bin'), 'rb').read()
    shape = meta['input']['shape']
    inputs = [torch.from_numpy(np.frombuffer(blob, '<f4', s['input']['length'], s['input']['byteOffset']).reshape(shape).copy()) for s in meta['samples']]
    gen = torch.Generator().manual_seed(2024)
    inputs += [torch.randn(shape, generator=gen) for _ in range(30)]
    lo, hi = calibrate(float_model.graph, inputs)
    os.makedirs(OUT, exist_ok=True)
    for name, model in [('dynamic', dynamic(float_model)), ('qdq', qdq(float_model, lo, hi)), ('qoperator', qoperator(float_model, lo, hi))]:
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(OUT, name + '.onnx'))
        ops = sorted({(n.domain + '.' if n.domain else '') + n.op_type for n in model.graph.node})
        print(f'{name}: {len(model.graph.node)} nodes, ops {" ".join(ops)}')


if __name__ == '__main__':
    main()
