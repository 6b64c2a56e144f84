// BatchNorm statistics on anything with the buffer protocol (NumPy arrays, bytearrays) or an
// __array__ view (CPU torch tensors), float32 or float64. Contiguous inputs are read in place and
// outputs are written in place; a strided input is copied once. Nothing imports torch.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <multigrid/batch_norm_statistics.hpp>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace py = pybind11;

namespace multigrid::python {
namespace {

enum class element { f32, f64 };

/// A flat view of a buffer's elements, in C order.
class flat_buffer {
 public:
  flat_buffer(py::handle object, const char* name, bool writable) : name_(name) {
    py::object source = py::reinterpret_borrow<py::object>(object);
    if (!PyObject_CheckBuffer(source.ptr())) {
      // A CPU torch tensor shares its memory through __array__ (no copy, and no torch import
      // here); a tensor on a GPU or one that requires grad refuses with its own message.
      if (!py::hasattr(source, "__array__")) {
        throw py::type_error(std::string(name) + ": expected an array or a CPU tensor, got " +
                             py::str(py::type::of(source)).cast<std::string>());
      }
      source = source.attr("__array__")();
    }
    owner_ = source;
    try {
      info_ = py::buffer(source).request(writable);
    } catch (py::error_already_set& error) {
      // NumPy's "buffer source array is read-only" and the like, with the argument's name.
      throw py::value_error(std::string(name) + ": " + error.what());
    }
    if (info_.format == py::format_descriptor<float>::format()) {
      type_ = element::f32;
    } else if (info_.format == py::format_descriptor<double>::format()) {
      type_ = element::f64;
    } else {
      throw py::type_error(std::string(name) + ": float32 or float64 values, not format '" +
                           info_.format + "'");
    }
    size_ = 1;
    for (const auto extent : info_.shape) size_ *= static_cast<std::size_t>(extent);
    if (!contiguous()) {
      if (writable) {
        throw py::value_error(std::string(name) +
                              ": must be contiguous, as it is written in place");
      }
      copy_contiguous();
    }
  }

  element type() const noexcept { return type_; }
  std::size_t size() const noexcept { return size_; }
  const char* name() const noexcept { return name_; }
  template <class T>
  T* data() const {
    return static_cast<T*>(copy_.empty() ? info_.ptr : const_cast<unsigned char*>(copy_.data()));
  }

 private:
  bool contiguous() const {
    py::ssize_t expected = info_.itemsize;
    for (auto d = info_.ndim; d-- > 0;) {
      if (info_.shape[static_cast<std::size_t>(d)] != 1 &&
          info_.strides[static_cast<std::size_t>(d)] != expected) {
        return false;
      }
      expected *= info_.shape[static_cast<std::size_t>(d)];
    }
    return true;
  }

  void copy_contiguous() {
    const auto item = static_cast<std::size_t>(info_.itemsize);
    copy_.resize(size_ * item);
    std::vector<py::ssize_t> index(static_cast<std::size_t>(info_.ndim), 0);
    for (std::size_t n = 0; n < size_; ++n) {
      const auto* from = static_cast<const unsigned char*>(info_.ptr);
      for (std::size_t d = 0; d < index.size(); ++d) from += index[d] * info_.strides[d];
      std::memcpy(copy_.data() + n * item, from, item);
      for (auto d = index.size(); d-- > 0;) {
        if (++index[d] < info_.shape[d]) break;
        index[d] = 0;
      }
    }
  }

