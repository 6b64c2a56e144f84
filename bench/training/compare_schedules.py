#!/usr/bin/python3
"""Trains the standard and the multigrid schedule (and any other variants) on generated motion sets,
several seeds each, and writes a table of accuracy and wall-clock.

Every run is a real `multigrid-train` process on real H.264 videos written by
`multigrid-make-dataset`; nothing is simulated. A set is a dataset recipe plus config overrides, a
variant is a list of overrides (the standard schedule is the base config itself), a seed sets
RNG_SEED. Runs that finished before (their metrics file holds a test evaluation) are read, not
repeated, so an interrupted sweep continues where it stopped.

  bench/training/compare_schedules.py --bin build/bin --work WORK [--sets a,b|all]
      [--seeds 0,1] [--variants standard,multigrid-45] [--parallel 2] [--threads 1]
      [--set NAME 'DATASET OPTIONS' 'KEY VALUE ...'] [--variant NAME 'KEY VALUE ...']
      [--override 'KEY VALUE ...'] [--md table.md] [--json results.json] [--finished-only]

The default sets are the ones docs/performance.md reports; `--list` prints them.
"""
import argparse
import concurrent.futures
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEMO_CONFIG = os.path.join(ROOT, "reference", "configs", "demo", "SLOWFAST_motion_demo.yaml")

# The family of motion sets: other classes, sizes, backgrounds and object counts than the demo's.
# Epochs are chosen per set so that the standard run takes about 3,000 steps of 4 clips, as a user
# would scale a recipe to a dataset; the LR steps at 2/3 and 7/8 of them, warm-up for 1/8.
DIRECTIONS = "moving right,moving left,moving up,moving down,standing still"
TURNS = ("rotating clockwise,rotating counterclockwise,growing,shrinking,moving up and right,"
         "moving down and left,moving right fast,moving left fast")


def solver_overrides(steps, max_epoch, warmup_epochs):
    return "SOLVER.STEPS [%s] SOLVER.MAX_EPOCH %d SOLVER.WARMUP_EPOCHS %s" % (
        ",".join(str(step) for step in steps), max_epoch, warmup_epochs)


def epochs(total):
    return solver_overrides([0, round(total * 2 / 3), round(total * 7 / 8)], total,
                            float(total) / 8)


def directions(per_class, seed):
    """One object of random colour and size on a flat, noisy background of random colour."""
    return ("--class-list '%s' --objects 1 --object-size 0.15-0.25 --background flat --noise 16 "
            "--size 96x72 --train-per-class %d --val-per-class 8 --test-per-class 16 --seed %d"
            % (DIRECTIONS, per_class, seed))


def two_small_objects(per_class, seed):
    """Two smaller objects among stronger noise: a set where multigrid leaves the loss plateau
    late (docs/training.md)."""
    return ("--class-list '%s' --objects 2 --object-size 0.1-0.18 --background flat --noise 24 "
            "--size 96x72 --train-per-class %d --val-per-class 8 --test-per-class 16 --seed %d"
            % (DIRECTIONS, per_class, seed))


SETS = {
    "directions-200": (directions(40, 22), epochs(60)),
    "turns-320": (
        "--class-list '%s' --objects 2-3 --object-size 0.12-0.22 --noise 8 --size 96x72 "
        "--train-per-class 40 --val-per-class 6 --test-per-class 12 --seed 31" % TURNS,
        epochs(40)),
    "directions-600": (two_small_objects(120, 41), epochs(20)),
    # The same recipe with twice the videos and the same epochs, so twice the steps: what a user
    # with more videos of this kind gets from the recipe as it is.
    "directions-1200": (two_small_objects(240, 42), epochs(20)),
    # The demo's own videos and config (reference/train/demo.cpp), for its figures over seeds.
    "demo": ("--classes 8 --train-per-class 48 --val-per-class 12 --test-per-class 24 "
             "--size 96x72 --seconds 2 --seed 2020", ""),
    # Below a few hundred videos: the same recipe as directions-200 with fewer videos.
    "directions-100": (directions(20, 23), epochs(120)),
    "directions-50": (directions(10, 24), epochs(240)),
}

