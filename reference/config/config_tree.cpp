#include "config/config_tree.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <type_traits>

namespace multigrid::reference {
std::vector<std::string> split_config_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(key);
  while (std::getline(stream, part, '.')) parts.push_back(part);
  return parts;
}

namespace {

std::string node_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter emitter;
  emitter << YAML::Flow << node;
  return emitter.c_str();
}

}  // namespace

config_tree::config_tree() : root_(YAML::NodeType::Map) {}

config_tree config_tree::load_file(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw config_error(path + ": is a folder, not a configuration file");
  }
  std::ifstream file(path);
  if (!file) throw config_error(path + ": cannot open the configuration file");
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) throw config_error(path + ": cannot read the configuration file");
  return load_string(text.str(), path);
}

config_tree config_tree::load_string(const std::string& text, const std::string& source_name) {
  config_tree tree;
  tree.source_name_ = source_name;
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) {
      root = YAML::Node(YAML::NodeType::Map);
    } else if (!root.IsMap()) {
      throw config_error(source_name + ":" + std::to_string(root.Mark().line + 1) +
                         ": the top level must be a mapping of sections (e.g. `SOLVER:`)");
    }
    tree.root_ = root;
  } catch (const YAML::Exception& error) {
    throw config_error(source_name + ":" + std::to_string(error.mark.line + 1) + ":" +
                       std::to_string(error.mark.column + 1) + ": YAML syntax error: " + error.msg);
  }
  return tree;
}

void config_tree::apply_overrides(const std::vector<std::string>& pairs) {
  if (pairs.size() % 2 != 0) {
    throw config_error("command line: overrides come in KEY VALUE pairs; `" + pairs.back() +
                       "` has no value");
  }
  for (std::size_t i = 0; i < pairs.size(); i += 2) {
    const std::string& key = pairs[i];
    const std::string& text = pairs[i + 1];
    if (key.empty() || key.front() == '.' || key.back() == '.' ||
        key.find("..") != std::string::npos || key.find_first_of(" \t") != std::string::npos) {
      throw config_error("command line: `" + key + "` is not a KEY such as SOLVER.BASE_LR");
    }
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& error) {
      throw config_error("command line: " + key + " = " + text +
                         ": cannot parse the value: " + error.msg);
    }
    // Text that YAML reads as nothing (`,`) is meant as text, as PySlowFast's opts keep it; only
    // an explicit null stays a null, which a reader then refuses.
    static const char* const nulls[] = {"", "null", "Null", "NULL", "~", "None"};
    if (value.IsNull() && std::find(std::begin(nulls), std::end(nulls), text) == std::end(nulls)) {
      value = YAML::Node(text);
    }
    set(key, value, "command line");
  }
}

void config_tree::set(const std::string& key, const YAML::Node& value, const std::string& origin) {
  const auto parts = split_config_key(key);
  // yaml-cpp nodes are handles: move along the path with reset(), which rebinds the handle,
  // never with operator=, which would overwrite the node it points to.
  YAML::Node section;
  section.reset(root_);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const YAML::Node& parent = section;
    const YAML::Node child = parent[parts[i]];
    if (!child.IsDefined() || !child.IsMap()) {
      if (child.IsDefined() && !child.IsNull()) {
        throw config_error(origin + ": " + key + ": " + parts[i] + " is a value, not a section");
      }
      section[parts[i]] = YAML::Node(YAML::NodeType::Map);
    }
    YAML::Node next;
    next.reset(parent[parts[i]]);
    section.reset(next);
  }
  section[parts.back()] = value;
  override_origins_.emplace_back(key, origin);
}

std::optional<YAML::Node> config_tree::find(const std::string& key) const {
  auto node = find_written(key);
  if (node && node->IsNull()) return std::nullopt;
  return node;
}

bool config_tree::has(const std::string& key) const {
  return find(key).has_value();
}

std::optional<YAML::Node> config_tree::find_written(const std::string& key) const {
  read_keys_.insert(key);
  // Walk with const access and reset(): assigning one yaml-cpp node to another writes through to
  // the tree, and non-const lookups of missing keys insert them.
  YAML::Node walker;
  walker.reset(root_);
  for (const auto& part : split_config_key(key)) {
    if (!walker.IsMap()) return std::nullopt;
    const YAML::Node& parent = walker;
    const YAML::Node child = parent[part];
    if (!child.IsDefined()) return std::nullopt;
    walker.reset(child);
  }
  return walker;
}

