#!/usr/bin/python3
"""Train the small demo CNN shipped in assets/demo/ on images from src/demo/.

Run by hand from the repo root with Debian's Python (it has torch 1.13; the pyenv python3 on
PATH does not):

    nice -n 10 /usr/bin/python3 tools/train_demo.py

Steps: dump train/test images with the TypeScript generator (tools/demo-dump.ts), score a
colour-histogram baseline (to show colour alone cannot tell the class), train a VGG-style CNN
with fixed seeds on 2 threads, and export assets/demo/demo-cnn.onnx (ending in Softmax),
labels.json, preprocess.json and metrics.json. See assets/demo/MODEL_CARD.md.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dump(work, name, count, seed, size):
    """Writes WORK/NAME/{images.u8,labels.u8,meta.json} unless an identical dump exists."""
    out = os.path.join(work, name)
    meta_path = os.path.join(out, 'meta.json')
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta['count'] == count and meta['seed'] == seed and meta['size'] == size and meta.get('start', 0) == 0:
            print(f'reusing {out}')
            return load(out)
    subprocess.run(['npx', 'tsx', 'tools/demo-dump.ts', '--count', str(count), '--seed', str(seed),
                    '--size', str(size), '--out', out], cwd=REPO, check=True)
    return load(out)


def load(out):
    with open(os.path.join(out, 'meta.json')) as f:
        meta = json.load(f)
    n, s = meta['count'], meta['size']
    images = np.fromfile(os.path.join(out, 'images.u8'), dtype=np.uint8).reshape(n, s, s, 3)
    labels = np.fromfile(os.path.join(out, 'labels.u8'), dtype=np.uint8).astype(np.int64)
    return images, labels, meta


def colour_histograms(images, bins=8):
    """Per-channel histograms (3 x bins), as fractions of the pixels."""
    q = (images.astype(np.int64) * bins) // 256
    n = images.shape[0]
    feats = np.zeros((n, 3 * bins), dtype=np.float64)
    for c in range(3):
        for b in range(bins):
            feats[:, c * bins + b] = (q[..., c] == b).mean(axis=(1, 2))
    return feats


def baselines(train_x, train_y, test_x, test_y, k):
    """Nearest-centroid and multinomial logistic regression on colour histograms."""
    feats_tr = colour_histograms(train_x)
    feats_te = colour_histograms(test_x)
    centroids = np.stack([feats_tr[train_y == c].mean(axis=0) for c in range(k)])
    d = ((feats_te[:, None, :] - centroids[None]) ** 2).sum(-1)
    nc_acc = float((d.argmin(1) == test_y).mean())

    mu, sd = feats_tr.mean(0), feats_tr.std(0) + 1e-6
    xtr = torch.tensor((feats_tr - mu) / sd, dtype=torch.float32)
    xte = torch.tensor((feats_te - mu) / sd, dtype=torch.float32)
    ytr = torch.tensor(train_y)
    lin = nn.Linear(xtr.shape[1], k)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(xtr), ytr) + 1e-3 * (lin.weight ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        lr_train = float((lin(xtr).argmax(1) == ytr).float().mean())
        lr_acc = float((lin(xte).argmax(1).numpy() == test_y).mean())
    return {'nearestCentroid': nc_acc, 'logisticRegression': lr_acc, 'logisticRegressionTrain': lr_train,
            'features': '3x8-bin per-channel RGB histogram', 'chance': 1.0 / k}


class DemoCnn(nn.Module):
    """VGG-style: conv blocks (3x3 conv + ReLU, 2x2 max-pool), then a two-layer dense head."""

    def __init__(self, size, k, blocks=((8,), (16, 16), (32, 32), (64, 64)), hidden=64, batch_norm=True):
        super().__init__()
        layers, cin, s = [], 3, size
        for block in blocks:
            for c in block:
                layers += [nn.Conv2d(cin, c, 3, padding=1)]
                # Batch norm only to train faster: export in eval mode folds it into the conv.
                if batch_norm:
                    layers.append(nn.BatchNorm2d(c))
                layers.append(nn.ReLU())
                cin = c
            layers.append(nn.MaxPool2d(2))
            s //= 2
        self.features = nn.Sequential(*layers)
        # A max-pool over the whole last map (an ordinary MaxPool node, kernel = map size) makes
        # the head position-invariant: with Flatten straight after 8x8 maps the dense layer had
        # to learn every class at every position and training sat at chance for epochs.
        self.head = nn.Sequential(nn.MaxPool2d(s), nn.Flatten(), nn.Linear(cin, hidden), nn.ReLU(), nn.Linear(hidden, k))
        # He initialisation: without batch norm, PyTorch's default (smaller) init leaves this
        # 9-layer ReLU stack stuck at chance for the first epochs.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.features(x))


def to_input(images):
    """uint8 NHWC -> float32 NCHW in [0, 1] (the 'unit' preset)."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)


