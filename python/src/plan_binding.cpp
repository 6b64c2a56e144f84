// multigrid.Plan and multigrid.Schedule: the library's plan (any iteration's shape, LR and
// BatchNorm) and its epoch schedule, as small immutable Python objects.

#include <pybind11/operators.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <multigrid/plan.hpp>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "config_conversion.hpp"
#include "plan_objects.hpp"

namespace py = pybind11;

namespace multigrid::python {
namespace {

py::tuple pair(const std::array<int, 2>& values) {
  return py::make_tuple(values[0], values[1]);
}

std::string shape_text(const clip_shape& shape) {
  return std::to_string(shape.per_gpu_batch) + " clips x " + std::to_string(shape.num_frames) +
         " frames x " + std::to_string(shape.crop) + " px";
}

std::string batch_norm_text(const batch_norm_mode& mode) {
  const auto name = batch_norm_type_name(mode.type);
  std::string text(name);
  if (mode.type == batch_norm_type::sub_batch) text += " x" + std::to_string(mode.splits);
  if (mode.type == batch_norm_type::synchronized) text += " x" + std::to_string(mode.sync_devices);
  return text;
}

py::list cycle_of(const stage_settings& settings) {
  py::list cycle;
  for (int m = 0; m < settings.cycle_length; ++m) {
    cycle.append(settings.cycle[static_cast<std::size_t>(m)]);
  }
  return cycle;
}

}  // namespace

void bind_plan(py::module_& module) {
  py::class_<clip_shape>(module, "Shape", "The shape of one mini-batch.")
      .def_property_readonly(
          "batch_size", [](const clip_shape& s) { return s.per_gpu_batch; }, "clips per process")
      .def_property_readonly("global_batch_size",
                             [](const clip_shape& s) { return s.global_batch; })
      .def_property_readonly("num_frames", [](const clip_shape& s) { return s.num_frames; })
      .def_property_readonly("crop", [](const clip_shape& s) { return s.crop; })
      .def_property_readonly(
          "jitter", [](const clip_shape& s) { return pair(s.jitter); },
          "(min, max) short side before the crop, pixels")
      .def(py::self == py::self)
      .def(py::self != py::self)
      .def("__hash__",
           [](const clip_shape& s) {
             return py::hash(py::make_tuple(s.per_gpu_batch, s.global_batch, s.num_frames, s.crop,
                                            s.jitter[0], s.jitter[1]));
           })
      .def("__repr__", [](const clip_shape& s) { return "Shape(" + shape_text(s) + ")"; });

  py::class_<batch_norm_mode>(module, "BatchNorm", "The BatchNorm a stage trains with.")
      .def_property_readonly(
          "type",
          [](const batch_norm_mode& b) { return std::string(batch_norm_type_name(b.type)); },
          "'plain', 'sub' (sub-batch BN in `splits` splits) or 'sync' (over `sync_devices`)")
      .def_property_readonly("splits", [](const batch_norm_mode& b) { return b.splits; })
      .def_property_readonly("sync_devices",
                             [](const batch_norm_mode& b) { return b.sync_devices; })
      .def(py::self == py::self)
      .def(py::self != py::self)
      .def("__repr__",
           [](const batch_norm_mode& b) { return "BatchNorm(" + batch_norm_text(b) + ")"; });

  py::class_<stage_settings>(module, "StageSettings", "What one stage trains with.")
      .def_property_readonly(
          "base", [](const stage_settings& s) { return s.base; },
          "the stage's long-cycle shape (precise BN, validation)")
      .def_property_readonly(
          "sampling_rate", [](const stage_settings& s) { return pair(s.sampling_rate); },
          "(min, max) temporal stride, drawn per clip")
      .def_property_readonly("batch_norm", [](const stage_settings& s) { return s.batch_norm; })
      .def_property_readonly("cycle", &cycle_of,
                             "the shapes of the short cycle: batch n has cycle[n % len(cycle)]")
      .def_property_readonly("batch_sizes",
                             [](const stage_settings& s) {
                               py::list sizes;
                               for (int m = 0; m < s.cycle_length; ++m) {
                                 sizes.append(s.cycle[static_cast<std::size_t>(m)].per_gpu_batch);
                               }
                               return sizes;
                             })
      .def("__repr__", [](const stage_settings& s) {
        return "StageSettings(" + shape_text(s.base) + ", BN " + batch_norm_text(s.batch_norm) +
               ")";
      });

  py::class_<stage_view>(module, "Stage", "One stage of the schedule: one long-cycle shape.")
      .def_property_readonly("index", [](const stage_view& s) { return s.index; })
      .def_property_readonly("lr_stage", [](const stage_view& s) { return s.schedule.lr_stage; })
      .def_property_readonly("begin_epoch",
                             [](const stage_view& s) { return s.schedule.begin_epoch; })
      .def_property_readonly("end_epoch", [](const stage_view& s) { return s.schedule.end_epoch; })
      .def_property_readonly("epochs", [](const stage_view& s) { return s.schedule.epochs(); })
      .def_property_readonly("fine_tune", [](const stage_view& s) { return s.schedule.fine_tune; })
      .def_property_readonly("empty", [](const stage_view& s) { return s.schedule.empty(); })
      .def_property_readonly("batch_factor",
                             [](const stage_view& s) { return s.schedule.batch_factor; })
      .def_property_readonly("settings", [](const stage_view& s) { return s.settings; })
      .def_property_readonly(
          "iterations_per_epoch", [](const stage_view& s) { return s.iterations_per_epoch; },
          "per process; 0 in a Schedule, which has no dataset size")
      .def_property_readonly("first_iteration",
                             [](const stage_view& s) { return s.first_iteration; })
      .def_property_readonly(
          "iterations",
          [](const stage_view& s) { return s.iterations_per_epoch * s.schedule.epochs(); })
      .def("__repr__", [](const stage_view& s) {
        return "Stage(" + std::to_string(s.index) + ": epochs " +
               std::to_string(s.schedule.begin_epoch) + "-" + std::to_string(s.schedule.end_epoch) +
               ", " + shape_text(s.settings.base) + ", BN " +
               batch_norm_text(s.settings.batch_norm) + ")";
      });

  py::class_<step_view>(module, "Step", "Everything about one iteration (immutable).")
      .def_property_readonly("epoch", [](const step_view& s) { return s.step.epoch; })
      .def_property_readonly(
          "iteration", [](const step_view& s) { return s.step.iteration; }, "within the epoch")
      .def_property_readonly("global_iteration",
                             [](const step_view& s) { return s.step.global_iteration; })
      .def_property_readonly("iterations_in_epoch",
                             [](const step_view& s) { return s.step.iterations_in_epoch; })
      .def_property_readonly(
          "epoch_position", [](const step_view& s) { return s.step.epoch_position; },
          "epoch + iteration / iterations_in_epoch: where the LR is taken")
      .def_property_readonly("lr", [](const step_view& s) { return s.step.lr; })
      .def_property_readonly("stage", [](const step_view& s) { return s.step.stage; })
      .def_property_readonly(
          "stage_begins", [](const step_view& s) { return s.step.stage_begins; },
          "first iteration of a stage: apply its batch, BN and shape")
      .def_property_readonly("shape_index", [](const step_view& s) { return s.step.shape_index; })
      .def_property_readonly("shape", [](const step_view& s) { return s.step.shape; })
      .def_property_readonly("batch_size",
                             [](const step_view& s) { return s.step.shape.per_gpu_batch; })
      .def_property_readonly("num_frames",
                             [](const step_view& s) { return s.step.shape.num_frames; })
      .def_property_readonly("crop", [](const step_view& s) { return s.step.shape.crop; })
      .def_property_readonly("jitter", [](const step_view& s) { return pair(s.step.shape.jitter); })
      .def_property_readonly(
          "sampling_rate", [](const step_view& s) { return pair(s.step.settings->sampling_rate); })
      .def_property_readonly("batch_norm",
                             [](const step_view& s) { return s.step.settings->batch_norm; })
      .def_property_readonly("settings", [](const step_view& s) { return *s.step.settings; })
      .def("__repr__", [](const step_view& s) {
        return "Step(epoch " + std::to_string(s.step.epoch) + ", iteration " +
               std::to_string(s.step.iteration) + ", stage " + std::to_string(s.step.stage) + ", " +
               shape_text(s.step.shape) + ", lr " +
               py::str(py::float_(s.step.lr)).cast<std::string>() + ", BN " +
               batch_norm_text(s.step.settings->batch_norm) + ")";
      });

  py::class_<schedule_view, std::shared_ptr<schedule_view>>(
      module, "Schedule",
      "The epoch schedule of a configuration, without a dataset size: stages, STEPS, LRS, "
      "MAX_EPOCH as the run uses them.")
      .def(py::init([](py::handle cfg) {
             return std::make_shared<schedule_view>(config_from_object(cfg));
           }),
           py::arg("config"))
      .def(py::pickle([](const schedule_view& s) { return config_state(s.config); },
                      [](const py::tuple& state) {
                        return std::make_shared<schedule_view>(config_from_state(state));
                      }))
      .def_property_readonly("config", [](const schedule_view& s) { return s.config; })
      .def_property_readonly("steps", [](const schedule_view& s) { return s.schedule.steps; })
      .def_property_readonly("relative_lrs",
                             [](const schedule_view& s) { return s.schedule.relative_lrs; })
      .def_property_readonly("max_epoch",
                             [](const schedule_view& s) { return s.schedule.max_epoch; })
      .def_property_readonly("epochs", [](const schedule_view& s) { return s.schedule.max_epoch; })
      .def_property_readonly("stages", &schedule_view::stages)
      .def("stage_of_epoch", &schedule_view::stage_of_epoch, py::arg("epoch"))
      .def(
          "lr_at", [](const schedule_view& s, double epoch) { return s.learning_rate.at(epoch); },
          py::arg("epoch"));

  py::class_<plan_holder>(
      module, "Plan",
      "Plan(config, train_samples): every iteration's shape, LR and BatchNorm, for a training set "
      "of train_samples clips shared by the config's NUM_GPUS processes.")
      .def(py::init([](py::handle cfg, std::int64_t train_samples) {
             return plan_holder{
                 std::make_shared<const multigrid::plan>(config_from_object(cfg), train_samples)};
           }),
           py::arg("config"), py::arg("train_samples"))
      .def(py::pickle(
          [](const plan_holder& p) {
            return py::make_tuple(config_state(p.plan->configuration()), p.plan->train_samples());
          },
          [](const py::tuple& state) {
            return plan_holder{std::make_shared<const multigrid::plan>(
                config_from_state(state[0].cast<py::tuple>()), state[1].cast<std::int64_t>())};
          }))
      .def(
          "at",
          [](const plan_holder& p, std::int64_t global_iteration) {
            return step_view{p.plan->at(global_iteration), p.plan};
          },
          py::arg("global_iteration"), "The iteration at a global position.")
      .def(
          "at",
          [](const plan_holder& p, int epoch, std::int64_t iteration) {
            return step_view{p.plan->at(epoch, iteration), p.plan};
          },
          py::arg("epoch"), py::arg("iteration"), "Iteration `iteration` of `epoch`.")
      .def(
          "lr_at", [](const plan_holder& p, double epoch) { return p.plan->lr_at(epoch); },
          py::arg("epoch"), "The LR at a fractional epoch.")
      .def("__len__", [](const plan_holder& p) { return p.plan->total_iterations(); })
      .def_property_readonly("total_iterations",
                             [](const plan_holder& p) { return p.plan->total_iterations(); })
      .def_property_readonly("epochs", [](const plan_holder& p) { return p.plan->epochs(); })
      .def_property_readonly("train_samples",
                             [](const plan_holder& p) { return p.plan->train_samples(); })
      .def_property_readonly("config", [](const plan_holder& p) { return p.plan->configuration(); })
      .def_property_readonly("steps", [](const plan_holder& p) { return p.plan->schedule().steps; })
      .def_property_readonly("relative_lrs",
                             [](const plan_holder& p) { return p.plan->schedule().relative_lrs; })
      .def_property_readonly(
          "stages", [](const plan_holder& p) { return plan_stages(*p.plan); },
          "the stage table (empty stages included, as the reference lists them)")
      .def(
          "stage_of_epoch",
          [](const plan_holder& p, int epoch) { return p.plan->stage_of_epoch(epoch); },
          py::arg("epoch"))
      .def(
          "iterations_in_epoch",
          [](const plan_holder& p, int epoch) { return p.plan->iterations_in_epoch(epoch); },
          py::arg("epoch"))
      .def(
          "first_iteration_of_epoch",
          [](const plan_holder& p, int epoch) { return p.plan->first_iteration_of_epoch(epoch); },
          py::arg("epoch"))
      .def("__repr__", [](const plan_holder& p) {
        return "Plan(" + std::to_string(p.plan->stages().size()) + " stages, " +
               std::to_string(p.plan->epochs()) + " epochs, " +
               std::to_string(p.plan->total_iterations()) + " iterations of " +
               std::to_string(p.plan->train_samples()) + " samples)";
      });
}

}  // namespace multigrid::python
