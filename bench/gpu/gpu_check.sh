#!/bin/bash
# The GPU check in one run: builds the reference against the machine's LibTorch (CUDA), then
#   1. eager PyTorch's SlowFast-R50 step (slowfast_eager.py) at the schedule's per-GPU shapes,
#   2. our training step as CUDA graphs at the same shapes (train_graphed_step_bench),
#   3. multigrid-train through the first LR stage of the Kinetics config — all four long-cycle
#      stages, all eight shapes — on generated H.264 videos, with CUDA graphs and 14 loader threads,
#   4. the per-shape table and the projected Kinetics wall-clock (project_schedule.py).
#
#   DATA=DIR [BASELINE=slowfast_eager.py] [FFMPEG_PREFIX=DIR] [OUT=DIR] bench/gpu/gpu_check.sh
#
# DATA: a dataset from `multigrid-make-dataset DIR --classes 8 --train-per-class 32
#   --val-per-class 2 --test-per-class 1 --size 340x256 --seconds 3 --keyframe-interval 16`,
#   written where libx264 exists; its training list is repeated 8 times (2,048 clips an epoch).
# FFMPEG_PREFIX: an FFmpeg prefix to build against when the machine has no FFmpeg of its own.
# OUT: where the logs, JSON results and the run go (default: ./gpu-check).
# Every phase has a time limit, so that the whole run ends within about ten minutes.
set -u
: "${DATA:?set DATA to a generated dataset folder}"
# Paths given relative to where the script was started from, before moving to the repository.
absolute() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
DATA=$(absolute "$DATA")
[ -n "${BASELINE:-}" ] && BASELINE=$(absolute "$BASELINE")
[ -n "${FFMPEG_PREFIX:-}" ] && FFMPEG_PREFIX=$(absolute "$FFMPEG_PREFIX")
OUT=$(absolute "${OUT:-gpu-check}")
cd "$(dirname "$0")/../.."
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
start=$(date +%s)
stamp() { echo "=== [$(($(date +%s) - start)) s] $*"; }
left() { echo $(($1 - ($(date +%s) - start))); }

stamp start
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "cores $(nproc)"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
# PyTorch's wheels keep NCCL's header in a package of its own.
nccl_include=$(python3 -c "
import os
try:
    import nvidia.nccl as m
    for p in m.__path__:
        if os.path.exists(os.path.join(p, 'include', 'nccl.h')): print(os.path.join(p, 'include')); break
except Exception: pass")
prefix="$torch_prefix"
if [ -n "${FFMPEG_PREFIX:-}" ]; then
  prefix="$prefix;$FFMPEG_PREFIX"
  export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix" -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
[ -n "$nccl_include" ] && args+=("-DCMAKE_CXX_FLAGS=-isystem $nccl_include")
keep_going="-k"
command -v ninja >/dev/null && args+=(-G Ninja) && keep_going="-k 0"

stamp configure
cmake -S . -B build-gpu "${args[@]}" >"$OUT/configure.txt" 2>&1 || tail -40 "$OUT/configure.txt"
grep "multigrid reference" "$OUT/configure.txt"
stamp build
timeout "$(left 220)" cmake --build build-gpu -j"$(nproc)" --target multigrid-train \
  multigrid-schedule train_graphed_step_bench -- $keep_going >"$OUT/build.txt" 2>&1
echo "build exit status $?"
grep -E "error" "$OUT/build.txt" | head -40

if [ -n "${BASELINE:-}" ]; then
  stamp "eager PyTorch"
  timeout 150 python3 "$BASELINE" --device cuda --json "$OUT/eager_pytorch.json"
fi

if [ -x build-gpu/bin/train_graphed_step_bench ]; then
  stamp "training step as CUDA graphs"
  timeout 120 build-gpu/bin/train_graphed_step_bench --benchmark_out="$OUT/graphed_step.json" \
    --benchmark_out_format=json
fi

if [ -x build-gpu/bin/multigrid-train ]; then
  stamp "multigrid-train, first LR stage of the Kinetics schedule"
  lists="$OUT/lists"
  mkdir -p "$lists"
  for _ in 1 2 3 4 5 6 7 8; do cat "$DATA/train.csv"; done >"$lists/train.csv"
  cp "$DATA/val.csv" "$DATA/test.csv" "$lists/"
  config=reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml
  timeout "$(left 560)" build-gpu/bin/multigrid-train "$config" \
    NUM_GPUS 1 TRAIN.BATCH_SIZE 8 TEST.BATCH_SIZE 8 \
    DATA.PATH_TO_DATA_DIR "$lists" DATA.PATH_PREFIX "$DATA" \
    SOLVER.STEPS '[0,4,6,8]' SOLVER.MAX_EPOCH 10 SOLVER.WARMUP_EPOCHS 0.5 \
    BN.NUM_BATCHES_PRECISE 2 TRAIN.EVAL_PERIOD 100 TRAIN.CHECKPOINT_PERIOD 100 TEST.ENABLE False \
    TRAIN.CUDA_GRAPHS True DATA_LOADER.NUM_WORKERS 14 LOG_PERIOD 20 OUTPUT_DIR "$OUT/run" \
    --no-resume --stop-after-epochs 7 2>&1 | tail -40
  build-gpu/bin/multigrid-schedule "$config" --json >"$OUT/kinetics_schedule.json"
  stamp "per shape, and the projected Kinetics wall-clock"
  python3 bench/gpu/project_schedule.py --metrics "$OUT/run/metrics.jsonl" \
    --schedule "$OUT/kinetics_schedule.json" \
    ${BASELINE:+--eager "$OUT/eager_pytorch.json"}
fi
stamp done
