#include "model/split_batch_norm_cuda.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace multigrid::reference {
namespace {

void check_cuda(const torch::Tensor& x) {
  TORCH_CHECK(x.is_cuda(), "sub-batch BN's CUDA kernels: activations on ", x.device());
}

void* current_stream(const torch::Tensor& x) {
  return c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
}

}  // namespace

bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format,
                        const torch::Tensor& weight, const torch::Tensor& bias,
                        const torch::Tensor& running_mean, const torch::Tensor& running_var) {
  return x.is_cuda() && kernels_apply(x, format, weight, bias, running_mean, running_var);
}

batched_forward_result cuda_batched_forward(const torch::Tensor& x, const torch::Tensor& weight,
                                            const torch::Tensor& bias,
                                            const torch::Tensor& running_mean,
                                            const torch::Tensor& running_var, std::int64_t splits,
                                            double momentum, double epsilon) {
  check_cuda(x);
  const c10::cuda::CUDAGuard guard(x.device());
  return kernels_batched_forward(x, weight, bias, running_mean, running_var, splits, momentum,
                                 epsilon, current_stream(x));
}

batched_backward_result cuda_batched_backward(const torch::Tensor& x, const torch::Tensor& dy,
                                              const torch::Tensor& weight,
                                              const torch::Tensor& mean,
                                              const torch::Tensor& inverse_std) {
  check_cuda(x);
  const c10::cuda::CUDAGuard guard(x.device());
  return kernels_batched_backward(x, dy, weight, mean, inverse_std, current_stream(x));
}

}  // namespace multigrid::reference
