#include "train/distributed_environment.hpp"

#include <cerrno>
#include <cstdlib>

#include "config/config_tree.hpp"

namespace multigrid::reference {
namespace {

long parse_integer(const std::string& name, const std::string& text, long minimum, long maximum) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < minimum || value > maximum) {
    throw environment_error("environment variable " + name + "=" + text +
                            ": must be an integer in [" + std::to_string(minimum) + ", " +
                            std::to_string(maximum) + "]");
  }
  return value;
}

int read_integer(const environment_lookup& lookup, const std::string& name, long minimum) {
  const auto text = lookup(name);
  return static_cast<int>(parse_integer(name, *text, minimum, 1 << 30));
}

}  // namespace

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string first_host_of_node_list(const std::string& node_list) {
  // Hosts are separated by commas outside brackets; a bracket holds ranges of suffixes.
  std::string host;
  std::size_t i = 0;
  for (; i < node_list.size() && node_list[i] != ',' && node_list[i] != '['; ++i)
    host += node_list[i];
  if (i < node_list.size() && node_list[i] == '[') {
    std::string suffix;
    for (++i;
         i < node_list.size() && node_list[i] != '-' && node_list[i] != ',' && node_list[i] != ']';
         ++i) {
      suffix += node_list[i];
    }
    host += suffix;
  }
  return host;
}

distributed_environment read_distributed_environment(const environment_lookup& lookup) {
  distributed_environment environment;
  if (static_cast<bool>(lookup("RANK")) != static_cast<bool>(lookup("WORLD_SIZE"))) {
    throw environment_error("environment: RANK and WORLD_SIZE must be set together (only " +
                            std::string(lookup("RANK") ? "RANK" : "WORLD_SIZE") + " is)");
  }
  const bool torchrun = static_cast<bool>(lookup("RANK"));
  const bool slurm = !torchrun && lookup("SLURM_PROCID") && lookup("SLURM_NTASKS");
  if (!torchrun && !slurm) return environment;
  const std::string rank_name = torchrun ? "RANK" : "SLURM_PROCID";
  const std::string world_name = torchrun ? "WORLD_SIZE" : "SLURM_NTASKS";
  const std::string local_name = torchrun ? "LOCAL_RANK" : "SLURM_LOCALID";
  environment.launcher = torchrun ? "torchrun" : "slurm";
  environment.world_size = read_integer(lookup, world_name, 1);
  environment.rank = read_integer(lookup, rank_name, 0);
  if (environment.rank >= environment.world_size) {
    throw environment_error("environment variable " + rank_name + "=" +
                            std::to_string(environment.rank) + ": must be below " + world_name +
                            "=" + std::to_string(environment.world_size));
  }
  if (lookup(local_name)) environment.local_rank = read_integer(lookup, local_name, 0);

  if (const auto address = lookup("MASTER_ADDR"); address && !address->empty()) {
    environment.master_address = *address;
  } else if (slurm) {
    auto nodes = lookup("SLURM_JOB_NODELIST");
    if (!nodes) nodes = lookup("SLURM_NODELIST");
    if (nodes && !nodes->empty()) environment.master_address = first_host_of_node_list(*nodes);
  }
  if (const auto port = lookup("MASTER_PORT")) {
    environment.master_port =
        static_cast<std::uint16_t>(parse_integer("MASTER_PORT", *port, 1, 65535));
  } else if (environment.world_size > 1 && torchrun) {
    throw environment_error(
        "environment: MASTER_PORT is not set (torchrun sets it; set it by hand "
        "when starting processes yourself)");
  }
  return environment;
}

void check_world_size(const distributed_environment& environment, int num_gpus) {
  const int processes = num_gpus > 0 ? num_gpus : 1;
  if (environment.world_size != processes) {
    throw config_error("NUM_GPUS = " + std::to_string(num_gpus) + ": the job has " +
                       std::to_string(environment.world_size) + " processes (WORLD_SIZE from " +
                       environment.launcher + "); NUM_GPUS must equal the number of processes");
  }
}

}  // namespace multigrid::reference