namespace {

// The declared defaults as one configuration, read by the same getters as a user's file.
const config_tree& declared_defaults() {
  static const config_tree defaults = [] {
    config_tree tree;
    for (const auto& key : declared_keys()) {
      tree.set(std::string(key.name), YAML::Load(std::string(key.default_yaml)), "default");
    }
    return tree;
  }();
  return defaults;
}

template <class T>
T read_typed(const config_tree& tree, const std::string& name);
template <>
int read_typed<int>(const config_tree& tree, const std::string& name) {
  return tree.get_int(name, 0);
}
template <>
double read_typed<double>(const config_tree& tree, const std::string& name) {
  return tree.get_double(name, 0);
}
template <>
bool read_typed<bool>(const config_tree& tree, const std::string& name) {
  return tree.get_bool(name, false);
}
template <>
std::string read_typed<std::string>(const config_tree& tree, const std::string& name) {
  return tree.get_string(name, {});
}
template <>
std::vector<int> read_typed<std::vector<int>>(const config_tree& tree, const std::string& name) {
  return tree.get_int_list(name, {});
}
template <>
std::vector<double> read_typed<std::vector<double>>(const config_tree& tree,
                                                    const std::string& name) {
  return tree.get_double_list(name, {});
}
template <>
std::vector<std::vector<double>> read_typed<std::vector<std::vector<double>>>(
    const config_tree& tree, const std::string& name) {
  return tree.get_double_table(name, {});
}

}  // namespace

template <class T>
T config_tree::get(const key<T>& handle) const {
  const auto name = handle.name();
  const auto written = find_written(name);
  if (!written) {
    if constexpr (std::is_same_v<T, YAML::Node>) {
      return YAML::Load(std::string(handle.declaration().default_yaml));
    } else {
      return read_typed<T>(declared_defaults(), name);
    }
  }
  if (written->IsNull()) {
    fail(name, "has no value; write one, or leave the key out for its default, " +
                   std::string(handle.declaration().default_yaml));
  }
  if constexpr (std::is_same_v<T, YAML::Node>) {
    return *written;
  } else {
    return read_typed<T>(*this, name);
  }
}

template int config_tree::get(const key<int>&) const;
template double config_tree::get(const key<double>&) const;
template bool config_tree::get(const key<bool>&) const;
template std::string config_tree::get(const key<std::string>&) const;
template std::vector<int> config_tree::get(const key<std::vector<int>>&) const;
template std::vector<double> config_tree::get(const key<std::vector<double>>&) const;
template std::vector<std::vector<double>> config_tree::get(
    const key<std::vector<std::vector<double>>>&) const;
template YAML::Node config_tree::get(const key<YAML::Node>&) const;

void config_tree::fail_declared(const key_declaration& declaration,
                                const std::string& message) const {
  const std::string name(declaration.name);
  if (find_written(name)) fail(name, message);
  throw config_error(name + " = " + std::string(declaration.default_yaml) +
                     " (default): " + message);
}

void config_tree::check_known_keys() const {
  check_section(root_, "");
}

void config_tree::check_section(const YAML::Node& section, const std::string& prefix) const {
  for (const auto& entry : section) {
    if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
      // A list, a mapping or nothing where a key belongs (`[a]: 1`, `? {a: 1}`, `&anchor : 1`,
      // `"": 1`): no key has such a name.
      const auto mark = entry.first.Mark();
      const auto section_name =
          prefix.empty() ? prefix : " in " + prefix.substr(0, prefix.size() - 1);
      throw config_error(
          source_name_ + (mark.is_null() ? std::string() : ":" + std::to_string(mark.line + 1)) +
          ": `" + node_text(entry.first) + "`" + section_name + " is not a key name");
    }
    const auto name = prefix + entry.first.Scalar();
    const YAML::Node& value = entry.second;
    const bool is_key = find_declared_key(name) != nullptr || find_pyslowfast_key(name) != nullptr;
    const auto where = [&] {
      const auto origin_text = origin(name);
      if (!origin_text.empty()) return origin_text;
      // Nodes built in memory (a Python dict's) have no line.
      return value.Mark().is_null() ? source_name_
                                    : source_name_ + ":" + std::to_string(value.Mark().line + 1);
    };
    if (is_key) {
      if (value.IsMap()) {
        throw config_error(where() + ": " + name + " takes a value, not a section of keys");
      }
      continue;
    }
    if (is_known_section(name)) {
      if (!value.IsMap()) {
        throw config_error(where() + ": " + name + " = " + node_text(value) +
                           ": is a section of keys (such as " + name + "." + "...), not a value");
      }
      check_section(value, name + ".");
      continue;
    }
    const auto nearest = value.IsMap() ? nearest_known_section(name) : nearest_known_key(name);
    throw config_error(where() + ": " + name + ": unknown key" +
                       (nearest.empty()
                            ? std::string(" (neither PySlowFast nor this trainer has it)")
                            : "; did you mean " + nearest + "?"));
  }
}

