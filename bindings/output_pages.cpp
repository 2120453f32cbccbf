// Memory for large outputs returned to Python (see bindings.hpp: new_numpy_uninit).
//
// Why: a 1 s, 64-channel filterbank output is 4 MB. From glibc's malloc such a block came from
// fresh pages for the first calls of a process (the first from mmap, then from the top of a heap
// that grew by one output per call instead of reusing the freed one): each call paid ~1,000
// minor page faults (~1.8 ms, five times the filtering itself) until the heap settled after up
// to ~8 calls (docs/audio.md, "First calls in a fresh process"). Here a large output is its own
// 2 MiB-aligned anonymous mapping with transparent-huge-page advice before its first touch (a
// fresh 4 MiB then costs 2 faults and the kernel's zeroing, ~0.5 ms), and a freed block is kept
// in a small cache and reused by the next output of about the same size (no fault, no zeroing),
// so from the second call on the output memory costs what it costs in the steady state.
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "bindings.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spikecore_bind {
namespace {

constexpr size_t kHuge = size_t(2) << 20;  // transparent huge page size (x86-64, arm64 4K)
constexpr size_t kPage = size_t(4) << 10;  // base page (a multiple of it is always mappable)

struct Block {
  void* p;
  size_t len;  // mapped length (a multiple of kPage)
};

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;  // mapped blocks in use -> length
  std::vector<Block> idle;                 // freed blocks kept for reuse, oldest first
  size_t idle_bytes = 0;
  OutputPageStats stats;
};

// Never destroyed: arrays may be freed during interpreter shutdown, after static destructors.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

#if defined(__linux__)
void* map_aligned(size_t len) {
  // Over-map by one huge page and trim, so the block starts on a 2 MiB boundary.
  const size_t span = len + kHuge;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t r = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t a = (r + kHuge - 1) & ~uintptr_t(kHuge - 1);
  if (a > r) munmap(raw, a - r);
  if (r + span > a + len) munmap(reinterpret_cast<void*>(a + len), r + span - (a + len));
#if defined(MADV_HUGEPAGE)
  madvise(reinterpret_cast<void*>(a), len, MADV_HUGEPAGE);  // advice only (THP may be off)
#endif
  return reinterpret_cast<void*>(a);
}
#endif

}  // namespace

void* output_pages_alloc(size_t bytes) {
#if defined(__linux__)
  if (bytes >= kOutputPagesMin) {
    // Whole huge pages when that wastes at most 1/8 of the output (a 4,096,000 B output maps
    // 4 MiB); otherwise whole 4 KiB pages, huge pages only inside (a 1.1 MB output would
    // otherwise hold a 2 MiB page).
    const size_t huge_len = (bytes + kHuge - 1) / kHuge * kHuge;
    const size_t len =
        huge_len - bytes <= bytes / 8 ? huge_len : (bytes + kPage - 1) / kPage * kPage;
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> g(c.mu);
      // The smallest idle block that holds the output and is at most twice its size; of equal
      // ones the most recently freed (likeliest still in cache and TLB).
      size_t best = c.idle.size();
      for (size_t i = c.idle.size(); i-- > 0;)
        if (c.idle[i].len >= len && c.idle[i].len <= 2 * len &&
            (best == c.idle.size() || c.idle[i].len < c.idle[best].len))
          best = i;
      if (best < c.idle.size()) {
        const Block b = c.idle[best];
        c.idle.erase(c.idle.begin() + std::ptrdiff_t(best));
        c.idle_bytes -= b.len;
        c.live.emplace(b.p, b.len);
        ++c.stats.reused;
        return b.p;
      }
    }
    void* p = map_aligned(len);
    if (p == nullptr) throw std::bad_alloc();
    std::lock_guard<std::mutex> g(c.mu);
    c.live.emplace(p, len);
    ++c.stats.mapped;
    return p;
  }
#endif
  return ::operator new[](bytes > 0 ? bytes : 1, std::align_val_t(64));
}

void output_pages_free(void* p) noexcept {
#if defined(__linux__)
  Cache& c = cache();
  std::vector<Block> drop;
  {
    std::lock_guard<std::mutex> g(c.mu);
    auto it = c.live.find(p);
    if (it == c.live.end()) {
      ::operator delete[](p, std::align_val_t(64));  // a small output (operator new[])
      return;
    }
    const Block b{p, it->second};
    c.live.erase(it);
    if (b.len > kOutputPagesKeep) {
      drop.push_back(b);
    } else {
      // Keep it; unmap the oldest idle blocks while the cache would exceed its budget.
      while (!c.idle.empty() && c.idle_bytes + b.len > kOutputPagesKeep) {
        drop.push_back(c.idle.front());
        c.idle_bytes -= c.idle.front().len;
        c.idle.erase(c.idle.begin());
      }
      c.idle.push_back(b);
      c.idle_bytes += b.len;
    }
    c.stats.unmapped += drop.size();
  }
  for (const Block& b : drop) munmap(b.p, b.len);
#else
  ::operator delete[](p, std::align_val_t(64));
#endif
}

OutputPageStats output_pages_stats() {
  OutputPageStats s;
#if defined(__linux__)
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.mu);
  s = c.stats;
  s.idle_bytes = c.idle_bytes;
  s.idle_blocks = c.idle.size();
  s.live_blocks = c.live.size();
#endif
  return s;
}

}  // namespace spikecore_bind
