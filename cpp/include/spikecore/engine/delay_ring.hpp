#pragma once
// The delay ring of one population: a calendar queue holding, for the next D steps (D = slots),
// the summed input of every target (neuron or branch compartment) and receptor. The input of
// absolute step t lives in slot t mod D, so a spike delivered at step t with delay d is added to
// slot (t + d) mod D, and the update of step t reads and clears slot t mod D. D is one more than
// the largest delay onto the population (the slot being read is never written in the same step).
// Layout: [slots][receptors][targets], receptor r of slot(t) starts at slot(t) + r * targets().
// (NEST keeps one such ring per receptor in nestkernel/ring_buffer.h; here the receptors of a step
// are adjacent so the neuron update streams one contiguous block.)
#include <cstddef>
#include <cstdint>
#include <vector>

namespace spikecore {

class DelayRing {
 public:
  // One empty slot for `receptors` x `targets` inputs.
  void reset(int32_t receptors, int32_t targets) {
    rec_ = receptors;
    n_ = targets;
    slots_ = 1;
    data_.assign(stride(), 0.f);
  }
  int32_t slots() const { return slots_; }
  int32_t receptors() const { return rec_; }
  int32_t targets() const { return n_; }
  size_t stride() const { return size_t(rec_) * size_t(n_); }  // floats per slot

  // Input of step t, receptor 0 (receptor r at + r * targets()). The hot loops read and clear
  // (update) or accumulate into (delivery) these slices directly.
  float* slot(int64_t t) { return data_.data() + size_t(t % slots_) * stride(); }
  const float* slot(int64_t t) const { return data_.data() + size_t(t % slots_) * stride(); }
  // Add w to the input of target i, receptor r, at step t.
  void add(int64_t t, int32_t r, int32_t i, float w) {
    slot(t)[size_t(r) * size_t(n_) + size_t(i)] += w;
  }
  // The input of target i, receptor r, at step t, cleared for the step t + slots().
  float take(int64_t t, int32_t r, int32_t i) {
    float& x = slot(t)[size_t(r) * size_t(n_) + size_t(i)];
    const float v = x;
    x = 0.f;
    return v;
  }

  // Grow to `slots` slots (never shrinks), keeping the pending input of steps
  // [now, now + slots()) at their steps.
  void grow(int32_t slots, int64_t now) {
    if (slots <= slots_) return;
    const size_t st = stride();
    std::vector<float> ring(size_t(slots) * st, 0.f);
    for (int64_t t = now; t < now + slots_; ++t) {
      const size_t from = size_t(t % slots_) * st, to = size_t(t % slots) * st;
      for (size_t k = 0; k < st; ++k) ring[to + k] = data_[from + k];
    }
    data_.swap(ring);
    slots_ = slots;
  }
  // Drop all input in flight.
  void clear() {
    for (auto& x : data_) x = 0.f;
  }
  // Replace the contents (slots x stride() values, in the layout of a network at the same step).
  void assign(int32_t slots, const float* data, int64_t len) {
    data_.assign(data, data + len);
    slots_ = slots;
  }
  const std::vector<float>& data() const { return data_; }
  size_t memory_bytes() const { return data_.capacity() * sizeof(float); }

 private:
  int32_t rec_ = 1, n_ = 0, slots_ = 1;
  std::vector<float> data_;
};

}  // namespace spikecore
