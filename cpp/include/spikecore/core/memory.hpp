#pragma once
// The memory ceiling of one request (issue 20), the one limit of the whole library: sizes derived
// from arguments (synapse counts, delay rings, population sizes, recorder rows, regrow counts, and
// through spikecore._guards.check_bytes every Python-side request of audio, analysis, models, nn
// and sim) are checked against it before anything is allocated; a request above it raises
// memory_error (Python: MemoryError) whose message names the argument and the size:
//   "<arg>: <what> would need <size>, more than the memory limit of <limit>
//    (spikecore._core.engine.set_memory_limit)".
// Default: the machine's physical memory. Tests lower it (spikecore._core.engine.set_memory_limit,
// the small_memory_limit fixture of tests/fuzzing.py) so that fuzzed sizes never allocate.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <new>
#include <string>
#include <string_view>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "spikecore/core/errors.hpp"

namespace spikecore {

// A std::bad_alloc with a message (nanobind translates it to MemoryError with the message).
struct memory_error : std::bad_alloc {
  explicit memory_error(std::string m) : msg_(std::move(m)) {}
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

inline int64_t physical_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && size > 0) return int64_t(pages) * int64_t(size);
#endif
  return int64_t(1) << 40;
}

inline std::atomic<int64_t>& memory_limit_ref() {
  static std::atomic<int64_t> limit{physical_memory_bytes()};
  return limit;
}

// Bytes one request may allocate.
inline int64_t memory_limit() { return memory_limit_ref().load(); }

inline void set_memory_limit(int64_t bytes) {
  require(bytes > 0, "bytes", "the memory limit must be > 0, got " + std::to_string(bytes));
  memory_limit_ref().store(bytes);
}

inline std::string format_bytes(double b) {
  char buf[64];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.4g GiB", b / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.4g MiB", b / (1024.0 * 1024));
  return buf;
}

// Throw memory_error naming `arg` when `bytes` (a double: products of sizes cannot overflow; NaN
// is refused) exceed the limit; `what` says what the bytes are for (e.g. "1e+12 synapses").
inline void require_memory(double bytes, std::string_view arg, std::string_view what) {
  const int64_t limit = memory_limit();
  if (bytes <= double(limit)) return;
  throw memory_error(message(arg, std::string(what) + " would need " + format_bytes(bytes) +
                                      ", more than the memory limit of " +
                                      format_bytes(double(limit)) +
                                      " (spikecore._core.engine.set_memory_limit)"));
}

inline std::string count_str(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, n < 1e15 ? "%.0f" : "%.4g", n);
  return buf;
}

}  // namespace spikecore
