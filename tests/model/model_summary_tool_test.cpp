#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <string>

namespace {

struct tool_result {
  int status = -1;
  std::string output;  ///< stdout and stderr
};

tool_result run_summary(const std::string& arguments) {
  const std::string command =
      MULTIGRID_BINARY_DIR "/bin/multigrid-model-summary " + arguments + " 2>&1";
  tool_result result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const std::string kinetics_config =
    MULTIGRID_SOURCE_DIR "/reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml";

}  // namespace

TEST_CASE("multigrid-model-summary lists every clip shape of the Kinetics schedule") {
  const auto result = run_summary(kinetics_config);
  INFO(result.output);
  CHECK(result.status == 0);
  CHECK(result.output.find("SlowFast-R50: alpha 4, beta 1/8, fusion kernel 7") !=
        std::string::npos);
  CHECK(result.output.find("parameters: 34,566,488") != std::string::npos);
  for (const char* row :
       {"8 (  2)        112              3.30", "16 (  4)        224             25.15",
        "32 (  8)        224             50.31"}) {
    CHECK_MESSAGE(result.output.find(row) != std::string::npos, row);
  }
  // Table rows are the lines that start (after the indent) with a frame count.
  std::size_t rows = 0;
  std::size_t line_start = 0;
  while (line_start < result.output.size()) {
    const auto first = result.output.find_first_not_of(' ', line_start);
    if (first != std::string::npos &&
        std::isdigit(static_cast<unsigned char>(result.output[first]))) {
      ++rows;
    }
    const auto end = result.output.find('\n', line_start);
    if (end == std::string::npos) break;
    line_start = end + 1;
  }
  CHECK(rows == 8);
}

TEST_CASE("multigrid-model-summary reports bad configuration with exit status 2") {
  auto result = run_summary(kinetics_config + " RESNET.DEPTH 34");
  CHECK(result.status == 2);
  CHECK(result.output.find("RESNET.DEPTH = 34") != std::string::npos);

  result = run_summary("--json");
  CHECK(result.status == 2);
  CHECK(result.output.find("usage:") != std::string::npos);

  result = run_summary("/nonexistent/config.yaml");
  CHECK(result.status == 2);
  CHECK(result.output.find("/nonexistent/config.yaml") != std::string::npos);
}
