#include <doctest/doctest.h>

#include <regex>

#include "child_process.hpp"
#include "temporary_folder.hpp"
#include "toy_model.hpp"
#include "train/optimizer.hpp"
#include "train/process_group.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

// Starts `ranks` helper processes of one job on the loopback interface.
std::vector<std::unique_ptr<child_process>> start_job(const temporary_folder& folder, int ranks,
                                                      const std::vector<std::string>& arguments) {
  const auto port = std::to_string(free_port());
  std::vector<std::unique_ptr<child_process>> processes;
  for (int rank = 0; rank < ranks; ++rank) {
    std::vector<std::string> command{TRAIN_TEST_HELPER};
    command.insert(command.end(), arguments.begin(), arguments.end());
    processes.push_back(std::make_unique<child_process>(
        command,
        std::map<std::string, std::string>{{"RANK", std::to_string(rank)},
                                           {"WORLD_SIZE", std::to_string(ranks)},
                                           {"LOCAL_RANK", std::to_string(rank)},
                                           {"MASTER_ADDR", "127.0.0.1"},
                                           {"MASTER_PORT", port},
                                           {"OMP_NUM_THREADS", "1"}},
        folder.file("rank" + std::to_string(rank) + ".log")));
  }
  return processes;
}

// The single-process reference: the helper's training on the whole combined batch.
torch::Tensor train_on_combined_batch() {
  torch::manual_seed(1);
  toy_net model(/*with_batch_norm=*/false);
  model->train();
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  for (int step = 0; step < 3; ++step) {
    const auto batch = toy_batch_at(step);
    optimizer.set_learning_rate(0.1 * (step + 1));
    optimizer.zero_grad();
    // The dropout mask of the combined batch: each process draws its half with the same seed,
    // so the single process draws the two halves the same way.
    torch::Tensor logits;
    {
      std::vector<torch::Tensor> halves;
      for (int rank = 0; rank < 2; ++rank) {
        torch::manual_seed(50 + static_cast<std::uint64_t>(step));
        halves.push_back(model->forward(batch.inputs.narrow(0, rank * 4, 4)));
      }
      logits = torch::cat(halves);
    }
    torch::nn::functional::cross_entropy(logits, batch.labels).backward();
    optimizer.step();
  }
  return flat_state(*model);
}

}  // namespace

TEST_CASE("two Gloo processes averaging gradients step like one process on the combined batch") {
  temporary_folder folder("distributed-gradients");
  const auto expected = train_on_combined_batch();
  // 600 bytes per bucket: several buckets, started while backward still runs.
  auto job = start_job(folder, 2, {"gradients", folder.file("params.pt"), "600"});
  for (auto& process : job) {
    const auto status = process->wait_for(std::chrono::seconds(120));
    INFO(process->output());
    REQUIRE(status == 0);
  }
  torch::Tensor distributed;
  torch::load(distributed, folder.file("params.pt"));
  CHECK(distributed.sizes() == expected.sizes());
  CHECK(torch::allclose(distributed, expected, 1e-5, 1e-6));
  std::smatch match;
  const auto output = job[1]->output();
  REQUIRE(std::regex_search(output, match,
                            std::regex(R"(buckets (\d+) started during backward (\d+))")));
  CHECK(std::stoi(match[1]) >= 3);
  CHECK(std::stoi(match[2]) >= 1);
}

TEST_CASE("sync-BN sums statistics over groups of consecutive ranks") {
  temporary_folder folder("distributed-sync-bn");
  auto job = start_job(folder, 4, {"sync_bn", "2"});
  std::string outputs;
  for (auto& process : job) {
    const auto status = process->wait_for(std::chrono::seconds(120));
    INFO(process->output());
    REQUIRE(status == 0);
    outputs += process->output();
  }
  // Ranks 0 and 1 hold 1 and 2, ranks 2 and 3 hold 3 and 4; the whole job has 4 processes.
  CHECK(outputs.find("rank 0 group 2 sums 3 30 300") != std::string::npos);
  CHECK(outputs.find("rank 1 group 2 sums 3 30 300") != std::string::npos);
  CHECK(outputs.find("rank 2 group 2 sums 7 70 700") != std::string::npos);
  CHECK(outputs.find("rank 3 group 2 sums 7 70 700") != std::string::npos);
  for (int rank = 0; rank < 4; ++rank) {
    CHECK(outputs.find("rank " + std::to_string(rank) + " world 4") != std::string::npos);
  }
}

