#!/usr/bin/env python3
"""Export small CNN classifiers to ONNX with PyTorch-autograd reference values.

Developer tool only (CI and users never run Python). Run with Debian's PyTorch:

    /usr/bin/python3 tools/export_fixtures.py            # writes test/fixtures/models/
    /usr/bin/python3 tools/export_fixtures.py vgg resnet # only these models

For every model NAME it writes NAME.onnx, NAME.json (metadata + tensor index) and
NAME.bin (every recorded tensor, float32 little-endian; the JSON gives each tensor's
byteOffset, length and shape). Weights, BatchNorm running statistics and inputs are
random but seeded, so a rerun reproduces the same files (given the same torch build).

Reference values are computed in float64 on a copy of the float32 model (the same
weights), so they are an oracle independent of float32 rounding in either runtime.
"""
import collections
import copy
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'models')
NUM_CLASSES = 10
FIXED_TARGET = 3  # target class of the second sample; the first uses its argmax


# ----------------------------------------------------------------------------
# Architectures. No in-place ops and no module called twice, so that a forward
# hook sees each recorded module's output exactly once and retain_grad() holds.
# ----------------------------------------------------------------------------

def conv_bn(cin, cout, k=3, s=1, groups=1, act='relu'):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act == 'relu':
        layers.append(nn.ReLU())
    elif act == 'relu6':
        layers.append(nn.ReLU6())
    elif act == 'silu':
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """conv-BN-ReLU-MaxPool blocks; the second MaxPool (k3 s2) has overlapping windows."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2, 2),  # 0-3 -> 16x16
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(3, 2),  # 4-7 -> 7x7
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2),  # 8-11 -> 3x3
        )
        self.classifier = nn.Sequential(
            nn.Linear(32 * 3 * 3, 48), nn.ReLU(), nn.Dropout(0.5), nn.Linear(48, NUM_CLASSES))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, with two ReLU modules instead of one reused."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + identity)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)  # -> 16x16
        self.layer1 = nn.Sequential(BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16))  # -> 8x8
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, depthwise 3x3 (groups=C), 1x1 linear project."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            conv_bn(cin, hidden, 1, act='relu6'),
            conv_bn(hidden, hidden, 3, stride, groups=hidden, act='relu6'),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 8, 3, 2, act='relu6'),     # 0 -> 16x16
            InvertedResidual(8, 8, 1, 2),         # 1 residual
            InvertedResidual(8, 16, 2, 4),        # 2 -> 8x8
            InvertedResidual(16, 16, 1, 4),       # 3 residual
            conv_bn(16, 32, 1, act='relu6'),      # 4 last conv
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, NUM_CLASSES))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class DenseLayer(nn.Module):
    """torchvision's pre-activation dense layer: BN-ReLU-Conv1x1-BN-ReLU-Conv3x3, then Concat."""

    def __init__(self, cin, growth, bottleneck=2):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, bottleneck * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bottleneck * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        return torch.cat([x, new], 1)


def dense_block(cin, growth, n):
    return nn.Sequential(collections.OrderedDict(
        (f'denselayer{i + 1}', DenseLayer(cin + i * growth, growth)) for i in range(n)))


def transition(cin, cout):
    return nn.Sequential(collections.OrderedDict([
        ('norm', nn.BatchNorm2d(cin)), ('relu', nn.ReLU()),
        ('conv', nn.Conv2d(cin, cout, 1, bias=False)), ('pool', nn.AvgPool2d(2, 2))]))


class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(collections.OrderedDict([
            ('conv0', nn.Conv2d(3, 6, 3, 1, 1, bias=False)),
            ('norm0', nn.BatchNorm2d(6)),
            ('relu0', nn.ReLU()),
            ('pool0', nn.MaxPool2d(2, 2)),                 # -> 16x16
            ('denseblock1', dense_block(6, 3, 3)),         # 6 -> 15 channels
            ('transition1', transition(15, 8)),            # -> 8x8
            ('denseblock2', dense_block(8, 3, 2)),         # 8 -> 14 channels
            ('norm5', nn.BatchNorm2d(14)),
            ('relu5', nn.ReLU()),
        ]))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(14, NUM_CLASSES)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# --- ONNX-variety models: one small body, different exports / heads / ops ---

