#pragma once
// A PySlowFast-style configuration: a YAML file of nested sections (`SOLVER: {BASE_LR: 0.1}`),
// addressed by dotted keys (`SOLVER.BASE_LR`), with trailing `KEY VALUE` overrides as PySlowFast's
// `opts` take them. As in PySlowFast (yacs), every key must be known: declared in keys.def or in
// PySlowFast's defaults.py (check_known_keys); a PySlowFast key the tools do not use is accepted.
// A key that is read but holds a value of the wrong kind, or no value (null), is an error naming
// the key, the value, and where it was written (file and line, or the command line).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config_keys.hpp"

namespace multigrid::reference {

/// A bad configuration: unreadable file, YAML syntax error, wrong kind of value, bad override.
/// Tools exit with status 2 on it.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "SOLVER.BASE_LR" -> {"SOLVER", "BASE_LR"}.
std::vector<std::string> split_config_key(const std::string& key);

class config_tree {
 public:
  config_tree();

  /// Reads a YAML (or JSON) file whose top level is a mapping.
  static config_tree load_file(const std::string& path);
  /// Parses YAML text; `source_name` stands for the file in messages.
  static config_tree load_string(const std::string& text, const std::string& source_name);

  /// Applies `KEY VALUE` pairs in order; each VALUE is parsed as YAML (`[0, 10, 20]`, `True`).
  void apply_overrides(const std::vector<std::string>& key_value_pairs);
  /// Sets one key, creating sections as needed.
  void set(const std::string& key, const YAML::Node& value, const std::string& origin);

  bool has(const std::string& key) const;

  /// A declared key's value: as written, or its declared default when it is not written. A key
  /// written without a value (YAML null) is an error, never the default.
  template <class T>
  T get(const key<T>& handle) const;
  /// Whether a declared key was written (in the file or on the command line).
  template <class T>
  bool written(const key<T>& handle) const {
    return has(handle.name());
  }
  /// Throws config_error naming the key, its value (or "(default)") and where it was written.
  template <class T>
  [[noreturn]] void fail(const key<T>& handle, const std::string& message) const {
    fail_declared(handle.declaration(), message);
  }

  /// Every key written must be one PySlowFast or this project declares, with a value where a
  /// value belongs and a section where a section does; throws config_error naming the first
  /// offender, where it was written and the nearest known key.
  void check_known_keys() const;

  int get_int(const std::string& key, int fallback) const;
  std::int64_t get_int64(const std::string& key, std::int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<int> get_int_list(const std::string& key, const std::vector<int>& fallback) const;
  std::vector<double> get_double_list(const std::string& key,
                                      const std::vector<double>& fallback) const;
  std::vector<std::string> get_string_list(const std::string& key,
                                           const std::vector<std::string>& fallback) const;
  /// A list of equal-length numeric lists, e.g. MULTIGRID.LONG_CYCLE_FACTORS.
  std::vector<std::vector<double>> get_double_table(
      const std::string& key, const std::vector<std::vector<double>>& fallback) const;

  /// Throws config_error naming the key, its value and where it was written.
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  /// Where a key was written: "file.yaml:12" or "command line"; empty if it is absent.
  std::string origin(const std::string& key) const;
  /// Keys that were overridden on the command line but never read: likely typos.
  std::vector<std::string> unread_overrides() const;
  /// The whole tree, for printing or saving the resolved configuration.
  const YAML::Node& root() const noexcept { return root_; }
  const std::string& source_name() const noexcept { return source_name_; }

 private:
  std::optional<YAML::Node> find(const std::string& key) const;
  /// Like find, but a key written as null is found (as a null node).
  std::optional<YAML::Node> find_written(const std::string& key) const;
  [[noreturn]] void fail_declared(const key_declaration& declaration,
                                  const std::string& message) const;
  void check_section(const YAML::Node& section, const std::string& prefix) const;
  std::string value_text(const YAML::Node& node) const;
  template <class T>
  T scalar(const std::string& key, const T& fallback, const char* kind) const;

  YAML::Node root_;
  std::string source_name_;
  std::vector<std::pair<std::string, std::string>> override_origins_;
  mutable std::set<std::string> read_keys_;
};

}  // namespace multigrid::reference
