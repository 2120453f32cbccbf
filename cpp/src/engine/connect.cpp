// Projections: the connection rules (all-to-all, pairwise Bernoulli, fixed in/out-degree,
// one-to-one), explicit synapse lists, receptor routing and weight writes.
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "internal.hpp"

namespace spikecore {

using namespace engine_detail;

uint16_t Network::delay_steps(double ms, const char* arg) const {
  require_finite(ms, arg);
  const double s = std::round(ms / dt_);
  // called once per synapse: format messages only on failure
  if (!(s >= 1))
    throw value_error(message(
        arg, "must be at least one step (dt = " + str(dt_) + " ms), got " + str(ms) + " ms"));
  if (!(s <= max_delay_steps_))
    throw value_error(message(arg, "must be at most max_delay (" + str(max_delay_steps_ * dt_) +
                                       " ms = " + std::to_string(max_delay_steps_) +
                                       " steps; delays are 16-bit: at most 65535 steps), got " +
                                       str(ms) + " ms"));
  return uint16_t(s);
}

int32_t Network::finish_projection(Projection&& pj) {
  Population& q = pop_ref(pj.post);
  const int32_t md = pj.m.max_delay();
  if (md + 1 > q.ring.slots())
    require_ring_memory(double(md) + 1, q.n_targets(), q.ring.receptors(), "delay");
  q.ring.grow(md + 1, step_);
  pj.dirty = true;
  projs_.push_back(std::move(pj));
  return int32_t(projs_.size() - 1);
}

int32_t Network::connect(int32_t pre, int32_t post, ConnRule rule, double param,
                         const ValueSpec& weight, const ValueSpec& delay_ms, bool allow_autapses,
                         bool allow_multapses) {
  const Population& P = population(pre);
  const Population& Q = population(post);
  require(Q.model != NeuronModel::Source, "post", "a spike source cannot receive synapses");
  check_spec(weight, "weight");
  check_spec(delay_ms, "delay");
  if (delay_ms.kind == ValueSpec::Const) (void)delay_steps(delay_ms.a, "delay");
  const int32_t np = P.n, nq = Q.n_targets();
  {  // the synapses of the rule (expected for pairwise_bernoulli), before any allocation
    double est = 0;
    const char* arg = "post";
    switch (rule) {
      case ConnRule::AllToAll:
        est = double(np) * nq;
        break;
      case ConnRule::OneToOne:
        est = np;
        break;
      case ConnRule::PairwiseBernoulli:
        require_probability(param, "p");
        est = param * np * nq;
        arg = "p";
        break;
      case ConnRule::FixedIndegree:
      case ConnRule::FixedOutdegree:
        arg = rule == ConnRule::FixedIndegree ? "indegree" : "outdegree";
        require_finite(param, arg);
        require(param >= 0 && param == std::floor(param), arg, "must be an integer >= 0");
        est = param * (rule == ConnRule::FixedIndegree ? nq : np);
        break;
      default:
        throw value_error("rule: unknown connection rule");
    }
    require_memory(est * kSynapseBytes, arg, count_str(est) + " synapses");
  }
  const bool same = pre == post;
  const bool no_aut = same && !allow_autapses;
  // Targets are compartments: with K branches, pre i -> target j is an autapse when neuron
  // j / K is i (all of i's branches), not when j == i (issue 12).
  const int32_t K = Q.br.K;
  const uint64_t jid = uint64_t(projs_.size());
  const uint64_t cstream = kStreamConnect + jid;
  std::vector<int32_t> ci, cj;  // generation order
  auto reserve = [&](double n) {
    ci.reserve(size_t(n));
    cj.reserve(size_t(n));
  };
  // Generate synapses for the iterated side [0, n_for) in thread blocks, each index x from its own
  // counter RNG stream, then concatenate in block order: the same list for any thread count.
  // Partitioned (set_partition): only synapses onto the owned targets [qlo, qhi) are kept, in
  // generation order; g0 (+ local index) or gk is the global generation index of each, by which
  // weights and delays are drawn, so every synapse is the one of the single-process network.
  const int T = pool_->size();
  const bool part = part_size_ > 1;
  int64_t qlo = 0, qhi = nq;
  if (part) {
    owned_range(Q.n, qlo, qhi);
    qlo *= K;
    qhi *= K;
  }
  int64_t g0 = 0, n_global = -1;  // n_global < 0: all generated (then filtered)
  std::vector<int64_t> gk;
  auto generate_range = [&](int32_t f0, int32_t f1, double per, const auto& gen) {
    const int32_t n_for = f1 - f0;
    if (T == 1 || double(n_for) * per < 2e5) {
      reserve(per * n_for * 1.05 + 16);
      gen(f0, f1, ci, cj);
      return;
    }
    std::vector<std::vector<int32_t>> gi(static_cast<size_t>(T)), gj(static_cast<size_t>(T));
    pool_->run([&](int rank) {
      int64_t b, e;
      ThreadPool::block_range(n_for, T, rank, b, e);
      gi[size_t(rank)].reserve(size_t(per * double(e - b) * 1.05 + 16));
      gj[size_t(rank)].reserve(size_t(per * double(e - b) * 1.05 + 16));
      gen(int32_t(b + f0), int32_t(e + f0), gi[size_t(rank)], gj[size_t(rank)]);
    });
    size_t total = 0;
    for (const auto& g : gi) total += g.size();
    ci.resize(total);
    cj.resize(total);
    size_t at = 0;
    for (int r = 0; r < T; ++r) {
      std::copy(gi[size_t(r)].begin(), gi[size_t(r)].end(), ci.begin() + int64_t(at));
      std::copy(gj[size_t(r)].begin(), gj[size_t(r)].end(), cj.begin() + int64_t(at));
      at += gi[size_t(r)].size();
      std::vector<int32_t>().swap(gi[size_t(r)]);
      std::vector<int32_t>().swap(gj[size_t(r)]);
    }
  };
  auto generate = [&](int32_t n_for, double per, const auto& gen) {
    generate_range(0, n_for, per, gen);
  };
  switch (rule) {
    case ConnRule::AllToAll: {
      reserve(double(np) * nq);
      for (int32_t i = 0; i < np; ++i)
        for (int32_t j = 0; j < nq; ++j) {
          if (no_aut && i == j / K) continue;
          ci.push_back(i);
          cj.push_back(j);
        }
      break;
    }
    case ConnRule::OneToOne: {
      require(np == nq, "post",
              "one_to_one needs as many pre neurons as post targets (" + std::to_string(np) +
                  " != " + std::to_string(nq) +
                  (K > 1 ? " = " + std::to_string(Q.n) + " neurons x " + std::to_string(K) +
                               " branches)"
                         : std::string(")")));
      if (!no_aut) {
        reserve(np);
        for (int32_t i = 0; i < np; ++i) {
          ci.push_back(i);
          cj.push_back(i);
        }
      }
      break;
    }
    case ConnRule::PairwiseBernoulli: {
      require_probability(param, "p");
      if (param > 0) {
        const double l1p = std::log1p(-param);
        generate(np, param * nq,
                 [&](int32_t b, int32_t e, std::vector<int32_t>& gi, std::vector<int32_t>& gj) {
                   for (int32_t i = b; i < e; ++i) {
                     CounterRng r(seed_, cstream, uint64_t(i), 0);
                     int64_t j = -1;
                     for (;;) {
                       // geometric skip, computed in double so that tiny p cannot overflow
                       const double skip =
                           param >= 1 ? 0.0 : std::floor(std::log(r.uniform_pos()) / l1p);
                       if (double(j) + 1.0 + skip >= double(nq)) break;
                       j += 1 + int64_t(skip);
                       if (no_aut && j / K == i) continue;
                       gi.push_back(i);
                       gj.push_back(int32_t(j));
                     }
                   }
                 });
      }
      break;
    }
    case ConnRule::FixedIndegree:
    case ConnRule::FixedOutdegree: {
      const bool in = rule == ConnRule::FixedIndegree;
      const char* arg = in ? "indegree" : "outdegree";
      require_finite(param, arg);
      require(param >= 0 && param == std::floor(param), arg, "must be an integer >= 0");
      const int64_t k = int64_t(param);
      const int32_t n_from = in ? np : nq;  // the side drawn from
      const int32_t n_for = in ? nq : np;   // the side iterated
      // without autapses an in-degree target loses one source neuron; an out-degree source
      // loses its own K compartments
      const int64_t avail = n_from - (no_aut ? (in ? 1 : K) : 0);
      if (k > 0) {
        require(avail >= 1, arg, "no possible partner (autapses forbidden, population of one)");
        if (!allow_multapses)
          require(k <= avail, arg,
                  "must be <= " + std::to_string(avail) + " without multapses, got " +
                      std::to_string(k));
      }
      int32_t f0 = 0, f1 = n_for;
      if (part && in) {  // each target draws from its own stream: generate the owned ones only
        f0 = int32_t(qlo);
        f1 = int32_t(qhi);
        g0 = qlo * k;
        n_global = int64_t(nq) * k;
      }
      generate_range(f0, f1, double(k),
                     [&](int32_t b, int32_t e, std::vector<int32_t>& gi, std::vector<int32_t>& gj) {
                       std::vector<uint8_t> mark(allow_multapses ? 0 : size_t(n_from), 0);
                       std::vector<int32_t> picked;
                       for (int32_t x = b; x < e; ++x) {
                         CounterRng r(seed_, cstream, uint64_t(x), 0);
                         picked.clear();
                         while (int64_t(picked.size()) < k) {
                           const int32_t y = int32_t(r.below(uint64_t(n_from)));
                           if (no_aut && (in ? y == x / K : y / K == x)) continue;
                           if (!allow_multapses) {
                             if (mark[size_t(y)]) continue;
                             mark[size_t(y)] = 1;
                           }
                           picked.push_back(y);
                         }
                         for (int32_t y : picked) {
                           if (!allow_multapses) mark[size_t(y)] = 0;
                           gi.push_back(in ? y : x);
                           gj.push_back(in ? x : y);
                         }
                       }
                     });
      break;
    }
    default:
      throw value_error("rule: unknown connection rule");
  }
  if (n_global < 0) {
    n_global = int64_t(ci.size());
    if (part) {  // keep the synapses onto owned targets, remembering their generation index
      size_t o = 0;
      for (size_t m = 0; m < ci.size(); ++m)
        if (cj[m] >= qlo && cj[m] < qhi) {
          ci[o] = ci[m];
          cj[o] = cj[m];
          gk.push_back(int64_t(m));
          ++o;
        }
      ci.resize(o);
      cj.resize(o);
      ci.shrink_to_fit();
      cj.shrink_to_fit();
    }
  }
  const int64_t n = int64_t(ci.size());
  auto gidx = [&](int64_t k) { return gk.empty() ? g0 + k : gk[size_t(k)]; };
  if (weight.kind == ValueSpec::Array)
    require(weight.len == n_global, "weight",
            "array length " + std::to_string(weight.len) + " does not match the " +
                std::to_string(n_global) + " synapses of this rule");
  if (delay_ms.kind == ValueSpec::Array)
    require(delay_ms.len == n_global, "delay",
            "array length " + std::to_string(delay_ms.len) + " does not match the " +
                std::to_string(n_global) + " synapses of this rule");
  std::vector<float> w(static_cast<size_t>(n));
  std::vector<uint16_t> d(static_cast<size_t>(n));
  const bool dist_delay = delay_ms.kind == ValueSpec::Normal || delay_ms.kind == ValueSpec::Uniform;
  const uint16_t dconst = delay_ms.kind == ValueSpec::Const ? delay_steps(delay_ms.a, "delay") : 1;
  if (delay_ms.kind == ValueSpec::Array)  // validate before the (parallel) fill
    for (int64_t k = 0; k < n_global; ++k) (void)delay_steps(delay_ms.arr[k], "delay");
  auto fill = [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t g = gidx(k);
      w[size_t(k)] = float(spec_value(weight, seed_, kStreamWeight + jid, g));
      if (delay_ms.kind == ValueSpec::Const) {
        d[size_t(k)] = dconst;
      } else if (dist_delay) {
        // distributions are clipped to [1 step, max_delay]
        double s = std::round(spec_value(delay_ms, seed_, kStreamDelay + jid, g) / dt_);
        s = std::min<double>(std::max<double>(s, 1.0), max_delay_steps_);
        d[size_t(k)] = uint16_t(s);
      } else {
        d[size_t(k)] = uint16_t(std::round(double(delay_ms.arr[g]) / dt_));
      }
    }
  };
  if (T == 1 || n < 200000) {
    fill(0, n);
  } else {
    pool_->run([&](int rank) {
      int64_t b, e;
      ThreadPool::block_range(n, T, rank, b, e);
      fill(b, e);
    });
  }
  Projection pj;
  pj.pre = pre;
  pj.post = post;
  pj.allow_autapses = allow_autapses;
  pj.allow_multapses = allow_multapses;
  pj.m = SynapseMatrix::from_coo(np, nq, ci.data(), cj.data(), w.data(), d.data(), n, kSlack);
  return finish_projection(std::move(pj));
}

