#!/usr/bin/python3
"""Clip loading: ours against the PySlowFast-style PyAV baseline, on the same files, interleaved.

For each multigrid shape and each video set (the Kinetics-like videos as generated, with x264's
default keyframe interval, and the same videos after multigrid-prepare-videos), runs one row of
the baseline (pyav_clip_baseline.py, one process, torch threads 1) and then our single-thread
benchmark (data_clip_bench clips_per_core), and reports clips/s and the ratio. Other load on the
machine slows both sides alike, which is why they alternate row by row; ratios are what to read.
Both are also given per CPU-second (clips / CPU time of the process), which other load disturbs
far less than wall time on a shared machine.

  bench/data/compare_with_pyav.py --build build [--baseline-dir ../shared/bench] [--work DIR]
      [--videos 24] [--clips 40] [--modes t1,default] [--all-cores] [--md results.md]
"""
import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = [(32, 2, 224), (16, 4, 224), (16, 4, 158), (8, 8, 158), (32, 2, 112), (32, 2, 158)]


def run(command, env=None):
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env)


def ours(build, videos, shape, all_cores, min_time):
    name = "clips_all_cores" if all_cores else "clips_per_core"
    env = dict(os.environ, MULTIGRID_BENCH_VIDEOS=videos)
    out = run([os.path.join(build, "bin", "data_clip_bench"),
               "--benchmark_filter=^%s/%d/%d/%d/" % ((name,) + shape),
               "--benchmark_min_time=%g" % min_time, "--benchmark_format=json"], env).stdout
    bench = json.loads(out)["benchmarks"][0]
    return {k: bench[k] for k in ("clips_per_s", "open_ms", "decode_ms", "convert_ms", "augment_ms",
                                  "frames_decoded", "real_time", "cpu_time")}