class Body(nn.Module):
    """conv-BN-ReLU, MaxPool, conv-BN-ReLU6 (Clip), MaxPool: 3x32x32 -> 16x8x8."""

    def __init__(self, pool=nn.MaxPool2d):
        super().__init__()
        self.block1 = conv_bn(3, 8)
        self.pool1 = pool(2, 2)
        self.block2 = conv_bn(8, 16, act='relu6')
        self.pool2 = pool(2, 2)

    def forward(self, x):
        return self.pool2(self.block2(self.pool1(self.block1(x))))


class StaticReshapeHead(nn.Module):
    """Batch fixed at 1: reshape(1, -1) exports as Reshape to the constant [1, -1]."""

    def __init__(self):
        super().__init__()
        self.body = Body()
        self.fc = nn.Linear(16 * 8 * 8, NUM_CLASSES)

    def forward(self, x):
        return self.fc(self.body(x).reshape(1, -1))


class ViewHead(nn.Module):
    """x.view(x.size(0), -1) with a dynamic batch: Shape-Gather-Unsqueeze-Concat-Reshape."""

    def __init__(self):
        super().__init__()
        self.body = Body(pool=nn.AvgPool2d)
        self.fc = nn.Linear(16 * 8 * 8, NUM_CLASSES)

    def forward(self, x):
        x = self.body(x)
        return self.fc(x.view(x.size(0), -1))


