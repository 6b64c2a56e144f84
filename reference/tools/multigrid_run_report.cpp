// multigrid-run-report: rebuilds a training run's SVG report and summary table from its folder
// (metrics.jsonl and config.yaml), for a finished run, a crashed one, or several side by side.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "report/atomic_file.hpp"
#include "tools/cli_support.hpp"
#include "train/run_layout.hpp"
#include "train/run_report.hpp"

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-run-report OUTPUT_DIR [OUTPUT_DIR...] [--label NAME]... [--svg FILE]\n"
    "  OUTPUT_DIR    a run's folder (holding metrics.jsonl, and config.yaml for the schedule)\n"
    "  --label NAME  the name of the next OUTPUT_DIR in the report (default: the folder's name)\n"
    "  --svg FILE    where to write the report (default: OUTPUT_DIR/report.svg of a single run)\n"
    "The summary table goes to standard output.\n";

int run(int argc, char** argv) {
  std::vector<std::string> folders;
  std::vector<std::string> labels;
  std::string pending_label;
  std::string svg_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--label" || arg == "--svg") {
      (arg == "--label" ? pending_label : svg_path) = option_value(argc, argv, i);
    } else if (arg.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + arg);
    } else {
      if (!std::filesystem::is_directory(arg)) throw usage_error(arg + ": not a folder");
      folders.push_back(arg);
      labels.push_back(pending_label);
      pending_label.clear();
    }
  }
  if (folders.empty()) throw usage_error("missing OUTPUT_DIR");
  if (svg_path.empty()) {
    if (folders.size() > 1) throw usage_error("several runs: name the report with --svg FILE");
    svg_path = run_layout{folders.front()}.report();
  }
  std::vector<run_record> runs;
  for (std::size_t i = 0; i < folders.size(); ++i) runs.push_back(load_run(folders[i], labels[i]));
  write_run_report(runs, svg_path);
  std::fputs(run_summary_table(runs).c_str(), stdout);
  std::fprintf(stderr, "multigrid-run-report: wrote %s\n", svg_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-run-report", usage, [&] { return run(argc, argv); });
}
