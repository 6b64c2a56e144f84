#include "model/weight_init.hpp"

#include "model/residual_block.hpp"
#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

void initialize_weights(torch::nn::Module& model, double fc_init_std, bool zero_init_final_bn) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* conv = dynamic_cast<torch::nn::Conv3dImpl*>(module.get())) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* norm = dynamic_cast<SubBatchNorm3dImpl*>(module.get())) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    } else if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(module.get())) {
      linear->weight.normal_(0.0, fc_init_std);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
  if (!zero_init_final_bn) return;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* transform = dynamic_cast<BottleneckTransformImpl*>(module.get())) {
      transform->c_bn->weight.zero_();
    }
  }
}

}  // namespace multigrid::reference
