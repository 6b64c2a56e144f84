#pragma once
// The pieces of the Python module `multigrid._core`, one function per file that adds its part.

#include <pybind11/pybind11.h>

namespace multigrid::python {

void bind_config(pybind11::module_& module);
void bind_plan(pybind11::module_& module);
void bind_sampler(pybind11::module_& module);
void bind_statistics(pybind11::module_& module);

}  // namespace multigrid::python
