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

void add_declared_keys(resolved_config& resolved, const config_tree& tree, unsigned parts) {
  for (std::size_t i = 0; i < declared_keys().size(); ++i) {
    const auto& declaration = declared_keys()[i];
    if ((declaration.parts & parts) == 0) continue;
    const std::string name(declaration.name);
    const auto index = static_cast<key_index>(i);
    // Each value as its reader sees it, in one spelling, so that two runs compare by value.
    switch (declaration.type) {
      case key_type::integer:
        resolved.set(name, tree.get(key<int>{index}));
        break;
      case key_type::real:
        resolved.set(name, tree.get(key<double>{index}));
        break;
      case key_type::boolean:
        resolved.set(name, tree.get(key<bool>{index}));
        break;
      case key_type::text:
        resolved.set(name, tree.get(key<std::string>{index}));
        break;
      case key_type::integer_list:
        resolved.set(name, tree.get(key<std::vector<int>>{index}));
        break;
      case key_type::real_list:
        resolved.set(name, tree.get(key<std::vector<double>>{index}));
        break;
      case key_type::table:
        resolved.set(name, tree.get(key<std::vector<std::vector<double>>>{index}));
        break;
      case key_type::nested:
        resolved.set_node(name, tree.get(key<YAML::Node>{index}));
        break;
    }
  }
}

void save_resolved_config(const resolved_config& resolved, const std::string& path) {
  write_file_atomically(path, resolved.yaml());
}

}  // namespace multigrid::reference
