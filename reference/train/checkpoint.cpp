#include "train/checkpoint.hpp"

#include <cstring>
#include <set>

#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

// Bumped when the layout changes; a reader refuses versions it does not know.
constexpr std::int64_t format_version = 1;

void write_position(torch::serialize::OutputArchive& archive, const training_position& position) {
  archive.write("epoch", c10::IValue(static_cast<std::int64_t>(position.epoch)));
  archive.write("iteration_in_epoch", c10::IValue(position.iteration_in_epoch));
  archive.write("global_iteration", c10::IValue(position.global_iteration));
  archive.write("train_samples", c10::IValue(position.train_samples));
  archive.write("wall_seconds", c10::IValue(position.wall_seconds));
  archive.write("epoch_loss_sum", c10::IValue(position.epoch_loss_sum));
  archive.write("epoch_losses", c10::IValue(position.epoch_losses));
}

training_position read_position(torch::serialize::InputArchive& archive) {
  training_position position;
  c10::IValue value;
  archive.read("epoch", value);
  position.epoch = static_cast<int>(value.toInt());
  archive.read("iteration_in_epoch", value);
  position.iteration_in_epoch = value.toInt();
  archive.read("global_iteration", value);
  position.global_iteration = value.toInt();
  archive.read("train_samples", value);
  position.train_samples = value.toInt();
  archive.read("wall_seconds", value);
  position.wall_seconds = value.toDouble();
  // Older checkpoints lack the partial epoch's losses: a resumed epoch then averages the
  // iterations after the resume, as it did when they were written.
  if (archive.try_read("epoch_loss_sum", value)) position.epoch_loss_sum = value.toDouble();
  if (archive.try_read("epoch_losses", value)) position.epoch_losses = value.toInt();
  return position;
}

// Each process's state as the bytes of rng_state_to_bytes, in a uint8 tensor.
void write_rng(torch::serialize::OutputArchive& archive, const std::vector<rng_state>& states) {
  archive.write("processes", c10::IValue(static_cast<std::int64_t>(states.size())));
  for (std::size_t rank = 0; rank < states.size(); ++rank) {
    const auto bytes = rng_state_to_bytes(states[rank]);
    auto tensor = torch::empty({static_cast<std::int64_t>(bytes.size())}, torch::kUInt8);
    std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
    archive.write("rank_" + std::to_string(rank), tensor, /*is_buffer=*/true);
  }
}

std::vector<rng_state> read_rng(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  archive.read("processes", value);
  std::vector<rng_state> states;
  for (std::int64_t rank = 0; rank < value.toInt(); ++rank) {
    torch::Tensor tensor;
    archive.read("rank_" + std::to_string(rank), tensor, /*is_buffer=*/true);
    const auto bytes = tensor.contiguous();
    states.push_back(rng_state_from_bytes(std::string(static_cast<const char*>(bytes.data_ptr()),
                                                      static_cast<std::size_t>(bytes.numel()))));
  }
  return states;
}

bool covered(const std::string& key, const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    if (!entry.empty() && entry.back() == '.' ? key.rfind(entry, 0) == 0 : key == entry)
      return true;
  }
  return false;
}

}  // namespace

checkpoint_parts module_checkpoint_parts(torch::nn::Module& model, training_optimizer& optimizer) {
  checkpoint_parts parts;
  parts.save_model = [&model](torch::serialize::OutputArchive& archive) { model.save(archive); };
  parts.load_model = [&model](torch::serialize::InputArchive& archive) { model.load(archive); };
  parts.save_optimizer = [&optimizer](torch::serialize::OutputArchive& archive) {
    optimizer.save(archive);
  };
  parts.load_optimizer = [&optimizer](torch::serialize::InputArchive& archive) {
    optimizer.load(archive);
  };
  return parts;
}

void write_checkpoint(const std::string& path, const checkpoint_state& state,
                      const checkpoint_parts& parts) {
  torch::serialize::OutputArchive archive;
  try {
    archive.write("format_version", c10::IValue(format_version));
    archive.write("config", c10::IValue(state.config_yaml));
    archive.write("metrics", c10::IValue(history_to_json(state.history).dump()));
    torch::serialize::OutputArchive position;
    write_position(position, state.position);
    archive.write("position", position);
    torch::serialize::OutputArchive rng;
    write_rng(rng, state.rng);
    archive.write("rng", rng);
    torch::serialize::OutputArchive model;
    if (parts.save_model) parts.save_model(model);
    archive.write("model", model);
    torch::serialize::OutputArchive optimizer;
    if (parts.save_optimizer) parts.save_optimizer(optimizer);
    archive.write("optimizer", optimizer);
  } catch (const std::exception& error) {
    throw checkpoint_error(path + ": cannot assemble the checkpoint: " + error_text(error));
  }
  write_archive_atomically(archive, path);
}

