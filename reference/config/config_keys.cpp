#include "config/config_keys.hpp"

#include <algorithm>
#include <unordered_map>

namespace multigrid::reference {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <class Entry>
std::unordered_map<std::string_view, const Entry*> index_by_name(const std::vector<Entry>& list) {
  std::unordered_map<std::string_view, const Entry*> index;
  for (const auto& entry : list) index.emplace(entry.name, &entry);
  return index;
}

}  // namespace

const std::vector<key_declaration>& declared_keys() {
  using namespace key_part;
  static const std::vector<key_declaration> keys = {
#define MULTIGRID_KEY(handle, name, kind, default_yaml, parts, meaning) \
  {name, key_type::kind, default_yaml, parts, meaning},
#include "config/keys.def"
#undef MULTIGRID_KEY
  };
  return keys;
}

const key_declaration* find_declared_key(std::string_view name) {
  static const auto index = index_by_name(declared_keys());
  const auto found = index.find(name);
  return found == index.end() ? nullptr : found->second;
}

const std::vector<pyslowfast_key>& pyslowfast_keys() {
  static const std::vector<pyslowfast_key> keys = {
#include "config/pyslowfast_keys.inc"
  };
  return keys;
}

const pyslowfast_key* find_pyslowfast_key(std::string_view name) {
  static const auto index = index_by_name(pyslowfast_keys());
  const auto found = index.find(name);
  return found == index.end() ? nullptr : found->second;
}

bool is_known_section(std::string_view name) {
  const auto is_prefix = [&](std::string_view key) {
    return key.size() > name.size() && key.substr(0, name.size()) == name &&
           key[name.size()] == '.';
  };
  for (const auto& key : declared_keys()) {
    if (is_prefix(key.name)) return true;
  }
  for (const auto& key : pyslowfast_keys()) {
    if (is_prefix(key.name)) return true;
  }
  return false;
}

std::string nearest_known_key(std::string_view name) {
  std::string_view best;
  std::size_t best_distance = std::string_view::npos;
  const auto consider = [&](std::string_view candidate) {
    const auto distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  };
  for (const auto& key : declared_keys()) consider(key.name);
  for (const auto& key : pyslowfast_keys()) consider(key.name);
  // Close enough to be a slip: a few characters, or a wrong section with the right name.
  const auto last_dot = name.rfind('.');
  const auto leaf = last_dot == std::string_view::npos ? name : name.substr(last_dot + 1);
  if (best_distance <= std::max<std::size_t>(2, name.size() / 5)) return std::string(best);
  for (const auto& key : declared_keys()) {
    const auto dot = key.name.rfind('.');
    if (dot != std::string_view::npos && key.name.substr(dot + 1) == leaf)
      return std::string(key.name);
  }
  return {};
}

std::string nearest_known_section(std::string_view name) {
  std::string_view best;
  std::size_t best_distance = std::string_view::npos;
  const auto consider = [&](std::string_view key) {
    // Every section that holds the key: "A.B" and "A" for "A.B.C".
    for (auto dot = key.rfind('.'); dot != std::string_view::npos && dot > 0;
         dot = key.rfind('.', dot - 1)) {
      const auto section = key.substr(0, dot);
      const auto distance = edit_distance(name, section);
      if (distance < best_distance) {
        best_distance = distance;
        best = section;
      }
    }
  };
  for (const auto& key : declared_keys()) consider(key.name);
  for (const auto& key : pyslowfast_keys()) consider(key.name);
  if (best_distance <= std::max<std::size_t>(2, name.size() / 5)) return std::string(best);
  return {};
}

}  // namespace multigrid::reference
