// The main of every doctest executable. CTest runs each test case on its own by name
// (--test-case=NAME); a name that matches nothing would run no case and pass. That happened: CMake
// splits the discovered names at ';', so cases whose names held one never ran. Here a run whose
// filters match no test case fails, naming them; and a run whose every case was skipped
// (skip_test_case) exits 77, CTest's "skipped".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "support/skip_test_case.hpp"

namespace {

unsigned matching_test_cases = 0;
unsigned skipped_test_cases = 0;

class matching_counter : public doctest::IReporter {
 public:
  explicit matching_counter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    matching_test_cases = stats.numTestCasesPassingFilters;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("matching_counter", 1, matching_counter);

}  // namespace

void multigrid::testing::skip_test_case(const std::string& reason) {
  ++skipped_test_cases;
  MESSAGE("skipped: " << reason);
}

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases and other queries
  std::string filters;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument.rfind("--test-case=", 0) == 0 || argument.rfind("-tc=", 0) == 0) {
      filters += (filters.empty() ? "" : " ") + argument;
    }
  }
  if (!filters.empty() && matching_test_cases == 0) {
    std::fprintf(stderr, "no test case matches %s\n", filters.c_str());
    return 1;
  }
  constexpr int skipped_exit_status = 77;
  if (result == 0 && matching_test_cases > 0 && skipped_test_cases == matching_test_cases) {
    return skipped_exit_status;
  }
  return result;
}
