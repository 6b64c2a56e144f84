#pragma once
// multigrid-train --demo: the whole method on a laptop in one command. It generates a small
// motion dataset if it is absent, trains a reduced-width SlowFast on the CPU twice (the standard
// schedule, then multigrid) from the bundled demo config, and prints both runs' accuracy and
// wall-clock side by side with the report's path.

#include <cstdio>
#include <string>
#include <vector>

namespace multigrid::reference {

struct demo_options {
  std::string output_dir = "demo-output";
  std::vector<std::string> overrides;  ///< KEY VALUE pairs applied to both runs
  std::FILE* out = stdout;
};

/// The bundled demo configuration (reference/configs/demo/SLOWFAST_motion_demo.yaml).
const std::string& demo_config_text();

/// Runs the demo; returns the process exit status (0 when both runs finished).
int run_demo(const demo_options& options);

}  // namespace multigrid::reference
