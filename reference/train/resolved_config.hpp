#pragma once
// The configuration a run actually trained with: the file, the command-line overrides, and the
// value of every declared key the run reads (config/keys.def), as one YAML document. It is
// printed at the start, saved beside the run, stored in every checkpoint, and compared on resume
// (the keys declared changes_run).

#include <map>
#include <multigrid/config.hpp>
#include <string>
#include <vector>

#include "config/config_tree.hpp"
#include "train/train_config.hpp"

namespace multigrid::reference {

class resolved_config {
 public:
  /// Starts from the file and overrides as `tree` holds them.
  explicit resolved_config(const config_tree& tree);
  /// Starts from saved YAML text (a checkpoint's or a run's config.yaml).
  static resolved_config parse(const std::string& yaml_text, const std::string& source_name);

  void set(const std::string& key, const std::string& value);
  void set(const std::string& key, const char* value) { set(key, std::string(value)); }
  void set(const std::string& key, int value);
  void set(const std::string& key, double value);
  void set(const std::string& key, bool value);
  void set(const std::string& key, const std::vector<int>& values);
  void set(const std::string& key, const std::vector<double>& values);
  void set(const std::string& key, const std::vector<std::vector<double>>& rows);
  void set_node(const std::string& key, const YAML::Node& value);

  /// The YAML document, loadable by this trainer and by PySlowFast's CfgNode.
  std::string yaml() const;
  /// Every leaf as "SECTION.KEY" -> its YAML text, for comparing two runs.
  std::map<std::string, std::string> flatten() const;
  /// A view of the document for the typed getters (read_schedule_config and friends).
  config_tree tree() const;

 private:
  resolved_config() = default;

  YAML::Node root_;
};

/// Every declared key read by one of `parts` (key_part bits), with the value the readers get.
void add_declared_keys(resolved_config& resolved, const config_tree& tree, unsigned parts);

/// Writes the YAML atomically (temporary file, flush, rename).
void save_resolved_config(const resolved_config& resolved, const std::string& path);

/// A double as the shortest text that reads back to the same value, always with a decimal point
/// or exponent so that PySlowFast's typed config keeps it a float.
std::string float_text(double value);

}  // namespace multigrid::reference
