#pragma once
// A cache of large output buffers (the CPU analogue of a GPU caching allocator), for every
// large array the extension hands to Python: training-kernel outputs, filterbank outputs. A
// training step allocates the same large outputs every iteration (membrane traces, spikes,
// products, gradients: 6.5 MB each in the SHD-shaped bench step), a filterbank call a 4 MB
// output per second of audio. Through the C library's allocator those blocks are often
// returned to the OS and faulted in again, page by page, by the next call (about 3,000-5,000
// first-touch page faults per training step, 15-20 % of its CPU time; ~1,000 per filterbank
// call, five times the filtering); the faults also serialise the threads of a parallel kernel
// on the kernel's page tables. Blocks from this pool are mapped once, 2 MiB-aligned with
// transparent-huge-page advice before the first touch when their size class is whole 2 MiB
// pages, and kept for reuse when released, up to a limit of cached bytes. Results never depend
// on the pool: it only decides where an output lives.
#include <cstddef>
#include <cstdint>

namespace spikecore {

struct PoolStats {
  std::size_t cached_bytes = 0;  // released blocks kept for reuse
  std::size_t live_bytes = 0;    // blocks handed out and not yet released
  std::size_t limit_bytes = 0;   // most bytes kept cached
  std::uint64_t hits = 0;        // acquisitions served from the cache
  std::uint64_t misses = 0;      // acquisitions that mapped a new block
};

// A block of at least `bytes` bytes (64-byte aligned; 2 MiB aligned when its class is whole 2 MiB
// pages), not
// initialised. Throws std::bad_alloc when the memory cannot be mapped.
void* pool_acquire(std::size_t bytes);
// Returns a block from pool_acquire to the cache (or unmaps it when the cache would exceed its
// limit, or when the block is above 32 MiB and the cache would exceed 1/8 of the bytes still
// handed out: large blocks are not kept idle next to a small live set). Thread-safe; a null
// pointer is ignored.
void pool_release(void* p) noexcept;
// Unmaps every cached block (live blocks are not affected).
void pool_trim() noexcept;
// Sets the most bytes the cache keeps (0: nothing is cached; blocks are unmapped on release).
void pool_set_limit(std::size_t bytes) noexcept;
PoolStats pool_stats() noexcept;
// The size class a request of `bytes` is served from: a multiple of 4 KiB, at most 1/8 above the
// request; whole 2 MiB pages from 4 MiB on, and from 1 MiB on where that is at most 1/8 above
// the request (a 4,096,000-byte filterbank output is served 4 MiB of huge pages).
std::size_t pool_size_class(std::size_t bytes) noexcept;

}  // namespace spikecore
