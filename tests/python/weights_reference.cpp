// The C++ side of the weights-exchange tests (test_weights_exchange.py): the model a config builds,
// weights loaded into it as the trainer loads TRAIN.CHECKPOINT_FILE_PATH, and its logits.
//
//   weights_reference options CONFIG [KEY VALUE...]
//       the model options the config builds, as JSON, for the Python model to be built alike
//   weights_reference logits CONFIG WEIGHTS CLIP OUT [KEY VALUE...]
//       loads WEIGHTS (read_weights_file, load_weights: the trainer's path) and writes the logits
//       of the evaluation forward on CLIP to OUT
//   weights_reference random-checkpoint CONFIG SEED EPOCH CLIP CHECKPOINT LOGITS [KEY VALUE...]
//       a model whose every parameter and BN statistic is drawn from SEED, written as the trainer
//       writes a checkpoint (at EPOCH), and its logits on CLIP written to LOGITS
//
// CLIP holds the fast pathway's clip as tensor `fast` (N, C, T, H, W); logits are written as
// tensor `logits`; both files are in the checkpoint layout (tests/python/multigrid_checkpoint.py).
// Everything runs on the CPU with one thread, so that both sides compute in the same order.

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model_state.hpp"
#include "model/slowfast.hpp"
#include "tools/cli_support.hpp"
#include "train/checkpoint.hpp"
#include "train/initial_weights.hpp"

namespace {

using namespace multigrid::reference;

SlowFast build_model(const std::string& config, const std::vector<std::string>& overrides) {
  return SlowFast(read_slowfast_options(load_config(config, overrides)));
}

int print_options(const std::string& config, const std::vector<std::string>& overrides) {
  const auto o = read_slowfast_options(load_config(config, overrides));
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& stage : o.blocks_with_temporal_kernel) blocks.push_back({stage[0], stage[1]});
  const nlohmann::json options = {{"depth", o.depth},
                                  {"num_groups", o.num_groups},
                                  {"width_per_group", o.width_per_group},
                                  {"alpha", o.alpha},
                                  {"beta_inv", o.beta_inv},
                                  {"fusion_conv_channel_ratio", o.fusion_conv_channel_ratio},
                                  {"fusion_kernel_size", o.fusion_kernel_size},
                                  {"num_classes", o.num_classes},
                                  {"dropout_rate", o.dropout_rate},
                                  {"batch_norm_epsilon", o.batch_norm_epsilon},
                                  {"input_channels", o.input_channels},
                                  {"blocks_with_temporal_kernel", blocks}};
  std::cout << options.dump() << "\n";
  return 0;
}

torch::Tensor evaluate(SlowFast& model, const std::string& clip_path) {
  const auto tensors = checkpoint_file(clip_path).tensors("");
  const auto clip = tensors.find("fast");
  if (clip == tensors.end()) throw std::runtime_error(clip_path + ": no tensor `fast`");
  model->eval();
  torch::NoGradGuard no_grad;
  return model->forward(clip->second);
}

void write_logits(const std::string& path, const torch::Tensor& logits) {
  write_checkpoint_file(path, {}, {{"logits", logits.contiguous()}});
}

int write_loaded_logits(const std::string& config, const std::string& weights,
                        const std::string& clip, const std::string& out,
                        const std::vector<std::string>& overrides) {
  auto model = build_model(config, overrides);
  const auto skipped = load_weights(model, read_weights_file(weights), weights);
  if (!skipped.empty()) {
    // Every tensor must come from the file: one left as initialised would make the logits differ
    // for a reason the test is not about.
    std::cerr << "weights_reference: " << weights << " left " << skipped.front()
              << " as initialised\n";
    return 1;
  }
  write_logits(out, evaluate(model, clip));
  return 0;
}

// Draws every tensor of the model, so that no parameter or statistic has the value its
// initialisation gives (final BN scales of zero would hide a wrong residual branch; running
// statistics of 0 and 1 would hide swapped ones).
void randomize(SlowFast& model) {
  torch::NoGradGuard no_grad;
  for (auto& layer : model->batch_norm_layers()) {
    layer->weight.uniform_(0.5, 1.5);
    layer->bias.normal_(0.0, 0.2);
    layer->running_mean.normal_(0.0, 0.2);
    layer->running_var.uniform_(0.5, 2.0);
  }
  model->head->projection->bias.normal_(0.0, 0.1);
}

int write_random_checkpoint(const std::string& config, int seed, int epoch, const std::string& clip,
                            const std::string& checkpoint, const std::string& logits,
                            const std::vector<std::string>& overrides) {
  torch::manual_seed(static_cast<std::uint64_t>(seed));
  auto model = build_model(config, overrides);
  randomize(model);
  checkpoint_state state;
  state.position.epoch = epoch;
  state.config_yaml = resolved_config(load_config(config, overrides)).yaml();
  checkpoint_parts parts;
  parts.save_model = [&model] { return save_model_state(model); };
  write_checkpoint(checkpoint, state, parts);
  write_logits(logits, evaluate(model, clip));
  return 0;
}

std::vector<std::string> rest(int argc, char** argv, int first) {
  return first < argc ? std::vector<std::string>(argv + first, argv + argc)
                      : std::vector<std::string>();
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(1);
  try {
    const std::string mode = argc > 2 ? argv[1] : "";
    if (mode == "options") return print_options(argv[2], rest(argc, argv, 3));
    if (mode == "logits" && argc >= 6) {
      return write_loaded_logits(argv[2], argv[3], argv[4], argv[5], rest(argc, argv, 6));
    }
    if (mode == "random-checkpoint" && argc >= 8) {
      return write_random_checkpoint(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), argv[5],
                                     argv[6], argv[7], rest(argc, argv, 8));
    }
  } catch (const std::exception& error) {
    std::cerr << "weights_reference: " << error.what() << "\n";
    return 1;
  }
  std::cerr << "usage: weights_reference options|logits|random-checkpoint ... (see the source)\n";
  return 2;
}
