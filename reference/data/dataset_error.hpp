#pragma once
// A dataset that cannot be used as given: an unreadable or malformed annotation file, an unknown
// class, or too many videos that fail to decode. Tools exit with status 2 on it for bad input
// files; the loader throws it when the share of broken videos exceeds its limit.

#include <stdexcept>
#include <string>

namespace multigrid::reference {

class dataset_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace multigrid::reference
