// dlsetup verify: a tiny C++ (and, on a GPU, CUDA) extension built with torch.utils.cpp_extension.
// out = x * a + y on float32 tensors; with integer-valued inputs the result is exact, so the suite
// compares it with torch's own result bit for bit.
#include <torch/extension.h>

#ifdef DLVERIFY_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
// Defined in dlverify_kernel.cu, which includes no torch headers (so nvcc compiles it quickly).
const char* dlverify_launch_axpy(const float* x, const float* y, float* out, int64_t n, float a, void* stream);
#endif

static void check_args(const torch::Tensor& x, const torch::Tensor& y) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat32 && y.scalar_type() == torch::kFloat32, "float32 tensors expected");
  TORCH_CHECK(x.sizes() == y.sizes(), "x and y must have the same shape");
  TORCH_CHECK(x.device() == y.device(), "x and y must be on the same device");
}

torch::Tensor axpy_cpu(torch::Tensor x, torch::Tensor y, double a) {
  check_args(x, y);
  TORCH_CHECK(x.device().is_cpu(), "axpy_cpu needs CPU tensors");
  auto xc = x.contiguous();
  auto yc = y.contiguous();
  auto out = torch::empty_like(xc);
  const float* px = xc.data_ptr<float>();
  const float* py = yc.data_ptr<float>();
  float* po = out.data_ptr<float>();
  const float fa = static_cast<float>(a);
  const int64_t n = xc.numel();
  for (int64_t i = 0; i < n; ++i) {
    po[i] = px[i] * fa + py[i];
  }
  return out;
}

#ifdef DLVERIFY_WITH_CUDA
torch::Tensor axpy_cuda(torch::Tensor x, torch::Tensor y, double a) {
  check_args(x, y);
  TORCH_CHECK(x.device().is_cuda(), "axpy_cuda needs CUDA tensors");
  const c10::cuda::CUDAGuard guard(x.device());
  auto xc = x.contiguous();
  auto yc = y.contiguous();
  auto out = torch::empty_like(xc);
  void* stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
  const char* err = dlverify_launch_axpy(xc.data_ptr<float>(), yc.data_ptr<float>(), out.data_ptr<float>(),
                                         xc.numel(), static_cast<float>(a), stream);
  TORCH_CHECK(err == nullptr, "CUDA kernel launch failed: ", err ? err : "");
  return out;
}
#endif

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("axpy_cpu", &axpy_cpu, "out = x * a + y (CPU)");
#ifdef DLVERIFY_WITH_CUDA
  m.def("axpy_cuda", &axpy_cuda, "out = x * a + y (CUDA kernel)");
#endif
}