TEST_CASE("every process's random state is gathered, by rank, on every process") {
  temporary_folder folder("distributed-gather");
  auto job = start_job(folder, 3, {"gather"});
  for (int rank = 0; rank < 3; ++rank) {
    auto& process = *job[static_cast<std::size_t>(rank)];
    const auto status = process.wait_for(std::chrono::seconds(120));
    INFO(process.output());
    REQUIRE(status == 0);
    CHECK(process.output().find("rank " + std::to_string(rank) +
                                " gathered 3: 0/1a 7/101b 14/201c own intact, distinct yes") !=
          std::string::npos);
  }
}

TEST_CASE("when a peer is killed the other process stops with an error naming rank and operation") {
  temporary_folder folder("distributed-peer-killed");
  for (int victim : {1, 0}) {  // the store's client, then its server
    CAPTURE(victim);
    auto job = start_job(folder, 2, {"peer", "30"});
    REQUIRE(job[0]->wait_for_output("ready", std::chrono::seconds(60)));
    REQUIRE(job[1]->wait_for_output("ready", std::chrono::seconds(60)));
    job[static_cast<std::size_t>(victim)]->kill(SIGKILL);
    auto& survivor = *job[static_cast<std::size_t>(1 - victim)];
    const auto killed_at = std::chrono::steady_clock::now();
    const auto status = survivor.wait_for(std::chrono::seconds(40));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    INFO(survivor.output());
    REQUIRE(status.has_value());
    CHECK(*status == 1);
    CHECK(seconds < 15);  // a closed connection is noticed at once, well before the 30 s timeout
    CHECK(survivor.output().find("rank " + std::to_string(1 - victim) +
                                 " of 2 (gloo): all-reduce of step") != std::string::npos);
  }
}

TEST_CASE("a peer that stops responding makes the other fail at the timeout") {
  temporary_folder folder("distributed-peer-stopped");
  auto job = start_job(folder, 2, {"peer", "3"});
  REQUIRE(job[0]->wait_for_output("ready", std::chrono::seconds(60)));
  REQUIRE(job[1]->wait_for_output("ready", std::chrono::seconds(60)));
  job[1]->kill(SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  const auto status = job[0]->wait_for(std::chrono::seconds(30));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  job[1]->kill(SIGKILL);
  INFO(job[0]->output());
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  CHECK(seconds >= 2.5);
  CHECK(seconds < 20);
  CHECK(job[0]->output().find("timeout 3.0 s") != std::string::npos);
}

TEST_CASE("a job of one process needs no store and every collective is the identity") {
  distributed_environment environment;  // no launcher variables
  auto group = process_group::join(environment, process_group_options{});
  CHECK(group->size() == 1);
  CHECK(group->backend() == collective_backend::none);
  auto tensor = torch::tensor({1.0, 2.0});
  group->all_reduce_sum(tensor, "sum");
  group->broadcast(tensor, 0, "broadcast");
  group->barrier("barrier");
  auto pending = group->all_reduce_sum_async(tensor, "async sum");
  pending.wait();
  CHECK(torch::equal(tensor, torch::tensor({1.0, 2.0})));
  CHECK(group->subgroup(0, 1)->size() == 1);
  CHECK_THROWS_AS(group->subgroup(0, 2), std::invalid_argument);
}

TEST_CASE("a rendezvous nobody joins fails at the timeout, naming the address") {
  distributed_environment environment;
  environment.rank = 1;
  environment.world_size = 2;
  environment.master_address = "127.0.0.1";
  environment.master_port = static_cast<std::uint16_t>(free_port());
  process_group_options options;
  options.timeout = std::chrono::seconds(2);
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(process_group::join(environment, options),
                       doctest::Contains(("rank 1 of 2 (gloo): rendezvous at 127.0.0.1:" +
                                          std::to_string(environment.master_port))
                                             .c_str()),
                       distributed_error);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
}

TEST_CASE("DIST_BACKEND and DIST_TIMEOUT_SECONDS choose the collectives") {
  train_config cfg;
  cfg.distributed_timeout_seconds = 2.5;
  auto options = process_group_options_for(cfg, torch::Device(torch::kCPU));
  CHECK(options.timeout == std::chrono::milliseconds(2500));
  CHECK(options.backend == collective_backend::gloo);  // NCCL cannot reduce CPU tensors
  cfg.backend = distributed_backend::gloo;
  CHECK(process_group_options_for(cfg, torch::Device(torch::kCUDA, 0)).backend ==
        collective_backend::gloo);
  cfg.backend = distributed_backend::nccl;
  CHECK(process_group_options_for(cfg, torch::Device(torch::kCUDA, 0)).backend ==
        (nccl_available() ? collective_backend::nccl : collective_backend::gloo));
}
