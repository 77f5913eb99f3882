// Host-side entry points of the CUDA runtime used by the kernels and the engine, callable from plain
// C++. Implemented in cuda_api.cu; in CPU-only builds cuda_stubs.cpp defines them to throw.
#pragma once
#include <cstddef>
#include <string>

namespace im::cuda {

// Probes the device chosen by set_device (0 by default): the driver, a small allocation, and the
// stream, cuBLAS and cuDNN handles, so a library that fails to load or initialize is reported
// here rather than as an exception in the first op. On failure returns false and sets *reason.
// Never throws.
bool probe(std::string* reason);
// Number of CUDA devices (0 when the driver or runtime is not usable). Never throws.
int device_count();
// Selects the device the engine uses (`--device cuda:N`); every host thread that later runs CUDA
// work binds to it. Throws when the index is out of range or the engine already runs on another.
void set_device(int index);
// Raw device memory. raw_malloc throws when cudaMalloc fails; raw_try_malloc returns nullptr when
// the device is out of memory (the caching allocator then frees its cache and tries once more).
void* raw_malloc(size_t bytes);
void* raw_try_malloc(size_t bytes);
void raw_free(void* p);
// What the shared workspace (cuda_context.cuh) calls when its allocation fails, before its one
// retry: the engine's caching allocator installs the release of its cached device blocks
// (engine/allocator.cpp), as the kernels cannot call up into the engine.
void set_release_cache(void (*release)());
// Copies on the engine's stream. Host-to-device copies go through pinned staging buffers and do
// not wait for the stream (the source may be freed at once); copies to the host wait for it.
void copy_h2d(void* dst, const void* src, size_t bytes);
void copy_d2h(void* dst, const void* src, size_t bytes);
void copy_d2d(void* dst, const void* src, size_t bytes);
void memset_zero(void* dst, size_t bytes);
void synchronize();
// TF32 tensor-core math for cuBLAS and cuDNN (off by default; the parity tests keep it off).
void set_tf32(bool on);
bool tf32();
// Deterministic mode (`--deterministic`): cuDNN algorithms are chosen by cuDNN's heuristics among
// its deterministic ones (never by timing, which differs between processes), per exact shape, and
// TF32 is off; the same inputs then give the same bytes in every process on the same GPU.
void set_deterministic(bool on);
bool deterministic();
// IMUNITY_CUDA_SYNC=1 in the environment: synchronize and check after every kernel launch and
// library call, so an error names the launch that caused it (slow; for debugging).
bool sync_after_launch();
// The file cuBLAS was opened from, opening it now if no GPU work has yet (it is not linked: see
// kernels/cublas_loader.cu). Needs no GPU. Throws when it cannot be opened or lacks a symbol.
std::string cublas_library();
// "NVIDIA H100 80GB HBM3 (cuda:0, sm_90, 81559 MiB)".
std::string device_description();

}  // namespace im::cuda
