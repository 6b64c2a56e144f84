#include "train/distributed_environment.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "config/config_tree.hpp"

using namespace multigrid::reference;

namespace {

environment_lookup lookup_in(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(std::map<std::string, std::string> variables) {
  try {
    read_distributed_environment(lookup_in(std::move(variables)));
  } catch (const environment_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("no launcher variables: a job of one") {
  const auto environment = read_distributed_environment(lookup_in({}));
  CHECK(environment.rank == 0);
  CHECK(environment.world_size == 1);
  CHECK_FALSE(environment.distributed());
  CHECK(environment.launcher == "none");
}

TEST_CASE("torchrun's variables") {
  const auto environment = read_distributed_environment(lookup_in({{"RANK", "3"},
                                                                   {"WORLD_SIZE", "8"},
                                                                   {"LOCAL_RANK", "1"},
                                                                   {"MASTER_ADDR", "node7"},
                                                                   {"MASTER_PORT", "29400"},
                                                                   {"SLURM_PROCID", "0"},
                                                                   {"SLURM_NTASKS", "2"}}));
  CHECK(environment.launcher == "torchrun");
  CHECK(environment.rank == 3);
  CHECK(environment.world_size == 8);
  CHECK(environment.local_rank == 1);
  CHECK(environment.master_address == "node7");
  CHECK(environment.master_port == 29400);
}

TEST_CASE("SLURM's variables, the master taken from the node list") {
  const auto environment =
      read_distributed_environment(lookup_in({{"SLURM_PROCID", "5"},
                                              {"SLURM_NTASKS", "16"},
                                              {"SLURM_LOCALID", "1"},
                                              {"SLURM_NODELIST", "gpu[003-004,010],cpu1"}}));
  CHECK(environment.launcher == "slurm");
  CHECK(environment.rank == 5);
  CHECK(environment.world_size == 16);
  CHECK(environment.local_rank == 1);
  CHECK(environment.master_address == "gpu003");
  CHECK(environment.master_port == 29500);

  const auto with_address = read_distributed_environment(lookup_in({{"SLURM_PROCID", "0"},
                                                                    {"SLURM_NTASKS", "2"},
                                                                    {"SLURM_NODELIST", "a,b"},
                                                                    {"MASTER_ADDR", "10.0.0.1"},
                                                                    {"MASTER_PORT", "1234"}}));
  CHECK(with_address.master_address == "10.0.0.1");
  CHECK(with_address.master_port == 1234);
}

TEST_CASE("first host of SLURM node lists") {
  CHECK(first_host_of_node_list("node1") == "node1");
  CHECK(first_host_of_node_list("node1,node2") == "node1");
  CHECK(first_host_of_node_list("gpu[12-15]") == "gpu12");
  CHECK(first_host_of_node_list("gpu[7,9]") == "gpu7");
  CHECK(first_host_of_node_list("rack1-gpu[0010-0011]") == "rack1-gpu0010");
}

TEST_CASE("bad launcher variables name the variable and its value") {
  CHECK(error_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}).find("RANK=x") !=
        std::string::npos);
  CHECK(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}})
            .find("RANK=2: must be below WORLD_SIZE=2") != std::string::npos);
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE=0") != std::string::npos);
  CHECK(error_of({{"RANK", "0"}}).find("RANK and WORLD_SIZE must be set together") !=
        std::string::npos);
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_PORT is not set") !=
        std::string::npos);
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}})
            .find("MASTER_PORT=70000") != std::string::npos);
  CHECK(error_of({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "two"}}).find("SLURM_NTASKS=two") !=
        std::string::npos);
}

TEST_CASE("the job's process count must match NUM_GPUS") {
  distributed_environment environment;
  environment.world_size = 2;
  environment.launcher = "torchrun";
  CHECK_NOTHROW(check_world_size(environment, 2));
  CHECK_THROWS_AS(check_world_size(environment, 4), config_error);
  try {
    check_world_size(environment, 4);
  } catch (const config_error& error) {
    CHECK(std::string(error.what()).find("NUM_GPUS = 4") != std::string::npos);
    CHECK(std::string(error.what()).find("2 processes") != std::string::npos);
  }
  environment.world_size = 1;
  CHECK_NOTHROW(check_world_size(environment, 0));
  CHECK_NOTHROW(check_world_size(environment, 1));
}
