"""PySlowFast-format SlowFast weights cross between PyTorch and the C++ trainer in both directions
and give the same logits:

- a `.pyth` that PyTorch writes as PySlowFast's save_checkpoint does (an OrderedDict state dict
  under "model_state") loads into the C++ model through the trainer's TRAIN.CHECKPOINT_FILE_PATH
  path;
- what multigrid-export-weights writes of a checkpoint (`.pyth` and `.safetensors`) loads with
  torch.load (or NumPy) and load_state_dict(strict=True) into a PyTorch SlowFast built under
  PySlowFast's names (pyslowfast_layout_model.py).

Both sides run the evaluation forward on the CPU with one thread and the same LibTorch, so the
logits must be bit-identical: every operation gets the same inputs in the same order.
"""
import collections
import json
import os
import subprocess

import pytest
import torch

import multigrid_checkpoint
import pyslowfast_layout_model as layout

# The published SlowFast-R50 8x8 config at a quarter of the width and with 10 classes, so that a
# test takes seconds on a CPU: the tensors' names and count do not depend on either.
CONFIG = os.path.join(os.environ.get("MULTIGRID_SOURCE_DIR", ""),
                      "reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml")
OVERRIDES = ["RESNET.WIDTH_PER_GROUP", "16", "MODEL.NUM_CLASSES", "10"]
CLIP_SHAPE = (2, 3, 16, 64, 64)  # two clips of 16 fast frames (4 slow) at 64 x 64
EPOCH = 3

# Names PySlowFast's SlowFast gives some of its tensors, written out here so that a drift shared
# by the C++ model and the PyTorch one still fails.
PYSLOWFAST_NAMES = [
    "s1.pathway0_stem.conv.weight", "s1.pathway1_stem.bn.running_mean", "s1_fuse.conv_f2s.weight",
    "s1_fuse.bn.num_batches_tracked", "s2.pathway0_res0.branch1.weight",
    "s2.pathway0_res0.branch1_bn.running_var", "s2.pathway0_res0.branch2.a_bn.num_batches_tracked",
    "s3_fuse.bn.weight", "s4.pathway1_res5.branch2.b.weight", "s5.pathway1_res2.branch2.c_bn.bias",
    "head.projection.weight", "head.projection.bias",
]


def run_tool(variable, *arguments):
    tool = os.environ.get(variable)
    if not tool:
        pytest.fail(variable + " is not set: run this test through CTest")
    result = subprocess.run([tool, *map(str, arguments)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def options():
    torch.set_num_threads(1)
    return json.loads(run_tool("MULTIGRID_WEIGHTS_REFERENCE", "options", CONFIG, *OVERRIDES))


@pytest.fixture()
def clip(tmp_path):
    """A random fast-pathway clip, and the file the C++ side reads it from."""
    fast = torch.randn(CLIP_SHAPE, generator=torch.Generator().manual_seed(11))
    path = tmp_path / "clip.safetensors"
    multigrid_checkpoint.write(str(path), {"fast": fast.numpy()}, {})
    return fast, path


def logits_of(net, fast, alpha):
    net.eval()
    with torch.no_grad():
        return net([layout.slow_pathway(fast, alpha), fast])


def read_logits(path):
    tensors, _ = multigrid_checkpoint.read(str(path))
    return torch.from_numpy(tensors["logits"].copy())


def assert_same_logits(ours, theirs):
    assert ours.shape == theirs.shape
    assert torch.isfinite(ours).all() and ours.abs().max() > 0, ours
    difference = (ours - theirs).abs().max().item()
    assert torch.equal(ours, theirs), "logits differ by up to %g:\n%s\n%s" % (difference, ours,
                                                                             theirs)


def assert_same_names(state, net):
    ours = {name: tuple(tensor.shape) for name, tensor in net.state_dict().items()}
    theirs = {name: tuple(tensor.shape) for name, tensor in state.items()}
    assert sorted(set(ours) - set(theirs)) == [] and sorted(set(theirs) - set(ours)) == []
    assert {name: shape for name, shape in theirs.items() if ours[name] != shape} == {}
    assert [name for name in PYSLOWFAST_NAMES if name not in theirs] == []


def randomize(net, generator):
    """Draws every BN statistic and affine parameter (the convolutions and the classifier keep
    PyTorch's random initialisation), so that no tensor keeps a value a loader could get right by
    chance: scales of 1, statistics of 0 and 1."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0.0, 0.2, generator=generator)
                module.running_mean.normal_(0.0, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                steps = torch.randint(1, 1000, (), generator=generator)
                module.num_batches_tracked.fill_(int(steps))


def test_pyslowfast_weights_load_in_cpp(options, clip, tmp_path):
    fast, clip_path = clip
    torch.manual_seed(5)
    net = layout.SlowFast(options)
    randomize(net, torch.Generator().manual_seed(6))
    state = net.state_dict()
    assert isinstance(state, collections.OrderedDict)
    assert [name for name in PYSLOWFAST_NAMES if name not in state] == []
    weights = tmp_path / "weights.pyth"
    # As PySlowFast's save_checkpoint writes a checkpoint (without the optimizer).
    torch.save({"model_state": state, "epoch": EPOCH}, str(weights))

    logits = tmp_path / "logits.safetensors"
    run_tool("MULTIGRID_WEIGHTS_REFERENCE", "logits", CONFIG, weights, clip_path, logits,
             *OVERRIDES)
    assert_same_logits(read_logits(logits), logits_of(net, fast, options["alpha"]))


def test_exported_weights_load_in_pytorch(options, clip, tmp_path):
    fast, clip_path = clip
    checkpoint, logits = tmp_path / "random.ckpt", tmp_path / "logits.safetensors"
    run_tool("MULTIGRID_WEIGHTS_REFERENCE", "random-checkpoint", CONFIG, 7, EPOCH, clip_path,
             checkpoint, logits, *OVERRIDES)
    expected = read_logits(logits)
    pyth, safetensors = tmp_path / "weights.pyth", tmp_path / "weights.safetensors"
    run_tool("MULTIGRID_EXPORT_WEIGHTS", checkpoint, pyth)
    run_tool("MULTIGRID_EXPORT_WEIGHTS", checkpoint, safetensors)

    exported = torch.load(str(pyth), map_location="cpu")
    assert exported["epoch"] == EPOCH
    state = exported["model_state"]
    net = layout.SlowFast(options)
    assert_same_names(state, net)
    net.load_state_dict(state, strict=True)
    assert_same_logits(logits_of(net, fast, options["alpha"]), expected)

    # The same tensors with NumPy alone, as docs/training.md says a user can read them.
    arrays, metadata = multigrid_checkpoint.read(str(safetensors))
    assert metadata["epoch"] == str(EPOCH)
    state = {name: torch.from_numpy(array.copy()) for name, array in arrays.items()}
    net = layout.SlowFast(options)
    assert_same_names(state, net)
    net.load_state_dict(state, strict=True)
    assert_same_logits(logits_of(net, fast, options["alpha"]), expected)
