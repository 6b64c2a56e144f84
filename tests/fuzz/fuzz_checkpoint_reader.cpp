// Fuzz target: the bytes of a checkpoint file, as auto-resume or TRAIN.CHECKPOINT_FILE_PATH hands
// them to the trainer. Every input must end in a loaded state or checkpoint_error / config_error;
// anything else (a crash, a sanitizer report, another exception, an allocation beyond what the
// input's size justifies) is a finding.
//
// The first byte chooses how the rest is read: odd, the checksum field is set to the checksum of
// the rest first (so that mutations reach the parser behind it); even, the rest is read as it is.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "train/checkpoint.hpp"

using namespace multigrid::reference;

namespace {

// A stand-in for the model: what the reader hands out must load into it or be refused.
struct small_model : torch::nn::Module {
  small_model() { layer = register_module("head", torch::nn::Linear(3, 2)); }
  torch::nn::Linear layer{nullptr};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) bytes = seal_checkpoint_bytes(std::move(bytes));
  static const auto model = std::make_shared<small_model>();
  static training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  static const auto current = resolved_config::parse("MODEL:\n  NUM_CLASSES: 2\n", "fuzz.yaml");
  try {
    opened_checkpoint checkpoint("fuzz.ckpt", std::move(bytes));
    checkpoint.load(module_checkpoint_parts(*model, optimizer));
    check_resume_compatible(checkpoint, current, checkpoint.state().position.train_samples);
  } catch (const checkpoint_error&) {
  } catch (const config_error&) {
  }
  return 0;
}