# Both cycles with the long cycle in every LR stage, as PySlowFast; the variants below add to it.
BOTH_CYCLES = "MULTIGRID.LONG_CYCLE True MULTIGRID.SHORT_CYCLE True "
# No crop under 45 px (docs/training.md).
FLOOR_45 = BOTH_CYCLES + "MULTIGRID.MIN_CROP_SIZE 45 "

VARIANTS = {
    "standard": "",
    # PySlowFast's schedule exactly, whatever the config says of our own floor.
    "multigrid": BOTH_CYCLES + "MULTIGRID.MIN_CROP_SIZE 0 MULTIGRID.LONG_CYCLE_LR_STAGES 0",
    "multigrid-45": FLOOR_45 + "MULTIGRID.LONG_CYCLE_LR_STAGES 0",
    # ... with the long cycle in the first LR stage only (docs/schedule.md).
    "multigrid-45-lr1": FLOOR_45 + "MULTIGRID.LONG_CYCLE_LR_STAGES 1",
    # ... with no shape under T/2: with SlowFast's ALPHA 4, the T/4 of a 16-frame base leaves the
    # slow pathway one frame (docs/training.md, "Why multigrid collapsed on small motion sets").
    "multigrid-45-t8": FLOOR_45 + "MULTIGRID.LONG_CYCLE_LR_STAGES 0 MULTIGRID.LONG_CYCLE_FACTORS "
                       "[[0.5,0.7071067811865476],[0.5,0.7071067811865476],[0.5,1],[1,1]]",
    # ... with the frames of coarse clips at the base stride, so that they span less time, or
    # always as far apart as keeps the base clip's span (MULTIGRID.LONG_CYCLE_STRIDE,
    # docs/schedule.md); PySlowFast draws the stride per clip between the two.
    "multigrid-45-base-stride": FLOOR_45 + "MULTIGRID.LONG_CYCLE_LR_STAGES 0 "
                                "MULTIGRID.LONG_CYCLE_STRIDE base_stride",
    "multigrid-45-base-span": FLOOR_45 + "MULTIGRID.LONG_CYCLE_LR_STAGES 0 "
                              "MULTIGRID.LONG_CYCLE_STRIDE base_span",
    # The standard schedule at the long cycle's coarsest batch, 8x the clips and the LR of the
    # demo config, at the base shape: separates the batch (and the few steps) from the shapes.
    "standard-b32": "TRAIN.BATCH_SIZE 32 SOLVER.BASE_LR 0.1 SOLVER.WARMUP_START_LR 0.01",
    # The standard schedule in the budget multigrid is held to, 1/2.5 of the standard run's epochs:
    # what the same budget gives without multigrid (a function of the set's own epochs, below).
    "standard-x0.4": lambda solver: shortened(solver, 0.4),
    "long": "MULTIGRID.LONG_CYCLE True MULTIGRID.SHORT_CYCLE False",
    "short": "MULTIGRID.LONG_CYCLE False MULTIGRID.SHORT_CYCLE True",
}


def solver_epochs(config, tokens):
    """SOLVER.STEPS, MAX_EPOCH and WARMUP_EPOCHS as a run gets them: the config's, then the
    overrides' (key value pairs, the last one winning as in the trainer)."""
    import yaml  # python3-yaml; only the shortened variants need it
    with open(config) as f:
        solver = dict(yaml.safe_load(f).get("SOLVER", {}))
    for key, value in zip(tokens[::2], tokens[1::2]):
        if key.startswith("SOLVER."):
            solver[key[len("SOLVER."):]] = yaml.safe_load(value)
    missing = [key for key in ("STEPS", "MAX_EPOCH", "WARMUP_EPOCHS") if key not in solver]
    if missing:
        sys.exit("%s: SOLVER.%s is needed to shorten the schedule and neither the config nor the "
                 "overrides give it" % (config, missing[0]))
    return solver


