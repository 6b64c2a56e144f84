#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds the project, and runs it.
#
#   ./build.sh demo    install what is missing, build, and run the demo
#   ./build.sh test    install what is missing, build, and run every test; then run the library,
#                      config, data and trainer-infrastructure tests again under AddressSanitizer
#                      and UndefinedBehaviorSanitizer (a second build, in $BUILD_DIR-sanitize)
#   ./build.sh build   install what is missing and build
#
# Environment: BUILD_DIR (default: build), JOBS (default: number of cores), SANITIZE=0 to skip
# the sanitizer build.
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

packages=(
  build-essential cmake ninja-build pkg-config
  doctest-dev libbenchmark-dev nlohmann-json3-dev libyaml-cpp-dev
  libtorch-dev libgloo-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  ffmpeg valgrind clang-format python3-av
  pybind11-dev python3-dev python3-pip python3-setuptools python3-pytest python3-numpy python3-yaml
  python3-torch
)

install_packages() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  echo "build.sh: installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  # Debian's Python, whose NumPy, pytest and torch the Python module's tests use (not another
  # python3 found first on PATH).
  local python=()
  [[ -x /usr/bin/python3 ]] && python=(-DPython_EXECUTABLE=/usr/bin/python3)
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${python[@]}"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

# Any sanitizer report fails the test that caused it (docs/reliability.md).
sanitized_tests() {
  local dir="$BUILD_DIR-sanitize"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMULTIGRID_SANITIZE=address,undefined \
    -DMULTIGRID_BUILD_BENCHMARKS=OFF
  cmake --build "$dir" -j "$JOBS" --target multigrid_sanitized_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer_suppressions.txt" \
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" -L "$(cat "$dir/sanitized_test_labels.txt")"
}

case "${1:-}" in
  demo)
    install_packages
    build
    "$BUILD_DIR/bin/multigrid-train" --demo --output demo-output
    ;;
  test)
    install_packages
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    [[ ${SANITIZE:-1} == 0 ]] || sanitized_tests
    ;;
  build)
    install_packages
    build
    ;;
  *)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
