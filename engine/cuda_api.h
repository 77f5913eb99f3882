// Host-side entry points of the CUDA runtime used by the engine, callable from plain C++.
// Implemented in cuda_api.cu; in CPU-only builds cuda_stubs.cpp defines them to throw.
#pragma once
#include <cstddef>
#include <string>

namespace im::cuda {

// Probe for a device; on failure returns false and sets *reason. Never throws.
bool probe(std::string* reason);
void* raw_malloc(size_t bytes);
void raw_free(void* p);
// Copies on the engine's stream; copies to the host wait for the stream.
void copy_h2d(void* dst, const void* src, size_t bytes);
void copy_d2h(void* dst, const void* src, size_t bytes);
void copy_d2d(void* dst, const void* src, size_t bytes);
void memset_zero(void* dst, size_t bytes);
void synchronize();
// TF32 tensor-core math for cuBLAS and cuDNN (off by default; the parity tests keep it off).
void set_tf32(bool on);
bool tf32();
std::string device_description();

}  // namespace im::cuda
