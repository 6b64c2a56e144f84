"""bench/training/compare_schedules.py reads a run's metrics as the trainer writes them, and says
when each run left the loss plateau: the column that separates a lost run from a slow one."""

import importlib.util
import json
import math
import os

import pytest

SOURCE_DIR = os.environ.get("MULTIGRID_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(SOURCE_DIR, "bench", "training", "compare_schedules.py")

spec = importlib.util.spec_from_file_location("compare_schedules", SCRIPT)
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def write_metrics(folder, losses, test_top1=None, seconds_per_epoch=10.0):
    """A metrics.jsonl with the records the trainer writes: one per epoch, then the test."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "metrics.jsonl")
    with open(path, "w") as file:
        for epoch, loss in enumerate(losses):
            file.write(json.dumps({"type": "epoch", "epoch": epoch, "step": 10 * (epoch + 1),
                                   "loss": loss, "wall_seconds": seconds_per_epoch * (epoch + 1)}) + "\n")
        if test_top1 is not None:
            file.write(json.dumps({"type": "evaluation", "split": "test", "epoch": len(losses),
                                   "top1": test_top1, "loss": 1.0, "videos": 80}) + "\n")
    return path


def finished(tmp_path, name, losses, top1, classes=5, seconds_per_epoch=10.0, first_lr_stage_end=2):
    result = compare.read_metrics(
        write_metrics(str(tmp_path / name), losses, top1, seconds_per_epoch))
    result.update(train_videos=600, classes=classes, first_lr_stage_end=first_lr_stage_end)
    return result


def test_an_unfinished_run_is_not_read_as_a_result(tmp_path):
    assert compare.read_metrics(write_metrics(str(tmp_path / "run"), [1.6, 1.5])) is None


def test_a_run_leaves_the_plateau_at_its_first_epoch_under_four_fifths_of_chance(tmp_path):
    limit = 0.8 * math.log(5)
    run = finished(tmp_path, "left", [1.65, 1.9, limit + 0.01, limit - 0.01, 0.5], 97.5)
    assert compare.plateau_exit(run) == 3
    stuck = finished(tmp_path, "stuck", [1.65, 1.6, 1.58, 1.6, 1.59], 20.0)
    assert compare.plateau_exit(stuck) is None
    # The limit follows the class count: the same losses are under it with 8 classes.
    assert compare.plateau_exit(finished(tmp_path, "eight", [1.65, 1.6], 30.0, classes=8)) == 0


def test_the_table_lists_each_seed_s_exit_next_to_accuracy_and_speed(tmp_path):
    results = {
        ("set", "standard", 0): finished(tmp_path, "s0", [1.6, 1.0, 0.5], 100.0),
        ("set", "standard", 1): finished(tmp_path, "s1", [1.6, 1.6, 1.2], 60.0),
        ("set", "multigrid-45", 0): finished(tmp_path, "m0", [1.6, 1.6, 1.6], 20.0,
                                             seconds_per_epoch=4.0),
        ("set", "multigrid-45", 1): finished(tmp_path, "m1", [1.0, 0.5, 0.4], 100.0,
                                             seconds_per_epoch=4.0),
    }
    text = compare.table(results, ["set"], ["standard", "multigrid-45"], [0, 1])
    rows = {line.split("|")[3].strip(): [cell.strip() for cell in line.split("|")[1:-1]]
            for line in text.splitlines()[2:]}
    assert rows["standard"][-2] == "2 of 2: 1, 2"
    assert rows["multigrid-45"][-2] == "1 of 2: -, 0"
    # The loss over the last epoch of the first LR stage (epoch 1 here), where the trainer warns.
    assert rows["standard"][-1] == "1 of 2: 1.00, 1.60"
    assert rows["multigrid-45"][-1] == "1 of 2: 1.60, 0.50"
    assert rows["multigrid-45"][6] == "60.0 (20.0–100.0)"
    assert rows["multigrid-45"][7] == "2.50x"  # 30 s against 12 s to the last epoch's end
    assert rows["multigrid-45"][8] == "-20.0"  # 60 against the standard runs' 80


def test_a_run_with_one_lr_stage_has_no_loss_at_the_first_drop(tmp_path):
    runs = [finished(tmp_path, "one", [1.6, 1.6, 1.6], 20.0, first_lr_stage_end=None),
            finished(tmp_path, "two", [1.6, 1.6, 1.6], 20.0, first_lr_stage_end=3)]
    assert compare.losses_at_first_lr_drop(runs) == "1 of 2: -, 1.60"


def test_the_shortened_standard_run_scales_the_set_s_own_epochs(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("SOLVER:\n  BASE_LR: 0.0125\n  STEPS: [0, 16, 21]\n  MAX_EPOCH: 24\n"
                      "  WARMUP_EPOCHS: 3.0\n")
    shorter = compare.VARIANTS["standard-x0.4"]
    # Without overrides the config's epochs are scaled, rounded to whole epochs.
    assert compare.variant_overrides(shorter, str(config), []) == [
        "SOLVER.STEPS", "[0,6,8]", "SOLVER.MAX_EPOCH", "10", "SOLVER.WARMUP_EPOCHS", "1.2"]
    # A set's overrides win over the config, the last one over an earlier one.
    tokens = ["SOLVER.MAX_EPOCH", "30", "SOLVER.STEPS", "[0,13,18]", "MODEL.NUM_CLASSES", "5",
              "SOLVER.MAX_EPOCH", "20", "SOLVER.WARMUP_EPOCHS", "2.5"]
    assert compare.variant_overrides(shorter, str(config), tokens) == [
        "SOLVER.STEPS", "[0,5,7]", "SOLVER.MAX_EPOCH", "8", "SOLVER.WARMUP_EPOCHS", "1.0"]
    # A variant written as overrides is passed as it is.
    assert compare.variant_overrides("SOLVER.BASE_LR 0.1", str(config), tokens) == [
        "SOLVER.BASE_LR", "0.1"]
    # A schedule it cannot read is named, not guessed.
    config.write_text("SOLVER:\n  STEPS: [0, 16, 21]\n  MAX_EPOCH: 24\n")
    with pytest.raises(SystemExit, match="SOLVER.WARMUP_EPOCHS is needed"):
        compare.variant_overrides(shorter, str(config), [])


def test_finished_only_tabulates_what_finished_and_starts_no_run(tmp_path, monkeypatch, capsys):
    # Stand-in tools: a trainer that leaves a mark if it is ever started, a schedule tool that
    # answers the first LR stage's end.
    binaries = tmp_path / "bin"
    binaries.mkdir()
    started = tmp_path / "trainer-started"
    (binaries / "multigrid-train").write_text("#!/bin/sh\ntouch '%s'\nexit 1\n" % started)
    (binaries / "multigrid-schedule").write_text(
        "#!/bin/sh\necho '{\"first_lr_stage_end\": 2}'\n")
    for tool in binaries.iterdir():
        tool.chmod(0o755)
    work = tmp_path / "work"
    dataset = work / "sets" / "directions-600"
    dataset.mkdir(parents=True)
    (dataset / "classes.txt").write_text("".join("class %d\n" % c for c in range(5)))
    (dataset / "train.csv").write_text("".join("v%d.mp4 0\n" % v for v in range(600)))
    runs = work / "runs" / "directions-600"
    write_metrics(str(runs / "standard" / "seed0"), [1.6, 1.0, 0.5], 100.0)
    write_metrics(str(runs / "standard" / "seed1"), [1.6, 1.5])  # still training
    monkeypatch.setattr("sys.argv", [
        "compare_schedules.py", "--bin", str(binaries), "--work", str(work), "--sets",
        "directions-600,turns-320", "--seeds", "0,1", "--variants", "standard,multigrid-45",
        "--finished-only"])
    compare.main()
    out, err = capsys.readouterr()
    assert not started.exists()
    assert not (work / "sets" / "turns-320").exists()  # a set not made is not made now
    assert "not finished, not trained: %s" % (runs / "standard" / "seed1") in err
    assert "not finished, not trained: %s" % (runs / "multigrid-45" / "seed0") in err
    rows = [line for line in out.splitlines() if line.startswith("| directions-600")]
    assert len(rows) == 1 and "| standard | 1 | 30 |" in rows[0]
