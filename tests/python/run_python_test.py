"""Runs one Python test for CTest: a pytest file (--pytest FILE) or a script with its arguments.

Exits 77, which CTest reports as skipped, when pytest or a module named with --requires cannot be
imported; a test file that pytest finds no tests in fails.
"""

import importlib
import runpy
import sys


def main(arguments):
    required = []
    while arguments[:1] == ["--requires"]:
        required.append(arguments[1])
        arguments = arguments[2:]
    run_pytest = arguments[:1] == ["--pytest"]
    if run_pytest:
        required.insert(0, "pytest")
        arguments = arguments[1:]
    for module in required:
        try:
            importlib.import_module(module)
        except ImportError as error:
            print(f"skipped: {module} cannot be imported ({error}); on Debian install python3-{module}")
            return 77
    if run_pytest:
        import pytest

        code = pytest.main(["-q", "-p", "no:cacheprovider", "-rs", *arguments])
        return 1 if code == pytest.ExitCode.NO_TESTS_COLLECTED else int(code)
    sys.argv = arguments
    runpy.run_path(arguments[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
