// multigrid.ShortCycleBatchSampler: one process's batches of an epoch, for a DataLoader's
// batch_sampler. Every process orders the training set the same way (seed + epoch), takes its
// shard (copy_rank_shard: rank, rank + world, ...) and cuts it into the stage's short-cycle
// batches (short_cycle_batch_sampler), so its length is the plan's iterations of that epoch on
// every rank.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <iterator>
#include <memory>
#include <multigrid/plan.hpp>
#include <multigrid/short_cycle_sampler.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "epoch_order.hpp"
#include "plan_objects.hpp"

namespace py = pybind11;

namespace multigrid::python {
namespace {

using index_iterator = std::vector<std::int64_t>::const_iterator;
using batch_sampler = short_cycle_batch_sampler<index_iterator>;

struct sampler_state {
  std::shared_ptr<const multigrid::plan> plan;
  int rank = 0;
  int world = 1;
  bool shuffle = true;
  std::uint64_t seed = 0;
  int epoch = 0;
  std::int64_t first_batch = 0;
  bool with_shape_index = false;

  std::array<int, 3> sizes{};
  int cycle_length = 1;

  void set_epoch(int new_epoch, std::int64_t new_first_batch) {
    const auto& stage =
        plan->stages()[static_cast<std::size_t>(plan->stage_of_epoch(new_epoch))].settings;
    cycle_length = stage.cycle_length;
    for (int m = 0; m < cycle_length; ++m) {
      sizes[static_cast<std::size_t>(m)] = stage.cycle[static_cast<std::size_t>(m)].per_gpu_batch;
    }
    const auto batches = plan->iterations_in_epoch(new_epoch);
    if (new_first_batch < 0 || new_first_batch > batches) {
      throw std::out_of_range("ShortCycleBatchSampler: first batch " +
                              std::to_string(new_first_batch) + " is outside epoch " +
                              std::to_string(new_epoch) + "'s " + std::to_string(batches) +
                              " batches");
    }
    epoch = new_epoch;
    first_batch = new_first_batch;
  }

  std::int64_t batches() const { return plan->iterations_in_epoch(epoch) - first_batch; }
};

/// One pass over an epoch: owns the shard the batches point into.
class epoch_iterator {
 public:
  explicit epoch_iterator(const sampler_state& state)
      : with_shape_index_(state.with_shape_index),
        next_(static_cast<std::size_t>(state.first_batch)) {
    const auto order = epoch_order(state.plan->train_samples(), state.shuffle, state.seed,
                                   static_cast<std::uint64_t>(state.epoch));
    shard_.reserve(rank_shard_size(order.size(), state.world));
    copy_rank_shard(order.begin(), order.end(), state.rank, state.world,
                    std::back_inserter(shard_));
    sampler_.emplace(shard_.cbegin(), shard_.cend(), state.sizes.data(), state.cycle_length);
  }

  py::list next() {
    if (next_ >= sampler_->size()) throw py::stop_iteration();
    const auto batch = sampler_->at(next_++);
    py::list indices(batch.size());
    std::size_t i = 0;
    for (const auto index : batch) {
      if (with_shape_index_) {
        indices[i++] = py::make_tuple(index, batch.shape_index);
      } else {
        indices[i++] = py::int_(index);
      }
    }
    return indices;
  }

 private:
  std::vector<std::int64_t> shard_;
  std::optional<batch_sampler> sampler_;
  bool with_shape_index_ = false;
  std::size_t next_ = 0;
};

}  // namespace

void bind_sampler(py::module_& module) {
  py::class_<epoch_iterator>(module, "_EpochBatches")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &epoch_iterator::next);

  py::class_<sampler_state>(module, "ShortCycleBatchSampler", R"(Batches of indices for one process.

ShortCycleBatchSampler(plan, rank=0, world_size=None, shuffle=True, seed=0, with_shape_index=False)

A DataLoader takes it as its batch_sampler. Call set_epoch(epoch) before each epoch (as with
DistributedSampler): the epoch's stage decides the batch sizes (the short cycle's, in turn), and
len() is the plan's iterations of that epoch, the same on every rank. world_size is the plan's
NUM_GPUS (its default); with with_shape_index each index comes as (index, shape_index), the form
PySlowFast's datasets take.)")
      .def(py::init([](const plan_holder& plan, int rank, std::optional<int> world_size,
                       bool shuffle, std::uint64_t seed, bool with_shape_index) {
             const int devices = plan.plan->configuration().devices();
             const int world = world_size.value_or(devices);
             if (world != devices) {
               throw py::value_error("ShortCycleBatchSampler: world_size " + std::to_string(world) +
                                     " is not the plan's NUM_GPUS " + std::to_string(devices) +
                                     ": the per-process batch sizes are the plan's");
             }
             if (rank < 0 || rank >= world) {
               throw py::value_error("ShortCycleBatchSampler: rank " + std::to_string(rank) +
                                     " is outside [0, " + std::to_string(world) + ")");
             }
             sampler_state state{plan.plan, rank, world, shuffle, seed};
             state.with_shape_index = with_shape_index;
             state.set_epoch(0, 0);
             return state;
           }),
           py::arg("plan"), py::arg("rank") = 0, py::arg("world_size") = py::none(),
           py::arg("shuffle") = true, py::arg("seed") = 0, py::arg("with_shape_index") = false)
      .def("set_epoch", &sampler_state::set_epoch, py::arg("epoch"), py::arg("first_batch") = 0,
           "The epoch the next pass yields; first_batch resumes inside it without replaying.")
      .def_property_readonly("epoch", [](const sampler_state& s) { return s.epoch; })
      .def_property_readonly("rank", [](const sampler_state& s) { return s.rank; })
      .def_property_readonly("world_size", [](const sampler_state& s) { return s.world; })
      .def_property_readonly("batch_sizes",
                             [](const sampler_state& s) {
                               py::list sizes;
                               for (int m = 0; m < s.cycle_length; ++m) {
                                 sizes.append(s.sizes[static_cast<std::size_t>(m)]);
                               }
                               return sizes;
                             })
      .def("__len__", &sampler_state::batches)
      .def("__iter__", [](const sampler_state& s) { return epoch_iterator(s); });

  module.def(
      "batches_in_epoch",
      [](std::size_t samples, const std::vector<int>& sizes) {
        if (sizes.empty() || sizes.size() > 3) {
          throw py::value_error("batches_in_epoch: the cycle has 1 to 3 batch sizes");
        }
        return batches_in_epoch(samples, sizes.data(), static_cast<int>(sizes.size()));
      },
      py::arg("samples"), py::arg("batch_sizes"),
      "Full batches that `samples` indices make when batch n has size sizes[n % len(sizes)].");
}

}  // namespace multigrid::python