int32_t Network::connect_explicit(int32_t pre, int32_t post, const int32_t* pre_idx,
                                  const int32_t* post_idx, int64_t n, const ValueSpec& weight,
                                  const ValueSpec& delay_ms, bool allow_autapses,
                                  bool allow_multapses) {
  const Population& P = population(pre);
  const Population& Q = population(post);
  require(Q.model != NeuronModel::Source, "post", "a spike source cannot receive synapses");
  check_spec(weight, "weight");
  check_spec(delay_ms, "delay");
  for (int64_t k = 0; k < n; ++k) {
    require_index(pre_idx[k], P.n, "pre_index");
    require_index(post_idx[k], Q.n_targets(), "post_index");
  }
  if (weight.kind == ValueSpec::Array)
    require(weight.len == n, "weight", "length must equal the number of synapses");
  if (delay_ms.kind == ValueSpec::Array)
    require(delay_ms.len == n, "delay", "length must equal the number of synapses");
  const uint64_t jid = uint64_t(projs_.size());
  std::vector<float> w(static_cast<size_t>(n));
  std::vector<uint16_t> d(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    w[size_t(k)] = float(spec_value(weight, seed_, kStreamWeight + jid, k));
    if (delay_ms.kind == ValueSpec::Const || delay_ms.kind == ValueSpec::Array) {
      d[size_t(k)] = delay_steps(spec_value(delay_ms, seed_, 0, k), "delay");
    } else {
      double s = std::round(spec_value(delay_ms, seed_, kStreamDelay + jid, k) / dt_);
      d[size_t(k)] = uint16_t(std::min<double>(std::max<double>(s, 1.0), max_delay_steps_));
    }
  }
  return connect_steps(pre, post, pre_idx, post_idx, w.data(), d.data(), n, allow_autapses,
                       allow_multapses);
}

