// A program that uses the installed or embedded library the way a training code base would.
#include <cstdio>
#include <multigrid/multigrid.hpp>
#include <string>

int main() {
  multigrid::config cfg;
  cfg.num_gpus = 8;
  cfg.data.num_frames = 32;
  cfg.data.sampling_rate = 2;
  cfg.solver.policy = multigrid::lr_policy::steps_with_relative_lrs;
  cfg.solver.steps = {0, 94, 154, 196};
  cfg.solver.max_epoch = 239;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;
  const multigrid::plan plan(cfg, 240000);
  const std::string version = MULTIGRID_VERSION_STRING;
  if (version != EXPECTED_VERSION) {
    std::fprintf(stderr, "version %s, expected %s\n", version.c_str(), EXPECTED_VERSION);
    return 1;
  }
  if (plan.epochs() != 358) {
    std::fprintf(stderr, "the Kinetics schedule has %d epochs, expected 358\n", plan.epochs());
    return 1;
  }
  std::printf("multigrid %s: %d epochs, %lld iterations\n", version.c_str(), plan.epochs(),
              static_cast<long long>(plan.total_iterations()));
  return 0;
}
