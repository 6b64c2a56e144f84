// multigrid.Config: a schedule configuration read from a dict of PySlowFast's keys or from a
// PySlowFast YAML file, through the tools' reader (reference/config), so that the keys, their
// defaults and their checks are the ones declared in keys.def and nothing here restates them.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <multigrid/config.hpp>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "config/config_keys.hpp"
#include "config/config_tree.hpp"
#include "config/schedule_config.hpp"
#include "config_conversion.hpp"

namespace py = pybind11;

namespace multigrid::python {
namespace {

using reference::config_error;
using reference::config_tree;

std::string text_of(py::handle value) {
  return py::str(py::repr(value)).cast<std::string>();
}

bool is_mapping(py::handle value) {
  return py::isinstance<py::dict>(value) || py::hasattr(value, "items");
}

/// A Python value as the YAML a file would hold: numbers keep every digit (repr), True and False
/// stay booleans, lists and dicts nest.
YAML::Node to_yaml(py::handle value, const std::string& key, const std::string& origin) {
  if (value.is_none()) return YAML::Node(YAML::NodeType::Null);
  if (PyBool_Check(value.ptr())) return YAML::Node(value.ptr() == Py_True ? "True" : "False");
  if (py::isinstance<py::str>(value)) return YAML::Node(value.cast<std::string>());
  if (PyLong_Check(value.ptr()) || PyIndex_Check(value.ptr())) {
    return YAML::Node(
        py::str(py::int_(py::reinterpret_borrow<py::object>(value))).cast<std::string>());
  }
  if (PyFloat_Check(value.ptr()) || py::hasattr(value, "__float__")) {
    return YAML::Node(text_of(py::float_(py::reinterpret_borrow<py::object>(value))));
  }
  if (is_mapping(value)) {
    YAML::Node map(YAML::NodeType::Map);
    for (const auto item : value.attr("items")()) {
      const auto pair = item.cast<py::tuple>();
      map[py::str(pair[0]).cast<std::string>()] = to_yaml(pair[1], key, origin);
    }
    return map;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    YAML::Node sequence(YAML::NodeType::Sequence);
    for (const auto item : value) sequence.push_back(to_yaml(item, key, origin));
    return sequence;
  }
  throw config_error(origin + ": " + key + " = " + text_of(value) +
                     ": must be a number, a string, True or False, or a list of them");
}

/// Writes `values` into the tree: nested sections ({"SOLVER": {"BASE_LR": 0.1}}), dotted keys
/// ({"SOLVER.BASE_LR": 0.1}) or both.
void set_all(config_tree& tree, py::handle values, const std::string& prefix,
             const std::string& origin) {
  for (const auto item : values.attr("items")()) {
    const auto pair = item.cast<py::tuple>();
    if (!py::isinstance<py::str>(pair[0])) {
      throw config_error(origin + ": " + prefix + text_of(pair[0]) +
                         ": keys are strings such as SOLVER.BASE_LR");
    }
    const std::string name = prefix + pair[0].cast<std::string>();
    const bool is_key = reference::find_declared_key(name) != nullptr ||
                        reference::find_pyslowfast_key(name) != nullptr;
    if (!is_key && is_mapping(pair[1])) {
      set_all(tree, pair[1], name + ".", origin);
    } else {
      tree.set(name, to_yaml(pair[1], name, origin), origin);
    }
  }
}

multigrid::config read_checked(const config_tree& tree) {
  tree.check_known_keys();
  auto cfg = reference::read_schedule_config(tree);
  reference::check_schedule_config(tree, cfg);
  return cfg;
}

py::tuple pair(const std::array<int, 2>& values) {
  return py::make_tuple(values[0], values[1]);
}

}  // namespace

py::tuple config_state(const multigrid::config& c) {
  py::list factors;
  for (const auto& factor : c.multigrid.long_cycle_factors) {
    factors.append(py::make_tuple(factor.temporal, factor.spatial));
  }
  const auto& s = c.solver;
  const auto& m = c.multigrid;
  return py::make_tuple(
      c.num_gpus, c.batch_size,
      py::make_tuple(c.data.num_frames, c.data.sampling_rate, c.data.train_crop_size,
                     pair(c.data.train_jitter_scales)),
      py::make_tuple(s.base_lr, std::string(lr_policy_name(s.policy)), s.steps, s.lrs, s.max_epoch,
                     s.gamma, s.warmup_epochs, s.warmup_start_lr, s.cosine_end_lr,
                     s.cosine_after_warmup),
      py::make_tuple(m.long_cycle, m.short_cycle, m.epoch_factor, factors,
                     py::make_tuple(m.short_cycle_factors[0], m.short_cycle_factors[1]),
                     m.bn_base_size, m.default_s, m.eval_freq, m.min_crop_size,
                     m.long_cycle_lr_stages, std::string(long_cycle_stride_name(m.stride))),
      py::make_tuple(static_cast<int>(c.batch_norm.type), c.batch_norm.splits,
                     c.batch_norm.sync_devices));
}

/// A named choice read back from a pickled state; a name this module does not know (a pickle from
/// another version) is refused rather than replaced by a default.
template <typename Parse>
auto named_choice(const py::handle& item, Parse parse, const char* what) {
  const auto name = item.cast<std::string>();
  const auto value = parse(name);
  if (!value) {
    throw py::value_error(std::string("a pickled Config holds an unknown ") + what + " '" + name +
                          "'");
  }
  return *value;
}

multigrid::config config_from_state(const py::tuple& state) {
  multigrid::config c;
  c.num_gpus = state[0].cast<int>();
  c.batch_size = state[1].cast<int>();
  const auto data = state[2].cast<py::tuple>();
  c.data.num_frames = data[0].cast<int>();
  c.data.sampling_rate = data[1].cast<int>();
  c.data.train_crop_size = data[2].cast<int>();
  c.data.train_jitter_scales = data[3].cast<std::array<int, 2>>();
  const auto solver = state[3].cast<py::tuple>();
  auto& s = c.solver;
  s.base_lr = solver[0].cast<double>();
  s.policy = named_choice(solver[1], parse_lr_policy, "LR policy");
  s.steps = solver[2].cast<std::vector<int>>();
  s.lrs = solver[3].cast<std::vector<double>>();
  s.max_epoch = solver[4].cast<int>();
  s.gamma = solver[5].cast<double>();
  s.warmup_epochs = solver[6].cast<double>();
  s.warmup_start_lr = solver[7].cast<double>();
  s.cosine_end_lr = solver[8].cast<double>();
  s.cosine_after_warmup = solver[9].cast<bool>();
  const auto mg = state[4].cast<py::tuple>();
  auto& m = c.multigrid;
  m.long_cycle = mg[0].cast<bool>();
  m.short_cycle = mg[1].cast<bool>();
  m.epoch_factor = mg[2].cast<double>();
  m.long_cycle_factors.clear();
  for (const auto factor : mg[3]) {
    const auto values = factor.cast<std::array<double, 2>>();
    m.long_cycle_factors.push_back({values[0], values[1]});
  }
  m.short_cycle_factors = mg[4].cast<std::array<double, 2>>();
  m.bn_base_size = mg[5].cast<int>();
  m.default_s = mg[6].cast<int>();
  m.eval_freq = mg[7].cast<int>();
  m.min_crop_size = mg[8].cast<int>();
  m.long_cycle_lr_stages = mg[9].cast<int>();
  m.stride = named_choice(mg[10], parse_long_cycle_stride, "long-cycle stride");
  const auto bn = state[5].cast<py::tuple>();
  c.batch_norm.type = static_cast<batch_norm_type>(bn[0].cast<int>());
  c.batch_norm.splits = bn[1].cast<int>();
  c.batch_norm.sync_devices = bn[2].cast<int>();
  return c;
}

multigrid::config config_from_mapping(py::handle values) {
  if (!is_mapping(values)) {
    throw py::type_error("a configuration is a dict of PySlowFast keys, not " +
                         text_of(py::type::of(values)));
  }
  auto tree = config_tree::load_string("", "dict");
  set_all(tree, values, "", "dict");
  return read_checked(tree);
}

multigrid::config config_from_file(const std::string& path,
                                   const std::vector<std::string>& overrides) {
  auto tree = config_tree::load_file(path);
  tree.apply_overrides(overrides);
  return read_checked(tree);
}

multigrid::config config_from_object(py::handle value) {
  if (py::isinstance<multigrid::config>(value)) return value.cast<multigrid::config>();
  return config_from_mapping(value);
}

void bind_config(py::module_& module) {
  py::class_<multigrid::config>(module, "Config", R"(The configuration a schedule is computed from.

Config(values) reads a dict of PySlowFast's keys, nested ({"SOLVER": {"BASE_LR": 0.1}}) or dotted
({"SOLVER.BASE_LR": 0.1}); Config.from_yaml(path, overrides) reads a PySlowFast YAML file. Keys
left out keep PySlowFast's defaults, unknown keys and bad values raise ConfigError (a ValueError)
naming the key and the value.)")
      .def(py::init([](py::handle values) { return config_from_mapping(values); }),
           py::arg("values") = py::dict())
      .def_static("from_dict", &config_from_mapping, py::arg("values"))
      .def_static(
          "from_yaml",
          [](const std::string& path, const std::vector<std::string>& overrides) {
            return config_from_file(path, overrides);
          },
          py::arg("path"), py::arg("overrides") = std::vector<std::string>(),
          "A PySlowFast YAML file, with KEY VALUE overrides as PySlowFast's opts take them.")
      .def_property_readonly("num_gpus", [](const multigrid::config& c) { return c.num_gpus; })
      .def_property_readonly("devices", &multigrid::config::devices,
                             "processes sharing the global batch (NUM_GPUS, at least 1)")
      .def_property_readonly("batch_size", [](const multigrid::config& c) { return c.batch_size; })
      .def_property_readonly("num_frames",
                             [](const multigrid::config& c) { return c.data.num_frames; })
      .def_property_readonly("sampling_rate",
                             [](const multigrid::config& c) { return c.data.sampling_rate; })
      .def_property_readonly("train_crop_size",
                             [](const multigrid::config& c) { return c.data.train_crop_size; })
      .def_property_readonly(
          "train_jitter_scales",
          [](const multigrid::config& c) { return pair(c.data.train_jitter_scales); })
      .def_property_readonly("base_lr", [](const multigrid::config& c) { return c.solver.base_lr; })
      .def_property_readonly(
          "lr_policy",
          [](const multigrid::config& c) { return std::string(lr_policy_name(c.solver.policy)); })
      .def_property_readonly("steps", [](const multigrid::config& c) { return c.solver.steps; })
      .def_property_readonly("max_epoch",
                             [](const multigrid::config& c) { return c.solver.max_epoch; })
      .def_property_readonly("long_cycle",
                             [](const multigrid::config& c) { return c.multigrid.long_cycle; })
      .def_property_readonly("short_cycle",
                             [](const multigrid::config& c) { return c.multigrid.short_cycle; })
      .def_property_readonly("uses_multigrid", &multigrid::config::uses_multigrid)
      .def_property_readonly("bn_base_size",
                             [](const multigrid::config& c) { return c.multigrid.bn_base_size; })
      .def(py::pickle(&config_state, &config_from_state))
      .def("__repr__", [](const multigrid::config& c) {
        return "Config(NUM_GPUS " + std::to_string(c.num_gpus) + ", batch " +
               std::to_string(c.batch_size) + ", " + std::to_string(c.data.num_frames) + "x" +
               std::to_string(c.data.train_crop_size) + ", " + std::to_string(c.solver.max_epoch) +
               " epochs, long cycle " + (c.multigrid.long_cycle ? "on" : "off") + ", short cycle " +
               (c.multigrid.short_cycle ? "on" : "off") + ")";
      });

  // The declared keys, for the PySlowFast adapter: handle -> name, and which the schedule reads.
  py::dict names;
#define MULTIGRID_KEY(handle, name, kind, default_yaml, parts, meaning) names[#handle] = name;
#include "config/keys.def"
#undef MULTIGRID_KEY
  module.attr("_key_names") = names;
  py::list schedule_keys;
  for (const auto& key : reference::declared_keys()) {
    if (key.read_by(reference::key_part::schedule)) schedule_keys.append(std::string(key.name));
  }
  module.attr("_schedule_keys") = schedule_keys;
}

}  // namespace multigrid::python