  const char* name_;
  py::object owner_;
  py::buffer_info info_;
  element type_ = element::f32;
  std::size_t size_ = 0;
  std::vector<unsigned char> copy_;
};

/// Calls body.template operator()<In, Out>() for the element types of `in` and `out`.
template <class Body>
void dispatch(const flat_buffer& in, const flat_buffer& out, Body&& body) {
  if (in.type() == element::f32) {
    if (out.type() == element::f32) return body(in.data<float>(), out.data<float>());
    return body(in.data<float>(), out.data<double>());
  }
  if (out.type() == element::f32) return body(in.data<double>(), out.data<float>());
  return body(in.data<double>(), out.data<double>());
}

void require_size(const flat_buffer& buffer, std::size_t size) {
  if (buffer.size() != size) {
    throw py::value_error(std::string(buffer.name()) + ": has " + std::to_string(buffer.size()) +
                          " values, expected " + std::to_string(size));
  }
}

py::object new_like(const flat_buffer& like, std::size_t size) {
  if (like.type() == element::f32) return py::array_t<float>(static_cast<py::ssize_t>(size));
  return py::array_t<double>(static_cast<py::ssize_t>(size));
}

py::tuple pool(py::handle split_means, py::handle split_variances, std::size_t splits,
               py::object mean, py::object variance) {
  if (splits == 0) throw py::value_error("pool_split_statistics: splits must be at least 1");
  const flat_buffer means(split_means, "split_means", false);
  const flat_buffer variances(split_variances, "split_variances", false);
  if (means.size() % splits != 0) {
    throw py::value_error("split_means: " + std::to_string(means.size()) + " values do not make " +
                          std::to_string(splits) + " equal splits");
  }
  const std::size_t channels = means.size() / splits;
  require_size(variances, means.size());
  if (variances.type() != means.type()) {
    throw py::type_error("split_variances: must have split_means' element type");
  }
  if (mean.is_none()) mean = new_like(means, channels);
  if (variance.is_none()) variance = new_like(means, channels);
  const flat_buffer mean_out(mean, "mean", true);
  const flat_buffer variance_out(variance, "variance", true);
  require_size(mean_out, channels);
  require_size(variance_out, channels);
  if (variance_out.type() != mean_out.type()) {
    throw py::type_error("variance: must have mean's element type");
  }
  {
    py::gil_scoped_release unlocked;
    dispatch(means, mean_out, [&](const auto* in, auto* out) {
      using In = std::remove_cv_t<std::remove_pointer_t<decltype(in)>>;
      using Out = std::remove_pointer_t<decltype(out)>;
      pool_split_statistics(in, variances.data<In>(), splits, channels, out,
                            variance_out.data<Out>());
    });
  }
  return py::make_tuple(mean, variance);
}

py::object tile(py::handle statistic, std::size_t splits, py::object out) {
  const flat_buffer in(statistic, "statistic", false);
  if (out.is_none()) out = new_like(in, in.size() * splits);
  const flat_buffer target(out, "out", true);
  require_size(target, in.size() * splits);
  py::gil_scoped_release unlocked;
  dispatch(in, target,
           [&](const auto* from, auto* to) { tile_statistics(from, in.size(), splits, to); });
  return out;
}

py::object accumulate(py::handle value, std::size_t batches_so_far, py::object average) {
  const flat_buffer in(value, "value", false);
  const flat_buffer target(average, "average", true);
  require_size(target, in.size());
  py::gil_scoped_release unlocked;
  dispatch(in, target, [&](const auto* from, auto* to) {
    accumulate_equal_weight(from, in.size(), batches_so_far, to);
  });
  return average;
}

}  // namespace

void bind_statistics(py::module_& module) {
  module.def("pool_split_statistics", &pool, py::arg("split_means"), py::arg("split_variances"),
             py::arg("splits"), py::arg("mean") = py::none(), py::arg("variance") = py::none(),
             R"(Pools k splits' running (mean, unbiased variance) into one channel-wise pair.

split_means and split_variances hold splits * channels values, split-major (any shape, C order).
mean and variance receive the channels' values in place; left out, new NumPy arrays of the
inputs' type are made. Returns (mean, variance).)");
  module.def("tile_statistics", &tile, py::arg("statistic"), py::arg("splits"),
             py::arg("out") = py::none(),
             "Copies one channel-wise statistic into every split (a plain BN loaded into a "
             "k-split sub-BN); out holds splits * channels values. Returns out.");
  module.def("accumulate_equal_weight", &accumulate, py::arg("value"), py::arg("batches_so_far"),
             py::arg("average"),
             "average += (value - average) / (batches_so_far + 1), in place. Returns average.");
  module.def(
      "equal_weight_momentum", &equal_weight_momentum, py::arg("batches_so_far"),
      "The momentum a BN update needs at batch n for the equal-weight average: 1 / (n + 1).");

  py::class_<population_statistics>(module, "PopulationStatistics",
                                    "Precise BN's population mean and variance from per-batch "
                                    "means, unbiased variances and counts (as fvcore computes it).")
      .def(py::init<std::size_t>(), py::arg("channels"))
      .def(
          "add",
          [](population_statistics& self, py::handle mean, py::handle variance, double count) {
            const flat_buffer m(mean, "batch_mean", false);
            const flat_buffer v(variance, "batch_unbiased_variance", false);
            require_size(m, self.channels());
            require_size(v, self.channels());
            if (m.type() != v.type()) {
              throw py::type_error("batch_unbiased_variance: must have batch_mean's element type");
            }
            if (m.type() == element::f32) {
              self.add(m.data<float>(), v.data<float>(), count);
            } else {
              self.add(m.data<double>(), v.data<double>(), count);
            }
          },
          py::arg("batch_mean"), py::arg("batch_unbiased_variance"), py::arg("count"))
      .def(
          "result",
          [](const population_statistics& self, py::object mean, py::object variance) {
            if (mean.is_none())
              mean = py::array_t<double>(static_cast<py::ssize_t>(self.channels()));
            if (variance.is_none()) {
              variance = py::array_t<double>(static_cast<py::ssize_t>(self.channels()));
            }
            const flat_buffer m(mean, "mean", true);
            const flat_buffer v(variance, "variance", true);
            require_size(m, self.channels());
            require_size(v, self.channels());
            if (m.type() != v.type()) throw py::type_error("variance: must have mean's type");
            if (m.type() == element::f32) {
              self.result(m.data<float>(), v.data<float>());
            } else {
              self.result(m.data<double>(), v.data<double>());
            }
            return py::make_tuple(mean, variance);
          },
          py::arg("mean") = py::none(), py::arg("variance") = py::none())
      .def_property_readonly("channels", &population_statistics::channels)
      .def_property_readonly("batches", &population_statistics::batches);
}

}  // namespace multigrid::python
