#include "train/legacy_checkpoint.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include "train/checkpoint.hpp"
#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

constexpr std::size_t legacy_header_size = 64;

state_dict archive_tensors(torch::serialize::InputArchive& archive) {
  state_dict tensors;
  for (const auto& key : archive.keys()) {
    torch::Tensor tensor;
    if (archive.try_read(key, tensor, /*is_buffer=*/true) ||
        archive.try_read(key, tensor, /*is_buffer=*/false)) {
      tensors[key] = tensor;
    }
  }
  return tensors;
}

}  // namespace

void convert_legacy_checkpoint(const std::string& from, const std::string& to) {
  std::ifstream file(from, std::ios::binary);
  if (!file) throw checkpoint_error(from + ": cannot open the checkpoint");
  const std::string bytes(std::istreambuf_iterator<char>(file), {});
  if (bytes.size() < legacy_header_size || bytes.compare(0, 8, std::string("MGCKPT\0\1", 8)) != 0) {
    throw checkpoint_error(from + ": not a checkpoint of the earlier format");
  }
  checkpoint_state state;
  state_dict model;
  state_dict momentum;
  try {
    std::istringstream stream(bytes.substr(legacy_header_size));
    torch::serialize::InputArchive archive;
    archive.load_from(stream, torch::Device(torch::kCPU));
    c10::IValue value;
    archive.read("format_version", value);
    if (value.toInt() != 1) throw std::runtime_error("format version is not 1");
    archive.read("config", value);
    state.config_yaml = value.toStringRef();
    archive.read("metrics", value);
    state.history = history_from_json(nlohmann::json::parse(value.toStringRef()));

    torch::serialize::InputArchive position;
    archive.read("position", position);
    auto integer = [&](const char* key) {
      position.read(key, value);
      return value.toInt();
    };
    state.position.epoch = static_cast<int>(integer("epoch"));
    state.position.iteration_in_epoch = integer("iteration_in_epoch");
    state.position.global_iteration = integer("global_iteration");
    state.position.train_samples = integer("train_samples");
    position.read("wall_seconds", value);
    state.position.wall_seconds = value.toDouble();
    if (position.try_read("epoch_loss_sum", value))
      state.position.epoch_loss_sum = value.toDouble();
    if (position.try_read("epoch_losses", value)) state.position.epoch_losses = value.toInt();

    torch::serialize::InputArchive rng;
    archive.read("rng", rng);
    rng.read("processes", value);
    for (std::int64_t rank = 0; rank < value.toInt(); ++rank) {
      torch::Tensor tensor;
      rng.read("rank_" + std::to_string(rank), tensor, /*is_buffer=*/true);
      const auto contiguous = tensor.contiguous();
      state.rng.push_back(
          rng_state_from_bytes(std::string(static_cast<const char*>(contiguous.data_ptr()),
                                           static_cast<std::size_t>(contiguous.numel()))));
    }

    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model = archive_tensors(model_archive);

    torch::serialize::InputArchive optimizer;
    archive.read("optimizer", optimizer);
    optimizer.read("momentum_names", value);
    const auto names = value.toList();
    for (std::size_t index = 0; index < names.size(); ++index) {
      torch::Tensor buffer;
      optimizer.read("momentum_" + std::to_string(index), buffer, /*is_buffer=*/true);
      momentum[names.get(index).toStringRef()] = buffer;
    }
  } catch (const std::exception& error) {
    throw checkpoint_error(
        from + ": cannot read the checkpoint of the earlier format: " + error_text(error));
  }
  checkpoint_parts parts;
  parts.save_model = [&] { return model; };
  parts.save_optimizer = [&] { return momentum; };
  write_checkpoint(to, state, parts);
}

}  // namespace multigrid::reference
