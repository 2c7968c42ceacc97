"""Builds and installs the `banxway` Python package.

The native module is not compiled by setuptools: build_ext configures the whole repository with
CMake (the library has many system dependencies CMake already knows how to find), builds only
the `_banxway` target, and copies the result into the package. Works offline:

    python3 -m pip install --no-build-isolation ./bindings/python

Environment knobs:
    BANXWAY_CMAKE_BUILD_DIR   reuse a CMake build directory (default: a fresh one under
                              setuptools' build_temp)
    BANXWAY_BUILD_TYPE        CMake build type (default Release)
    BANXWAY_BUILD_JOBS        parallel build jobs (default: the generator's choice)
    BANXWAY_CMAKE_ARGS        extra arguments for the CMake configure step (space separated)
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def project_version():
    # One version for the C++ library and the Python package: the root project() call.
    with open(os.path.join(REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*banxway\s+VERSION\s+([0-9][0-9A-Za-z.]*)", f.read())
    if not m:
        raise RuntimeError("cannot find project(banxway VERSION ...) in CMakeLists.txt")
    return m.group(1)


class CMakeExtension(Extension):
    def __init__(self, name, target):
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError("cmake is required to build banxway (apt install cmake)")

        build_dir = os.environ.get("BANXWAY_CMAKE_BUILD_DIR") or os.path.join(
            os.path.abspath(self.build_temp), "cmake")
        os.makedirs(build_dir, exist_ok=True)
        build_type = os.environ.get("BANXWAY_BUILD_TYPE", "Release")

        configure = [
            cmake, "-S", REPO, "-B", build_dir,
            f"-DCMAKE_BUILD_TYPE={build_type}",
            # The module must be built for the interpreter that runs this install.
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DBANXWAY_BUILD_PYTHON=ON",
            "-DBANXWAY_BUILD_TESTS=OFF",
            "-DBANXWAY_BUILD_BENCH=OFF",
            "-DBANXWAY_BUILD_SERVER=OFF",
        ]
        # Keep the generator of an existing build dir; CMake refuses to switch it.
        if (not os.path.exists(os.path.join(build_dir, "CMakeCache.txt"))
                and shutil.which("ninja")):
            configure += ["-G", "Ninja"]
        configure += shlex.split(os.environ.get("BANXWAY_CMAKE_ARGS", ""))
        build = [cmake, "--build", build_dir, "--target", ext.target]
        jobs = os.environ.get("BANXWAY_BUILD_JOBS")
        if jobs:
            build += ["--parallel", jobs]

        self.announce("configuring: " + " ".join(configure), level=2)
        subprocess.check_call(configure)
        self.announce("building: " + " ".join(build), level=2)
        subprocess.check_call(build)

        # CMake puts the module in <build>/python/banxway/ (see bindings/python/CMakeLists.txt).
        built = sorted(glob.glob(os.path.join(build_dir, "python", "banxway", "_banxway*.so")),
                       key=os.path.getmtime)
        if not built:
            raise RuntimeError(f"CMake did not produce _banxway in {build_dir}/python/banxway")
        dest = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(built[-1], dest)
        shutil.copymode(built[-1], dest)


with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="banxway",
    version=project_version(),
    description="Python bindings for libbanxway, the Banxway communications engine",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=["banxway"],
    package_dir={"banxway": "banxway"},
    package_data={"banxway": ["py.typed"]},
    ext_modules=[CMakeExtension("banxway._banxway", target="_banxway")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.8",
    zip_safe=False,
)
