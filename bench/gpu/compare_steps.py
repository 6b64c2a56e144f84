#!/usr/bin/env python3
"""Our training step against eager PyTorch's, shape by shape: clips/s and their ratio, one column
per run of train_graphed_step_bench (named by the sub-batch BN computation in its rows' label),
and how many shapes reach the goal (0.95x eager PyTorch's plain-BN step).

  compare_steps.py --eager eager_pytorch.json STEP.json [STEP.json ...] [--goal 0.95]

--eager is slowfast_eager.py's --json output; each STEP.json is a Google Benchmark JSON file
(--benchmark_out). A shape a run skipped (its step failed) shows its error instead of a rate.
"""
import argparse, json, sys


def eager_rates(path):
    return {"%dx%dx%d" % (r["batch"], r["frames"], r["crop"]): r["clips_per_s"]
            for r in json.load(open(path))}


def step_rates(path):
    """{shape: clips/s or an error text}, and the column's name."""
    rates, names = {}, set()
    for row in json.load(open(path)).get("benchmarks", []):
        shape = row["name"].split("/")[1]
        if row.get("error_occurred"):
            rates[shape] = "skipped: " + row.get("error_message", "")
            continue
        rates[shape] = row["clips_per_s"]
        label = row.get("label", "")
        names.add(label.split("sub-batch BN ")[-1] if "sub-batch BN " in label else label)
    return rates, ("/".join(sorted(names)) or path)


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
            if isinstance(rate, float):
                ratio = rate / eager[shape]
                line += " %14.1f %5.2f%s" % (rate, ratio, " " if ratio >= args.goal else "<")
            else:
                line += " %14s %6s" % ("-" if rate is None else "skipped", "")
                if rate is not None:
                    errors.append("%s %s: %s" % (name, shape, rate))
        print(line)
    for rates, name in columns:
        ratios = [(rates[s] / eager[s], s) for s in shapes if isinstance(rates.get(s), float)]
        if ratios:
            lowest = min(ratios)
            print("%s: %d of %d shapes at or above %.2fx eager PyTorch; lowest %.2fx at %s" %
                  (name, sum(r >= args.goal for r, _ in ratios), len(ratios), args.goal,
                   lowest[0], lowest[1]))
    for error in errors:
        print(error)


if __name__ == "__main__":
    main()
