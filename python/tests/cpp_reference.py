"""What the C++ library answers, through the test helper plan_reference (tests/python), for the
tests to compare the Python module with. The tests that need it are skipped where it is not built
(MULTIGRID_PLAN_REFERENCE names it; CTest sets it)."""

import json
import os
import subprocess
import tempfile

import pytest

HELPER = os.environ.get("MULTIGRID_PLAN_REFERENCE", "")
SOURCE_DIR = os.environ.get(
    "MULTIGRID_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")
)

needs_helper = pytest.mark.skipif(
    not (HELPER and os.path.exists(HELPER)),
    reason="the C++ helper plan_reference is not built (run the tests through CTest)",
)


def bundled_configs():
    folder = os.path.join(SOURCE_DIR, "reference", "configs")
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.join(root, name) for name in files if name.endswith(".yaml")]
    return sorted(found)


def _run(arguments, stdin=None):
    result = subprocess.run(
        [HELPER, *arguments], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"plan_reference {' '.join(arguments)}: {result.stderr.strip()}")
    return json.loads(result.stdout)


class config_file:
    """A dict of keys written as a JSON file (JSON is YAML), for the helper to read."""

    def __init__(self, values):
        self.values = values

    def __enter__(self):
        handle, self.path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as file:
            json.dump(self.values, file)
        return self.path

    def __exit__(self, *_):
        os.unlink(self.path)


def plan(path, train_samples, at=(), lr_at=()):
    arguments = ["plan", path, str(train_samples)]
    if at:
        arguments += ["--at", ",".join(str(g) for g in at)]
    if lr_at:
        arguments += ["--lr-at", ",".join(repr(float(e)) for e in lr_at)]
    return _run(arguments)


def batches(path, train_samples, epoch, rank, shuffle, seed):
    return _run(
        ["batches", path, str(train_samples), str(epoch), str(rank), "1" if shuffle else "0", str(seed)]
    )


def statistics(operation, *numbers):
    text = operation + " " + " ".join(repr(float(x)) if isinstance(x, float) else str(x) for x in numbers)
    return _run(["statistics"], stdin=text)
