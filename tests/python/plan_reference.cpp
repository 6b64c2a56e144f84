// What the C++ library answers, printed as JSON, for the Python module's tests to compare with:
//
//   plan_reference plan CONFIG TRAIN_SAMPLES [--at G1,G2,...] [--lr-at E1,E2,...]
//       the plan's summary and stage table, the iterations at global positions G, the LR at E
//   plan_reference batches CONFIG TRAIN_SAMPLES EPOCH RANK SHUFFLE SEED
//       one process's batches of an epoch, as multigrid.ShortCycleBatchSampler makes them
//   plan_reference statistics < INPUT
//       BatchNorm statistics; INPUT is one operation and its numbers, whitespace separated:
//       pool SPLITS CHANNELS means... variances...  | tile CHANNELS SPLITS values...
//       accumulate SIZE BATCHES_SO_FAR values... averages...
//       population CHANNELS BATCHES (count means... variances...)...
//
// CONFIG is read as the tools and the Python module read it (YAML, or JSON). Numbers are printed
// with 17 significant digits, so that they read back as the same doubles.

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <multigrid/batch_norm_statistics.hpp>
#include <multigrid/plan.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "config/schedule_config.hpp"
#include "epoch_order.hpp"

namespace {

using multigrid::reference::config_tree;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

template <class Range, class Format>
std::string list(const Range& values, Format format) {
  std::string text = "[";
  bool first = true;
  for (const auto& value : values) {
    if (!first) text += ", ";
    first = false;
    text += format(value);
  }
  return text + "]";
}

std::string integer(std::int64_t value) {
  return std::to_string(value);
}

std::string shape_json(const multigrid::clip_shape& shape) {
  return "{\"batch_size\": " + integer(shape.per_gpu_batch) +
         ", \"global_batch_size\": " + integer(shape.global_batch) +
         ", \"num_frames\": " + integer(shape.num_frames) + ", \"crop\": " + integer(shape.crop) +
         ", \"jitter\": [" + integer(shape.jitter[0]) + ", " + integer(shape.jitter[1]) + "]}";
}

std::string settings_json(const multigrid::stage_settings& settings) {
  std::vector<multigrid::clip_shape> cycle(settings.cycle.begin(),
                                           settings.cycle.begin() + settings.cycle_length);
  return "{\"base\": " + shape_json(settings.base) + ", \"sampling_rate\": [" +
         integer(settings.sampling_rate[0]) + ", " + integer(settings.sampling_rate[1]) +
         "], \"batch_norm\": {\"type\": \"" +
         std::string(multigrid::batch_norm_type_name(settings.batch_norm.type)) +
         "\", \"splits\": " + integer(settings.batch_norm.splits) +
         ", \"sync_devices\": " + integer(settings.batch_norm.sync_devices) +
         "}, \"cycle\": " + list(cycle, shape_json) + "}";
}

std::string step_json(const multigrid::iteration_plan& step) {
  return "{\"epoch\": " + integer(step.epoch) + ", \"iteration\": " + integer(step.iteration) +
         ", \"global_iteration\": " + integer(step.global_iteration) +
         ", \"iterations_in_epoch\": " + integer(step.iterations_in_epoch) +
         ", \"epoch_position\": " + number(step.epoch_position) + ", \"lr\": " + number(step.lr) +
         ", \"stage\": " + integer(step.stage) +
         ", \"stage_begins\": " + (step.stage_begins ? "true" : "false") +
         ", \"shape_index\": " + integer(step.shape_index) +
         ", \"shape\": " + shape_json(step.shape) +
         ", \"settings\": " + settings_json(*step.settings) + "}";
}

template <class T>
std::vector<T> comma_list(const std::string& text) {
  std::vector<T> values;
  std::istringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) values.push_back(static_cast<T>(std::stod(item)));
  }
  return values;
}

multigrid::plan load_plan(const std::string& path, const std::string& samples) {
  const auto tree = config_tree::load_file(path);
  tree.check_known_keys();
  const auto cfg = multigrid::reference::read_schedule_config(tree);
  multigrid::reference::check_schedule_config(tree, cfg);
  return multigrid::plan(cfg, std::stoll(samples));
}

