#pragma once
// The delay ring of one population: a calendar queue holding, for the next D steps (D = slots),
// the summed input of every target (neuron or branch compartment) and receptor. The input of
// absolute step t lives in slot t mod D, so a spike delivered at step t with delay d is added to
// slot (t + d) mod D, and the update of step t reads and clears slot t mod D. D is one more than
// the largest delay onto the population (the slot being read is never written in the same step).
// Layout: the targets are cut into blocks (one per thread: set_blocks). With one block the ring is
// one plain [slots][receptors][targets] array. With several, each block b has a region of its own,
// [slots][receptors][targets of b], starting on a 4 KiB page, a whole number of pages long and
// followed by a free page. A thread only touches its own block (delivery adds into it, the update
// reads and clears it), so no cache line holds two threads' inputs and a prefetcher running past
// the end of one thread's region stops in the gap: with one [slots][receptors][targets] array the
// hardware prefetchers of one core, streaming through its half of a slot, ran on into the other
// core's half (and into the next slot) and pulled lines the other core was writing, which cost the
// two threads 30-50 % of their speed on this VM (docs/bench.md). slot(t, b)[j] is target j
// (absolute index, j in block b) receptor 0; receptor r at + r * rstride(b).
// (NEST keeps one ring per receptor and thread in nestkernel/ring_buffer.h; here the receptors of a
// step are adjacent so the neuron update streams one contiguous block.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace spikecore {

class DelayRing {
 public:
  // One empty slot for `receptors` x `targets` inputs, one block.
  void reset(int32_t receptors, int32_t targets) {
    rec_ = receptors;
    n_ = targets;
    slots_ = 1;
    edges_ = {0, targets};
    layout();
    alloc();
  }
  int32_t slots() const { return slots_; }
  int32_t receptors() const { return rec_; }
  int32_t targets() const { return n_; }
  size_t stride() const { return size_t(rec_) * size_t(n_); }  // values per slot (all blocks)
  int32_t n_blocks() const { return int32_t(edges_.size()) - 1; }
  const std::vector<int32_t>& blocks() const { return edges_; }

  // Cut the targets into blocks [edges[b], edges[b + 1]) (edges ascending from 0 to targets()),
  // keeping the contents.
  void set_blocks(const std::vector<int32_t>& edges) {
    if (edges == edges_) return;
    const std::vector<float> v = data();
    edges_ = edges;
    layout();
    alloc();
    fill(v);
  }

  // Input of step t for the targets of block b: [j] is target j receptor 0, [j + r * rstride(b)]
  // receptor r. The hot loops read and clear (update) or accumulate into (delivery) it directly.
  float* slot(int64_t t, int b) {
    return data_.data() + base_ + off_[size_t(b)] + (t % slots_) * pitch_[size_t(b)] -
           edges_[size_t(b)];
  }
  int32_t rstride(int b) const { return edges_[size_t(b) + 1] - edges_[size_t(b)]; }
  // The block holding target i.
  int block_of(int32_t i) const {
    return int(std::upper_bound(edges_.begin() + 1, edges_.end() - 1, i) - edges_.begin()) - 1;
  }
  // Add w to the input of target i, receptor r, at step t.
  void add(int64_t t, int32_t r, int32_t i, float w) { at(t, r, i) += w; }
  // The input of target i, receptor r, at step t, cleared for the step t + slots().
  float take(int64_t t, int32_t r, int32_t i) {
    float& x = at(t, r, i);
    const float v = x;
    x = 0.f;
    return v;
  }

