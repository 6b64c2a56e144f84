// Sub-batch BN's CUDA kernels, compiled as they are for the CPU test that runs them
// (split_batch_norm_kernels_emulated_test.cpp): this file's include path puts the emulated CUDA
// runtime of cuda_emulation/ before any CUDA of the machine's.
#include "model/split_batch_norm_kernels.cu"
