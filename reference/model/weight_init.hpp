#pragma once
// ResNet-style initialisation as PySlowFast's init_weights does it: He (fan-out, ReLU) normal
// for convolutions, BN scale 1 and shift 0, N(0, fc_init_std) for the classifier with zero bias,
// and, when asked, scale 0 for each bottleneck's last BN so each block starts as the identity.

#include <torch/torch.h>

namespace multigrid::reference {

void initialize_weights(torch::nn::Module& model, double fc_init_std, bool zero_init_final_bn);

}  // namespace multigrid::reference
