#!/bin/bash
# The GPU check: builds the reference against the machine's LibTorch (CUDA), with sub-batch BN's
# CUDA kernels where the machine has a CUDA compiler, then
#   0. sub-batch BN's CUDA computations against the CPU computation (model_tests),
#   6. one norm layer's forward and backward, plain BN against sub-batch BN's three computations
#      at every split count (sub_batch_norm_bench),
#   1. eager PyTorch's SlowFast-R50 step (slowfast_eager.py, plain BN) at the Kinetics schedule's
#      per-GPU shapes,
#   2. our training step captured as CUDA graphs at the same shapes, with sub-batch BN as the
#      schedule sets it (train_graphed_step_bench),
#   7. the same at the shapes that use sub-batch BN, with its batched computation; then phases 2
#      and 7 against phase 1, shape by shape (compare_steps.py),
#   3. the same step at PySlowFast's 8-GPU global batch in one process (TRAIN.BATCH_SIZE 64,
#      NUM_GPUS 1: every shape 8x the clips, BN in splits of 8 clips),
#   4. multigrid-train, standard and multigrid schedule of the same reduced Kinetics config
#      (SOLVER.STEPS [0,4,6,8], 10 base epochs) on the same generated videos, one after the other:
#      the speed-up measured, not projected,
#   5. the per-shape table and the projected Kinetics wall-clock (project_schedule.py).
#
#   DATA=DIR [BASELINE=slowfast_eager.py] [FFMPEG_PREFIX=DIR] [OUT=DIR] bench/gpu/gpu_check.sh
#
# DATA: a dataset from `multigrid-make-dataset DIR --classes 8 --train-per-class 16
#   --val-per-class 1 --test-per-class 1 --size 340x256 --seconds 3 --keyframe-interval 16`,
#   written where libx264 exists; phase 4 repeats its training list REPEAT times (default 8:
#   1,024 clips an epoch; more amortises each stage's graph captures, as Kinetics' long epochs do).
# FFMPEG_PREFIX: an FFmpeg prefix to build against when the machine has no FFmpeg of its own.
# OUT: where the logs, JSON results and the runs' metrics go (default: ./gpu-check).
# RUNS: where the training runs write their checkpoints (default: /tmp/multigrid-gpu-runs).
# SUB_BATCH: sub-batch BN's computation in phase 4's runs (BN.SUB_BATCH_COMPUTATION; unset: the
#   device's default); batched where phase 7 found it the faster.
# PHASES: the phases to run, in this order (default "0 6 1 2 7 3 4 5"). All of them take longer
# than one ten-minute command: run PHASES="0 6 1 2 7" (sub-batch BN against eager PyTorch, about
# six minutes), then PHASES="3 4 5" on the same machine, whose build is kept.
# Every phase has a time limit, so that a run ends within about nine and a half minutes.
set -u
: "${DATA:?set DATA to a generated dataset folder}"
# Paths given relative to where the script was started from, before moving to the repository.
absolute() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
DATA=$(absolute "$DATA")
[ -n "${BASELINE:-}" ] && BASELINE=$(absolute "$BASELINE")
[ -n "${FFMPEG_PREFIX:-}" ] && FFMPEG_PREFIX=$(absolute "$FFMPEG_PREFIX")
OUT=$(absolute "${OUT:-gpu-check}")
RUNS=${RUNS:-/tmp/multigrid-gpu-runs}
PHASES=" ${PHASES:-0 6 1 2 7 3 4 5} "
want() { [[ "$PHASES" == *" $1 "* ]]; }
cd "$(dirname "$0")/../.."
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
start=$(date +%s)
stamp() { echo "=== [$(($(date +%s) - start)) s] $*"; }
left() { local seconds=$(($1 - ($(date +%s) - start))); echo $((seconds > 1 ? seconds : 1)); }

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
# Another compiler may warn where g++ 12 does not: warnings stay warnings there.
args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix" -DCMAKE_POLICY_VERSION_MINIMUM=3.5
  -DMULTIGRID_WERROR=OFF)
[ -n "$nccl_include" ] && args+=("-DCMAKE_CXX_FLAGS=-isystem $nccl_include")
keep_going="-k"
command -v ninja >/dev/null && args+=(-G Ninja) && keep_going="-k 0"