def baseline(script, videos, index, mode, clips, work):
    out_json = os.path.join(work, "baseline-row.json")
    run(["/usr/bin/python3", script, "--videos", videos, "--out", out_json, "--clips", str(clips),
         "--warmup", "3", "--shapes", str(index), "--modes", mode, "--idle-threshold", "0"])
    with open(out_json) as f:
        row = json.load(f)["results"][0]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--baseline-dir", default=os.path.join("..", "shared", "bench"))
    ap.add_argument("--work", default=None, help="where videos go (default BUILD/bench-data)")
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--clips", type=int, default=40, help="timed clips per baseline row")
    ap.add_argument("--min-time", type=float, default=4.0, help="seconds per benchmark of ours")
    ap.add_argument("--modes", default="t1", help="baseline decoder thread modes: t1, default")
    ap.add_argument("--shapes", default="all", help="'all' or indices into the six shapes")
    ap.add_argument("--sets", default="default,prepared")
    ap.add_argument("--all-cores", action="store_true", help="also ours with one worker per core")
    ap.add_argument("--md", default=None)
    a = ap.parse_args()

    work = a.work or os.path.join(a.build, "bench-data")
    os.makedirs(work, exist_ok=True)
    default_set = os.path.join(work, "kinetics-like")
    prepared_set = os.path.join(work, "kinetics-like-prepared")
    print("videos: %s (make_videos.sh, 340x256, 10 s, x264 defaults)" % default_set, flush=True)
    run(["bash", os.path.join(a.baseline_dir, "make_videos.sh"), default_set, str(a.videos), "340x256"])
    if "prepared" in a.sets:
        print("prepared: %s (multigrid-prepare-videos --short-side 256 --keyframe-interval 16)" % prepared_set,
              flush=True)
        subprocess.run([os.path.join(a.build, "bin", "multigrid-prepare-videos"), default_set, prepared_set,
                        "--short-side", "256", "--keyframe-interval", "16"], check=True,
                       stdout=subprocess.DEVNULL)
    script = os.path.join(a.baseline_dir, "pyav_clip_baseline.py")
    sets = [s for s in (("default", default_set), ("prepared", prepared_set)) if s[0] in a.sets.split(",")]
    indices = range(len(SHAPES)) if a.shapes == "all" else [int(i) for i in a.shapes.split(",")]
    modes = a.modes.split(",")

    rows = []
    for set_name, videos in sets:
        for i in indices:
            shape = SHAPES[i]
            base = {m: baseline(script, videos, i, m, a.clips, work) for m in modes}
            mine = ours(a.build, videos, shape, False, a.min_time)
            mine["clips_per_cpu_s"] = 1e3 / mine["cpu_time"]
            row = {"set": set_name, "shape": "%d/%d/%d" % shape, "ours": mine,
                   "baseline_per_cpu_s": {m: base[m]["clips_per_s"] / base[m]["cpu_util"] for m in modes},
                   "baseline": {m: base[m]["clips_per_s"] for m in modes},
                   "baseline_groups_ms": {m: base[m]["groups_mean_ms"] for m in modes},
                   "baseline_frames_decoded": base[modes[0]]["decoded_frames_mean"],
                   "baseline_other_load": {m: base[m]["other_load_cores"] for m in modes}}
            if a.all_cores:
                row["ours_all_cores"] = ours(a.build, videos, shape, True, a.min_time)
            rows.append(row)
            ratios = "  ".join("x%.2f vs %s (per CPU-s x%.2f)" % (
                mine["clips_per_s"] / row["baseline"][m],
                m, mine["clips_per_cpu_s"] / row["baseline_per_cpu_s"][m]) for m in modes)
            print("%-9s %-9s ours %6.1f clips/s (decode %5.1f ms, %5.1f frames; convert %4.1f; augment %4.1f)"
                  "  baseline %s  %s" % (set_name, row["shape"], mine["clips_per_s"], mine["decode_ms"],
                                         mine["frames_decoded"], mine["convert_ms"], mine["augment_ms"],
                                         " ".join("%.2f" % row["baseline"][m] for m in modes), ratios),
                  flush=True)

    lines = ["| videos | T/r/S | ours clips/s (1 core) | " +
             " | ".join("baseline %s clips/s | ratio" % m for m in modes) +
             " | ours clips per CPU-s | " + " | ".join("baseline %s per CPU-s | ratio" % m for m in modes) +
             " | ours: open / seek+decode / convert / augment ms, frames decoded | baseline: seek+decode / rgb / resize+crop+norm ms, frames decoded |" +
             (" ours, all cores clips/s |" if a.all_cores else ""),
             "|" + "---|" * (6 + 4 * len(modes) + (1 if a.all_cores else 0))]
    for r in rows:
        o = r["ours"]
        g = r["baseline_groups_ms"][modes[0]]
        cells = ["%s" % r["set"], r["shape"], "%.1f" % o["clips_per_s"]]
        for m in modes:
            cells += ["%.2f" % r["baseline"][m], "%.2fx" % (o["clips_per_s"] / r["baseline"][m])]
        cells.append("%.1f" % o["clips_per_cpu_s"])
        for m in modes:
            cells += ["%.2f" % r["baseline_per_cpu_s"][m],
                      "%.2fx" % (o["clips_per_cpu_s"] / r["baseline_per_cpu_s"][m])]
        cells.append("%.1f / %.1f / %.1f / %.1f, %.0f" % (o["open_ms"], o["decode_ms"], o["convert_ms"],
                                                       o["augment_ms"], o["frames_decoded"]))
        cells.append("%.1f / %.1f / %.1f, %.0f" % (g["a_seek_decode"], g["b_rgb"], g["c_resize_crop_norm"],
                                                 r["baseline_frames_decoded"]))
        if a.all_cores:
            cells.append("%.1f" % r["ours_all_cores"]["clips_per_s"])
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print("\n" + table)
    with open(os.path.join(work, "comparison.json"), "w") as f:
        json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "nproc": os.cpu_count(), "rows": rows}, f, indent=1)
    if a.md:
        with open(a.md, "w") as f:
            f.write(table)


if __name__ == "__main__":
    sys.exit(main())
