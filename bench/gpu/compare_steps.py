#!/usr/bin/env python3
"""Our training step against eager PyTorch's, shape by shape: clips/s and their ratio, one column
per run of train_graphed_step_bench (named by the sub-batch BN computation in its rows' label),
and how many shapes reach the goal (0.95x eager PyTorch's plain-BN step).

  compare_steps.py --eager eager_pytorch.json STEP.json [STEP.json ...] [--goal 0.95]

--eager is slowfast_eager.py's --json output; each STEP.json is a Google Benchmark JSON file
(--benchmark_out). A shape a run skipped (its step failed) shows "skipped", and its error is
listed under the table.
"""
import argparse, collections, json, os, statistics, sys


def eager_rates(path):
    return {"%dx%dx%d" % (r["batch"], r["frames"], r["crop"]): r["clips_per_s"]
            for r in json.load(open(path))}


def step_rates(path):
    """{shape: clips/s, or why the shape has none}, and the column's name. With repetitions, a
    shape's rate is Google Benchmark's median, else the median of its runs."""
    name = os.path.basename(path)
    try:
        rows = json.load(open(path)).get("benchmarks", [])
    except (OSError, ValueError) as error:
        print("%s: not read (%s)" % (path, error))
        return {}, name
    runs, medians, failures, computations = collections.defaultdict(list), {}, {}, set()
    for row in rows:
        parts = row.get("name", "").split("/")
        if len(parts) < 2:
            continue
        shape = parts[1]
        if row.get("error_occurred"):
            failures[shape] = row.get("error_message", "failed")
            continue
        rate = row.get("clips_per_s")
        if not isinstance(rate, (int, float)):
            failures[shape] = "no clips_per_s"
            continue
        label = row.get("label", "")
        if "sub-batch BN " in label:
            computations.add(label.split("sub-batch BN ")[-1])
        if row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                medians[shape] = rate
            continue
        runs[shape].append(rate)
    rates = {shape: float(statistics.median(values)) for shape, values in runs.items()}
    rates.update({shape: float(rate) for shape, rate in medians.items()})
    for shape, failure in failures.items():
        rates.setdefault(shape, failure)
    return rates, "/".join(sorted(computations)) or name


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eager", required=True)
    parser.add_argument("--goal", type=float, default=0.95)
    parser.add_argument("steps", nargs="+")
    args = parser.parse_args()
    eager = eager_rates(args.eager)
    columns = [step_rates(path) for path in args.steps]
    shapes = [s for s in eager if any(s in rates for rates, _ in columns)]
    if not shapes:
        sys.exit("no shape is in both the eager file and a step file")
    print("%-11s %8s" % ("shape", "eager") +
          "".join(" %14s %6s" % (name[:14], "ratio") for _, name in columns))
    errors = []
    for shape in shapes:
        line = "%-11s %8.1f" % (shape, eager[shape])
        for rates, name in columns:
            rate = rates.get(shape)
            if isinstance(rate, (int, float)):
                ratio = rate / eager[shape]
                line += " %14.1f %5.2f%s" % (rate, ratio, " " if ratio >= args.goal else "<")
            else:
                line += " %14s %6s" % ("-" if rate is None else "skipped", "")
                if rate is not None:
                    errors.append("%s %s: %s" % (name, shape, rate))
        print(line)
    for rates, name in columns:
        ratios = [(rates[s] / eager[s], s) for s in shapes
                  if isinstance(rates.get(s), (int, float))]
        if ratios:
            lowest = min(ratios)
            print("%s: %d of %d shapes at or above %.2fx eager PyTorch; lowest %.2fx at %s" %
                  (name, sum(r >= args.goal for r, _ in ratios), len(ratios), args.goal,
                   lowest[0], lowest[1]))
    for error in errors:
        print(error)


if __name__ == "__main__":
    main()
