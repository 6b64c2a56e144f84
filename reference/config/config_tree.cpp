#include "config/config_tree.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

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
      throw config_error("command line: " + key + " = " + text + ": cannot parse the value: " +
                         error.msg);
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
  if (walker.IsNull()) return std::nullopt;
  return walker;
}

bool config_tree::has(const std::string& key) const { return find(key).has_value(); }

std::string config_tree::origin(const std::string& key) const {
  for (auto it = override_origins_.rbegin(); it != override_origins_.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  const auto node = find(key);
  if (!node) return {};
  return source_name_ + ":" + std::to_string(node->Mark().line + 1);
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

std::string config_tree::value_text(const YAML::Node& node) const { return node_text(node); }

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
      tree.fail(key, std::string("must be a list of ") + kind + "; `" + item.Scalar() +
                         "` is not one");
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