opened_checkpoint::opened_checkpoint(std::string path)
    : path_(std::move(path)), archive_(read_archive(path_)) {
  try {
    c10::IValue value;
    if (!archive_.try_read("format_version", value)) {
      throw checkpoint_error(path_ + ": not a multigrid training checkpoint (no format_version)");
    }
    if (value.toInt() != format_version) {
      throw checkpoint_error(path_ + ": checkpoint format " + std::to_string(value.toInt()) +
                             " is not the format " + std::to_string(format_version) +
                             " this trainer reads");
    }
    archive_.read("config", value);
    state_.config_yaml = value.toStringRef();
    archive_.read("metrics", value);
    state_.history = history_from_json(nlohmann::json::parse(value.toStringRef()));
    torch::serialize::InputArchive position;
    archive_.read("position", position);
    state_.position = read_position(position);
    torch::serialize::InputArchive rng;
    archive_.read("rng", rng);
    state_.rng = read_rng(rng);
  } catch (const checkpoint_error&) {
    throw;
  } catch (const std::exception& error) {
    throw checkpoint_error(path_ + ": damaged checkpoint: " + error_text(error));
  }
}

void opened_checkpoint::load_model(
    const std::function<void(torch::serialize::InputArchive&)>& load_model) {
  try {
    torch::serialize::InputArchive model;
    archive_.read("model", model);
    load_model(model);
  } catch (const std::exception& error) {
    throw checkpoint_error(path_ + ": cannot load the model: " + error_text(error));
  }
}

void opened_checkpoint::load(const checkpoint_parts& parts) {
  if (parts.load_model) load_model(parts.load_model);
  if (!parts.load_optimizer) return;
  try {
    torch::serialize::InputArchive optimizer;
    archive_.read("optimizer", optimizer);
    parts.load_optimizer(optimizer);
  } catch (const std::exception& error) {
    throw checkpoint_error(path_ + ": cannot load the optimizer state: " + error_text(error));
  }
}

std::vector<std::string> resume_sensitive_keys() {
  std::vector<std::string> names;
  for (const auto& declaration : declared_keys()) {
    if (declaration.changes_run()) names.emplace_back(declaration.name);
  }
  return names;
}

void check_resume_compatible(const opened_checkpoint& checkpoint, const resolved_config& current,
                             std::int64_t train_samples, const std::vector<std::string>& keys) {
  const auto saved =
      resolved_config::parse(checkpoint.state().config_yaml, checkpoint.path() + " (its config)")
          .flatten();
  const auto now = current.flatten();
  static const auto defaults = [] {
    auto resolved = resolved_config::parse("", "defaults");
    add_declared_keys(resolved, config_tree(), ~0u);
    return resolved.flatten();
  }();
  std::set<std::string> all;
  for (const auto& [key, value] : saved) all.insert(key);
  for (const auto& [key, value] : now) all.insert(key);
  const std::string hint = "; resume with the same value, or train in a new OUTPUT_DIR";
  for (const auto& key : all) {
    if (!covered(key, keys)) continue;
    std::string old_value = "(absent)";
    if (const auto before = saved.find(key); before != saved.end()) {
      old_value = before->second;
    } else if (const auto fallback = defaults.find(key); fallback != defaults.end()) {
      old_value = fallback->second;
    }
    const auto after = now.find(key);
    const std::string new_value = after == now.end() ? "(absent)" : after->second;
    if (old_value != new_value) {
      throw config_error(key + " = " + new_value + ": the checkpoint " + checkpoint.path() +
                         " was made with " + key + " = " + old_value + hint);
    }
  }
  const auto saved_samples = checkpoint.state().position.train_samples;
  if (saved_samples != train_samples) {
    throw config_error("the training set has " + std::to_string(train_samples) +
                       " clips: the checkpoint " + checkpoint.path() + " was made with " +
                       std::to_string(saved_samples) + " (TRAIN.DATASET, DATA.PATH_TO_DATA_DIR)" +
                       hint);
  }
}

}  // namespace multigrid::reference
