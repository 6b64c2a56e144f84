#include "train/gradient_all_reducer.hpp"

#include <map>
#include <stdexcept>
#include <tuple>

namespace multigrid::reference {

gradient_all_reducer::gradient_all_reducer(std::shared_ptr<process_group> group,
                                           std::vector<torch::Tensor> parameters,
                                           std::size_t bucket_bytes)
    : group_(std::move(group)) {
  if (!group_ || group_->size() == 1) return;
  // Reverse registration order approximates the order backward produces gradients in. Each
  // dtype and device fills buckets of its own.
  using tensor_kind = std::tuple<int, int, int>;
  std::map<tensor_kind, std::size_t> open_bucket;
  std::map<std::size_t, std::size_t> bucket_bytes_used;
  std::map<std::size_t, std::int64_t> bucket_elements;
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const auto& parameter = *it;
    if (!parameter.requires_grad()) continue;
    const tensor_kind kind{static_cast<int>(parameter.scalar_type()),
                           static_cast<int>(parameter.device().type()), parameter.device().index()};
    const auto bytes = static_cast<std::size_t>(parameter.numel()) * parameter.element_size();
    auto open = open_bucket.find(kind);
    if (open == open_bucket.end() || bucket_bytes_used[open->second] + bytes > bucket_bytes) {
      buckets_.emplace_back();
      open = open_bucket.insert_or_assign(kind, buckets_.size() - 1).first;
    }
    const std::size_t bucket_index = open->second;
    slot entry;
    entry.parameter = parameter;
    entry.bucket = bucket_index;
    entry.offset = bucket_elements[bucket_index];
    entry.position = static_cast<std::int64_t>(buckets_[bucket_index].slots.size());
    buckets_[bucket_index].slots.push_back(slots_.size());
    bucket_bytes_used[bucket_index] += bytes;
    bucket_elements[bucket_index] += parameter.numel();
    slots_.push_back(entry);
  }
  for (auto& owner : buckets_) {
    std::int64_t elements = 0;
    for (auto i : owner.slots) elements += slots_[i].parameter.numel();
    owner.gradient_elements = elements;
    const auto& first = slots_[owner.slots.front()].parameter;
    owner.flat = torch::zeros({elements + static_cast<std::int64_t>(owner.slots.size())},
                              first.options().requires_grad(false));
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].hook = slots_[i].parameter.register_hook(
        [this, i](const torch::Tensor& gradient) { on_gradient(i, gradient); });
  }
}

gradient_all_reducer::~gradient_all_reducer() {
  for (auto& entry : slots_) entry.parameter.remove_hook(static_cast<unsigned>(entry.hook));
}

std::size_t gradient_all_reducer::buckets_started() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_bucket_;
}

void gradient_all_reducer::on_gradient(std::size_t index, const torch::Tensor& gradient) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& entry = slots_[index];
  if (entry.arrived) {
    throw std::logic_error(
        "gradient_all_reducer: a parameter's gradient arrived twice before finish(); run one "
        "backward per optimizer step");
  }
  auto& owner = buckets_[entry.bucket];
  torch::NoGradGuard no_grad;
  owner.flat.narrow(0, entry.offset, entry.parameter.numel())
      .view(gradient.sizes())
      .copy_(gradient);
  owner.flat[owner.gradient_elements + entry.position].fill_(1);
  entry.arrived = true;
  ++owner.arrived;
  start_ready_buckets();
}

void gradient_all_reducer::start(bucket& ready, std::size_t index) {
  ready.started = true;
  ready.reduction = group_->all_reduce_sum_async(
      ready.flat, "all-reduce of gradient bucket " + std::to_string(index + 1) + " of " +
                      std::to_string(buckets_.size()) + " (" +
                      std::to_string(ready.flat.numel() * ready.flat.element_size() >> 10) +
                      " KiB)");
}

void gradient_all_reducer::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() &&
         buckets_[next_bucket_].arrived == buckets_[next_bucket_].slots.size()) {
    start(buckets_[next_bucket_], next_bucket_);
    ++next_bucket_;
  }
}

void gradient_all_reducer::finish() {
  if (buckets_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    torch::NoGradGuard no_grad;
    for (; next_bucket_ < buckets_.size(); ++next_bucket_) {
      auto& waiting = buckets_[next_bucket_];
      for (auto i : waiting.slots) {
        if (!slots_[i].arrived) {
          waiting.flat.narrow(0, slots_[i].offset, slots_[i].parameter.numel()).zero_();
          waiting.flat[waiting.gradient_elements + slots_[i].position].fill_(0);
        }
      }
      start(waiting, next_bucket_);
    }
  }
  const double processes = group_->size();
  torch::NoGradGuard no_grad;
  for (auto& done : buckets_) {
    done.reduction.wait();
    done.flat.div_(processes);
    const auto arrivals =
        done.flat.narrow(0, done.gradient_elements, static_cast<std::int64_t>(done.slots.size()))
            .to(torch::kCPU, torch::kDouble);
    const auto arrived_on = arrivals.accessor<double, 1>();
    for (auto i : done.slots) {
      auto& entry = slots_[i];
      auto& gradient = entry.parameter.mutable_grad();
      entry.arrived = false;
      if (arrived_on[entry.position] == 0) {
        gradient = torch::Tensor();  // no process computed one
        continue;
      }
      const auto average =
          done.flat.narrow(0, entry.offset, entry.parameter.numel()).view(entry.parameter.sizes());
      if (gradient.defined() && gradient.sizes() == entry.parameter.sizes()) {
        gradient.copy_(average);
      } else {
        gradient = average.clone();
      }
    }
    done.arrived = 0;
    done.started = false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  next_bucket_ = 0;
}

}  // namespace multigrid::reference
