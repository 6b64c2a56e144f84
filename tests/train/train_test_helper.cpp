// train_test_helper: the other end of the multi-process tests. Each mode is one process of a
// job the test starts (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment), or a
// process the test kills on purpose.
//
//   gradients OUT BUCKET_BYTES      train the toy model 3 steps on this rank's share of the
//                                   combined batch; rank 0 saves the parameters to OUT
//   sync_bn SYNC_DEVICES            sum a rank-specific tensor over the sync group, print it
//   gather                          gather every rank's random state, print what arrived
//   peer TIMEOUT_SECONDS            all-reduce in a loop until a peer fails
//   checkpoint_writer FOLDER MB LIMIT_MB
//                                   write a checkpoint holding a tensor of MB megabytes, in a
//                                   process that the kernel kills once a file passes LIMIT_MB

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "toy_model.hpp"
#include "train/batch_norm_sync_groups.hpp"
#include "train/checkpoint_directory.hpp"
#include "train/gradient_all_reducer.hpp"
#include "train/optimizer.hpp"
#include "train/process_group.hpp"
#include "train/rng_state.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

std::shared_ptr<process_group> join_job(double timeout_seconds) {
  process_group_options options;
  options.timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  options.backend = collective_backend::gloo;
  return process_group::join(read_distributed_environment(), options);
}

int train_gradients(const std::string& out, std::size_t bucket_bytes) {
  auto group = join_job(60);
  // Different initial weights per rank: the broadcast must make them rank 0's.
  torch::manual_seed(1 + static_cast<std::uint64_t>(group->rank()));
  toy_net model(/*with_batch_norm=*/false);
  broadcast_module_state(*group, *model);
  model->train();
  sgd_settings settings;
  training_optimizer optimizer(split_batch_norm_parameters(*model), settings);
  gradient_all_reducer reducer(group, model->parameters(), bucket_bytes);
  const int share = 8 / group->size();
  std::size_t started_during_backward = 0;
  for (int step = 0; step < 3; ++step) {
    const auto batch = toy_batch_at(step);
    const auto inputs = batch.inputs.narrow(0, group->rank() * share, share);
    const auto labels = batch.labels.narrow(0, group->rank() * share, share);
    optimizer.set_learning_rate(0.1 * (step + 1));
    optimizer.zero_grad();
    torch::manual_seed(50 + static_cast<std::uint64_t>(step));  // dropout masks
    const auto loss = torch::nn::functional::cross_entropy(model->forward(inputs), labels);
    loss.backward();
    started_during_backward = std::max(started_during_backward, reducer.buckets_started());
    reducer.finish();
    optimizer.step();
  }
  std::printf("buckets %zu started during backward %zu\n", reducer.bucket_count(),
              started_during_backward);
  if (group->rank() == 0) torch::save(flat_state(*model), out);
  group->barrier("the end of the gradient test");
  return 0;
}

int sum_sync_groups(int sync_devices) {
  auto world = join_job(60);
  batch_norm_sync_groups groups(world);
  const double value = world->rank() + 1;
  auto statistics = torch::tensor({value, 10 * value, 100 * value}, torch::kFloat64);
  auto synchronizer = groups.for_devices(sync_devices);
  synchronizer->all_reduce_sum(statistics);
  std::printf("rank %d group %d sums %g %g %g\n", world->rank(), synchronizer->group_size(),
              statistics[0].item<double>(), statistics[1].item<double>(),
              statistics[2].item<double>());
  // The same size again reuses the group; the whole job is a second one.
  if (groups.for_devices(sync_devices) != synchronizer) {
    std::printf("a second synchronizer was made for the same size\n");
    return 4;
  }
  auto everyone = torch::ones({1}, torch::kFloat64);
  groups.for_devices(world->size())->all_reduce_sum(everyone);
  std::printf("rank %d world %g\n", world->rank(), everyone.item<double>());
  return 0;
}

int gather_random_states() {
  auto world = join_job(60);
  torch::manual_seed(10 + static_cast<std::uint64_t>(world->rank()));
  auto own = capture_rng_state();
  own.loader_seed = 7 * static_cast<std::uint64_t>(world->rank());
  own.loader_state = std::string(static_cast<std::size_t>(world->rank()) * 100 + 1,
                                 'a' + static_cast<char>(world->rank()));
  const auto states = gather_rng_states(*world, own);
  std::printf("rank %d gathered %zu:", world->rank(), states.size());
  for (const auto& state : states) {
    std::printf(" %llu/%zu%c", static_cast<unsigned long long>(state.loader_seed),
                state.loader_state.size(), state.loader_state.back());
  }
  const bool intact = torch::equal(states[static_cast<std::size_t>(world->rank())].cpu, own.cpu);
  const bool distinct = !torch::equal(states[0].cpu, states[1].cpu);
  std::printf(" own %s, distinct %s\n", intact ? "intact" : "changed", distinct ? "yes" : "no");
  return 0;
}

int all_reduce_until_failure(double timeout_seconds) {
  auto group = join_job(timeout_seconds);
  for (long step = 0;; ++step) {
    auto tensor = torch::ones({1000});
    group->all_reduce_sum(tensor, "all-reduce of step " + std::to_string(step));
    if (step == 0) std::printf("ready\n");
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int write_large_checkpoint(const std::string& folder, int megabytes, int limit_megabytes) {
  checkpoint_directory directory(folder);
  checkpoint_state state;
  state.position.epoch = 2;
  state.position.global_iteration = 200;
  const auto payload = torch::rand({static_cast<std::int64_t>(megabytes) << 18});  // 4-byte floats
  checkpoint_parts parts;
  parts.save_model = [&] { return state_dict{{"payload", payload}}; };
  // SIGXFSZ's default action ends the process at the write that crosses the limit: a death in
  // the middle of the checkpoint's bytes, at the same byte every time; no core file.
  const rlimit file_size{static_cast<rlim_t>(limit_megabytes) << 20,
                         static_cast<rlim_t>(limit_megabytes) << 20};
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0 || ::setrlimit(RLIMIT_FSIZE, &file_size) != 0) {
    std::perror("setrlimit");
    return 1;
  }
  std::printf("writing\n");
  std::fflush(stdout);
  directory.save(state, parts, 10, 1);
  std::printf("written\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  try {
    if (arguments.size() == 3 && arguments[0] == "gradients") {
      return train_gradients(arguments[1], std::stoul(arguments[2]));
    }
    if (arguments.size() == 2 && arguments[0] == "sync_bn")
      return sum_sync_groups(std::stoi(arguments[1]));
    if (arguments.size() == 1 && arguments[0] == "gather") return gather_random_states();
    if (arguments.size() == 2 && arguments[0] == "peer") {
      return all_reduce_until_failure(std::stod(arguments[1]));
    }
    if (arguments.size() == 4 && arguments[0] == "checkpoint_writer") {
      return write_large_checkpoint(arguments[1], std::stoi(arguments[2]), std::stoi(arguments[3]));
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "train_test_helper: error: %s\n", error.what());
    return 1;
  }
  std::fprintf(stderr, "usage: train_test_helper gradients|sync_bn|peer|checkpoint_writer ...\n");
  return 2;
}
