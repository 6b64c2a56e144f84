"""docs/python.md names every public name of the module, and the example's file exists where the
page says."""

import os
import re

import multigrid
from cpp_reference import SOURCE_DIR


def test_the_api_table_names_every_public_name():
    with open(os.path.join(SOURCE_DIR, "docs", "python.md")) as file:
        page = file.read()
    named = set(re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)[(`.]", page))
    missing = [name for name in multigrid.__all__ if name != "__version__" and name not in named]
    assert not missing, f"docs/python.md does not name {missing}"
    assert os.path.exists(os.path.join(SOURCE_DIR, "python", "examples", "train_tiny.py"))
