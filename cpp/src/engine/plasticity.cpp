// Structural plasticity: pruning and regrowth of a projection's synapses (O(nnz)). On a network
// split across ranks each rank holds its targets' columns of the projection's matrix and the
// decisions are made by SynapseMatrix with the ranks' reductions (RankSplit): the result is the
// one of a single process.
#include "spikecore/engine/network.hpp"

#include "internal.hpp"

namespace spikecore {

using namespace engine_detail;

namespace {
// This rank's target columns of projection pj and the ranks' reduction (one process: none).
RankSplit split_of(const Network& net, const Projection& pj, const Network::RankReduce& reduce) {
  RankSplit s;
  if (net.part_size() == 1) return s;
  require(bool(reduce), "reduce",
          "a network split across ranks prunes and regrows collectively: every rank passes the "
          "ranks' reduction (spikecore.sim.distributed does)");
  const Population& q = net.population(pj.post);
  int64_t lo, hi;
  net.owned_range(q.n, lo, hi);
  s.col_lo = int32_t(lo * q.br.K);
  s.col_hi = int32_t(hi * q.br.K);
  s.reduce = reduce;
  return s;
}
}  // namespace

int64_t Network::prune_fraction(int32_t j, double fraction, bool random, const RankReduce& reduce) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  require_probability(fraction, "fraction");
  const RankSplit split = split_of(*this, pj, reduce);
  const int64_t k = random ? pj.m.prune_random(fraction, seed_ ^ (kStreamPlastic + uint64_t(j)),
                                               uint64_t(step_), split)
                           : pj.m.prune_smallest(fraction, split);
  pj.dirty = true;
  return k;
}

int64_t Network::prune_threshold(int32_t j, double threshold, const RankReduce& reduce) {
  require_index(j, int64_t(projs_.size()), "projection");
  require_nonnegative(threshold, "threshold");
  Projection& pj = projs_[size_t(j)];
  const RankSplit split = split_of(*this, pj, reduce);
  const int64_t k = pj.m.prune_below(float(threshold));  // local: each synapse by itself
  pj.dirty = true;
  return split.sum(k);
}

int64_t Network::regrow_random(int32_t j, int64_t count, double weight, double delay_ms,
                               const RankReduce& reduce) {
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
  const RankSplit split = split_of(*this, pj, reduce);
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k = pj.m.regrow_random(count, float(weight), d, aut, pj.allow_multapses,
                                       seed_ ^ (kStreamPlastic + uint64_t(j)), uint64_t(step_),
                                       population(pj.post).br.K, split);  // autapse = all branches
  pop_ref(pj.post).ring.grow(int32_t(d) + 1, step_);
  pj.dirty = true;
  return k;
}

int64_t Network::regrow_scores(int32_t j, int64_t count, const float* scores, double weight,
                               double delay_ms, const RankReduce& reduce) {
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
  const RankSplit split = split_of(*this, pj, reduce);
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k =
      pj.m.regrow_top_scores(count, scores, float(weight), d, aut, population(pj.post).br.K,
                             split);  // autapse = all branches
  pop_ref(pj.post).ring.grow(int32_t(d) + 1, step_);
  pj.dirty = true;
  return k;
}
}  // namespace spikecore
