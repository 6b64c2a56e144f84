#pragma once
// Settings the benchmarks read from the environment (Google Benchmark owns the command line):
// strings, non-negative integers and lists of clip batch shapes, with errors that name the
// variable and its value.

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace multigrid::bench {

struct clip_batch_shape {
  int batch = 0;
  int frames = 0;
  int crop = 0;
};

inline std::string environment(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

inline int environment_int(const char* name, int fallback) {
  const auto text = environment(name, "");
  if (text.empty()) return fallback;
  try {
    std::size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(std::string(name) + "=" + text + " is not a non-negative integer");
}

/// "8x32x224,16x16x158": BATCHxFRAMESxCROP items; `variable` names the setting in errors.
inline std::vector<clip_batch_shape> parse_shapes(const std::string& text, const char* variable) {
  std::vector<clip_batch_shape> shapes;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    clip_batch_shape shape;
    char x1 = 0;
    char x2 = 0;
    std::istringstream fields(item);
    if (!(fields >> shape.batch >> x1 >> shape.frames >> x2 >> shape.crop) || x1 != 'x' ||
        x2 != 'x' || !fields.eof() || shape.batch < 1 || shape.frames < 1 || shape.crop < 1) {
      throw std::invalid_argument(std::string(variable) + ": `" + item +
                                  "` is not BATCHxFRAMESxCROP, e.g. 8x32x224");
    }
    shapes.push_back(shape);
  }
  return shapes;
}

inline std::string shape_name(const clip_batch_shape& shape) {
  return std::to_string(shape.batch) + "x" + std::to_string(shape.frames) + "x" +
         std::to_string(shape.crop);
}

/// PySlowFast's per-GPU batches for the Kinetics multigrid schedule (64 clips on 8 GPUs at the
/// base shape): the long-cycle shapes and their short-cycle variants.
inline constexpr const char* kinetics_gpu_shapes =
    "128x8x112,64x8x158,64x16x112,32x16x158,16x16x224,32x32x112,16x32x158,8x32x224";

}  // namespace multigrid::bench
