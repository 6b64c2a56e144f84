#include "train/checkpoint.hpp"

#include <cstring>
#include <limits>
#include <set>
#include <sstream>

#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

// Bumped when the layout changes; a reader refuses versions it does not know. Version 1 was a
// LibTorch archive behind a 64-byte header.
constexpr int format_version = 2;
constexpr char format_name[] = "multigrid-checkpoint";
constexpr char model_prefix[] = "model.";
constexpr char momentum_prefix[] = "optimizer.momentum.";
constexpr char rng_prefix[] = "rng.";

nlohmann::json position_json(const training_position& position) {
  return {{"epoch", position.epoch},
          {"iteration_in_epoch", position.iteration_in_epoch},
          {"global_iteration", position.global_iteration},
          {"train_samples", position.train_samples},
          {"wall_seconds", position.wall_seconds},
          {"epoch_loss_sum", position.epoch_loss_sum},
          {"epoch_losses", position.epoch_losses}};
}

std::int64_t count_field(const nlohmann::json& json, const char* key, std::int64_t limit) {
  const auto& value = json.at(key);
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() > limit) {
    throw std::runtime_error(std::string("position: ") + key + " is not an integer from 0 to " +
                             std::to_string(limit));
  }
  return value.get<std::int64_t>();
}

double number_field(const nlohmann::json& json, const char* key) {
  const auto& value = json.at(key);
  if (!value.is_number())
    throw std::runtime_error(std::string("position: ") + key + " is not a number");
  return value.get<double>();
}

training_position read_position(const nlohmann::json& json) {
  if (!json.is_object()) throw std::runtime_error("position: not a JSON object");
  constexpr auto any = std::numeric_limits<std::int64_t>::max();
  training_position position;
  position.epoch = static_cast<int>(count_field(json, "epoch", std::numeric_limits<int>::max()));
  position.iteration_in_epoch = count_field(json, "iteration_in_epoch", any);
  position.global_iteration = count_field(json, "global_iteration", any);
  position.train_samples = count_field(json, "train_samples", any);
  position.wall_seconds = number_field(json, "wall_seconds");
  position.epoch_loss_sum = number_field(json, "epoch_loss_sum");
  position.epoch_losses = count_field(json, "epoch_losses", any);
  return position;
}

const std::string& metadata_entry(const checkpoint_file& file, const std::string& key) {
  const auto found = file.metadata().find(key);
  if (found == file.metadata().end()) {
    throw checkpoint_error(file.path() + ": damaged checkpoint: no `" + key + "` in its metadata");
  }
  return found->second;
}

void append_prefixed(named_tensors& out, const std::string& prefix, const state_dict& tensors) {
  for (const auto& [name, tensor] : tensors) out.emplace_back(prefix + name, tensor);
}

bool covered(const std::string& key, const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    if (!entry.empty() && entry.back() == '.' ? key.rfind(entry, 0) == 0 : key == entry)
      return true;
  }
  return false;
}

std::string shape_text(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

}  // namespace

state_dict module_state(const torch::nn::Module& model) {
  state_dict state;
  for (const auto& item : model.named_parameters()) state[item.key()] = item.value().detach();
  for (const auto& item : model.named_buffers()) state[item.key()] = item.value().detach();
  return state;
}

void load_module_state(torch::nn::Module& model, const state_dict& state) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> assignments;
  const auto check = [&](const std::string& name, const torch::Tensor& target) {
    const auto found = state.find(name);
    if (found == state.end()) throw std::runtime_error("no tensor `" + name + "`");
    if (!found->second.sizes().equals(target.sizes()) ||
        found->second.scalar_type() != target.scalar_type()) {
      throw std::runtime_error("`" + name + "` is " + c10::toString(found->second.scalar_type()) +
                               " " + shape_text(found->second) + ", the module's " +
                               c10::toString(target.scalar_type()) + " " + shape_text(target));
    }
    assignments.emplace_back(target, found->second);
  };
  for (const auto& item : model.named_parameters()) check(item.key(), item.value());
  for (const auto& item : model.named_buffers()) check(item.key(), item.value());
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : assignments) target.copy_(value);
}

