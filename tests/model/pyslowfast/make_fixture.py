#!/usr/bin/python3
"""Writes pyslowfast_batch_norm.json: what PySlowFast's own BatchNorm code computes on small inputs,
for tests/model/pyslowfast_numerics_test.cpp to compare ours against.

It imports, from checkouts given on the command line (nothing of theirs is copied here):
  - slowfast/models/batchnorm_helper.py: SubBatchNorm3d (training forward, backward, running
    statistics, aggregate_stats, evaluation forward), and torch's BatchNorm3d, which PySlowFast's
    get_norm returns for "batchnorm";
  - fvcore/nn/precise_bn.py: update_bn_stats, the precise-BN pass PySlowFast's train_net.py calls
    (and, for comparison, the estimator fvcore used before May 2021);
and trains a small network built from those modules for a few SGD steps.

  /usr/bin/python3 tests/model/pyslowfast/make_fixture.py --slowfast SLOWFAST_CHECKOUT \
      --fvcore FVCORE_CHECKOUT [--slowfast-revision SHA --fvcore-revision SHA] \
      [--out tests/model/pyslowfast/pyslowfast_batch_norm.json]

Only slowfast/models/batchnorm_helper.py and fvcore/nn/precise_bn.py are read from the checkouts.

Needs torch (Debian's python3-torch). PySlowFast's imports of pytorchvideo and tqdm are stubbed:
the functions used here do not reach them.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import types

import torch


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stub(name, **attributes):
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def revision(checkout, given):
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def values(tensor):
    return [float("%.9g" % v) for v in tensor.detach().reshape(-1).tolist()]


def tensor_entry(tensor):
    return {"shape": list(tensor.shape), "values": values(tensor)}


def norm_layer(batchnorm_helper, channels, splits):
    """What PySlowFast's get_norm builds: BatchNorm3d for "batchnorm", else SubBatchNorm3d."""
    if splits == 1:
        return torch.nn.BatchNorm3d(num_features=channels)
    return batchnorm_helper.SubBatchNorm3d(num_splits=splits, num_features=channels)


def running_statistics(layer, splits):
    inner = layer if splits == 1 else layer.split_bn
    return inner.running_mean, inner.running_var


def aggregate(layer, splits):
    if splits > 1:
        layer.aggregate_stats()
    inner = layer if splits == 1 else layer.bn
    return inner.running_mean, inner.running_var


def sub_batch_norm_cases(batchnorm_helper):
    """Training forward/backward and statistics of one layer, at each split count."""
    generator = torch.Generator().manual_seed(7)
    shape = (8, 3, 2, 3, 2)
    first = torch.randn(shape, generator=generator) * 2 + 0.5
    second = torch.randn(shape, generator=generator) * 1.5 - 0.25
    third = torch.randn(shape, generator=generator)
    upstream = torch.randn(shape, generator=generator)
    weight = torch.tensor([0.5, 1.5, -0.7])
    bias = torch.tensor([0.1, -0.2, 0.3])
    cases = []
    for splits in (1, 2, 4, 8):
        layer = norm_layer(batchnorm_helper, 3, splits)
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        layer.train()
        layer(first)
        x = second.clone().requires_grad_(True)
        out = layer(x)
        (out * upstream).sum().backward()
        split_mean, split_var = running_statistics(layer, splits)
        split_mean, split_var = split_mean.clone(), split_var.clone()
        mean, var = aggregate(layer, splits)
        layer.eval()
        with torch.no_grad():
            evaluated = layer(third)
        cases.append({
            "splits": splits,
            "output": values(out),
            "grad_input": values(x.grad),
            "grad_weight": values(layer.weight.grad),
            "grad_bias": values(layer.bias.grad),
            "split_running_mean": values(split_mean),
            "split_running_var": values(split_var),
            "pooled_running_mean": values(mean),
            "pooled_running_var": values(var),
            "evaluation_output": values(evaluated),
        })
    return {"first": tensor_entry(first), "second": tensor_entry(second),
            "third": tensor_entry(third), "upstream": tensor_entry(upstream),
            "weight": values(weight), "bias": values(bias), "cases": cases}


class ConvNorm(torch.nn.Module):
    """A 1x1x1 convolution and a norm layer: precise BN sees the convolution's output."""

    def __init__(self, batchnorm_helper, splits, weight):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, kernel_size=1, bias=False)
        self.norm = norm_layer(batchnorm_helper, 4, splits)
        with torch.no_grad():
            self.conv.weight.copy_(weight)

    def forward(self, x):
        return self.norm(self.conv(x))


