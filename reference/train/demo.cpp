#include "train/demo.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "config/config_tree.hpp"
#include "data/synthetic_dataset.hpp"
#include "report/atomic_file.hpp"
#include "train/run_report.hpp"
#include "train/trainer.hpp"

namespace multigrid::reference {
namespace {

// Enough videos for a clear difference between the classes, few enough to write in seconds;
// twice as many test videos as validation ones, as the final comparison rests on the test.
// 96x72 leaves room for the 64-pixel crops after jittering the short side to 64-80.
synthetic_dataset_options demo_dataset(const std::string& root) {
  synthetic_dataset_options options;
  options.root = root;
  options.classes = 8;
  options.train_per_class = 48;
  options.val_per_class = 12;
  options.test_per_class = 24;
  options.width = 96;
  options.height = 72;
  options.seconds = 2;
  options.seed = 2020;
  options.jobs = 2;
  return options;
}

std::string format_percent(const std::optional<evaluation_result>& result) {
  if (!result) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", result->top1);
  return text;
}

}  // namespace

int run_demo(const demo_options& options) {
  namespace fs = std::filesystem;
  const std::string dataset = options.output_dir + "/dataset";
  fs::create_directories(options.output_dir);
  if (!fs::exists(dataset + "/train.csv")) {
    std::fprintf(options.out, "demo: writing a motion dataset to %s\n", dataset.c_str());
    std::fflush(options.out);
    const auto summary = make_synthetic_dataset(demo_dataset(dataset));
    std::fprintf(options.out, "demo: %lld videos (%s), %zu classes\n",
                 static_cast<long long>(summary.written + summary.kept), summary.codec.c_str(),
                 summary.class_names.size());
  }

  struct run {
    std::string name;
    bool multigrid;
    training_outcome outcome;
  };
  std::vector<run> runs{{"standard", false, {}}, {"multigrid", true, {}}};
  for (auto& entry : runs) {
    auto tree = config_tree::load_string(demo_config_text(), "demo config");
    const std::string flag = entry.multigrid ? "True" : "False";
    tree.apply_overrides({"DATA.PATH_TO_DATA_DIR", dataset, "OUTPUT_DIR",
                          options.output_dir + "/" + entry.name, "MULTIGRID.LONG_CYCLE", flag,
                          "MULTIGRID.SHORT_CYCLE", flag});
    tree.apply_overrides(options.overrides);
    std::fprintf(options.out, "\ndemo: training with the %s schedule\n", entry.name.c_str());
    std::fflush(options.out);
    trainer_options trainer;
    trainer.out = options.out;
    trainer.label = entry.name;
    entry.outcome = run_training(tree, trainer);
    if (!entry.outcome.completed) {
      std::fprintf(options.out, "demo: stopped; run the same command again to resume\n");
      return 128 + entry.outcome.stop_signal;
    }
  }

  std::vector<run_record> records;
  for (const auto& entry : runs) records.push_back(load_run(entry.outcome.output_dir, entry.name));
  const std::string report = options.output_dir + "/report.svg";
  write_run_report(records, report);

  const auto& standard = runs[0].outcome;
  const auto& multigrid = runs[1].outcome;
  std::fprintf(options.out, "\n%-10s %7s %11s %12s %10s %10s\n", "schedule", "epochs", "iterations",
               "train time", "val top-1", "test top-1");
  for (const auto& entry : runs) {
    const auto& outcome = entry.outcome;
    std::fprintf(options.out, "%-10s %7d %11lld %11.0fs %10s %10s\n", entry.name.c_str(),
                 outcome.epochs, static_cast<long long>(outcome.iterations), outcome.train_seconds,
                 format_percent(outcome.validation).c_str(), format_percent(outcome.test).c_str());
  }
  if (multigrid.train_seconds > 0) {
    std::fprintf(options.out, "\nmultigrid trained %.2fx faster in wall-clock time",
                 standard.train_seconds / multigrid.train_seconds);
    if (standard.test && multigrid.test) {
      std::fprintf(options.out, "; its test top-1 is %.1f points %s the standard run's",
                   std::abs(multigrid.test->top1 - standard.test->top1),
                   multigrid.test->top1 >= standard.test->top1 ? "above" : "below");
    }
    std::fprintf(options.out, "\n");
  }
  std::fprintf(options.out, "report: %s\n", report.c_str());
  return 0;
}

}  // namespace multigrid::reference
