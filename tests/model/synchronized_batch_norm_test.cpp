#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "model/sub_batch_norm.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

// An all-reduce among threads of one process: each member adds its tensor, waits for the others,
// and leaves with the sum. Rounds follow one another like a process group's collectives.
class in_process_group {
 public:
  explicit in_process_group(int size) : size_(size) {}

  void all_reduce_sum(torch::Tensor& tensor) {
    std::unique_lock<std::mutex> lock(mutex_);
    const long round = round_;
    if (arrived_ == 0) {
      sum_ = tensor.detach().clone();
    } else {
      sum_.add_(tensor.detach());
    }
    if (++arrived_ == size_) {
      result_ = sum_;
      arrived_ = 0;
      ++round_;
      ready_.notify_all();
    } else {
      ready_.wait(lock, [&] { return round_ != round; });
    }
    tensor.copy_(result_);
  }
  int size() const { return size_; }

 private:
  int size_;
  std::mutex mutex_;
  std::condition_variable ready_;
  int arrived_ = 0;
  long round_ = 0;
  torch::Tensor sum_;
  torch::Tensor result_;
};

class thread_synchronizer : public batch_norm_synchronizer {
 public:
  explicit thread_synchronizer(std::shared_ptr<in_process_group> group)
      : group_(std::move(group)) {}
  void all_reduce_sum(torch::Tensor& tensor) override { group_->all_reduce_sum(tensor); }
  int group_size() const override { return group_->size(); }

 private:
  std::shared_ptr<in_process_group> group_;
};

// Runs `work(member)` for members 0 and 1 on two threads, as two processes would.
template <class Work>
void run_pair(Work work) {
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto guarded = [&](int member) {
    try {
      work(member);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      failure = std::current_exception();
    }
  };
  std::thread other(guarded, 1);
  guarded(0);
  other.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE("synchronized BN over two members equals plain BN over both halves, gradients included") {
  constexpr std::int64_t channels = 4;
  torch::manual_seed(21);
  const auto input = torch::randn({6, channels, 2, 3, 3}) * 2 + 0.5;
  const auto projection = torch::randn({6, channels, 2, 3, 3});

  SubBatchNorm3d plain(channels);
  {
    torch::NoGradGuard no_grad;
    plain->weight.copy_(torch::tensor({1.5f, -0.5f, 0.25f, 2.0f}));
    plain->bias.copy_(torch::tensor({0.0f, 1.0f, -1.0f, 0.5f}));
  }
  const auto plain_input = input.clone().requires_grad_();
  const auto plain_output = plain(plain_input);
  (plain_output * projection).sum().backward();

  auto group = std::make_shared<in_process_group>(2);
  std::array<SubBatchNorm3d, 2> members{SubBatchNorm3d(channels), SubBatchNorm3d(channels)};
  std::array<torch::Tensor, 2> inputs, outputs;
  for (int m = 0; m < 2; ++m) {
    torch::NoGradGuard no_grad;
    members[m]->weight.copy_(plain->weight);
    members[m]->bias.copy_(plain->bias);
    members[m]->set_synchronizer(std::make_shared<thread_synchronizer>(group));
    // Member 0 holds 2 clips and member 1 holds 4: the count is all-reduced too.
    inputs[m] = (m == 0 ? input.narrow(0, 0, 2) : input.narrow(0, 2, 4)).clone().requires_grad_();
  }
  run_pair([&](int m) {
    outputs[m] = members[m](inputs[m]);
    const auto rows = m == 0 ? projection.narrow(0, 0, 2) : projection.narrow(0, 2, 4);
    (outputs[m] * rows).sum().backward();
  });

  CHECK(same_values(torch::cat({outputs[0], outputs[1]}).detach(), plain_output.detach(), 1e-4));
  CHECK(same_values(torch::cat({inputs[0].grad(), inputs[1].grad()}), plain_input.grad(), 1e-4));
  CHECK(same_values(members[0]->weight.grad() + members[1]->weight.grad(), plain->weight.grad(),
                    1e-4));
  CHECK(same_values(members[0]->bias.grad() + members[1]->bias.grad(), plain->bias.grad(), 1e-4));
  for (int m = 0; m < 2; ++m) {
    CHECK(same_values(members[m]->running_mean, plain->running_mean));
    CHECK(same_values(members[m]->running_var, plain->running_var));
  }
}

TEST_CASE("two synchronized model replicas train like one plain model on the whole batch") {
  auto plain = narrow_model(5);
  const auto clips = random_clips(4, 8, 32);
  const auto labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
  const auto plain_logits = plain->forward(clips);
  // Mean over the whole batch = the sum of both members' half-batch sums / 4.
  (torch::nn::functional::cross_entropy(
       plain_logits, labels,
       torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
   4)
      .backward();

  auto group = std::make_shared<in_process_group>(2);
  std::array<SlowFast, 2> replicas{narrow_model(5), narrow_model(5)};
  std::array<torch::Tensor, 2> logits;
  for (auto& replica : replicas) {
    replica->set_batch_norm_mode({multigrid::batch_norm_type::synchronized, 1, 2},
                                 std::make_shared<thread_synchronizer>(group));
  }
  run_pair([&](int m) {
    logits[m] = replicas[m]->forward(clips.narrow(0, 2 * m, 2));
    (torch::nn::functional::cross_entropy(
         logits[m], labels.narrow(0, 2 * m, 2),
         torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
     4)
        .backward();
  });

  CHECK(same_values(torch::cat({logits[0], logits[1]}).detach(), plain_logits.detach(), 1e-4));
  const auto plain_parameters = plain->named_parameters();
  const auto first = replicas[0]->named_parameters();
  const auto second = replicas[1]->named_parameters();
  for (const auto& item : plain_parameters) {
    CAPTURE(item.key());
    CHECK(same_values(first[item.key()].grad() + second[item.key()].grad(), item.value().grad(),
                      2e-4));
  }
}

TEST_CASE("synchronized BN needs a synchronizer of the stage's group size") {
  auto model = narrow_model();
  CHECK_THROWS_WITH_AS(model->set_batch_norm_mode({multigrid::batch_norm_type::synchronized, 1, 2}),
                       doctest::Contains("needs a batch_norm_synchronizer"), std::invalid_argument);
  auto group = std::make_shared<in_process_group>(4);
  CHECK_THROWS_WITH_AS(model->set_batch_norm_mode({multigrid::batch_norm_type::synchronized, 1, 2},
                                                  std::make_shared<thread_synchronizer>(group)),
                       doctest::Contains("group has 4 processes"), std::invalid_argument);
}