def precise_batch_norm_cases(batchnorm_helper, precise_bn):
    generator = torch.Generator().manual_seed(11)
    weight = torch.randn(4, 3, 1, 1, 1, generator=generator)
    batches = [torch.randn(4, 3, 2, 3, 3, generator=generator) * (1 + i) + i for i in range(3)]
    cases = []
    for estimator in ("population", "mean_of_batch_variances"):
        for splits in (1, 2):
            model = ConvNorm(batchnorm_helper, splits, weight)
            model.train()
            original = precise_bn._PopulationVarianceEstimator
            if estimator == "mean_of_batch_variances":
                precise_bn._PopulationVarianceEstimator = precise_bn._MeanOfBatchVarianceEstimator
            try:
                precise_bn.update_bn_stats(model, iter(batches), len(batches))
            finally:
                precise_bn._PopulationVarianceEstimator = original
            mean, var = aggregate(model.norm, splits)
            cases.append({"estimator": estimator, "splits": splits,
                          "running_mean": values(mean), "running_var": values(var)})
    return {"conv_weight": tensor_entry(weight),
            "batches": [tensor_entry(b) for b in batches], "cases": cases}


class SmallNet(torch.nn.Module):
    def __init__(self, batchnorm_helper, splits):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, kernel_size=(1, 3, 3), padding=(0, 1, 1), bias=False)
        self.norm = norm_layer(batchnorm_helper, 4, splits)
        self.head = torch.nn.Linear(4, 5)

    def forward(self, x):
        x = torch.relu(self.norm(self.conv(x)))
        return self.head(x.mean(dim=(2, 3, 4)))


def training_cases(batchnorm_helper):
    """Four SGD steps (momentum 0.9, Nesterov, weight decay 1e-4 except on the norm's parameters,
    as our recipe) of a convolution, a norm layer and a linear head."""
    generator = torch.Generator().manual_seed(13)
    start = SmallNet(batchnorm_helper, 1)
    with torch.no_grad():
        for parameter in start.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    initial = {name: p.detach().clone() for name, p in start.named_parameters()}
    clips = [torch.randn(8, 3, 2, 4, 4, generator=generator) for _ in range(4)]
    labels = [torch.randint(0, 5, (8,), generator=generator) for _ in range(4)]
    lrs = [0.1, 0.2, 0.05, 0.1]
    cases = []
    for splits in (1, 2, 4):
        net = SmallNet(batchnorm_helper, splits)
        with torch.no_grad():
            for name, parameter in net.named_parameters():
                parameter.copy_(initial[name])
        norm = [p for n, p in net.named_parameters() if n.startswith("norm.")]
        other = [p for n, p in net.named_parameters() if not n.startswith("norm.")]
        optimizer = torch.optim.SGD([{"params": other, "weight_decay": 1e-4},
                                     {"params": norm, "weight_decay": 0.0}],
                                    lr=0.1, momentum=0.9, nesterov=True)
        net.train()
        losses = []
        for x, y, lr in zip(clips, labels, lrs):
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
        mean, var = aggregate(net.norm, splits)
        cases.append({"splits": splits, "losses": losses,
                      "parameters": {name: values(p) for name, p in net.named_parameters()},
                      "running_mean": values(mean), "running_var": values(var)})
    return {"initial": {name: tensor_entry(p) for name, p in initial.items()},
            "clips": [tensor_entry(c) for c in clips], "labels": [values(l) for l in labels],
            "lrs": lrs, "cases": cases}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slowfast", required=True, help="a PySlowFast checkout")
    ap.add_argument("--fvcore", required=True, help="an fvcore checkout")
    ap.add_argument("--slowfast-revision", help="the checkout's commit, when it is not a git work tree")
    ap.add_argument("--fvcore-revision", help="the same for fvcore")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "pyslowfast_batch_norm.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    stub("pytorchvideo")
    stub("pytorchvideo.layers")
    stub("pytorchvideo.layers.batch_norm", NaiveSyncBatchNorm1d=None, NaiveSyncBatchNorm3d=None)
    stub("tqdm", tqdm=lambda iterable, **_: iterable)
    batchnorm_helper = load_module(
        "batchnorm_helper", os.path.join(args.slowfast, "slowfast", "models", "batchnorm_helper.py"))
    precise_bn = load_module("precise_bn", os.path.join(args.fvcore, "fvcore", "nn", "precise_bn.py"))

    fixture = {
        "made_by": "tests/model/pyslowfast/make_fixture.py",
        "pyslowfast": revision(args.slowfast, args.slowfast_revision),
        "fvcore": revision(args.fvcore, args.fvcore_revision),
        "torch": torch.__version__,
        "sub_batch_norm": sub_batch_norm_cases(batchnorm_helper),
        "precise_batch_norm": precise_batch_norm_cases(batchnorm_helper, precise_bn),
        "training": training_cases(batchnorm_helper),
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
