#pragma once
// Where this process stands in a multi-process job, read from the environment the launchers set:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or SLURM's srun
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODELIST). No variables: a job of one.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

/// A variable holds something a launcher would not set; the message names it and its value.
class environment_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct distributed_environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  ///< which GPU of the machine this process drives
  std::string master_address = "127.0.0.1";
  std::uint16_t master_port = 29500;  ///< torchrun's default
  std::string launcher = "none";      ///< "torchrun", "slurm" or "none"

  bool distributed() const noexcept { return world_size > 1; }
};

/// Looks a variable up; the default reads the process environment.
using environment_lookup = std::function<std::optional<std::string>(const std::string& name)>;

std::optional<std::string> process_environment(const std::string& name);

/// RANK and WORLD_SIZE win over SLURM's variables (torchrun inside an allocation). MASTER_ADDR
/// unset under SLURM: the first host of SLURM_NODELIST (SLURM_JOB_NODELIST). Throws
/// environment_error naming the variable for non-numbers, a rank outside the world, or a port
/// outside 1..65535.
distributed_environment read_distributed_environment(
    const environment_lookup& lookup = process_environment);

/// The first host of a SLURM node list: "gpu[003-004,010],cpu1" gives "gpu003".
std::string first_host_of_node_list(const std::string& node_list);

/// Checks that the launcher started as many processes as the configuration divides the batch
/// among (NUM_GPUS; 0 and 1 both mean one process). The message names NUM_GPUS and WORLD_SIZE.
void check_world_size(const distributed_environment& environment, int num_gpus);

}  // namespace multigrid::reference