  // Grow to `slots` slots (never shrinks), keeping the pending input of steps
  // [now, now + slots()) at their steps.
  void grow(int32_t slots, int64_t now) {
    if (slots <= slots_) return;
    const std::vector<float> v = data();  // slot k of v: step with t % slots_ == k
    const int32_t old = slots_;
    slots_ = slots;
    layout();
    alloc();
    const size_t st = stride();
    std::vector<float> w(size_t(slots) * st, 0.f);
    for (int64_t t = now; t < now + old; ++t)
      std::copy_n(v.begin() + int64_t(size_t(t % old) * st), st,
                  w.begin() + int64_t(size_t(t % slots) * st));
    fill(w);
  }
  // Drop all input in flight.
  void clear() { std::fill(data_.begin(), data_.end(), 0.f); }
  // Replace the contents: slots x stride() values in the layout [slots][receptors][targets] (that
  // of data()), of a network at the same step.
  void assign(int32_t slots, const float* data, int64_t len) {
    slots_ = slots;
    layout();
    alloc();
    fill(std::vector<float>(data, data + len));
  }
  // The contents as [slots][receptors][targets] (slots x stride() values), whatever the blocks.
  std::vector<float> data() const {
    std::vector<float> v(size_t(slots_) * stride());
    for (int32_t s = 0; s < slots_; ++s)
      for (int b = 0; b < n_blocks(); ++b)
        for (int32_t r = 0; r < rec_; ++r) {
          const float* src = data_.data() + base_ + off_[size_t(b)] + s * pitch_[size_t(b)] +
                             int64_t(r) * rstride(b);
          std::copy_n(
              src, rstride(b),
              v.begin() + int64_t(s) * int64_t(stride()) + int64_t(r) * n_ + edges_[size_t(b)]);
        }
    return v;
  }
  size_t memory_bytes() const { return data_.capacity() * sizeof(float); }

 private:
  float& at(int64_t t, int32_t r, int32_t i) {
    const int b = block_of(i);
    return slot(t, b)[size_t(i) + size_t(r) * size_t(rstride(b))];
  }
  // One block: [slots][receptors][targets] unpadded, as a plain array. Several: block regions of
  // slots x pitch floats (receptors x block targets, padded to a cache line), each a whole number
  // of pages long, a free page after each but the last, the first on a page.
  void layout() {
    const int nb = n_blocks();
    off_.assign(size_t(nb) + 1, 0);
    pitch_.assign(size_t(nb), 0);
    for (int b = 0; b < nb; ++b) {
      const int64_t len = int64_t(rec_) * rstride(b);
      pitch_[size_t(b)] = nb == 1 ? len : (len + 15) & ~int64_t(15);
      off_[size_t(b) + 1] =
          off_[size_t(b)] +
          (nb == 1 ? slots_ * len : ((slots_ * pitch_[size_t(b)] + 1023) & ~int64_t(1023)) + 1024);
    }
  }
  // Zeroed storage for the layout; base_: the first page in it (several blocks).
  void alloc() {
    const bool paged = n_blocks() > 1;
    data_.assign(size_t(off_.back()) + (paged ? 1024 : 0), 0.f);
    const uintptr_t a = reinterpret_cast<uintptr_t>(data_.data());
    base_ = paged ? int64_t(((4096 - a % 4096) % 4096) / sizeof(float)) : 0;
  }
  // Write v ([slots][receptors][targets]) into the blocks.
  void fill(const std::vector<float>& v) {
    for (int32_t s = 0; s < slots_; ++s)
      for (int b = 0; b < n_blocks(); ++b)
        for (int32_t r = 0; r < rec_; ++r)
          std::copy_n(
              v.begin() + int64_t(s) * int64_t(stride()) + int64_t(r) * n_ + edges_[size_t(b)],
              rstride(b),
              data_.begin() + base_ + off_[size_t(b)] + s * pitch_[size_t(b)] +
                  int64_t(r) * rstride(b));
  }

  int32_t rec_ = 1, n_ = 0, slots_ = 1;
  std::vector<int32_t> edges_{0, 0};
  std::vector<int64_t> off_{0, 0}, pitch_{0};
  std::vector<float> data_;
  int64_t base_ = 0;
};

}  // namespace spikecore
