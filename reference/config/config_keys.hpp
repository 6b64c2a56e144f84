#pragma once
// The one declaration of every configuration key the tools read (keys.def), the list of keys
// PySlowFast declares (pyslowfast_keys.inc), and typed handles through which the readers get a
// key's value: `tree.get(keys::solver_base_lr)` is the value written in the file or on the command
// line, or the declared default. Nothing else spells a key's name or its default.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace multigrid::reference {

enum class key_type { integer, real, boolean, text, integer_list, real_list, table, nested };

/// Which parts read a key, and whether a change of it alters the plan or the model.
namespace key_part {
enum : unsigned {
  schedule = 1u << 0,
  trainer = 1u << 1,
  data = 1u << 2,
  model = 1u << 3,
  changes_run = 1u << 4,
};
}  // namespace key_part

struct key_declaration {
  std::string_view name;
  key_type type;
  std::string_view default_yaml;
  unsigned parts;
  std::string_view meaning;

  /// Ours, not PySlowFast's: its meaning says so first.
  bool ours() const noexcept { return meaning.substr(0, 6) == "*ours*"; }
  bool changes_run() const noexcept { return (parts & key_part::changes_run) != 0; }
  bool read_by(unsigned part) const noexcept { return (parts & part) != 0; }
};

enum class key_index : std::size_t {
#define MULTIGRID_KEY(handle, name, kind, default_yaml, parts, meaning) handle,
#include "config/keys.def"
#undef MULTIGRID_KEY
  count
};

/// Every declared key, in declaration order.
const std::vector<key_declaration>& declared_keys();
/// The declaration of `name`, or nullptr.
const key_declaration* find_declared_key(std::string_view name);

template <key_type>
struct key_value;
template <>
struct key_value<key_type::integer> {
  using type = int;
};
template <>
struct key_value<key_type::real> {
  using type = double;
};
template <>
struct key_value<key_type::boolean> {
  using type = bool;
};
template <>
struct key_value<key_type::text> {
  using type = std::string;
};
template <>
struct key_value<key_type::integer_list> {
  using type = std::vector<int>;
};
template <>
struct key_value<key_type::real_list> {
  using type = std::vector<double>;
};
template <>
struct key_value<key_type::table> {
  using type = std::vector<std::vector<double>>;
};
template <>
struct key_value<key_type::nested> {
  using type = YAML::Node;
};

/// A typed handle: the readers' way to a declared key.
template <class T>
struct key {
  key_index index;
  const key_declaration& declaration() const {
    return declared_keys()[static_cast<std::size_t>(index)];
  }
  std::string name() const { return std::string(declaration().name); }
};

namespace keys {
#define MULTIGRID_KEY(handle, name, kind, default_yaml, parts, meaning) \
  inline constexpr key<key_value<key_type::kind>::type> handle{key_index::handle};
#include "config/keys.def"
#undef MULTIGRID_KEY
}  // namespace keys

/// A key PySlowFast's defaults.py declares, with its default as YAML.
struct pyslowfast_key {
  std::string_view name;
  std::string_view default_yaml;
};
const std::vector<pyslowfast_key>& pyslowfast_keys();
const pyslowfast_key* find_pyslowfast_key(std::string_view name);

/// Whether `name` is a section of known keys ("SOLVER", "TENSORBOARD.MODEL_VIS").
bool is_known_section(std::string_view name);

/// The known key nearest to a misspelt one, for "did you mean ...?"; empty when none is close.
std::string nearest_known_key(std::string_view name);

/// The known section nearest to `name` (a misspelt "SOLVR" gives "SOLVER"), or empty when none is
/// close.
std::string nearest_known_section(std::string_view name);

}  // namespace multigrid::reference
