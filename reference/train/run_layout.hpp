#pragma once
// Where a run keeps its files inside OUTPUT_DIR. The trainer writes them, multigrid-run-report
// reads them, and a resumed run finds its checkpoints there.

#include <string>

namespace multigrid::reference {

struct run_layout {
  std::string output_dir;

  std::string config() const { return output_dir + "/config.yaml"; }     ///< resolved config
  std::string metrics() const { return output_dir + "/metrics.jsonl"; }  ///< JSON lines
  std::string report() const { return output_dir + "/report.svg"; }
  std::string summary() const { return output_dir + "/summary.txt"; }
  std::string stdout_log() const { return output_dir + "/stdout.log"; }  ///< what rank 0 printed
  std::string checkpoints() const { return output_dir + "/checkpoints"; }
};

}  // namespace multigrid::reference