def shortened(solver, factor):
    """The same schedule in `factor` of the epochs: every LR step, the end and the warm-up scaled
    and rounded to whole epochs (the warm-up to tenths)."""
    return solver_overrides([round(step * factor) for step in solver["STEPS"]],
                            round(solver["MAX_EPOCH"] * factor),
                            "%.1f" % (solver["WARMUP_EPOCHS"] * factor))


def variant_overrides(overrides, config, set_tokens):
    """A variant's overrides as a list; a variant written as a function gets the set's epochs."""
    if callable(overrides):
        overrides = overrides(solver_epochs(config, set_tokens))
    return shlex.split(overrides)


def make_set(binaries, work, name, options):
    folder = os.path.join(work, "sets", name)
    if not os.path.exists(os.path.join(folder, "classes.txt")):
        command = [os.path.join(binaries, "multigrid-make-dataset"), folder, "--quiet"]
        command += shlex.split(options)
        subprocess.run(command, check=True)
    with open(os.path.join(folder, "classes.txt")) as f:
        classes = sum(1 for line in f if line.strip())
    with open(os.path.join(folder, "train.csv")) as f:
        videos = sum(1 for line in f if line.strip())
    return folder, classes, videos


def read_metrics(path):
    """The run's epoch and evaluation records, or None when it has not finished."""
    if not os.path.exists(path):
        return None
    epochs, evaluations = [], []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record["type"] == "epoch":
                epochs.append(record)
            elif record["type"] == "evaluation":
                evaluations.append(record)
    tests = [e for e in evaluations if e["split"] == "test"]
    if not tests or not epochs:
        return None
    vals = [e for e in evaluations if e["split"] == "val"]
    return {
        "iterations": epochs[-1]["step"],
        "epochs": len(epochs),
        "train_seconds": max(e["wall_seconds"] for e in epochs),
        "final_train_loss": epochs[-1]["loss"],
        "test_top1": tests[-1]["top1"],
        "test_loss": tests[-1]["loss"],
        "test_videos": tests[-1]["videos"],
        "val_top1": vals[-1]["top1"] if vals else None,
        "val_loss": [(e["epoch"], e["loss"], e["top1"]) for e in vals],
        "epoch_loss": [(e["epoch"], e["loss"]) for e in epochs],
    }


def train(binaries, config, folder, output, overrides, threads, log):
    metrics = os.path.join(output, "metrics.jsonl")
    done = read_metrics(metrics)
    if done:
        return done
    command = [os.path.join(binaries, "multigrid-train"), config, "--no-resume",
               "DATA.PATH_TO_DATA_DIR", folder, "OUTPUT_DIR", output] + overrides
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    os.makedirs(output, exist_ok=True)
    started = time.time()
    with open(log, "w") as out:
        out.write(" ".join(shlex.quote(c) for c in command) + "\n")
        out.flush()
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    result = read_metrics(metrics)
    if status != 0 or result is None:
        raise RuntimeError("%s failed with status %d after %.0f s; see %s" %
                           (output, status, time.time() - started, log))
    return result


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return "%.1f" % values[0]
    return "%.1f (%.1f–%.1f)" % (statistics.mean(values), min(values), max(values))


# A mean training loss at or above this share of ln(classes) is on the plateau: the trainer's
# limit too (multigrid::plateau_limits in include/multigrid/plateau_warning.hpp).
PLATEAU_SHARE = 0.8


def on_plateau(loss, classes):
    return loss >= PLATEAU_SHARE * math.log(classes)


def plateau_exit(result):
    """The first epoch (counted from 0, as the metrics and the schedule's stage bounds count)
    whose mean training loss is under 0.8 ln(classes), below the loss of guessing at chance; None
    for a run that never left that plateau. On the motion sets learning starts after a plateau of
    varying length, and when a run leaves it says more than its end."""
    return next((epoch for epoch, loss in result["epoch_loss"]
                 if not on_plateau(loss, result["classes"])), None)


