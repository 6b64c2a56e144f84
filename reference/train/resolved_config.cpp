#include "train/resolved_config.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "report/atomic_file.hpp"

namespace multigrid::reference {
namespace {

YAML::Node scalar_node(const std::string& text) {
  return YAML::Node(text);
}

YAML::Node flow_sequence() {
  YAML::Node node(YAML::NodeType::Sequence);
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

void flatten_into(const YAML::Node& node, const std::string& prefix,
                  std::map<std::string, std::string>& leaves) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      const auto name = entry.first.as<std::string>();
      flatten_into(entry.second, prefix.empty() ? name : prefix + "." + name, leaves);
    }
    return;
  }
  if (node.IsScalar()) {
    leaves[prefix] = node.Scalar();
    return;
  }
  if (node.IsNull()) {
    leaves[prefix] = "";
    return;
  }
  YAML::Emitter emitter;
  emitter << YAML::Flow << node;
  leaves[prefix] = emitter.c_str();
}

}  // namespace

std::string float_text(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  char buffer[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

resolved_config::resolved_config(const config_tree& tree) : root_(YAML::Clone(tree.root())) {}

resolved_config resolved_config::parse(const std::string& yaml_text,
                                       const std::string& source_name) {
  resolved_config resolved;
  resolved.root_ = YAML::Clone(config_tree::load_string(yaml_text, source_name).root());
  return resolved;
}

void resolved_config::set_node(const std::string& key, const YAML::Node& value) {
  const auto parts = split_config_key(key);
  // yaml-cpp nodes are handles: walk with reset() so that no assignment writes through them.
  YAML::Node section;
  section.reset(root_);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = section[parts[i]];
    if (!child.IsMap()) {
      section[parts[i]] = YAML::Node(YAML::NodeType::Map);
      child.reset(section[parts[i]]);
    }
    section.reset(child);
  }
  section[parts.back()] = value;
}

void resolved_config::set(const std::string& key, const std::string& value) {
  set_node(key, YAML::Node(value));
}

void resolved_config::set(const std::string& key, int value) {
  set_node(key, scalar_node(std::to_string(value)));
}

void resolved_config::set(const std::string& key, double value) {
  set_node(key, scalar_node(float_text(value)));
}

void resolved_config::set(const std::string& key, bool value) {
  set_node(key, scalar_node(value ? "True" : "False"));
}

void resolved_config::set(const std::string& key, const std::vector<int>& values) {
  auto node = flow_sequence();
  for (int value : values) node.push_back(scalar_node(std::to_string(value)));
  set_node(key, node);
}

void resolved_config::set(const std::string& key, const std::vector<double>& values) {
  auto node = flow_sequence();
  for (double value : values) node.push_back(scalar_node(float_text(value)));
  set_node(key, node);
}

void resolved_config::set(const std::string& key, const std::vector<std::vector<double>>& rows) {
  auto node = flow_sequence();
  for (const auto& row : rows) {
    auto inner = flow_sequence();
    for (double value : row) inner.push_back(scalar_node(float_text(value)));
    node.push_back(inner);
  }
  set_node(key, node);
}

std::string resolved_config::yaml() const {
  YAML::Emitter emitter;
  emitter << root_;
  return std::string(emitter.c_str()) + "\n";
}

std::map<std::string, std::string> resolved_config::flatten() const {
  std::map<std::string, std::string> leaves;
  flatten_into(root_, "", leaves);
  return leaves;
}

config_tree resolved_config::tree() const {
  return config_tree::load_string(yaml(), "resolved config");
}

void add_schedule_keys(resolved_config& resolved, const multigrid::config& cfg) {
  resolved.set("NUM_GPUS", cfg.num_gpus);
  resolved.set("TRAIN.BATCH_SIZE", cfg.batch_size);
  resolved.set("DATA.NUM_FRAMES", cfg.data.num_frames);
  resolved.set("DATA.SAMPLING_RATE", cfg.data.sampling_rate);
  resolved.set("DATA.TRAIN_CROP_SIZE", cfg.data.train_crop_size);
  resolved.set("DATA.TRAIN_JITTER_SCALES",
               std::vector<int>{cfg.data.train_jitter_scales[0], cfg.data.train_jitter_scales[1]});
  const auto& solver = cfg.solver;
  resolved.set("SOLVER.BASE_LR", solver.base_lr);
  resolved.set("SOLVER.LR_POLICY", std::string(lr_policy_name(solver.policy)));
  resolved.set("SOLVER.STEPS", solver.steps);
  resolved.set("SOLVER.LRS", solver.lrs);
  resolved.set("SOLVER.MAX_EPOCH", solver.max_epoch);
  resolved.set("SOLVER.GAMMA", solver.gamma);
  resolved.set("SOLVER.WARMUP_EPOCHS", solver.warmup_epochs);
  resolved.set("SOLVER.WARMUP_START_LR", solver.warmup_start_lr);
  resolved.set("SOLVER.COSINE_END_LR", solver.cosine_end_lr);
  resolved.set("SOLVER.COSINE_AFTER_WARMUP", solver.cosine_after_warmup);
  const auto& mg = cfg.multigrid;
  resolved.set("MULTIGRID.LONG_CYCLE", mg.long_cycle);
  resolved.set("MULTIGRID.SHORT_CYCLE", mg.short_cycle);
  resolved.set("MULTIGRID.EPOCH_FACTOR", mg.epoch_factor);
  std::vector<std::vector<double>> factors;
  for (const auto& factor : mg.long_cycle_factors)
    factors.push_back({factor.temporal, factor.spatial});
  resolved.set("MULTIGRID.LONG_CYCLE_FACTORS", factors);
  resolved.set("MULTIGRID.SHORT_CYCLE_FACTORS",
               std::vector<double>{mg.short_cycle_factors[0], mg.short_cycle_factors[1]});
  resolved.set("MULTIGRID.BN_BASE_SIZE", mg.bn_base_size);
  resolved.set("MULTIGRID.DEFAULT_S", mg.default_s);
  resolved.set("MULTIGRID.EVAL_FREQ", mg.eval_freq);
  resolved.set("MULTIGRID.MIN_CROP_SIZE", mg.min_crop_size);
}

void add_train_keys(resolved_config& resolved, const train_config& cfg) {
  resolved.set("TRAIN.ENABLE", cfg.train.enable);
  resolved.set("TRAIN.DATASET", cfg.train.dataset);
  resolved.set("TRAIN.EVAL_PERIOD", cfg.train.eval_period);
  resolved.set("TRAIN.CHECKPOINT_PERIOD", cfg.train.checkpoint_period);
  resolved.set("TRAIN.KEEP_LAST_CHECKPOINTS", cfg.train.keep_last_checkpoints);
  resolved.set("TRAIN.AUTO_RESUME", cfg.train.auto_resume);
  resolved.set("TRAIN.CHECKPOINT_FILE_PATH", cfg.train.checkpoint_file_path);
  resolved.set("TRAIN.CUDA_GRAPHS", cfg.train.cuda_graphs);
  resolved.set("TRAIN.DETERMINISTIC", cfg.train.deterministic);
  resolved.set("TEST.ENABLE", cfg.test.enable);
  resolved.set("TEST.DATASET", cfg.test.dataset);
  resolved.set("TEST.BATCH_SIZE", cfg.test.batch_size);
  resolved.set("TEST.NUM_ENSEMBLE_VIEWS", cfg.test.num_ensemble_views);
  resolved.set("TEST.NUM_SPATIAL_CROPS", cfg.test.num_spatial_crops);
  resolved.set("SOLVER.OPTIMIZING_METHOD", cfg.optimizer.optimizing_method);
  resolved.set("SOLVER.MOMENTUM", cfg.optimizer.momentum);
  resolved.set("SOLVER.DAMPENING", cfg.optimizer.dampening);
  resolved.set("SOLVER.NESTEROV", cfg.optimizer.nesterov);
  resolved.set("SOLVER.WEIGHT_DECAY", cfg.optimizer.weight_decay);
  resolved.set("BN.WEIGHT_DECAY", cfg.optimizer.batch_norm_weight_decay);
  resolved.set("BN.USE_PRECISE_STATS", cfg.precise_batch_norm.enabled);
  resolved.set("BN.NUM_BATCHES_PRECISE", cfg.precise_batch_norm.num_batches);
  resolved.set("DATA_LOADER.NUM_WORKERS", cfg.data_loader.num_workers);
  resolved.set("DATA_LOADER.PIN_MEMORY", cfg.data_loader.pin_memory);
  resolved.set("NUM_GPUS", cfg.num_gpus);
  resolved.set("NUM_SHARDS", cfg.num_shards);
  resolved.set("SHARD_ID", cfg.shard_id);
  resolved.set("RNG_SEED", cfg.rng_seed);
  resolved.set("LOG_PERIOD", cfg.log_period);
  resolved.set("OUTPUT_DIR", cfg.output_dir);
  resolved.set("DIST_BACKEND", distributed_backend_name(cfg.backend));
  resolved.set("DEVICE", device_choice_name(cfg.device));
  resolved.set("DIST_TIMEOUT_SECONDS", cfg.distributed_timeout_seconds);
}

void save_resolved_config(const resolved_config& resolved, const std::string& path) {
  write_file_atomically(path, resolved.yaml());
}

}  // namespace multigrid::reference
