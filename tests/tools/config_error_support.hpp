#pragma once
// What the configuration tests ask of an error: its message, and whether it says something.

#include <doctest/doctest.h>

#include <string>

#include "config/config_tree.hpp"

namespace multigrid::reference::testing {

/// The message of the config_error that `action` throws; a failed check when it throws none.
template <class Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const config_error& error) {
    return error.what();
  }
  FAIL("expected a config_error");
  return {};
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace multigrid::reference::testing