def plateau_exits(runs):
    exits = [plateau_exit(r) for r in runs]
    left = sum(1 for e in exits if e is not None)
    return "%d of %d: %s" % (left, len(runs), ", ".join("-" if e is None else str(e) for e in exits))


def first_lr_stage_end(binaries, output):
    """The epoch where the run's first LR stage ends, as the library finds it from the run's own
    config.yaml (`multigrid-schedule --json`); None where the run has one LR stage, or where the
    tool refuses the config (a key an older trainer wrote), which it says."""
    command = [os.path.join(binaries, "multigrid-schedule"), os.path.join(output, "config.yaml"),
               "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print("no first LR stage for %s: %s" % (output, done.stderr.strip()), file=sys.stderr)
        return None
    return json.loads(done.stdout).get("first_lr_stage_end")


def losses_at_first_lr_drop(runs):
    """Each run's mean training loss over the last epoch of its first LR stage, where the trainer
    warns if it is still on the plateau (docs/training.md), and how many were."""
    losses = []
    for r in runs:
        end = r.get("first_lr_stage_end")
        losses.append(dict(r["epoch_loss"]).get(end - 1) if end else None)
    count = sum(1 for r, loss in zip(runs, losses)
                if loss is not None and on_plateau(loss, r["classes"]))
    return "%d of %d: %s" % (count, len(runs),
                             ", ".join("-" if l is None else "%.2f" % l for l in losses))


def binomial_noise(percent, videos):
    """One standard deviation of a top-1 measured on `videos` test videos, in points."""
    p = max(min(percent / 100.0, 0.99), 0.01)
    return 100.0 * math.sqrt(p * (1 - p) / videos)


def table(results, sets, variants, seeds):
    lines = ["| set | train / test videos | variant | seeds | iterations | train s | test top-1 % | "
             "speed-up | top-1 − standard | left the plateau (epoch by seed) | "
             "on it at the first LR drop (loss by seed) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for set_name in sets:
        base = [results.get((set_name, "standard", s)) for s in seeds]
        base = [r for r in base if r]
        for variant in variants:
            runs = [results.get((set_name, variant, s)) for s in seeds]
            runs = [r for r in runs if r]
            if not runs:
                continue
            seconds = [r["train_seconds"] for r in runs]
            top1 = [r["test_top1"] for r in runs]
            speedup = gap = "-"
            if base and variant != "standard":
                speedup = "%.2fx" % (statistics.mean(r["train_seconds"] for r in base) /
                                     statistics.mean(seconds))
                gap = "%+.1f" % (statistics.mean(top1) - statistics.mean(r["test_top1"] for r in base))
            lines.append("| %s | %d / %d | %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
                set_name, runs[0]["train_videos"], runs[0]["test_videos"], variant, len(runs),
                runs[0]["iterations"], spread(seconds), spread(top1), speedup, gap,
                plateau_exits(runs), losses_at_first_lr_drop(runs)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--work", required="--list" not in sys.argv)
    ap.add_argument("--config", default=DEMO_CONFIG)
    ap.add_argument("--sets", default="all")
    ap.add_argument("--variants", default="standard,multigrid-45")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--set", nargs=3, action="append", default=[], metavar=("NAME", "DATASET", "OVERRIDES"))
    ap.add_argument("--variant", nargs=2, action="append", default=[], metavar=("NAME", "OVERRIDES"))
    ap.add_argument("--override", default="", help="overrides for every run")
    ap.add_argument("--parallel", type=int, default=2, help="runs at once")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads per run")
    ap.add_argument("--md", help="append the table to this file")
    ap.add_argument("--json", help="write every run's results here")
    ap.add_argument("--list", action="store_true", help="print the built-in sets and variants")
    ap.add_argument("--finished-only", action="store_true",
                    help="tabulate the runs that finished and train none")
    args = ap.parse_args()

    sets = dict(SETS)
    for name, dataset, overrides in args.set:
        sets[name] = (dataset, overrides)
    variants = dict(VARIANTS)
    for name, overrides in args.variant:
        variants[name] = overrides
    if args.list:
        for name, (dataset, overrides) in sets.items():
            print("set %s: multigrid-make-dataset %s; %s" % (name, dataset, overrides))
        for name, overrides in variants.items():
            if callable(overrides):
                overrides = "(a function of each set's epochs; on the demo's config: %s)" % (
                    " ".join(variant_overrides(overrides, args.config, [])))
            print("variant %s: %s" % (name, overrides or "(the config as it is)"))
        return 0
    chosen_sets = list(sets) if args.sets == "all" else args.sets.split(",")
    chosen_variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in chosen_sets:
        if name not in sets:
            sys.exit("unknown set %s; --list shows them" % name)
    for name in chosen_variants:
        if name not in variants:
            sys.exit("unknown variant %s; --list shows them" % name)

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    prepared = {}
    for name in chosen_sets:
        if args.finished_only and not os.path.exists(os.path.join(work, "sets", name, "classes.txt")):
            print("set %s not made, not made now" % name, file=sys.stderr)
            continue
        prepared[name] = make_set(args.bin, work, name, sets[name][0])
    chosen_sets = [name for name in chosen_sets if name in prepared]

    jobs = []
    for name in chosen_sets:
        folder, classes, videos = prepared[name]
        for seed in seeds:
            for variant in chosen_variants:
                set_tokens = shlex.split(sets[name][1]) + shlex.split(args.override)
                overrides = (["MODEL.NUM_CLASSES", str(classes), "RNG_SEED", str(seed)] +
                             set_tokens +
                             variant_overrides(variants[variant], args.config, set_tokens))
                output = os.path.join(work, "runs", name, variant, "seed%d" % seed)
                jobs.append(((name, variant, seed), folder, output, overrides, (videos, classes)))

    if args.finished_only:
        unfinished = [job for job in jobs if read_metrics(os.path.join(job[2], "metrics.jsonl")) is None]
        for key, _, output, _, _ in unfinished:
            print("not finished, not trained: %s" % output, file=sys.stderr)
        jobs = [job for job in jobs if job not in unfinished]
    jobs_by_key = {key: output for key, _, output, _, _ in jobs}
    results = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        futures = {}
        for key, folder, output, overrides, sizes in jobs:
            log = output + ".log"
            future = pool.submit(train, args.bin, args.config, folder, output, overrides,
                                 args.threads, log)
            futures[future] = (key, sizes)
        for future in concurrent.futures.as_completed(futures):
            key, (videos, classes) = futures[future]
            try:
                result = future.result()
            except Exception as error:  # one failed run must not lose the others
                failures.append("%s: %s" % (key, error))
                print("FAILED %s: %s" % (key, error), flush=True)
                continue
            result["train_videos"] = videos
            result["classes"] = classes
            output = jobs_by_key[key]
            result["first_lr_stage_end"] = first_lr_stage_end(args.bin, output)
            results[key] = result
            print("%s/%s/seed%d: %d iterations, %.0f s, test top-1 %.1f%% (%d videos), "
                  "val top-1 %s" % (key[0], key[1], key[2], result["iterations"],
                                    result["train_seconds"], result["test_top1"],
                                    result["test_videos"], result["val_top1"]), flush=True)

    text = table(results, chosen_sets, chosen_variants, seeds)
    print(text)
    if results:
        videos = min(r["test_videos"] for r in results.values())
        print("\none standard deviation of a single top-1 near 50 %% on %d test videos: %.1f points"
              % (videos, binomial_noise(50, videos)))
    if args.md:
        with open(args.md, "a") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"%s/%s/%d" % k: v for k, v in results.items()}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
