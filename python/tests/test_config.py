"""multigrid.Config: PySlowFast's keys from a dict or a YAML file, read and checked as the C++
tools read them; bad values raise ValueError naming the key and the value."""

import os

import pytest

import multigrid
from cpp_reference import SOURCE_DIR

KINETICS = os.path.join(
    SOURCE_DIR, "reference", "configs", "Kinetics", "SLOWFAST_8x8_R50_stepwise_multigrid.yaml"
)


def test_defaults_are_pyslowfast_defaults():
    cfg = multigrid.Config()
    assert cfg.num_gpus == 1
    assert cfg.batch_size == 64
    assert (cfg.num_frames, cfg.sampling_rate, cfg.train_crop_size) == (8, 8, 224)
    assert cfg.train_jitter_scales == (256, 320)
    assert cfg.lr_policy == "cosine"
    assert cfg.max_epoch == 300
    assert not cfg.uses_multigrid


def test_nested_and_dotted_keys_read_the_same():
    nested = multigrid.Config(
        {"NUM_GPUS": 8, "TRAIN": {"BATCH_SIZE": 32}, "MULTIGRID": {"LONG_CYCLE": True}}
    )
    dotted = multigrid.Config.from_dict(
        {"NUM_GPUS": 8, "TRAIN.BATCH_SIZE": 32, "MULTIGRID.LONG_CYCLE": True}
    )
    for cfg in (nested, dotted):
        assert (cfg.num_gpus, cfg.devices, cfg.batch_size, cfg.long_cycle) == (8, 8, 32, True)
    assert multigrid.Plan(nested, 10000).steps == multigrid.Plan(dotted, 10000).steps


def test_yaml_file_and_overrides():
    cfg = multigrid.Config.from_yaml(KINETICS)
    assert (cfg.num_gpus, cfg.batch_size, cfg.num_frames) == (8, 64, 32)
    assert cfg.long_cycle and cfg.short_cycle
    changed = multigrid.Config.from_yaml(KINETICS, ["SOLVER.MAX_EPOCH", "250", "NUM_GPUS", "4"])
    assert (changed.max_epoch, changed.num_gpus) == (250, 4)


def test_numpy_like_numbers_and_tuples_are_accepted():
    class Index:
        def __index__(self):
            return 16

    cfg = multigrid.Config({"DATA": {"NUM_FRAMES": Index(), "TRAIN_JITTER_SCALES": (200, 300)}})
    assert cfg.num_frames == 16
    assert cfg.train_jitter_scales == (200, 300)


@pytest.mark.parametrize(
    "values, named",
    [
        ({"SOLVER": {"BASE_LR": "fast"}}, "SOLVER.BASE_LR = fast"),
        ({"TRAIN.BATCH_SIZE": 1.5}, "TRAIN.BATCH_SIZE = 1.5"),
        ({"MULTIGRID": {"LONG_CYCLE": "maybe"}}, "MULTIGRID.LONG_CYCLE = maybe"),
        ({"SOLVER.LR_POLICY": "linear"}, "SOLVER.LR_POLICY = linear"),
        ({"DATA.TRAIN_JITTER_SCALES": [256]}, "DATA.TRAIN_JITTER_SCALES = [256]"),
        ({"DATA.NUM_FRAMES": None}, "DATA.NUM_FRAMES"),
        ({"DATA.NUM_FRAMES": 0}, "DATA.NUM_FRAMES = 0"),
        ({"NUM_GPUS": -1}, "NUM_GPUS = -1"),
        ({"SOLVER.STEPS": [0, 10, 5], "SOLVER.MAX_EPOCH": 20}, "SOLVER.STEPS[2] = 5"),
        ({"DATA.NUM_FRAMES": object()}, "DATA.NUM_FRAMES = <object object"),
    ],
)
def test_bad_values_raise_value_error_naming_key_and_value(values, named):
    with pytest.raises(ValueError) as raised:
        multigrid.Config(values)
    assert named in str(raised.value)
    assert isinstance(raised.value, multigrid.ConfigError)


def test_unknown_keys_are_refused_with_the_nearest_known_one():
    with pytest.raises(multigrid.ConfigError, match="SOLVER.BASE_LRR: unknown key; did you mean SOLVER.BASE_LR"):
        multigrid.Config({"SOLVER": {"BASE_LRR": 0.1}})
    with pytest.raises(ValueError, match="SOLVR: unknown key; did you mean SOLVER"):
        multigrid.Config({"SOLVR": {"BASE_LR": 0.1}})


def test_pyslowfast_keys_the_schedule_does_not_read_are_accepted():
    cfg = multigrid.Config({"MODEL": {"NUM_CLASSES": 400}, "SOLVER": {"MOMENTUM": 0.9}})
    assert cfg.num_gpus == 1


def test_a_yaml_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("SOLVER:\n  BASE_LR: 0.1\n  MAX_EPOCH: many\n")
    with pytest.raises(ValueError, match=r"bad.yaml:3: SOLVER.MAX_EPOCH = many: must be an integer"):
        multigrid.Config.from_yaml(str(path))
    with pytest.raises(ValueError, match="cannot open"):
        multigrid.Config.from_yaml(str(tmp_path / "missing.yaml"))


def test_a_plan_too_large_for_the_data_names_the_training_samples():
    with pytest.raises(ValueError, match="training samples = 10: too few"):
        multigrid.Plan({"NUM_GPUS": 8}, 10)
    with pytest.raises(ValueError, match="training samples = -1"):
        multigrid.Plan({}, -1)


def test_a_config_is_not_a_list():
    with pytest.raises(TypeError):
        multigrid.Config([("NUM_GPUS", 8)])
