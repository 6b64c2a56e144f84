"""pip install --no-build-isolation ./python (from the source tree): builds the C++ part with the
project's CMake (the target multigrid_python, nothing else) and installs the package.

Needs CMake, a C++17 compiler, pybind11, Python's headers and yaml-cpp (Debian: cmake g++
pybind11-dev python3-dev libyaml-cpp-dev). CMAKE_BUILD_PARALLEL_LEVEL sets the build's jobs.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def project_version():
    for line in (ROOT / "CMakeLists.txt").read_text().splitlines():
        if line.startswith("project(multigrid VERSION "):
            return line.split()[2]
    raise RuntimeError("no project(multigrid VERSION ...) in CMakeLists.txt")


class cmake_build_ext(build_ext):
    def build_extension(self, extension):
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DMULTIGRID_BUILD_PYTHON=ON", "-DMULTIGRID_PYTHON_REQUIRED=ON",
            "-DMULTIGRID_BUILD_TESTS=OFF", "-DMULTIGRID_BUILD_BENCHMARKS=OFF",
            "-DMULTIGRID_BUILD_REFERENCE=OFF", "-DMULTIGRID_INSTALL=OFF",
            "-DMULTIGRID_WERROR=OFF",
        ]
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "multigrid_python"], check=True)
        built = next((build / "python" / "multigrid").glob("_core*" + os.path.splitext(self.get_ext_filename("x"))[1]))
        target = pathlib.Path(self.get_ext_fullpath(extension.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="multigrid",
    version=project_version(),
    description="Multigrid training schedules for video models (Wu et al., CVPR 2020)",
    packages=["multigrid"],
    ext_modules=[Extension("multigrid._core", sources=[])],
    cmdclass={"build_ext": cmake_build_ext},
    python_requires=">=3.8",
    zip_safe=False,
)
