#include "model/model_summary.hpp"

#include <algorithm>
#include <cstdio>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/stage_settings.hpp>
#include <sstream>

#include "model/multiply_adds.hpp"
#include "model/slow_pathway_frames.hpp"

namespace multigrid::reference {
namespace {

// 34566488 -> "34,566,488"
std::string with_thousands(std::int64_t value) {
  auto digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return digits;
}

}  // namespace

std::vector<clip_size> distinct_clip_sizes(const multigrid::config& cfg) {
  std::vector<clip_size> sizes;
  const auto schedule = multigrid::make_epoch_schedule(cfg);
  const auto all_settings = multigrid::make_all_stage_settings(cfg, schedule);
  for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
    if (schedule.stages[i].empty()) continue;
    const auto& settings = all_settings[i];
    for (int m = 0; m < settings.cycle_length; ++m) {
      const clip_size size{settings.cycle[m].num_frames, settings.cycle[m].crop};
      if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(size);
    }
  }
  std::sort(sizes.begin(), sizes.end(), [](const clip_size& a, const clip_size& b) {
    return a.frames != b.frames ? a.frames < b.frames : a.crop < b.crop;
  });
  return sizes;
}

model_summary summarize_model(SlowFast& model, const std::vector<clip_size>& sizes) {
  model_summary summary;
  for (const auto& parameter : model->parameters()) summary.parameters += parameter.numel();
  for (const auto& size : sizes) {
    clip_cost cost;
    cost.size = size;
    cost.slow_frames = slow_pathway_frame_indices(size.frames, model->options().alpha).numel();
    cost.multiply_adds = count_multiply_adds(model, size.frames, size.crop);
    summary.costs.push_back(cost);
  }
  return summary;
}

std::string format_model_summary(const model_summary& summary, const slowfast_options& options) {
  std::ostringstream text;
  text << "SlowFast-R" << options.depth << ": alpha " << options.alpha << ", beta 1/"
       << options.beta_inv << ", fusion kernel " << options.fusion_kernel_size << " ratio "
       << options.fusion_conv_channel_ratio << ", width " << options.num_groups << "x"
       << options.width_per_group << ", " << options.num_classes << " classes\n";
  text << "parameters: " << with_thousands(summary.parameters) << "\n";
  text << "multiply-adds per clip (convolutions and classifier):\n";
  text << "  frames fast (slow)   crop   G multiply-adds\n";
  for (const auto& cost : summary.costs) {
    char line[96];
    std::snprintf(line, sizeof line, "  %6d (%3lld)      %5d   %15.2f\n", cost.size.frames,
                  static_cast<long long>(cost.slow_frames), cost.size.crop,
                  static_cast<double>(cost.multiply_adds) / 1e9);
    text << line;
  }
  return text.str();
}

}  // namespace multigrid::reference
