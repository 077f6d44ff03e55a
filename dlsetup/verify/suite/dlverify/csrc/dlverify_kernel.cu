// dlsetup verify: the CUDA half of the test extension. No torch headers here: nvcc parses only the CUDA
// runtime header, which keeps the cold build short; the launcher is bound from dlverify_ext.cpp.
#include <cstdint>
#include <cuda_runtime.h>

__global__ void dlverify_axpy_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                     float* __restrict__ out, int64_t n, float a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    out[i] = x[i] * a + y[i];
  }
}

const char* dlverify_launch_axpy(const float* x, const float* y, float* out, int64_t n, float a, void* stream) {
  if (n == 0) {
    return nullptr;
  }
  const int threads = 256;
  const int64_t blocks = (n + threads - 1) / threads;
  dlverify_axpy_kernel<<<static_cast<unsigned int>(blocks), threads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, y, out, n, a);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}
