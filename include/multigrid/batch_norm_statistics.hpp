#pragma once
// BatchNorm statistics for sub-batch BN and precise BN, over plain contiguous arrays so that any
// framework can call them on its own buffers.
//
// Layout: a sub-batch BN with k splits and C channels keeps its running statistics split-major,
// statistic[j * C + c] for split j and channel c (the channel order of viewing (N, C, ...) as
// (N / k, k * C, ...)). Which samples form split j is the framework's choice: PySlowFast's view
// gives the samples i with i % k == j, the reference trainer blocks of consecutive samples.

#include <cstddef>
#include <iterator>
#include <type_traits>
#include <vector>

namespace multigrid {

/// Pools k splits' running (mean, unbiased variance) into one channel-wise (mean, variance): the
/// mean of the means, and the mean of the variances plus the variance of the means. With equal
/// split sizes and biased (population) variances this is exactly the statistic of the concatenated
/// batch. `split_means` and `split_variances` hold splits * channels values; the outputs hold
/// channels.
template <class In, class Out>
void pool_split_statistics(const In* split_means, const In* split_variances, std::size_t splits,
                           std::size_t channels, Out* mean, Out* variance) {
  static_assert(std::is_convertible_v<In, double> && std::is_convertible_v<double, Out>,
                "statistics must convert to and from double");
  if (splits == 0) return;
  const double inverse = 1.0 / static_cast<double>(splits);
  // Channels in blocks so that every pass reads each split's statistics contiguously; the sums run
  // over the splits in order, as the formula reads.
  constexpr std::size_t block = 256;
  double mean_sum[block];
  double variance_sum[block];
  double spread[block];
  for (std::size_t first = 0; first < channels; first += block) {
    const std::size_t count = channels - first < block ? channels - first : block;
    for (std::size_t c = 0; c < count; ++c) mean_sum[c] = variance_sum[c] = spread[c] = 0;
    for (std::size_t j = 0; j < splits; ++j) {
      const In* means = split_means + j * channels + first;
      const In* variances = split_variances + j * channels + first;
      for (std::size_t c = 0; c < count; ++c) {
        mean_sum[c] += static_cast<double>(means[c]);
        variance_sum[c] += static_cast<double>(variances[c]);
      }
    }
    for (std::size_t c = 0; c < count; ++c) mean_sum[c] *= inverse;  // now the pooled mean
    for (std::size_t j = 0; j < splits; ++j) {
      const In* means = split_means + j * channels + first;
      for (std::size_t c = 0; c < count; ++c) {
        const double deviation = static_cast<double>(means[c]) - mean_sum[c];
        spread[c] += deviation * deviation;
      }
    }
    for (std::size_t c = 0; c < count; ++c) {
      mean[first + c] = static_cast<Out>(mean_sum[c]);
      variance[first + c] = static_cast<Out>(variance_sum[c] * inverse + spread[c] * inverse);
    }
  }
}

/// The same over containers with contiguous storage (std::vector, std::array, spans).
template <class InRange, class OutRange>
void pool_split_statistics(const InRange& split_means, const InRange& split_variances,
                           std::size_t splits, OutRange& mean, OutRange& variance) {
  const std::size_t channels = std::size(mean);
  pool_split_statistics(std::data(split_means), std::data(split_variances), splits, channels,
                        std::data(mean), std::data(variance));
}

/// Copies one channel-wise statistic into every split: what loading a plain BN into a k-split
/// sub-batch BN does. `split_statistic` holds splits * channels values.
template <class In, class Out>
void tile_statistics(const In* statistic, std::size_t channels, std::size_t splits,
                     Out* split_statistic) {
  for (std::size_t j = 0; j < splits; ++j) {
    for (std::size_t c = 0; c < channels; ++c) {
      split_statistic[j * channels + c] = static_cast<Out>(statistic[c]);
    }
  }
}

/// Folds one more batch's statistic into an equal-weight running average over `batches_so_far`
/// earlier batches: average += (value - average) / (batches_so_far + 1). This is what precise BN
/// computed in 2020 (its momentum 1 / (n + 1) at batch n), without keeping the batches; PySlowFast
/// now uses population_statistics.
template <class In, class Out>
void accumulate_equal_weight(const In* value, std::size_t size, std::size_t batches_so_far,
                             Out* average) {
  const double weight = 1.0 / static_cast<double>(batches_so_far + 1);
  for (std::size_t i = 0; i < size; ++i) {
    const double current = static_cast<double>(average[i]);
    average[i] = static_cast<Out>(current + (static_cast<double>(value[i]) - current) * weight);
  }
}

/// Precise BN's estimate of the population statistics from per-batch ones, as PySlowFast computes
/// them (fvcore's update_bn_stats, whose estimator this is since May 2021): each batch b brings
/// n_b values per channel with mean m_b and unbiased variance v_b; the result is the mean and the
/// biased variance of all batches' values together, E[x^2] - E[x]^2 with E[x^2] of batch b equal
/// to m_b^2 + v_b (n_b - 1) / n_b. Unlike the equal-weight average of the batch variances (the
/// estimator of 2020, accumulate_equal_weight), it counts the spread between the batch means, which
/// the model sees in evaluation: with batches of a few clips that spread is a large part of it.
class population_statistics {
 public:
  explicit population_statistics(std::size_t channels)
      : mean_(channels, 0.0), square_mean_(channels, 0.0) {}

  /// Adds one batch: `count` values per channel (its elements divided by the channels).
  template <class In>
  void add(const In* batch_mean, const In* batch_unbiased_variance, double count) {
    if (!(count > 0)) return;
    total_ += count;
    ++batches_;
    const double weight = count / total_;
    const double bias = (count - 1) / count;
    for (std::size_t c = 0; c < mean_.size(); ++c) {
      const double m = static_cast<double>(batch_mean[c]);
      const double square = m * m + static_cast<double>(batch_unbiased_variance[c]) * bias;
      mean_[c] += (m - mean_[c]) * weight;
      square_mean_[c] += (square - square_mean_[c]) * weight;
    }
  }

  /// The population mean and variance over the batches added so far.
  template <class Out>
  void result(Out* mean, Out* variance) const {
    for (std::size_t c = 0; c < mean_.size(); ++c) {
      mean[c] = static_cast<Out>(mean_[c]);
      variance[c] = static_cast<Out>(square_mean_[c] - mean_[c] * mean_[c]);
    }
  }

  std::size_t channels() const noexcept { return mean_.size(); }
  std::size_t batches() const noexcept { return batches_; }

 private:
  std::vector<double> mean_;
  std::vector<double> square_mean_;
  double total_ = 0;
  std::size_t batches_ = 0;
};

/// The momentum a framework's BN update `running = (1 - m) * running + m * batch` needs at batch
/// `batches_so_far` for the running statistic to become the equal-weight average.
constexpr double equal_weight_momentum(std::size_t batches_so_far) noexcept {
  return 1.0 / static_cast<double>(batches_so_far + 1);
}

}  // namespace multigrid
