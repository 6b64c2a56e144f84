#pragma once
// LibTorch's errors carry a C++ backtrace in what(); users need the message only.

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace multigrid::reference {

inline std::string error_text(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return torch_error->what_without_backtrace();
  }
  return error.what();
}

}  // namespace multigrid::reference