class ResidualBNFlatten(nn.Module):
    """A residual Add followed by a BatchNorm that cannot fold into a Conv; Flatten head."""

    def __init__(self):
        super().__init__()
        self.body = Body()
        self.conv3 = nn.Conv2d(16, 16, 3, 1, 1)
        self.norm = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        x = self.body(x)
        x = self.relu(self.norm(x + self.conv3(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class AvgPoolHead(nn.Module):
    """AdaptiveAvgPool2d(2) on an 8x8 map exports as AveragePool(kernel 4, stride 4)."""

    def __init__(self):
        super().__init__()
        self.body = Body()
        self.conv3 = conv_bn(16, 16)
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(16 * 2 * 2, NUM_CLASSES)

    def forward(self, x):
        x = self.avgpool(self.conv3(self.body(x)))
        return self.fc(torch.flatten(x, 1))


class ExplicitSiLU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(c, r, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(r, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class MBConv(nn.Module):
    """EfficientNet block: expand (nn.SiLU), depthwise (x*sigmoid(x) written out), SE, project, residual."""

    def __init__(self, c, expand=4):
        super().__init__()
        h = c * expand
        self.expand_conv = conv_bn(c, h, 1, act='silu')
        self.dw = nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False)
        self.dw_bn = nn.BatchNorm2d(h)
        self.dw_act = ExplicitSiLU()
        self.se = SqueezeExcite(h, max(1, c // 4))
        self.project = conv_bn(h, c, 1, act=None)

    def forward(self, x):
        y = self.dw_act(self.dw_bn(self.dw(self.expand_conv(x))))
        return x + self.project(self.se(y))


class EfficientNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 2, act='silu')  # -> 16x16
        self.blocks = nn.Sequential(MBConv(8), conv_bn(8, 16, 3, 2, act='silu'), MBConv(16))  # -> 8x8
        self.head = conv_bn(16, 32, 1, act='silu')
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, NUM_CLASSES)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class NHWCInput(nn.Module):
    """Takes NHWC like a tf2onnx export: the first op permutes to NCHW (a Transpose)."""

    def __init__(self):
        super().__init__()
        self.body = Body()
        self.conv3 = conv_bn(16, 24)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, NUM_CLASSES)

    def forward(self, x):
        x = self.conv3(self.body(x.permute(0, 3, 1, 2)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class UpsampleNet(nn.Module):
    """Encoder to 8x8, nearest x2 Upsample, conv, down again, bilinear x2 (align_corners=False), conv."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv_bn(3, 8, 3, 2)    # -> 16x16
        self.enc2 = conv_bn(8, 16, 3, 2)   # -> 8x8
        self.up_nearest = nn.Upsample(scale_factor=2, mode='nearest')  # -> 16x16
        self.dec1 = conv_bn(16, 16)
        self.down = conv_bn(16, 16, 3, 2)  # -> 8x8
        self.up_bilinear = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)  # -> 16x16
        self.dec2 = conv_bn(16, 8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, NUM_CLASSES)

    def forward(self, x):
        x = self.dec1(self.up_nearest(self.enc2(self.enc1(x))))
        x = self.dec2(self.up_bilinear(self.down(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet v1 block with the padding as its own module before the depthwise conv, as
    Keras-ported PyTorch MobileNets write it: pad, dw 3x3 (no padding), BN, ReLU6, pw 1x1, BN, ReLU6."""

    def __init__(self, pad, cin, cout, stride):
        super().__init__(pad, nn.Conv2d(cin, cin, 3, stride, 0, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6())


class FunctionalPad(nn.Module):
    """F.pad called in forward (not a module of its own in torch.nn)."""

    def __init__(self, pads):
        super().__init__()
        self.pads = pads

    def forward(self, x):
        return F.pad(x, self.pads)


class MobileNetV1Pad(nn.Module):
    """MobileNet v1 with explicit Pad nodes before the depthwise convs: nn.ZeroPad2d (symmetric
    and TF-style (0, 1, 0, 1) before stride 2), F.pad, nn.ConstantPad2d with a non-zero value.
    At opset >= 11 torch writes each as ConstantOfShape-Concat-Reshape-Slice-Transpose-Reshape-Cast-Pad."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 8, 3, 2, act='relu6'),                                  # 0 -> 16x16
            DepthwiseSeparable(nn.ZeroPad2d(1), 8, 16, 1),                      # 1
            DepthwiseSeparable(nn.ZeroPad2d((0, 1, 0, 1)), 16, 24, 2),          # 2 -> 8x8
            DepthwiseSeparable(FunctionalPad((1, 1, 1, 1)), 24, 24, 1),         # 3
            DepthwiseSeparable(nn.ConstantPad2d((1, 1, 1, 1), 0.5), 24, 32, 1),  # 4
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, NUM_CLASSES)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def same_padding_int(x, k, s, d):
    """timm before 0.9 (padding.get_same_padding): Python ints; traced as Sub(constant, Gather(Shape))."""
    return max((math.ceil(x / s) - 1) * s + (k - 1) * d + 1 - x, 0)


def same_padding_tensor(x, k, s, d):
    """timm 0.9+ (padding.get_same_padding): while tracing, x is a tensor and the padding is
    traced as Cast, Div, Ceil, Sub, Mul, Add, Sub, Clip; in eager mode it is the int rule."""
    if isinstance(x, torch.Tensor):
        return torch.clamp(((x / s).ceil() - 1) * s + (k - 1) * d + 1 - x, min=0)
    return same_padding_int(x, k, s, d)


def pad_same(x, k, s, d, value=0.0, rule=same_padding_tensor):
    """timm's pad_same: TensorFlow 'SAME' padding computed from x.shape at run time."""
    ih, iw = x.size()[-2:]
    pad_h, pad_w = rule(ih, k[0], s[0], d[0]), rule(iw, k[1], s[1], d[1])
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=value)


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: pad_same, then a conv without padding."""

    def __init__(self, *args, rule=same_padding_tensor, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        self.rule = rule

    def forward(self, x):
        x = pad_same(x, self.kernel_size, self.stride, self.dilation, rule=self.rule)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MaxPool2dSame(nn.MaxPool2d):
    """timm's MaxPool2dSame: pad_same with -inf, then max pooling."""

    def __init__(self, k, s):
        super().__init__(k, s)

    def forward(self, x):
        k, s = (self.kernel_size,) * 2, (self.stride,) * 2
        x = pad_same(x, k, s, (1, 1), value=-float('inf'))
        return F.max_pool2d(x, k, s, 0, 1, self.ceil_mode)


class TFSameNet(nn.Module):
    """TF-'same' dynamic padding as timm's tf_* models compute it, in both timm versions."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(Conv2dSame(3, 8, 3, 2, bias=False), nn.BatchNorm2d(8), nn.SiLU())  # -> 16x16
        self.pool = MaxPool2dSame(3, 2)                                                             # -> 8x8
        self.block = nn.Sequential(Conv2dSame(8, 16, 3, 1, dilation=2, bias=False, rule=same_padding_int),
                                   nn.BatchNorm2d(16), nn.ReLU())
        self.dw = nn.Sequential(Conv2dSame(16, 16, 5, 2, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU())  # -> 4x4
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        x = self.dw(self.block(self.pool(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class OldOpsetNet(nn.Module):
    """What early exporters wrote: a zero Pad module (Pad-2 attributes), nearest Upsample, a
    standalone BatchNormalization, Dropout, and x.view(x.size(0), -1) (Reshape from Shape)."""

    def __init__(self):
        super().__init__()
        self.conv1 = conv_bn(3, 8, 3, 2)             # -> 16x16
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))         # -> 17x17
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 0)        # -> 8x8
        self.relu2 = nn.ReLU()
        self.up = nn.Upsample(scale_factor=2, mode='nearest')  # -> 16x16
        self.norm = nn.BatchNorm2d(16)
        self.relu3 = nn.ReLU()
        self.conv3 = nn.Conv2d(16, 16, 3, 2, 1)       # -> 8x8
        self.relu4 = nn.ReLU()
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(16 * 8 * 8, NUM_CLASSES)

    def forward(self, x):
        x = self.relu2(self.conv2(self.pad(self.conv1(x))))
        x = self.relu4(self.conv3(self.relu3(self.norm(self.up(x)))))
        return self.fc(self.drop(x.view(x.size(0), -1)))


def to_opset7(proto):
    """torch 1.13 cannot export Upsample below opset 9: convert its opset-9 export down with
    onnx's version converter (Upsample-7 takes `scales` as an attribute), then write what
    CNTK and PyTorch 0.4-era exporters wrote beside it: BatchNormalization with spatial=1, and
    the Dropout node (ratio, is_test=1) that eval-mode torch leaves out. onnx's checker rejects
    is_test at opset 7, so the model is checked before it is added."""
    from onnx import helper, version_converter
    proto = version_converter.convert_version(proto, 7)
    onnx.checker.check_model(proto)
    for node in proto.graph.node:
        if node.op_type == 'BatchNormalization':
            node.attribute.append(helper.make_attribute('spatial', 1))
    gemm = next(n for n in proto.graph.node if n.op_type == 'Gemm')
    flat = gemm.input[0]
    gemm.input[0] = '/drop/Dropout_output_0'
    dropout = helper.make_node('Dropout', [flat], ['/drop/Dropout_output_0'], name='/drop/Dropout', ratio=0.3, is_test=1)
    proto.graph.node.insert(list(proto.graph.node).index(gemm), dropout)
    return proto


class ResidualBlock(nn.Module):
    """x + ReLU(conv(x)): a residual Add (QLinearAdd once quantized)."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return x + self.relu(self.conv(x))


class QuantNet(nn.Module):
    """The float model behind the quantized fixtures (tools/quantize_fixtures.py): conv-ReLU,
    MaxPool, conv-ReLU, a residual block, global average pooling, and a MatMul + Add head
    (onnxruntime's dynamic quantization turns MatMul, not Gemm, into MatMulInteger)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1)   # -> 16x16
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)          # -> 8x8
        self.conv2 = nn.Conv2d(8, 16, 3, 1, 1)
        self.relu2 = nn.ReLU()
        self.block = ResidualBlock(16)
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        x = self.block(self.relu2(self.conv2(self.pool(self.relu1(self.conv1(x))))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return torch.matmul(x, self.fc.weight.t()) + self.fc.bias


# Rewrites applied to a model's ONNX after torch's export (and its check).
REWRITES = {'variety_opset7': to_opset7}


# name: (constructor, input shape, layout, opset, dynamic batch, [inner layer, Grad-CAM layer], description)
SPECS = collections.OrderedDict([
    ('vgg', (VGG, (1, 3, 32, 32), 'NCHW', 13, True, ['features.3', 'features.10'],
             'VGG-style conv-BN-ReLU-MaxPool blocks (one overlapping MaxPool k3 s2), flatten, Linear-ReLU-Dropout-Linear')),
    ('resnet', (ResNet, (1, 3, 32, 32), 'NCHW', 13, True, ['layer1', 'layer2'],
                'ResNet-style BasicBlocks with residual Add, stride-2 block with 1x1 conv shortcut, GlobalAveragePool, Linear')),
    ('mobilenetv2', (MobileNetV2, (1, 3, 32, 32), 'NCHW', 13, True, ['features.1', 'features.4'],
                     'MobileNetV2 inverted residuals: depthwise convs (groups=C), ReLU6 (Clip), stride 2, residual Add')),
    ('densenet', (DenseNet, (1, 3, 32, 32), 'NCHW', 13, True, ['features.denseblock1', 'features.relu5'],
                  'DenseNet: dense blocks with Concat, transition BN-ReLU-Conv1x1-AvgPool2d(2), standalone BatchNormalization')),
    ('variety_opset11_static', (StaticReshapeHead, (1, 3, 32, 32), 'NCHW', 11, False, ['body.pool1', 'body.pool2'],
                                'opset 11, batch fixed at 1, reshape(1, -1) head (Reshape to a constant), ReLU6 as Clip')),
    ('variety_opset12', (ViewHead, (1, 3, 32, 32), 'NCHW', 12, True, ['body.pool1', 'body.pool2'],
                         'opset 12, dynamic batch, AvgPool2d body, view(x.size(0), -1) head (Shape-Gather-Unsqueeze-Concat-Reshape)')),
    ('variety_opset14', (ResidualBNFlatten, (1, 3, 32, 32), 'NCHW', 14, True, ['body.pool1', 'relu'],
                         'opset 14, residual Add then standalone BatchNormalization, GlobalAveragePool, Flatten head')),
    ('variety_opset17', (ResidualBNFlatten, (1, 3, 32, 32), 'NCHW', 17, True, ['body.pool1', 'relu'],
                         'opset 17, same architecture as variety_opset14 (different weights)')),
    ('variety_avgpool_head', (AvgPoolHead, (1, 3, 32, 32), 'NCHW', 13, True, ['body.pool1', 'conv3'],
                              'AdaptiveAvgPool2d(2) head exported as AveragePool k4 s4, then Flatten, Linear')),
    ('variety_silu', (EfficientNetLike, (1, 3, 32, 32), 'NCHW', 13, True, ['blocks.0', 'head'],
                      'EfficientNet-style: nn.SiLU and explicit x*sigmoid(x) (Sigmoid+Mul), squeeze-excite gating Mul, residual Add')),
    ('variety_nhwc', (NHWCInput, (1, 32, 32, 3), 'NHWC', 13, True, ['body.pool1', 'conv3'],
                      'NHWC input; first op is a Transpose(perm 0,3,1,2) as tf2onnx writes')),
    ('variety_upsample', (UpsampleNet, (1, 3, 32, 32), 'NCHW', 13, True, ['enc2', 'dec2'],
                          'nn.Upsample nearest x2 and bilinear x2 (align_corners=False) as Resize inside the net, convs after')),
    ('variety_pad', (MobileNetV1Pad, (1, 3, 32, 32), 'NCHW', 13, True, ['features.1', 'features.4'],
                     'MobileNet v1 with explicit Pad modules before the depthwise convs (ZeroPad2d, F.pad, ConstantPad2d 0.5): '
                     'the F.pad chain ConstantOfShape-Concat-Reshape-Slice-Transpose-Reshape-Cast-Pad')),
    ('variety_pad_same', (TFSameNet, (1, 3, 30, 30), 'NCHW', 11, True, ['stem', 'dw'],
                          "timm-style Conv2dSame / MaxPool2dSame (pad_same from x.shape: Shape-Gather-arithmetic-Cast-Unsqueeze-Concat "
                          "then the F.pad chain), opset 11, 30x30 input so 'same' pads are asymmetric")),
    ('variety_opset9', (OldOpsetNet, (1, 3, 32, 32), 'NCHW', 9, True, ['pad', 'relu4'],
                        'opset 9 as torch writes it: Pad-2 (attributes), Upsample-9 (scales input), BatchNormalization, '
                        'view(x.size(0), -1) as Shape-Gather-Unsqueeze(axes attribute)-Concat-Reshape')),
    ('variety_opset7', (OldOpsetNet, (1, 3, 32, 32), 'NCHW', 9, True, ['pad', 'relu4'],
                        'opset 7 (torch opset-9 export taken down by onnx.version_converter): Upsample-7 (scales attribute), '
                        'Pad-2, BatchNormalization with spatial=1, Dropout with is_test=1, Reshape from Shape')),
    ('quant_float', (QuantNet, (1, 3, 32, 32), 'NCHW', 13, True, ['relu2', 'block'],
                     'float model of the quantized fixtures (quantized/*.onnx): conv-ReLU, MaxPool, conv-ReLU, residual block, '
                     'GlobalAveragePool, MatMul + Add head')),
])


# ----------------------------------------------------------------------------
# Weights, export, graph matching, autograd references.
# ----------------------------------------------------------------------------

def randomise(model, seed):
    """Seeded random weights; BN running stats randomised too so BN is not an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
    model.eval()
    return model


def calibrate_logits(model, x, largest=3.0):
    """Scale the last Linear so logits span about +-3: softmax stays unsaturated, so the
    probability gradients are not vanishingly small next to the logit gradients."""
    fc = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        scale = largest / float(model(x).abs().max())
        fc.weight.mul_(scale)
        fc.bias.mul_(scale)


def nodes_of_module(graph, path):
    """Nodes whose scoped name lies inside the module at `path` (torch 1.13 naming)."""
    parts = path.split('.')
    found = []
    for node in graph.node:
        segs = node.name.split('/')[1:-1]  # '/a/a.0/conv1/Conv' -> ['a', 'a.0', 'conv1']
        if len(segs) < len(parts):
            continue
        # Each segment is either the attribute name or 'parent.attr' (Sequential children).
        ok = all(seg.split('.')[-1] == part for seg, part in zip(segs, parts))
        if ok:
            found.append(node)
    return found


def module_output_tensor(graph, path):
    """The single tensor produced inside the module and consumed outside it (or a graph output)."""
    nodes = nodes_of_module(graph, path)
    inside = {id(n) for n in nodes}
    produced = [o for n in nodes for o in n.output]
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)
    graph_outputs = {o.name for o in graph.output}
    escaping = [t for t in produced
                if t in graph_outputs or any(id(c) not in inside for c in consumers[t])]
    if len(escaping) != 1:
        raise RuntimeError(f'module {path}: expected one escaping tensor, found {escaping}')
    return escaping[0], [n.name for n in nodes], [n.op_type for n in nodes]


def gradcam(activation, grad_logit):
    # pytorch-grad-cam (jacobgil) GradCAM.get_cam_weights: weights = np.mean(grads, axis=(2, 3));
    # BaseCAM.get_cam_image: cam = (weights[:, :, None, None] * activations).sum(axis=1);
    # BaseCAM.compute_cam_per_layer: cam = np.maximum(cam, 0), before scale_cam_image
    # (min-max normalisation and resizing, which we do not apply here).
    # The target is ClassifierOutputTarget(c): the class LOGIT, not the softmax probability.
    weights = grad_logit.mean(dim=(2, 3))
    cam = (weights[:, :, None, None] * activation).sum(dim=1)
    return torch.clamp(cam, min=0)


class Blob:
    """Accumulates float32 little-endian tensors; returns JSON references to them."""

    def __init__(self):
        self.parts, self.offset = [], 0

    def add(self, t):
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype('<f4'))
        ref = {'byteOffset': self.offset, 'length': int(a.size), 'shape': list(a.shape)}
        self.parts.append(a.tobytes())
        self.offset += a.nbytes
        return ref

    def bytes(self):
        return b''.join(self.parts)


def reference_sample(model, x, layers, target_rule, blob):
    """One forward + two backward passes (target logit, target probability) in float64."""
    acts, calls = {}, collections.Counter()
    modules = dict(model.named_modules())

    def hook(name):
        def f(_m, _inp, out):
            calls[name] += 1
            out.retain_grad()
            acts[name] = out
        return f

    handles = [modules[p].register_forward_hook(hook(p)) for p in layers]
    try:
        xin = x.clone().requires_grad_(True)
        logits = model(xin)
        probs = torch.softmax(logits, dim=1)
        target = int(logits[0].argmax()) if target_rule == 'argmax' else FIXED_TARGET
        assert all(calls[p] == 1 for p in layers), calls

        logits[0, target].backward(retain_graph=True)
        g_logit = {p: acts[p].grad.clone() for p in layers}
        gx_logit = xin.grad.clone()
        for p in layers:
            acts[p].grad = None
        xin.grad = None
        probs[0, target].backward()
        g_prob = {p: acts[p].grad.clone() for p in layers}
        gx_prob = xin.grad.clone()
    finally:
        for h in handles:
            h.remove()

    rec = {
        'target': target,
        'targetRule': target_rule,
        'input': blob.add(x),
        'logits': blob.add(logits),
        'probs': blob.add(probs),
        'inputGrad': {'logit': blob.add(gx_logit), 'prob': blob.add(gx_prob)},
        'layers': {},
    }
    for p in layers:
        a = acts[p]
        entry = {'activation': blob.add(a), 'gradLogit': blob.add(g_logit[p]), 'gradProb': blob.add(g_prob[p])}
        if a.dim() == 4:
            entry['gradcam'] = blob.add(gradcam(a, g_logit[p]))
        rec['layers'][p] = entry
    return rec


def export_one(name, seed):
    ctor, shape, layout, opset, dynamic, layers, description = SPECS[name]
    torch.manual_seed(seed)
    model = randomise(ctor(), seed)
    onnx_path = os.path.join(OUT_DIR, name + '.onnx')
    dummy = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1))
    calibrate_logits(model, dummy)
    kwargs = {}
    if dynamic:
        kwargs['dynamic_axes'] = {'input': {0: 'batch'}, 'logits': {0: 'batch'}}
    torch.onnx.export(model, dummy, onnx_path, opset_version=opset, input_names=['input'],
                      output_names=['logits'], do_constant_folding=True, **kwargs)

    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)
    if name in REWRITES:
        proto = REWRITES[name](proto)
        onnx.save(proto, onnx_path)
    graph = proto.graph
    op_types = sorted({n.op_type for n in graph.node})
    opset_imported = next(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx'))

    ref_model = copy.deepcopy(model).double().eval()
    g = torch.Generator().manual_seed(seed + 100)
    blob = Blob()
    samples = []
    for i, rule in enumerate(['argmax', 'fixed']):
        x = torch.randn(shape, generator=g).double()  # float32 values: the stored input is exact
        samples.append(reference_sample(ref_model, x, layers, rule, blob))

    layer_meta = []
    for p in layers:
        tensor, node_names, node_ops = module_output_tensor(graph, p)
        layer_meta.append({
            'modulePath': p,
            'moduleType': type(dict(model.named_modules())[p]).__name__,
            'onnxTensor': tensor,
            'onnxNodes': node_names,
            'onnxOps': node_ops,
            'shape': samples[0]['layers'][p]['activation']['shape'],
            'gradcamTarget': p == layers[-1],
        })

    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]

    meta = {
        'name': name,
        'description': description,
        'generator': 'tools/export_fixtures.py (torch %s, onnx %s)' % (torch.__version__, onnx.__version__),
        'onnx': name + '.onnx',
        'bin': name + '.bin',
        'binFormat': 'float32 little-endian; each tensor reference is {byteOffset, length, shape}',
        'opset': opset_imported,
        'dynamicBatch': dynamic,
        'params': sum(p.numel() for p in model.parameters()),
        'opTypes': op_types,
        'input': {'name': graph.input[0].name, 'shape': list(shape), 'onnxShape': dims(graph.input[0]),
                  'layout': layout},
        'output': {'name': graph.output[0].name, 'shape': [1, NUM_CLASSES], 'onnxShape': dims(graph.output[0])},
        'numClasses': NUM_CLASSES,
        'gradcamLayer': layers[-1],
        'layers': layer_meta,
        'samples': samples,
        'precision': 'references computed in float64 with the float32 weights, stored as float32',
    }
    with open(os.path.join(OUT_DIR, name + '.bin'), 'wb') as f:
        f.write(blob.bytes())
    with open(os.path.join(OUT_DIR, name + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'{name}: opset {opset_imported}, {meta["params"]} params, ops {" ".join(op_types)}')
    for lm in layer_meta:
        print(f'  {lm["modulePath"]} -> {lm["onnxTensor"]} {lm["shape"]}')


def main(argv):
    os.makedirs(OUT_DIR, exist_ok=True)
    names = argv or list(SPECS)
    for name in names:
        if name not in SPECS:
            sys.exit(f'unknown model {name}; known: {", ".join(SPECS)}')
        export_one(name, seed=1000 + list(SPECS).index(name))


if __name__ == '__main__':
    main(sys.argv[1:])
