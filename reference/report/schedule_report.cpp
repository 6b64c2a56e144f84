#include "report/schedule_report.hpp"

#include <cstdio>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/learning_rate.hpp>
#include <multigrid/plan.hpp>
#include <multigrid/plateau_warning.hpp>
#include <multigrid/schedule_cost.hpp>
#include <multigrid/schedule_warnings.hpp>
#include <multigrid/stage_settings.hpp>
#include <sstream>

namespace multigrid::reference {
namespace {

struct described_stage {
  schedule_stage stage;
  stage_settings settings;
};

std::vector<described_stage> describe(const multigrid::config& cfg,
                                      const epoch_schedule& schedule) {
  std::vector<described_stage> stages;
  const auto settings = make_all_stage_settings(cfg, schedule);
  for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
    stages.push_back({schedule.stages[i], settings[i]});
  }
  return stages;
}

// The stage that trains `epoch`: the last non-empty one that begins at or before it.
const described_stage& stage_at(const std::vector<described_stage>& stages, int epoch) {
  const described_stage* found = &stages.front();
  for (const auto& stage : stages) {
    if (!stage.stage.empty() && stage.stage.begin_epoch <= epoch) found = &stage;
  }
  return *found;
}

std::string batch_norm_text(const batch_norm_mode& mode) {
  switch (mode.type) {
    case batch_norm_type::plain:
      return "plain";
    case batch_norm_type::sub_batch:
      return "sub-BN x" + std::to_string(mode.splits);
    case batch_norm_type::synchronized:
      return "sync-BN x" + std::to_string(mode.sync_devices);
  }
  return "?";
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace

std::string schedule_table(const multigrid::config& cfg,
                           std::optional<std::int64_t> train_samples) {
  const auto schedule = make_epoch_schedule(cfg);
  const auto stages = describe(cfg, schedule);
  std::optional<multigrid::plan> plan;
  if (train_samples) plan.emplace(cfg, *train_samples);
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-5s %-4s %-11s %8s %8s %6s %5s %7s %9s %-12s %-24s%s\n",
                "stage", "LR", "epochs", "global B", "per-GPU", "frames", "crop", "stride",
                "jitter", "BN", "short cycle (B@crop)", plan ? " iter/epoch  iterations" : "");
  out << line;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const auto& [stage, settings] = stages[i];
    std::string cycle = "-";
    if (settings.cycle_length == 3) {
      cycle.clear();
      for (int m = 0; m < 3; ++m) {
        if (m > 0) cycle += ' ';
        cycle += std::to_string(settings.cycle[m].per_gpu_batch) + "@" +
                 std::to_string(settings.cycle[m].crop);
      }
    }
    const std::string lr_stage = stage.fine_tune ? "FT" : std::to_string(stage.lr_stage);
    const std::string epochs = std::to_string(stage.begin_epoch) + "-" +
                               std::to_string(stage.end_epoch) + (stage.empty() ? " (empty)" : "");
    const std::string stride =
        std::to_string(settings.sampling_rate[0]) + "-" + std::to_string(settings.sampling_rate[1]);
    const std::string jitter =
        std::to_string(settings.base.jitter[0]) + "-" + std::to_string(settings.base.jitter[1]);
    std::string iterations;
    if (plan) {
      const auto& planned = plan->stages()[i];
      char text[64];
      std::snprintf(text, sizeof text, " %10lld %11lld",
                    static_cast<long long>(planned.iterations_per_epoch),
                    static_cast<long long>(planned.iterations()));
      iterations = text;
    }
    std::snprintf(line, sizeof line, "%-5zu %-4s %-11s %8d %8d %6d %5d %7s %9s %-12s %-24s%s\n", i,
                  lr_stage.c_str(), epochs.c_str(), settings.base.global_batch,
                  settings.base.per_gpu_batch, stage.num_frames, stage.crop, stride.c_str(),
                  jitter.c_str(), batch_norm_text(settings.batch_norm).c_str(), cycle.c_str(),
                  iterations.c_str());
    out << line;
  }
  out << "\nSTEPS      [";
  for (std::size_t i = 0; i < schedule.steps.size(); ++i) {
    out << (i ? ", " : "") << schedule.steps[i];
  }
  out << "]\nLRS        [";
  for (std::size_t i = 0; i < schedule.relative_lrs.size(); ++i) {
    out << (i ? ", " : "") << format("%g", schedule.relative_lrs[i]);
  }
  out << "]\nMAX_EPOCH  " << schedule.max_epoch << "\n";
  out << "LR_POLICY  " << lr_policy_name(cfg.solver.policy) << ", BASE_LR "
      << format("%g", cfg.solver.base_lr) << "\n";
  const double relative =
      train_samples ? iteration_ratio(cfg, *train_samples) : iteration_ratio(cfg);
  out << "iterations ";
  if (plan) {
    out << plan->total_iterations() << " for " << *train_samples << " training clips, ";
  }
  out << format("%.3f", relative) << " of the standard schedule's (" << format("%.2f", 1 / relative)
      << "x fewer) for "
      << format("%.2f", static_cast<double>(schedule.max_epoch) / cfg.solver.max_epoch)
      << "x the epochs";
  if (relative < 1) {
    // The budget in the standard schedule's own terms, the one a user can weigh against what
    // the data needs (docs/training.md, "Against the standard schedule in the same budget").
    out << ", as many as the standard schedule takes in "
        << format("%.1f", multigrid::standard_epochs_for_steps(cfg, relative)) << " of its "
        << multigrid::make_epoch_schedule(multigrid::standard_counterpart(cfg)).max_epoch
        << " epochs";
  }
  out << "\n";
  return out.str();
}

