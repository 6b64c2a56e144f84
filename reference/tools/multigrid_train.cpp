// multigrid-train: trains SlowFast with the multigrid schedule from a PySlowFast-style config, or
// runs the one-command demo.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/video_reader.hpp"
#include "tools/cli_support.hpp"
#include "train/demo.hpp"
#include "train/trainer.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-train CONFIG|--cfg CONFIG [--resume | --no-resume] [KEY VALUE]...\n"
    "       multigrid-train --demo [--output DIR] [KEY VALUE]...\n"
    "  CONFIG        PySlowFast-style YAML config (see reference/configs/)\n"
    "  --resume      continue from OUTPUT_DIR's newest checkpoint (fail if there is none)\n"
    "  --no-resume   start afresh even if OUTPUT_DIR has checkpoints\n"
    "                (default: resume when there is one and TRAIN.AUTO_RESUME is True)\n"
    "  --stop-after-epochs N\n"
    "                stop once N epochs are done (run again to resume)\n"
    "  --demo        generate a motion dataset and train a small SlowFast twice on the CPU,\n"
    "                standard and multigrid, and compare them (output in demo-output/)\n"
    "  KEY VALUE     overrides, as PySlowFast's opts: SOLVER.MAX_EPOCH 100;\n"
    "                TRAIN.ENABLE False tests a checkpoint alone (TEST.CHECKPOINT_FILE_PATH,\n"
    "                else OUTPUT_DIR's newest)\n"
    "Output: progress on the terminal, and time-stamped in OUTPUT_DIR/stdout.log; metrics.jsonl,\n"
    "report.svg, summary.txt, config.yaml and checkpoints/ beside it. OMP_NUM_THREADS sets\n"
    "LibTorch's threads (the choice is printed at the start).\n"
    "Exit status: 0 done, 1 training failed, 2 bad usage or config, 128+N stopped by signal N\n"
    "(a checkpoint was written; run the same command to resume).\n";

int run(int argc, char** argv) {
  config_arguments arguments;
  std::string output_dir = "demo-output";
  bool demo = false;
  resume_mode resume = resume_mode::automatic;
  int stop_after_epochs = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--demo") {
      demo = true;
    } else if (arg == "--output") {
      output_dir = option_value(argc, argv, i);
    } else if (arg == "--stop-after-epochs") {
      stop_after_epochs = option_int(arg, option_value(argc, argv, i));
      if (stop_after_epochs < 1) throw usage_error("--stop-after-epochs: must be at least 1");
    } else if (arg == "--resume") {
      resume = resume_mode::always;
    } else if (arg == "--no-resume") {
      resume = resume_mode::never;
    } else if (!arguments.take(arg, argc, argv, i)) {
      throw usage_error("unknown option " + arg);
    }
  }
  if (demo) {
    if (arguments.cfg_given()) throw usage_error("--demo takes no CONFIG");
    return run_demo({output_dir, arguments.positional(), stdout});
  }
  const auto config_path = arguments.config();
  if (config_path.empty()) throw usage_error("missing CONFIG");
  const auto tree = load_config(config_path, arguments.overrides());
  trainer_options options;
  options.resume = resume;
  options.stop_after_epochs = stop_after_epochs;
  try {
    const auto outcome = run_training(tree, options);
    return outcome.completed || outcome.stop_signal == 0 ? 0 : 128 + outcome.stop_signal;
  } catch (const training_error& error) {
    std::fprintf(stderr, "multigrid-train: %s\n", error.what());
    return exit_runtime_error;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The loader reports each broken video once, with its path and reason; FFmpeg's own messages
  // (per file, per thread) would only bury that.
  set_ffmpeg_log_level(AV_LOG_FATAL);
  return run_tool("multigrid-train", usage, [&] { return run(argc, argv); });
}
