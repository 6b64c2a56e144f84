// multigrid-schedule: prints, exports and plots the multigrid schedule of a PySlowFast config.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "config/schedule_config.hpp"
#include "model/spatial_strides.hpp"
#include "report/atomic_file.hpp"
#include "report/schedule_report.hpp"
#include "report/svg_chart.hpp"
#include "tools/cli_support.hpp"

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-schedule CONFIG|--cfg CONFIG [--train-samples N] [--json] [--svg FILE]\n"
    "                     [--lr-at E1,E2,...] [KEY VALUE]...\n"
    "  CONFIG             PySlowFast YAML (or JSON) config\n"
    "  --train-samples N  the training set's size: adds each stage's iterations per epoch\n"
    "                     and warns where the schedule has too few of them\n"
    "  --json             print the schedule as JSON instead of a table\n"
    "  --svg FILE         also write a plot of batch, frames, crop and LR over epochs\n"
    "  --lr-at E1,E2,...  with --json: the LR at these fractional epochs\n"
    "  KEY VALUE          overrides, e.g. SOLVER.MAX_EPOCH 100\n";

std::vector<double> parse_epochs(const std::string& text) {
  std::vector<double> epochs;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const auto end = text.find(',', begin);
    const auto item =
        text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    char* stop = nullptr;
    const double value = std::strtod(item.c_str(), &stop);
    if (item.empty() || *stop != '\0' || !(value >= 0)) {
      throw usage_error("--lr-at: `" + item + "` is not a non-negative epoch");
    }
    epochs.push_back(value);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return epochs;
}

int run(int argc, char** argv) {
  config_arguments arguments;
  std::string svg_path;
  bool json = false;
  std::vector<double> lr_at;
  std::optional<std::int64_t> train_samples;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--svg") {
      svg_path = option_value(argc, argv, i);
    } else if (arg == "--train-samples") {
      const int samples = option_int(arg, option_value(argc, argv, i));
      if (samples < 1) throw usage_error("--train-samples must be at least 1");
      train_samples = samples;
    } else if (arg == "--lr-at") {
      lr_at = parse_epochs(option_value(argc, argv, i));
    } else if (!arguments.take(arg, argc, argv, i)) {
      throw usage_error("unknown option " + arg);
    }
  }
  const auto config_path = arguments.config();
  if (config_path.empty()) throw usage_error("missing CONFIG");
  if (!lr_at.empty() && !json) throw usage_error("--lr-at is part of --json's output: add --json");
  // Before anything is printed: a plot that cannot be written fails the command.
  if (!svg_path.empty()) check_writable_folder_of(svg_path, "--svg");

  const auto tree = load_config(config_path, arguments.overrides());
  const auto cfg = read_schedule_config(tree);
  check_schedule_config(tree, cfg);
  warn_unread_overrides(tree, "multigrid-schedule");

  if (json) {
    std::cout << schedule_json(cfg, lr_at).dump(2) << "\n";
  } else {
    std::cout << schedule_table(cfg, train_samples);
  }
  if (train_samples) {
    for (const auto& line : schedule_fit_warnings(cfg, *train_samples, slowfast_spatial_stride())) {
      std::fprintf(stderr, "multigrid-schedule: warning: %s\n", line.c_str());
    }
  }
  if (!svg_path.empty()) {
    const auto title = std::filesystem::path(config_path).filename().string() +
                       (cfg.uses_multigrid() ? ": multigrid schedule" : ": standard schedule");
    write_file_atomically(svg_path, render_svg(schedule_chart(cfg, title)));
    std::fprintf(stderr, "multigrid-schedule: wrote %s\n", svg_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-schedule", usage, [&] { return run(argc, argv); });
}