std::vector<std::string> schedule_fit_warnings(const multigrid::config& cfg,
                                               std::int64_t train_samples, int spatial_stride) {
  multigrid::fit_limits limits;
  limits.spatial_stride = spatial_stride;
  std::vector<std::string> lines;
  for (const auto& warning : check_schedule_fit(multigrid::plan(cfg, train_samples), limits)) {
    lines.push_back(warning.text());
  }
  return lines;
}

nlohmann::ordered_json schedule_json(const multigrid::config& cfg,
                                     const std::vector<double>& lr_at) {
  const auto schedule = make_epoch_schedule(cfg);
  const auto stages = describe(cfg, schedule);
  const learning_rate_schedule learning_rate(cfg, schedule);

  nlohmann::ordered_json json;
  json["max_epoch"] = schedule.max_epoch;
  json["steps"] = schedule.steps;
  json["relative_lrs"] = schedule.relative_lrs;
  // Where the trainer judges whether a run has left its loss plateau (docs/training.md).
  const auto first_end = first_lr_stage_end(cfg, schedule);
  json["first_lr_stage_end"] = first_end ? nlohmann::ordered_json(*first_end) : nullptr;
  auto& stage_list = json["stages"] = nlohmann::ordered_json::array();
  for (const auto& [stage, settings] : stages) {
    stage_list.push_back({{"lr_stage", stage.lr_stage},
                          {"begin_epoch", stage.begin_epoch},
                          {"end_epoch", stage.end_epoch},
                          {"batch_factor", stage.batch_factor},
                          {"num_frames", stage.num_frames},
                          {"crop", stage.crop}});
  }
  auto& epochs = json["epochs"] = nlohmann::ordered_json::array();
  for (int epoch = 0; epoch < schedule.max_epoch; ++epoch) {
    const auto& described = stage_at(stages, epoch);
    const auto& settings = described.settings;
    const auto index = &described - stages.data();
    nlohmann::ordered_json short_cycle = nullptr;
    if (settings.cycle_length == 3) {
      short_cycle = nlohmann::ordered_json::array();
      for (const auto& shape : settings.cycle) {
        short_cycle.push_back({{"per_gpu_batch", shape.per_gpu_batch},
                               {"global_batch", shape.global_batch},
                               {"crop", shape.crop},
                               {"jitter", shape.jitter}});
      }
    }
    epochs.push_back({{"epoch", epoch},
                      {"stage", index},
                      {"global_batch", settings.base.global_batch},
                      {"per_gpu_batch", settings.base.per_gpu_batch},
                      {"num_frames", settings.base.num_frames},
                      {"crop", settings.base.crop},
                      {"jitter", settings.base.jitter},
                      {"sampling_rate", settings.sampling_rate},
                      {"bn",
                       {{"type", std::string(batch_norm_type_name(settings.batch_norm.type))},
                        {"splits", settings.batch_norm.splits},
                        {"sync_devices", settings.batch_norm.sync_devices}}},
                      {"short_cycle", short_cycle},
                      {"lr", learning_rate.at(epoch)}});
  }
  if (!lr_at.empty()) {
    auto& list = json["lr_at"] = nlohmann::ordered_json::array();
    for (double epoch : lr_at) list.push_back({{"epoch", epoch}, {"lr", learning_rate.at(epoch)}});
  }
  return json;
}

chart schedule_chart(const multigrid::config& cfg, const std::string& title) {
  const auto schedule = make_epoch_schedule(cfg);
  const auto stages = describe(cfg, schedule);
  const learning_rate_schedule learning_rate(cfg, schedule);

  chart figure;
  figure.title = title;
  figure.x_label = "epoch";
  chart_series batch{"global batch", {}, {}, true, "#1f77b4"};
  chart_series frames{"frames", {}, {}, true, "#2ca02c"};
  chart_series crop{"crop", {}, {}, true, "#ff7f0e"};
  for (const auto& [stage, settings] : stages) {
    if (stage.empty()) continue;
    for (int edge : {stage.begin_epoch, stage.end_epoch}) {
      batch.x.push_back(edge);
      batch.y.push_back(settings.base.global_batch);
      frames.x.push_back(edge);
      frames.y.push_back(stage.num_frames);
      crop.x.push_back(edge);
      crop.y.push_back(stage.crop);
    }
    if (stage.begin_epoch > 0) figure.x_marks.push_back(stage.begin_epoch);
  }
  // Fine enough to show warm-up and cosine shapes, and every step.
  chart_series lr{"learning rate", {}, {}, false, "#d62728"};
  const int samples = 2000;
  for (int i = 0; i <= samples; ++i) {
    const double epoch = static_cast<double>(schedule.max_epoch) * i / samples;
    lr.x.push_back(epoch);
    lr.y.push_back(learning_rate.at(std::min(epoch, schedule.max_epoch - 1e-9)));
  }
  figure.panels.push_back({"global batch (clips)", {batch}, false, 120});
  figure.panels.push_back({"frames", {frames}, false, 100});
  figure.panels.push_back({"crop (px)", {crop}, false, 100});
  figure.panels.push_back({"learning rate", {lr}, true, 160});
  return figure;
}

}  // namespace multigrid::reference
