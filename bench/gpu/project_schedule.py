#!/usr/bin/env python3
"""Per-shape throughput of a multigrid-train run, beside eager PyTorch's, and the projected
wall-clock of the full Kinetics-400 schedules on one GPU of an 8-GPU job.

  project_schedule.py --metrics RUN/metrics.jsonl --schedule kinetics_schedule.json \
      [--eager eager.json] [--train-clips 234619] [--gpus 8] [--standard-epochs 196]

--schedule is `multigrid-schedule reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml
--json`; --eager is slowfast_eager.py's --json output. Each shape's throughput is the median
clips/s of the run's iterations at that shape. An epoch of a stage takes its short cycle's three
shapes in turn; the standard schedule runs every epoch at the base (last) shape.
"""
import argparse, collections, json, statistics, sys


def trainer_throughput(path):
    by_shape = collections.defaultdict(list)
    with open(path) as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("type") != "iteration":
                continue
            shape = row["shape"]
            key = (shape["per_process_batch"], shape["frames"], shape["crop"])
            by_shape[key].append((row["clips_per_second"], row["data_wait_share"]))
    return {key: (statistics.median(c for c, _ in rows), statistics.median(w for _, w in rows),
                  len(rows)) for key, rows in by_shape.items()}


def project(schedule, throughput, clips_per_epoch):
    seconds = 0.0
    for epoch in schedule["epochs"]:
        cycle = epoch["short_cycle"] or [{"per_gpu_batch": epoch["per_gpu_batch"],
                                          "crop": epoch["crop"]}]
        shapes = [(entry["per_gpu_batch"], epoch["num_frames"], entry["crop"]) for entry in cycle]
        missing = [s for s in shapes if s not in throughput]
        if missing:
            sys.exit("no throughput for shape %s (epoch %d)" % ("x".join(map(str, missing[0])),
                                                                 epoch["epoch"]))
        clips = sum(batch for batch, _, _ in shapes)
        step_seconds = sum(shape[0] / throughput[shape] for shape in shapes)
        seconds += clips_per_epoch / clips * step_seconds
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--schedule", required=True)
    parser.add_argument("--eager")
    parser.add_argument("--train-clips", type=int, default=234619)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--standard-epochs", type=int, default=196)
    args = parser.parse_args()

    measured = trainer_throughput(args.metrics)
    eager = {}
    if args.eager:
        for row in json.load(open(args.eager)):
            eager[(row["batch"], row["frames"], row["crop"])] = row["clips_per_s"]
    print("%-12s %10s %10s %7s %10s" % ("shape", "trainer", "eager", "ratio", "data wait"))
    for key in sorted(measured, key=lambda k: (-k[0], k[2])):
        clips, wait, _ = measured[key]
        base = eager.get(key)
        print("%-12s %10.0f %10s %7s %9.0f%%" % ("x".join(map(str, key)), clips,
              "%.0f" % base if base else "-", "%.2f" % (clips / base) if base else "-",
              100 * wait))

    schedule = json.load(open(args.schedule))
    clips_per_epoch = args.train_clips / args.gpus
    base = schedule["epochs"][-1]
    base_shape = (base["per_gpu_batch"], base["num_frames"], base["crop"])
    for name, table in (("trainer", {k: v[0] for k, v in measured.items()}), ("eager", eager)):
        if not table:
            continue
        multigrid = project(schedule, table, clips_per_epoch)
        standard = args.standard_epochs * clips_per_epoch / table[base_shape]
        print("%s: multigrid %.1f h, standard %.1f h (%d epochs at %s): %.2fx" % (
            name, multigrid / 3600, standard / 3600, args.standard_epochs,
            "x".join(map(str, base_shape)), standard / multigrid))


if __name__ == "__main__":
    main()