stamp configure
configure() {
  if ! cmake -S . -B build-gpu "${args[@]}" "$@" >"$OUT/configure.txt" 2>&1; then
    tail -40 "$OUT/configure.txt"
    return 1
  fi
  grep -E "multigrid reference|CUDA kernels" "$OUT/configure.txt"
  return 0
}
# The kernels need nvcc; without one, or if they fail to build, the rest runs without them.
kernels=ON
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || kernels=OFF
[ -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null &&
  args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
configure -DMULTIGRID_CUDA_KERNELS=$kernels || { kernels=OFF; configure -DMULTIGRID_CUDA_KERNELS=OFF; }
targets=()
want 0 && targets+=(model_tests)
want 6 && targets+=(sub_batch_norm_bench)
{ want 2 || want 3 || want 7; } && targets+=(train_graphed_step_bench)
{ want 4 || want 5; } && targets+=(multigrid-train multigrid-schedule)
build() {
  [ ${#targets[@]} -eq 0 ] && return 0
  timeout "$(left "$1")" cmake --build build-gpu -j"$(nproc)" --target "${targets[@]}" \
    -- $keep_going >"$OUT/build.txt" 2>&1
  local status=$?
  echo "build exit status $status (CUDA kernels $kernels)"
  grep -E "error" "$OUT/build.txt" | head -40
  return $status
}
stamp build
build 260
status=$?
# A build cut short by its time limit goes on where it stopped; one that failed in the kernels'
# own files is rebuilt without them, keeping the failed build's log.
if [ $status -eq 124 ]; then
  build 330
elif [ $status -ne 0 ] && [ "$kernels" = ON ] && grep -qE \
  "^FAILED: .*split_batch_norm_(kernels|kernel_calls|cuda)|split_batch_norm_(kernels|kernel_calls|cuda)\.(cu|cpp|hpp)[:(][0-9]+.*error" \
  "$OUT/build.txt"; then
  stamp "rebuilding without sub-batch BN's CUDA kernels (their build failed: build-kernels.txt)"
  cp "$OUT/build.txt" "$OUT/build-kernels.txt"
  kernels=OFF
  configure -DMULTIGRID_CUDA_KERNELS=OFF
  build 360
fi

if want 0 && [ -x build-gpu/bin/model_tests ]; then
  stamp "0. sub-batch BN on CUDA against the CPU, and the model's tests that touch it"
  timeout 60 build-gpu/bin/model_tests -tc="*sub-batch*,*computation*,*kernel*,*PySlowFast*,*precise*" 2>&1 | tail -4
fi

if want 6 && [ -x build-gpu/bin/sub_batch_norm_bench ]; then
  stamp "6. one norm layer: plain BN against sub-batch BN's computations"
  # The slow pathway's res2 output at 128x8x112 (16 splits there), and the fast pathway's.
  for activation in 128x256x2x28x28 128x32x8x28x28; do
    MULTIGRID_BENCH_ACTIVATION=$activation timeout 40 build-gpu/bin/sub_batch_norm_bench \
      --benchmark_out="$OUT/sub_batch_norm_$activation.json" --benchmark_out_format=json
  done
fi

kinetics_shapes=128x8x112,64x8x158,64x16x112,32x16x158,16x16x224,32x32x112,16x32x158,8x32x224
# A phase asked for starts without its old results, so that a phase that cannot run leaves none
# for the comparison below to take as new.
want 1 && rm -f "$OUT/eager_pytorch.json"
want 2 && rm -f "$OUT/graphed_step.json"
want 7 && rm -f "$OUT/graphed_step_batched.json"
if want 1 && [ -n "${BASELINE:-}" ]; then
  stamp "1. eager PyTorch, plain BN"
  timeout 80 python3 "$BASELINE" --device cuda --shapes "$kinetics_shapes" --iters 5 --warmup 2 \
    --json "$OUT/eager_pytorch.json"
fi

if want 2 && [ -x build-gpu/bin/train_graphed_step_bench ]; then
  stamp "2. our step as CUDA graphs, sub-batch BN as scheduled"
  MULTIGRID_BENCH_STEPS=10 timeout 80 build-gpu/bin/train_graphed_step_bench \
    --benchmark_out="$OUT/graphed_step.json" --benchmark_out_format=json
fi
if want 7 && [ -x build-gpu/bin/train_graphed_step_bench ]; then
  stamp "7. our step as CUDA graphs, sub-batch BN's batched computation"
  MULTIGRID_BENCH_SUB_BN=batched MULTIGRID_BENCH_STEPS=10 \
    MULTIGRID_BENCH_SHAPES=128x8x112,64x8x158,64x16x112,32x16x158,16x16x224,32x32x112,16x32x158 \
    timeout 80 build-gpu/bin/train_graphed_step_bench \
    --benchmark_out="$OUT/graphed_step_batched.json" --benchmark_out_format=json
fi
if { want 1 || want 2 || want 7; } && [ -s "$OUT/eager_pytorch.json" ]; then
  steps=()
  for file in graphed_step.json graphed_step_batched.json; do
    [ -s "$OUT/$file" ] && steps+=("$OUT/$file")
  done
  if [ ${#steps[@]} -gt 0 ]; then
    stamp "our step against eager PyTorch's, shape by shape (goal: 0.95x)"
    python3 bench/gpu/compare_steps.py --eager "$OUT/eager_pytorch.json" "${steps[@]}"
  fi
fi
if want 3 && [ -x build-gpu/bin/train_graphed_step_bench ]; then
  stamp "3. PySlowFast's 8-GPU global batch in one process (64 clips at the base shape)"
  MULTIGRID_BENCH_SHAPES=64x32x224,128x16x224,512x8x158,1024x8x112 MULTIGRID_BENCH_STEPS=5 \
    timeout 70 build-gpu/bin/train_graphed_step_bench \
    --benchmark_out="$OUT/graphed_step_batch64.json" --benchmark_out_format=json
fi

if want 4 && [ -x build-gpu/bin/multigrid-train ]; then
  lists="$OUT/lists"
  mkdir -p "$lists"
  for _ in $(seq "${REPEAT:-8}"); do cat "$DATA/train.csv"; done >"$lists/train.csv"
  cp "$DATA/val.csv" "$DATA/test.csv" "$lists/"
  config=reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml
  build-gpu/bin/multigrid-schedule "$config" --json >"$OUT/kinetics_schedule.json"
  common=(NUM_GPUS 1 TRAIN.BATCH_SIZE 8 TEST.BATCH_SIZE 8
    DATA.PATH_TO_DATA_DIR "$lists" DATA.PATH_PREFIX "$DATA"
    SOLVER.STEPS '[0,4,6,8]' SOLVER.MAX_EPOCH 10 SOLVER.WARMUP_EPOCHS 0.5
    BN.NUM_BATCHES_PRECISE 2 TRAIN.EVAL_PERIOD 100 TRAIN.CHECKPOINT_PERIOD 100 TEST.ENABLE False
    TRAIN.CUDA_GRAPHS True DATA_LOADER.NUM_WORKERS 14 LOG_PERIOD 50
    ${SUB_BATCH:+BN.SUB_BATCH_COMPUTATION "$SUB_BATCH"} --no-resume)
  for schedule in multigrid standard; do
    flag=True
    [ "$schedule" = standard ] && flag=False
    stamp "4. multigrid-train, the $schedule schedule, 10 base epochs"
    timeout "$(left 560)" build-gpu/bin/multigrid-train "$config" "${common[@]}" \
      MULTIGRID.LONG_CYCLE $flag MULTIGRID.SHORT_CYCLE $flag OUTPUT_DIR "$RUNS/$schedule" \
      2>&1 | grep -vE "^\[|^ " | tail -6
    mkdir -p "$OUT/run-$schedule"
    cp "$RUNS/$schedule/metrics.jsonl" "$RUNS/$schedule/config.yaml" "$OUT/run-$schedule/" 2>/dev/null
  done
  stamp "the two runs"
  python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
rows = {}
for schedule in ("standard", "multigrid"):
    path = os.path.join(out, "run-" + schedule, "metrics.jsonl")
    if not os.path.exists(path):
        continue
    epochs = [json.loads(l) for l in open(path) if '"type":"epoch"' in l]
    if epochs:
        rows[schedule] = (len(epochs), epochs[-1]["step"], epochs[-1]["wall_seconds"],
                          sum(e["epoch_seconds"] for e in epochs))
for schedule, (epochs, steps, wall, training) in rows.items():
    print("%-9s %3d epochs %5d iterations %7.1f s wall-clock (%.1f s in training steps)" %
          (schedule, epochs, steps, wall, training))
if len(rows) == 2:
    print("measured speed-up %.2fx" % (rows["standard"][2] / rows["multigrid"][2]))
EOF
  stamp "5. per shape, and the projected Kinetics wall-clock"
  python3 bench/gpu/project_schedule.py --metrics "$OUT/run-multigrid/metrics.jsonl" \
    --schedule "$OUT/kinetics_schedule.json" \
    ${BASELINE:+--eager "$OUT/eager_pytorch.json"}
fi
stamp done