int print_plan(int argc, char** argv) {
  const auto plan = load_plan(argv[2], argv[3]);
  std::vector<std::int64_t> at;
  std::vector<double> lr_at;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    if (option == "--at") at = comma_list<std::int64_t>(argv[i + 1]);
    if (option == "--lr-at") lr_at = comma_list<double>(argv[i + 1]);
  }
  std::string stages;
  for (const auto& stage : plan.stages()) {
    if (!stages.empty()) stages += ", ";
    const auto& s = stage.schedule;
    stages += "{\"lr_stage\": " + integer(s.lr_stage) +
              ", \"begin_epoch\": " + integer(s.begin_epoch) +
              ", \"end_epoch\": " + integer(s.end_epoch) +
              ", \"batch_factor\": " + integer(s.batch_factor) +
              ", \"fine_tune\": " + (s.fine_tune ? "true" : "false") +
              ", \"iterations_per_epoch\": " + integer(stage.iterations_per_epoch) +
              ", \"first_iteration\": " + integer(stage.first_iteration) +
              ", \"settings\": " + settings_json(stage.settings) + "}";
  }
  std::string steps;
  for (const auto global : at) {
    if (!steps.empty()) steps += ",\n  ";
    steps += step_json(plan.at(global));
  }
  std::vector<double> lrs;
  for (const double epoch : lr_at) lrs.push_back(plan.lr_at(epoch));
  std::cout << "{\"total_iterations\": " << plan.total_iterations()
            << ", \"epochs\": " << plan.epochs()
            << ", \"steps\": " << list(plan.schedule().steps, integer)
            << ", \"relative_lrs\": " << list(plan.schedule().relative_lrs, number)
            << ",\n \"stages\": [" << stages << "],\n \"at\": [" << steps
            << "],\n \"lr_at\": " << list(lrs, number) << "}\n";
  return 0;
}

int print_batches(char** argv) {
  const auto plan = load_plan(argv[2], argv[3]);
  const int epoch = std::atoi(argv[4]);
  const int rank = std::atoi(argv[5]);
  const bool shuffle = std::string(argv[6]) == "1";
  const auto seed = std::strtoull(argv[7], nullptr, 10);
  const int world = plan.configuration().devices();
  const auto order = multigrid::python::epoch_order(plan.train_samples(), shuffle, seed,
                                                    static_cast<std::uint64_t>(epoch));
  std::vector<std::int64_t> shard;
  multigrid::copy_rank_shard(order.begin(), order.end(), rank, world, std::back_inserter(shard));
  const auto& settings =
      plan.stages()[static_cast<std::size_t>(plan.stage_of_epoch(epoch))].settings;
  int sizes[3];
  for (int m = 0; m < settings.cycle_length; ++m) sizes[m] = settings.cycle[m].per_gpu_batch;
  const multigrid::short_cycle_batch_sampler sampler(shard.begin(), shard.end(), sizes,
                                                     settings.cycle_length);
  std::string batches;
  std::string shape_indices;
  for (const auto batch : sampler) {
    if (!batches.empty()) batches += ",\n  ";
    if (!shape_indices.empty()) shape_indices += ", ";
    batches += list(batch, integer);
    shape_indices += integer(batch.shape_index);
  }
  std::cout << "{\"batches\": [" << batches << "],\n \"shape_indices\": [" << shape_indices
            << "]}\n";
  return 0;
}

std::vector<double> read_numbers(std::istream& in, std::size_t count) {
  std::vector<double> values(count);
  for (auto& value : values) in >> value;
  return values;
}

int print_statistics() {
  std::string operation;
  std::cin >> operation;
  std::vector<double> first;
  std::vector<double> second;
  if (operation == "pool") {
    std::size_t splits = 0, channels = 0;
    std::cin >> splits >> channels;
    const auto means = read_numbers(std::cin, splits * channels);
    const auto variances = read_numbers(std::cin, splits * channels);
    first.resize(channels);
    second.resize(channels);
    multigrid::pool_split_statistics(means.data(), variances.data(), splits, channels, first.data(),
                                     second.data());
  } else if (operation == "tile") {
    std::size_t channels = 0, splits = 0;
    std::cin >> channels >> splits;
    const auto values = read_numbers(std::cin, channels);
    first.resize(channels * splits);
    multigrid::tile_statistics(values.data(), channels, splits, first.data());
  } else if (operation == "accumulate") {
    std::size_t size = 0, batches_so_far = 0;
    std::cin >> size >> batches_so_far;
    const auto values = read_numbers(std::cin, size);
    first = read_numbers(std::cin, size);
    multigrid::accumulate_equal_weight(values.data(), size, batches_so_far, first.data());
  } else if (operation == "population") {
    std::size_t channels = 0, batches = 0;
    std::cin >> channels >> batches;
    multigrid::population_statistics statistics(channels);
    for (std::size_t b = 0; b < batches; ++b) {
      double count = 0;
      std::cin >> count;
      const auto means = read_numbers(std::cin, channels);
      const auto variances = read_numbers(std::cin, channels);
      statistics.add(means.data(), variances.data(), count);
    }
    first.resize(channels);
    second.resize(channels);
    statistics.result(first.data(), second.data());
  } else {
    std::cerr << "plan_reference: unknown statistics operation " << operation << "\n";
    return 2;
  }
  if (!std::cin) {
    std::cerr << "plan_reference: too few numbers for " << operation << "\n";
    return 2;
  }
  std::cout << "{\"first\": " << list(first, number) << ", \"second\": " << list(second, number)
            << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "plan" && argc >= 4) return print_plan(argc, argv);
    if (mode == "batches" && argc == 8) return print_batches(argv);
    if (mode == "statistics") return print_statistics();
  } catch (const std::exception& error) {
    std::cerr << "plan_reference: " << error.what() << "\n";
    return 1;
  }
  std::cerr << "usage: plan_reference plan|batches|statistics ... (see the source)\n";
  return 2;
}
