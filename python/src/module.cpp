// The Python module `multigrid._core`: the library's plan, short-cycle sampler and BatchNorm
// statistics, and the tools' configuration reader. python/multigrid/__init__.py re-exports it.

#include <pybind11/pybind11.h>

#include <multigrid/validation.hpp>
#include <multigrid/version.hpp>

#include "bindings.hpp"
#include "config/config_tree.hpp"

PYBIND11_MODULE(_core, module) {
  module.doc() = "Multigrid training schedules for video models (C++ core)";
  module.attr("__version__") = MULTIGRID_VERSION_STRING;

  // Both kinds of bad configuration are one Python exception, a ValueError whose message names
  // the key, the value and what is wrong with it.
  static pybind11::exception<multigrid::reference::config_error> config_error(module, "ConfigError",
                                                                              PyExc_ValueError);
  pybind11::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const multigrid::reference::config_error& error) {
      config_error(error.what());
    } catch (const multigrid::invalid_config& error) {
      config_error(error.what());
    }
  });

  multigrid::python::bind_config(module);
  multigrid::python::bind_plan(module);
  multigrid::python::bind_sampler(module);
  multigrid::python::bind_statistics(module);
}