int32_t Network::connect_steps(int32_t pre, int32_t post, const int32_t* pre_idx,
                               const int32_t* post_idx, const float* weight, const uint16_t* delay,
                               int64_t n, bool allow_autapses, bool allow_multapses) {
  const Population& P = population(pre);
  const Population& Q = population(post);
  require(Q.model != NeuronModel::Source, "post", "a spike source cannot receive synapses");
  for (int64_t k = 0; k < n; ++k) {
    require_index(pre_idx[k], P.n, "pre_index");
    require_index(post_idx[k], Q.n_targets(), "post_index");
    require(delay[k] >= 1 && delay[k] <= max_delay_steps_, "delay",
            "must be in [1, max_delay] steps");
    if (!std::isfinite(weight[k])) throw value_error("weight: contains NaN or inf");
    if (!allow_autapses && pre == post && pre_idx[k] == post_idx[k] / Q.br.K)  // compartments
      throw value_error("pre_index: autapse " + std::to_string(pre_idx[k]) +
                        " while allow_autapses is False");
  }
  Projection pj;
  pj.pre = pre;
  pj.post = post;
  pj.allow_autapses = allow_autapses;
  pj.allow_multapses = allow_multapses;
  if (part_size_ > 1) {  // keep the synapses onto owned targets; multapses checked on all
    if (!allow_multapses) {
      std::vector<int64_t> key(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) key[size_t(k)] = (int64_t(pre_idx[k]) << 32) | post_idx[k];
      std::sort(key.begin(), key.end());
      for (size_t k = 1; k < key.size(); ++k)
        if (key[k] == key[k - 1])
          throw value_error("post_index: multapse " + std::to_string(key[k] >> 32) + " -> " +
                            std::to_string(key[k] & 0xffffffff) +
                            " while allow_multapses is False");
    }
    int64_t qlo, qhi;
    owned_range(Q.n, qlo, qhi);
    qlo *= Q.br.K;
    qhi *= Q.br.K;
    std::vector<int32_t> pi, qi;
    std::vector<float> ww;
    std::vector<uint16_t> dd;
    for (int64_t k = 0; k < n; ++k)
      if (post_idx[k] >= qlo && post_idx[k] < qhi) {
        pi.push_back(pre_idx[k]);
        qi.push_back(post_idx[k]);
        ww.push_back(weight[k]);
        dd.push_back(delay[k]);
      }
    pj.m = SynapseMatrix::from_coo(P.n, Q.n_targets(), pi.data(), qi.data(), ww.data(), dd.data(),
                                   int64_t(pi.size()), kSlack);
    return finish_projection(std::move(pj));
  }
  pj.m = SynapseMatrix::from_coo(P.n, Q.n_targets(), pre_idx, post_idx, weight, delay, n, kSlack);
  if (!allow_multapses) {
    for (int32_t r = 0; r < pj.m.n_pre(); ++r)
      for (int64_t k = pj.m.row_begin(r) + 1; k < pj.m.row_end(r); ++k)
        if (pj.m.post_at(k) == pj.m.post_at(k - 1))
          throw value_error("post_index: multapse " + std::to_string(r) + " -> " +
                            std::to_string(pj.m.post_at(k)) + " while allow_multapses is False");
  }
  return finish_projection(std::move(pj));
}

void Network::set_receptor(int32_t j, int32_t r) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  const Population& q = population(pj.post);
  require(r >= -1 && r < q.n_rec(), "receptor",
          "must be -1 (default) or in [0, " + std::to_string(q.n_rec()) + ") for population '" +
              q.name + "', got " + std::to_string(r));
  pj.receptor = r;
  pj.dirty = true;
}

void Network::set_weights(int32_t j, const float* w, int64_t n) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  pj.m.set_weights(w, n);  // validates (length, finite) before writing
  pj.dirty = true;
}
}  // namespace spikecore