std::string config_tree::origin(const std::string& key) const {
  for (auto it = override_origins_.rbegin(); it != override_origins_.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  const auto node = find_written(key);
  if (!node) return {};
  int line = node->Mark().line;
  // The line of the key itself (a null value's own mark is where a value would have been).
  if (const auto parts = split_config_key(key); !parts.empty()) {
    YAML::Node section;
    section.reset(root_);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      const YAML::Node& parent = section;
      YAML::Node child;
      child.reset(parent[parts[i]]);
      section.reset(child);
    }
    for (const auto& entry : section) {
      if (entry.first.IsScalar() && entry.first.Scalar() == parts.back()) {
        line = entry.first.Mark().line;
      }
    }
  }
  return source_name_ + ":" + std::to_string(line + 1);
}

std::vector<std::string> config_tree::unread_overrides() const {
  std::vector<std::string> unread;
  for (const auto& [key, origin] : override_origins_) {
    if (read_keys_.count(key) == 0) unread.push_back(key);
  }
  return unread;
}

void config_tree::fail(const std::string& key, const std::string& message) const {
  const auto node = find(key);
  const std::string where = origin(key);
  std::string text = where.empty() ? std::string() : where + ": ";
  text += key;
  if (node) text += " = " + node_text(*node);
  throw config_error(text + ": " + message);
}

std::string config_tree::value_text(const YAML::Node& node) const {
  return node_text(node);
}

template <class T>
T config_tree::scalar(const std::string& key, const T& fallback, const char* kind) const {
  const auto node = find(key);
  if (!node) return fallback;
  if (!node->IsScalar()) fail(key, std::string("must be ") + kind);
  try {
    return node->as<T>();
  } catch (const YAML::Exception&) {
    fail(key, std::string("must be ") + kind);
  }
}

int config_tree::get_int(const std::string& key, int fallback) const {
  return scalar<int>(key, fallback, "an integer");
}

std::int64_t config_tree::get_int64(const std::string& key, std::int64_t fallback) const {
  return scalar<std::int64_t>(key, fallback, "an integer");
}

double config_tree::get_double(const std::string& key, double fallback) const {
  return scalar<double>(key, fallback, "a number");
}

bool config_tree::get_bool(const std::string& key, bool fallback) const {
  return scalar<bool>(key, fallback, "True or False");
}

std::string config_tree::get_string(const std::string& key, const std::string& fallback) const {
  return scalar<std::string>(key, fallback, "a string");
}

namespace {
template <class T>
std::vector<T> read_list(const config_tree& tree, const std::string& key,
                         const std::optional<YAML::Node>& node, const char* kind) {
  if (!node->IsSequence()) tree.fail(key, std::string("must be a list of ") + kind);
  std::vector<T> values;
  for (const auto& item : *node) {
    if (!item.IsScalar()) tree.fail(key, std::string("must be a list of ") + kind);
    try {
      values.push_back(item.as<T>());
    } catch (const YAML::Exception&) {
      tree.fail(key,
                std::string("must be a list of ") + kind + "; `" + item.Scalar() + "` is not one");
    }
  }
  return values;
}
}  // namespace

std::vector<int> config_tree::get_int_list(const std::string& key,
                                           const std::vector<int>& fallback) const {
  const auto node = find(key);
  if (!node) return fallback;
  return read_list<int>(*this, key, node, "integers");
}

std::vector<double> config_tree::get_double_list(const std::string& key,
                                                 const std::vector<double>& fallback) const {
  const auto node = find(key);
  if (!node) return fallback;
  return read_list<double>(*this, key, node, "numbers");
}

std::vector<std::string> config_tree::get_string_list(
    const std::string& key, const std::vector<std::string>& fallback) const {
  const auto node = find(key);
  if (!node) return fallback;
  return read_list<std::string>(*this, key, node, "strings");
}

std::vector<std::vector<double>> config_tree::get_double_table(
    const std::string& key, const std::vector<std::vector<double>>& fallback) const {
  const auto node = find(key);
  if (!node) return fallback;
  if (!node->IsSequence()) fail(key, "must be a list of lists of numbers");
  std::vector<std::vector<double>> rows;
  for (const auto& row : *node) {
    auto values = read_list<double>(*this, key, std::optional<YAML::Node>(row), "lists of numbers");
    rows.push_back(std::move(values));
  }
  return rows;
}

}  // namespace multigrid::reference
