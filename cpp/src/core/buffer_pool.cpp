// The buffer pool of large outputs (core/buffer_pool.hpp).
#include "spikecore/core/buffer_pool.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spikecore {

namespace {

constexpr std::size_t kPage = std::size_t(4) << 10;
constexpr std::size_t kHuge = std::size_t(2) << 20;
// Blocks above this size are kept only while the cache stays under 1/8 of the live bytes: a
// freed block of a long sequence (T = 1000: 65 MB each) that waits in the cache would add to the
// peak resident memory while torch allocates its own large products. The C library unmaps such
// blocks at once (its mmap threshold tops out at 32 MiB); so does the pool, unless the live set
// is much larger than the block.
constexpr std::size_t kBigBlock = std::size_t(32) << 20;

struct Pool {
  std::mutex mu;
  std::multimap<std::size_t, void*> free_;       // size class -> cached block
  std::unordered_map<void*, std::size_t> live_;  // block -> size class
  std::size_t cached = 0, live = 0;
  std::size_t limit = std::size_t(1) << 30;  // 1 GiB
  std::uint64_t hits = 0, misses = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: blocks may be released during exit
  return *p;
}

void* map_block(std::size_t size) {
#if defined(__linux__)
  if (size % kHuge == 0) {  // whole huge pages: over-map by one, keep the 2 MiB-aligned part
    void* raw =
        mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto r = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t a = (r + kHuge - 1) & ~(kHuge - 1);
    if (a > r) munmap(raw, a - r);
    const std::uintptr_t end = r + size + kHuge;
    if (end > a + size) munmap(reinterpret_cast<void*>(a + size), end - (a + size));
#if defined(MADV_HUGEPAGE)
    madvise(reinterpret_cast<void*>(a), size, MADV_HUGEPAGE);  // advice only
#endif
    return reinterpret_cast<void*>(a);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
#else
  return ::operator new(size, std::align_val_t(64));
#endif
}

void unmap_block(void* p, std::size_t size) noexcept {
#if defined(__linux__)
  munmap(p, size);
#else
  (void)size;
  ::operator delete(p, std::align_val_t(64));
#endif
}

// Drops cached blocks, largest first, until at most `keep` bytes are cached (lock held).
void shrink(Pool& P, std::size_t keep) noexcept {
  while (P.cached > keep && !P.free_.empty()) {
    auto it = std::prev(P.free_.end());
    P.cached -= it->first;
    unmap_block(it->second, it->first);
    P.free_.erase(it);
  }
}

}  // namespace

std::size_t pool_size_class(std::size_t bytes) noexcept {
  if (bytes == 0) bytes = 1;
  const std::size_t huge = (bytes + kHuge - 1) / kHuge * kHuge;
  if (bytes >= 2 * kHuge || (bytes >= kHuge / 2 && huge - bytes <= bytes / 8)) return huge;
  // 8 classes per doubling: round up to a multiple of 2^(floor(log2 bytes) - 3), then to pages
  std::size_t step = kPage;
  while (step * 16 <= bytes) step *= 2;
  const std::size_t c = (bytes + step - 1) / step * step;
  return (c + kPage - 1) / kPage * kPage;
}

void* pool_acquire(std::size_t bytes) {
  const std::size_t size = pool_size_class(bytes);
  Pool& P = pool();
  {
    std::lock_guard<std::mutex> lk(P.mu);
    auto it = P.free_.find(size);
    if (it != P.free_.end()) {
      void* p = it->second;
      P.free_.erase(it);
      P.cached -= size;
      P.live += size;
      P.live_.emplace(p, size);
      ++P.hits;
      return p;
    }
    ++P.misses;
  }
  void* p = map_block(size);  // outside the lock (a system call)
  std::lock_guard<std::mutex> lk(P.mu);
  P.live += size;
  P.live_.emplace(p, size);
  return p;
}

void pool_release(void* p) noexcept {
  if (p == nullptr) return;
  Pool& P = pool();
  std::lock_guard<std::mutex> lk(P.mu);
  auto it = P.live_.find(p);
  if (it == P.live_.end()) return;  // not ours (cannot happen through the bindings)
  const std::size_t size = it->second;
  P.live_.erase(it);
  P.live -= size;
  if (size > P.limit || (size > kBigBlock && P.cached + size > P.live / 8)) {
    unmap_block(p, size);
    return;
  }
  shrink(P, P.limit - size);
  P.free_.emplace(size, p);
  P.cached += size;
}

void pool_trim() noexcept {
  Pool& P = pool();
  std::lock_guard<std::mutex> lk(P.mu);
  shrink(P, 0);
}

void pool_set_limit(std::size_t bytes) noexcept {
  Pool& P = pool();
  std::lock_guard<std::mutex> lk(P.mu);
  P.limit = bytes;
  shrink(P, bytes);
}

PoolStats pool_stats() noexcept {
  Pool& P = pool();
  std::lock_guard<std::mutex> lk(P.mu);
  PoolStats s;
  s.cached_bytes = P.cached;
  s.live_bytes = P.live;
  s.limit_bytes = P.limit;
  s.hits = P.hits;
  s.misses = P.misses;
  return s;
}

}  // namespace spikecore
