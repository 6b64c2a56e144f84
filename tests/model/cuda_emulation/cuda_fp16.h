#pragma once
// CUDA's half type and its conversions for the CPU test that runs CUDA kernels (cuda_runtime.h
// here): c10's Half, which rounds to nearest even as __float2half_rn does.

#include <c10/util/Half.h>

#include "cuda_runtime.h"

using __half = c10::Half;

inline float __half2float(__half value) {
  return static_cast<float>(value);
}
inline __half __float2half_rn(float value) {
  return __half(value);
}
