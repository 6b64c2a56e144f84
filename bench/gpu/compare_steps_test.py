#!/usr/bin/env python3
"""compare_steps.py on benchmark output written here in the shapes Google Benchmark and
slowfast_eager.py write it: rates, repetitions' medians, failed shapes, unreadable files."""
import json, os, subprocess, sys, tempfile, unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare_steps.py")


def iteration(shape, rate, computation="batched"):
    return {"name": "graphed_training_step/%s/iterations:10/real_time" % shape,
            "run_type": "iteration", "clips_per_s": rate,
            "label": "cuda graph, bf16, channels-last, sub-batch BN " + computation}


def aggregate(shape, which, rate):
    row = iteration(shape, rate)
    row.update(name=row["name"] + "_" + which, run_type="aggregate", aggregate_name=which)
    return row


def failed(shape, message):
    return {"name": "graphed_training_step/%s/iterations:10/real_time" % shape,
            "run_type": "iteration", "error_occurred": True, "error_message": message}


class CompareSteps(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.eager = self.write("eager.json", [
            {"batch": 128, "frames": 8, "crop": 112, "clips_per_s": 2000.0},
            {"batch": 8, "frames": 32, "crop": 224, "clips_per_s": 100.0}])

    def tearDown(self):
        self.folder.cleanup()

    def write(self, name, content):
        path = os.path.join(self.folder.name, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def run_script(self, *steps):
        result = subprocess.run([sys.executable, SCRIPT, "--eager", self.eager, *steps],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.splitlines()

    def test_ratios_and_goal(self):
        steps = self.write("step.json", {"benchmarks": [
            iteration("128x8x112", 1500.0), iteration("8x32x224", 99.0)]})
        lines = self.run_script(steps)
        self.assertIn("batched", lines[0])
        self.assertRegex(lines[1], r"^128x8x112\s+2000\.0\s+1500\.0\s+0\.75<")
        self.assertRegex(lines[2], r"^8x32x224\s+100\.0\s+99\.0\s+0\.99 ")
        self.assertEqual(lines[3], "batched: 1 of 2 shapes at or above 0.95x eager PyTorch; "
                                   "lowest 0.75x at 128x8x112")

    def test_repetitions_take_the_median(self):
        steps = self.write("step.json", {"benchmarks": [
            iteration("128x8x112", 1000.0), iteration("128x8x112", 1900.0),
            iteration("128x8x112", 1950.0), aggregate("128x8x112", "mean", 1616.7),
            aggregate("128x8x112", "median", 1900.0), aggregate("128x8x112", "stddev", 536.0),
            aggregate("128x8x112", "cv", 0.33)]})
        self.assertRegex(self.run_script(steps)[1], r"^128x8x112\s+2000\.0\s+1900\.0\s+0\.95 ")
        # Without the aggregates, the median of the runs.
        runs = self.write("runs.json", {"benchmarks": [
            iteration("128x8x112", 1000.0), iteration("128x8x112", 1800.0),
            iteration("128x8x112", 1950.0)]})
        self.assertRegex(self.run_script(runs)[1], r"^128x8x112\s+2000\.0\s+1800\.0\s+0\.90<")

    def test_failed_shapes_and_unreadable_files(self):
        regrouped = self.write("regrouped.json", {"benchmarks": [
            iteration("128x8x112", 1600.0, "regrouped"), iteration("8x32x224", 97.0, "regrouped")]})
        broken = self.write("graphed_step_batched.json", {"benchmarks": [
            failed("128x8x112", "sub-batch BN's kernel split_affine: invalid argument"),
            {"name": "malformed"}]})
        truncated = self.write("truncated.json", '{"benchmarks": [')
        lines = self.run_script(regrouped, broken, truncated)
        self.assertTrue(lines[0].startswith(truncated + ": not read"))
        self.assertIn("regrouped", lines[1])
        self.assertIn("graphed_step_b", lines[1])  # no computation named: the file's name
        self.assertRegex(lines[2], r"^128x8x112\s+2000\.0\s+1600\.0\s+0\.80<\s+skipped")
        self.assertIn("regrouped: 1 of 2 shapes at or above 0.95x", lines[4])
        self.assertEqual(lines[5], "graphed_step_batched.json 128x8x112: sub-batch BN's kernel "
                                   "split_affine: invalid argument")
        self.assertEqual(len(lines), 6)

    def test_no_common_shape_is_an_error(self):
        steps = self.write("step.json", {"benchmarks": [iteration("4x8x32", 5.0)]})
        result = subprocess.run([sys.executable, SCRIPT, "--eager", self.eager, steps],
                                capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no shape is in both", result.stderr)


if __name__ == "__main__":
    unittest.main()
