// Devices (CPU, CUDA), detection of a usable GPU, and the CPU thread count.
#pragma once
#include <cstdint>
#include <string>

namespace im {

enum class Device : uint8_t { CPU = 0, CUDA = 1 };

const char* device_name(Device d);
// "cpu", "cuda", "cuda:N" (the N-th GPU; "cuda" is cuda:0) or "auto" (CUDA when usable, else CPU).
// cuda:N selects that GPU for the whole process, before any GPU work.
Device parse_device(const std::string& name);
// "" when parse_device would accept the spelling of name, else why not (for command-line checks).
std::string device_spelling_error(const std::string& name);

// True when this build has the CUDA backend and a device with a working driver is present.
// Never throws and never aborts; the first call probes, later calls return the cached answer.
bool cuda_available();
// Why cuda_available() is false ("" when it is true).
std::string cuda_unavailable_reason();
// CUDA when available, else CPU; the first time it falls back it says so once on stderr.
Device default_device();

// OpenMP threads used by the CPU backend (default: all cores given to the process).
void set_num_threads(int n);
int num_threads();

// For records and progress lines: "cuda (<GPU name, memory, ...>)", or "cpu (2 threads, avx512
// kernels)" with the instruction-set path of the dispatched CPU kernels (IMUNITY_CPU), since
// results may differ in the last bits between paths.
std::string device_description(Device d);

}  // namespace im