def evaluate(model, images, labels, batch=200):
    model.eval()
    correct, probs_max = 0, []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(to_input(images[i:i + batch]))
            correct += int((logits.argmax(1).numpy() == labels[i:i + batch]).sum())
            probs_max.append(F.softmax(logits, 1).max(1).values.numpy())
    model.train()
    return correct / len(images), np.concatenate(probs_max)


def tidy_onnx(path):
    """Readable names and no weight-sharing Identity nodes in the exported graph.

    Nodes and their output tensors become block1_conv1, block1_relu1, block1_pool, ...,
    global_max_pool, flatten, fc1, fc1_relu, fc2 (its output tensor 'logits'), softmax (the
    output stays 'probabilities'), weights
    <node>.weight / <node>.bias, so `--layer block4_conv2` reads well in the docs. The exporter
    writes Identity nodes when two folded initializers are equal; they become initializers.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    for node in [n for n in g.node if n.op_type == 'Identity' and n.input[0] in inits]:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[node.input[0]])
        copy.name = node.output[0]
        g.initializer.append(copy)
        inits[copy.name] = copy
        g.node.remove(node)
    tensor_names, block, conv, fc = {}, 1, 0, 0
    for node in g.node:
        if node.op_type == 'Conv':
            conv += 1
            name = f'block{block}_conv{conv}'
        elif node.op_type == 'Relu':
            name = f'block{block}_relu{conv}' if fc == 0 else f'fc{fc}_relu'
        elif node.op_type == 'MaxPool':
            if conv == 0:
                name = 'global_max_pool'
            else:
                name = f'block{block}_pool'
                block, conv = block + 1, 0
        elif node.op_type == 'Flatten':
            name = 'flatten'
        elif node.op_type == 'Gemm':
            fc += 1
            name = f'fc{fc}'
        elif node.op_type == 'Softmax':
            name = 'softmax'
            tensor_names[node.input[0]] = 'logits'
        else:
            raise ValueError(f'unexpected node {node.op_type} in the exported demo model')
        node.name = name
        if node.output[0] != 'probabilities' and node.output[0] not in tensor_names:
            tensor_names[node.output[0]] = name
        for i, suffix in ((1, 'weight'), (2, 'bias')):
            if len(node.input) > i and node.input[i] in inits:
                tensor_names[node.input[i]] = f'{name}.{suffix}'
    for node in g.node:
        node.input[:] = [tensor_names.get(x, x) for x in node.input]
        node.output[:] = [tensor_names.get(x, x) for x in node.output]
    for t in g.initializer:
        t.name = tensor_names.get(t.name, t.name)
    used = {x for n in g.node for x in n.input}
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)
    del g.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return [n.name for n in g.node]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--train-count', type=int, default=30000)
    p.add_argument('--train-seed', type=int, default=1001)
    p.add_argument('--test-count', type=int, default=1000)
    p.add_argument('--test-seed', type=int, default=2002)
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--seed', type=int, default=0, help='torch seed (init and shuffling)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--resume', action='store_true', help='continue from the last epoch checkpoint in --work')
    p.add_argument('--export-only', action='store_true', help='with --resume: export the checkpoint as it is')
    p.add_argument('--work', default='/tmp/rsi-grad-cam-demo-data', help='where the raw dumps go')
    p.add_argument('--out', default=os.path.join(REPO, 'assets', 'demo'))
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t_start = time.time()

    train_x, train_y, meta = dump(args.work, f'train-{args.train_seed}-{args.size}', args.train_count, args.train_seed, args.size)
    test_x, test_y, _ = dump(args.work, f'test-{args.test_seed}-{args.size}', args.test_count, args.test_seed, args.size)
    classes = meta['classes']
    k = len(classes)
    print(f'train {train_x.shape} test {test_x.shape} classes {classes}')
    print('class counts (train):', np.bincount(train_y, minlength=k).tolist())

    base = baselines(train_x, train_y, test_x, test_y, k)
    print('colour-histogram baselines on held-out:', json.dumps(base))

    model = DemoCnn(args.size, k)
    n_params = sum(p.numel() for p in model.parameters())
    print(model)
    print('parameters:', n_params)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train_x) / args.batch)
    total = steps_per_epoch * args.epochs
    # Linear warm-up for 100 steps, then cosine decay to 0.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gen = torch.Generator().manual_seed(args.seed)
    t_train = time.time()
    history = []
    start_epoch = 0
    # A checkpoint after every epoch (model, optimiser, schedule, shuffling RNG), so an
    # interrupted run resumes with --resume and ends with the same weights.
    ckpt_path = os.path.join(args.work, f'checkpoint-{args.train_seed}-{args.seed}-{args.epochs}.pt')
    if args.resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['opt'])
        sched.load_state_dict(ckpt['sched'])
        gen.set_state(ckpt['gen'])
        history, start_epoch = ckpt['history'], ckpt['epoch']
        t_train -= ckpt['seconds']
        print(f'resumed from {ckpt_path} after epoch {start_epoch}')
    if args.export_only:
        if not (args.resume and os.path.exists(ckpt_path)):
            raise SystemExit(f'--export-only needs --resume and a checkpoint at {ckpt_path}')
        start_epoch = args.epochs
    for epoch in range(start_epoch, args.epochs):
        order = torch.randperm(len(train_x), generator=gen).numpy()
        running, seen, correct = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * args.batch:(b + 1) * args.batch])
            x = to_input(train_x[idx])
            # Flips and quarter turns map every class onto itself; with 12000 images and no
            # augmentation the model overfit (train 0.93, held-out 0.81).
            x = torch.rot90(x, int(torch.randint(4, (1,), generator=gen)), (2, 3))
            if int(torch.randint(2, (1,), generator=gen)):
                x = torch.flip(x, (3,))
            y = torch.from_numpy(train_y[idx])
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss) * len(idx)
            seen += len(idx)
            correct += int((logits.argmax(1) == y).sum())
            if b % 50 == 0:
                print(f'  epoch {epoch + 1} step {b}/{steps_per_epoch} loss {running / seen:.4f} '
                      f'acc {correct / seen:.3f} ({time.time() - t_train:.0f}s)', flush=True)
        test_acc, _ = evaluate(model, test_x, test_y)
        history.append({'epoch': epoch + 1, 'trainLoss': running / seen, 'trainAcc': correct / seen,
                        'testAcc': test_acc, 'seconds': round(time.time() - t_train, 1)})
        print(f'epoch {epoch + 1}: loss {running / seen:.4f} train acc {correct / seen:.4f} '
              f'held-out acc {test_acc:.4f} ({time.time() - t_train:.0f}s)', flush=True)
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'sched': sched.state_dict(),
                    'gen': gen.get_state(), 'history': history, 'epoch': epoch + 1,
                    'seconds': time.time() - t_train}, ckpt_path)
    train_seconds = time.time() - t_train

    test_acc, pmax = evaluate(model, test_x, test_y)
    print(f'held-out accuracy {test_acc:.4f}; softmax max > 0.999 on {(pmax > 0.999).mean():.3f} of held-out')

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, 'demo-cnn.onnx')
    model.eval()
    # The Softmax is part of the model, as in a Keras classifier: its output saturates.
    torch.onnx.export(nn.Sequential(model, nn.Softmax(dim=1)).eval(), torch.zeros(1, 3, args.size, args.size), onnx_path,
                      opset_version=13, input_names=['input'], output_names=['probabilities'],
                      dynamic_axes={'input': {0: 'batch'}, 'probabilities': {0: 'batch'}}, do_constant_folding=True)
    print('nodes:', ' '.join(tidy_onnx(onnx_path)))
    onnx_bytes = os.path.getsize(onnx_path)
    print(f'wrote {onnx_path} ({onnx_bytes} bytes)')

    with open(os.path.join(args.out, 'labels.json'), 'w') as f:
        json.dump(classes, f)
        f.write('\n')
    with open(os.path.join(args.out, 'preprocess.json'), 'w') as f:
        json.dump({'size': [args.size, args.size], 'layout': 'NCHW', 'channelOrder': 'RGB', 'preset': 'unit'}, f)
        f.write('\n')
    metrics = {
        'heldOutAccuracy': test_acc,
        'heldOut': {'seed': args.test_seed, 'count': args.test_count},
        'train': {'seed': args.train_seed, 'count': args.train_count, 'epochs': args.epochs, 'batch': args.batch,
                  'lr': args.lr, 'torchSeed': args.seed, 'threads': args.threads, 'seconds': round(train_seconds, 1)},
        'heldOutSaturatedFraction': float((pmax > 0.999).mean()),
        'colourHistogramBaseline': base,
        'parameters': n_params,
        'onnxBytes': onnx_bytes,
        'torch': torch.__version__,
        'history': history,
        'totalSeconds': round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
        f.write('\n')
    print(json.dumps({k: v for k, v in metrics.items() if k != 'history'}, indent=1))


if __name__ == '__main__':
    sys.exit(main())