checkpoint_parts module_checkpoint_parts(torch::nn::Module& model, training_optimizer& optimizer) {
  checkpoint_parts parts;
  parts.save_model = [&model] { return module_state(model); };
  parts.load_model = [&model](const state_dict& state) { load_module_state(model, state); };
  parts.save_optimizer = [&optimizer] { return optimizer.save(); };
  parts.load_optimizer = [&optimizer](const state_dict& state) { optimizer.load(state); };
  return parts;
}

void write_checkpoint(const std::string& path, const checkpoint_state& state,
                      const checkpoint_parts& parts) {
  checkpoint_metadata metadata;
  named_tensors tensors;
  try {
    metadata = {{"format", format_name},
                {"format_version", std::to_string(format_version)},
                {"position", position_json(state.position).dump()},
                {"metrics", history_to_json(state.history).dump()},
                {"config", state.config_yaml}};
    if (parts.save_model) append_prefixed(tensors, model_prefix, parts.save_model());
    if (parts.save_optimizer) append_prefixed(tensors, momentum_prefix, parts.save_optimizer());
    // Each process's state as the bytes of rng_state_to_bytes, in a uint8 tensor.
    for (std::size_t rank = 0; rank < state.rng.size(); ++rank) {
      const auto bytes = rng_state_to_bytes(state.rng[rank]);
      auto tensor = torch::empty({static_cast<std::int64_t>(bytes.size())}, torch::kUInt8);
      if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
      tensors.emplace_back(rng_prefix + std::to_string(rank), tensor);
    }
  } catch (const std::exception& error) {
    throw checkpoint_error(path + ": cannot assemble the checkpoint: " + error_text(error));
  }
  write_checkpoint_file(path, metadata, tensors);
}

opened_checkpoint::opened_checkpoint(const std::string& path) : file_(path) {
  read_state();
}

opened_checkpoint::opened_checkpoint(const std::string& path, std::string bytes)
    : file_(path, std::move(bytes)) {
  read_state();
}

void opened_checkpoint::read_state() {
  const auto& path = file_.path();
  const auto format = file_.metadata().find("format");
  if (format == file_.metadata().end() || format->second != format_name) {
    throw checkpoint_error(path +
                           ": not a multigrid training checkpoint (its metadata has no "
                           "`format: " +
                           format_name + "`)");
  }
  const auto& version = metadata_entry(file_, "format_version");
  if (version != std::to_string(format_version)) {
    throw checkpoint_error(path + ": checkpoint format " + version + " is not the format " +
                           std::to_string(format_version) + " this trainer reads");
  }
  try {
    state_.config_yaml = metadata_entry(file_, "config");
    state_.history = history_from_json(nlohmann::json::parse(metadata_entry(file_, "metrics")));
    state_.position = read_position(nlohmann::json::parse(metadata_entry(file_, "position")));
    const auto rng = file_.tensors(rng_prefix);
    for (std::size_t rank = 0; rank < rng.size(); ++rank) {
      const auto found = rng.find(std::to_string(rank));
      if (found == rng.end() || found->second.scalar_type() != torch::kUInt8 ||
          found->second.dim() != 1) {
        throw std::runtime_error("the random states are not one U8 vector per rank from 0 to " +
                                 std::to_string(rng.size() - 1));
      }
      const auto& bytes = found->second;
      state_.rng.push_back(rng_state_from_bytes(std::string(
          static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel()))));
    }
  } catch (const checkpoint_error&) {
    throw;
  } catch (const std::exception& error) {
    throw checkpoint_error(path + ": damaged checkpoint: " + error_text(error));
  }
}

state_dict opened_checkpoint::model_state() const {
  return file_.tensors(model_prefix);
}

void opened_checkpoint::load_model(const std::function<void(const state_dict&)>& load_model) {
  try {
    load_model(model_state());
  } catch (const checkpoint_error&) {
    throw;
  } catch (const std::exception& error) {
    throw checkpoint_error(path() + ": cannot load the model: " + error_text(error));
  }
}

void opened_checkpoint::load(const checkpoint_parts& parts) {
  if (parts.load_model) load_model(parts.load_model);
  if (!parts.load_optimizer) return;
  try {
    parts.load_optimizer(file_.tensors(momentum_prefix));
  } catch (const checkpoint_error&) {
    throw;
  } catch (const std::exception& error) {
    throw checkpoint_error(path() + ": cannot load the optimizer state: " + error_text(error));
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
