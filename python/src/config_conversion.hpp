#pragma once
// Python objects to the library's configuration, shared by the parts of the module that take one.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <multigrid/config.hpp>

namespace multigrid::python {

/// A dict of PySlowFast keys, read and checked by the tools' reader.
multigrid::config config_from_mapping(pybind11::handle values);
/// The configuration as plain values, for pickling (DataLoader workers started with spawn), and
/// back. The state is this version's; it is not a file format.
pybind11::tuple config_state(const multigrid::config& cfg);
multigrid::config config_from_state(const pybind11::tuple& state);
/// A multigrid.Config as it is, or a dict as config_from_mapping reads it.
multigrid::config config_from_object(pybind11::handle value);

}  // namespace multigrid::python
