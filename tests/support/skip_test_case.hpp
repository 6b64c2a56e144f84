#pragma once
// A test case that cannot run on this machine (a tool or package is missing) says why and returns.
// Run on its own, as CTest runs every case, its executable then exits 77, which CTest reports as
// skipped (SKIP_RETURN_CODE), not as passed.

#include <string>

namespace multigrid::testing {

/// Call from the test case, then return from it.
void skip_test_case(const std::string& reason);

}  // namespace multigrid::testing
