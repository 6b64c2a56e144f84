#pragma once
// CUDA's bf16 type and its conversions for the CPU test that runs CUDA kernels (cuda_runtime.h
// here): c10's BFloat16, which rounds to nearest even as __float2bfloat16_rn does.

#include <c10/util/BFloat16.h>

#include "cuda_runtime.h"

using __nv_bfloat16 = c10::BFloat16;

inline float __bfloat162float(__nv_bfloat16 value) {
  return static_cast<float>(value);
}
inline __nv_bfloat16 __float2bfloat16_rn(float value) {
  return __nv_bfloat16(value);
}
