// Structural plasticity: pruning and regrowth of a projection's synapses (O(nnz)).
#include "spikecore/engine/network.hpp"

#include "internal.hpp"

namespace spikecore {

using namespace engine_detail;

int64_t Network::prune_fraction(int32_t j, double fraction, bool random) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  require_probability(fraction, "fraction");
  const int64_t k =
      random ? pj.m.prune_random(fraction, seed_ ^ (kStreamPlastic + uint64_t(j)), uint64_t(step_))
             : pj.m.prune_smallest(fraction);
  pj.dirty = true;
  return k;
}

int64_t Network::prune_threshold(int32_t j, double threshold) {
  require_index(j, int64_t(projs_.size()), "projection");
  require_nonnegative(threshold, "threshold");
  Projection& pj = projs_[size_t(j)];
  const int64_t k = pj.m.prune_below(float(threshold));
  pj.dirty = true;
  return k;
}

int64_t Network::regrow_random(int32_t j, int64_t count, double weight, double delay_ms) {
  require_index(j, int64_t(projs_.size()), "projection");
  require(count >= 0, "count", "must be >= 0");
  require_memory(double(count) * kSynapseBytes, "count",
                 count_str(double(count)) + " new synapses");
  require_finite(weight, "weight");
  const uint16_t d = delay_steps(delay_ms, "delay");
  Projection& pj = projs_[size_t(j)];
  {
    const Population& q = population(pj.post);
    if (int32_t(d) + 1 > q.ring.slots())
      require_ring_memory(double(d) + 1, q.n_targets(), q.ring.receptors(), "delay");
  }
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k = pj.m.regrow_random(count, float(weight), d, aut, pj.allow_multapses,
                                       seed_ ^ (kStreamPlastic + uint64_t(j)), uint64_t(step_),
                                       population(pj.post).br.K);  // autapse = all branches
  pop_ref(pj.post).ring.grow(int32_t(d) + 1, step_);
  pj.dirty = true;
  return k;
}

int64_t Network::regrow_scores(int32_t j, int64_t count, const float* scores, double weight,
                               double delay_ms) {
  require_index(j, int64_t(projs_.size()), "projection");
  require(count >= 0, "count", "must be >= 0");
  require_memory(double(count) * kSynapseBytes, "count",
                 count_str(double(count)) + " new synapses");
  require_finite(weight, "weight");
  const uint16_t d = delay_steps(delay_ms, "delay");
  Projection& pj = projs_[size_t(j)];
  {
    const Population& q = population(pj.post);
    if (int32_t(d) + 1 > q.ring.slots())
      require_ring_memory(double(d) + 1, q.n_targets(), q.ring.receptors(), "delay");
  }
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k = pj.m.regrow_top_scores(count, scores, float(weight), d, aut,
                                           population(pj.post).br.K);  // autapse = all branches
  pop_ref(pj.post).ring.grow(int32_t(d) + 1, step_);
  pj.dirty = true;
  return k;
}
}  // namespace spikecore
