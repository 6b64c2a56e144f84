#pragma once
// SlowFast (Feichtenhofer et al., ICCV 2019) as PySlowFast builds it, in LibTorch: a slow pathway
// at T / alpha frames and full width, a fast pathway at T frames and 1 / beta_inv of the width,
// lateral fast-to-slow fusions after the stem, res2, res3 and res4, and a globally pooled head.
// Module and parameter names follow PySlowFast's (s1.pathway0_stem.conv.weight, ...), so a
// reader or a converted checkpoint finds each tensor where PySlowFast keeps it.
//
// Defaults build SlowFast-R50 8x8: 34,566,488 parameters at 400 classes. Every norm layer is a
// SubBatchNorm3d whose mode (plain, k splits, synchronized) a multigrid stage sets in place.

#include <torch/torch.h>

#include <memory>
#include <multigrid/batch_norm_mode.hpp>
#include <vector>

#include "model/batch_norm_synchronizer.hpp"
#include "model/fusion.hpp"
#include "model/head.hpp"
#include "model/residual_stage.hpp"
#include "model/slowfast_options.hpp"
#include "model/stem.hpp"
#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

class SlowFastImpl : public torch::nn::Module {
 public:
  explicit SlowFastImpl(const slowfast_options& options = {});

  /// `fast_clip`: the normalised fast-pathway clip (N, C, T, H, W), any T that is a multiple of
  /// alpha and any H, W the strides allow; the slow frames are chosen inside. Returns logits
  /// (N, num_classes). Shape checks only: nothing reads device memory, so a step at a fixed shape
  /// can be captured in a CUDA graph once each frame count has run once.
  torch::Tensor forward(const torch::Tensor& fast_clip);

  /// Applies a stage's BN mode to every norm layer in place: sub-batch BN with mode.splits
  /// splits, plain BN, or synchronized BN over `synchronizer`'s group, whose size must be
  /// mode.sync_devices. Parameters stay the same tensors.
  void set_batch_norm_mode(const multigrid::batch_norm_mode& mode,
                           std::shared_ptr<batch_norm_synchronizer> synchronizer = nullptr);
  const multigrid::batch_norm_mode& current_batch_norm_mode() const noexcept { return mode_; }

  /// Every norm layer, in module order (handles to the model's own layers).
  std::vector<SubBatchNorm3d> batch_norm_layers() const { return norm_layers_; }
  /// Pools every layer's split statistics into its plain running statistics (PySlowFast's
  /// aggregate_sub_bn_stats); run after each training epoch, after precise BN.
  void pool_batch_norm_statistics();

  const slowfast_options& options() const noexcept { return options_; }

  VideoModelStem s1{nullptr};
  FuseFastToSlow s1_fuse{nullptr};
  ResStage s2{nullptr};
  FuseFastToSlow s2_fuse{nullptr};
  ResStage s3{nullptr};
  FuseFastToSlow s3_fuse{nullptr};
  ResStage s4{nullptr};
  FuseFastToSlow s4_fuse{nullptr};
  ResStage s5{nullptr};
  ResNetBasicHead head{nullptr};

 private:
  const torch::Tensor& slow_frame_indices(std::int64_t fast_frames, const torch::Device& device);
  void check_input(const torch::Tensor& fast_clip) const;

  slowfast_options options_;
  std::vector<SubBatchNorm3d> norm_layers_;
  multigrid::batch_norm_mode mode_;
  struct cached_indices {
    std::int64_t fast_frames;
    torch::Device device;
    torch::Tensor indices;
  };
  std::vector<cached_indices> index_cache_;
};
TORCH_MODULE(SlowFast);

}  // namespace multigrid::reference
