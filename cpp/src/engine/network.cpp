#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/rng.hpp"

namespace spikecore {

namespace {
constexpr uint64_t kStreamInit = 0x494e4954ull << 20;     // "INIT" + population
constexpr uint64_t kStreamConnect = 0x434f4e4eull << 20;  // "CONN" + projection
constexpr uint64_t kStreamWeight = 0x57454947ull << 20;   // "WEIG" + projection
constexpr uint64_t kStreamDelay = 0x44454c41ull << 20;    // "DELA" + projection
constexpr uint64_t kStreamPoisson = 0x504f4953ull << 20;  // "POIS" + input
constexpr uint64_t kStreamPlastic = 0x504c4153ull << 20;  // "PLAS" + projection
constexpr uint64_t kStreamSource = 0x53524345ull << 20;   // "SRCE" + population
constexpr int kPad = 16;                                  // int64 padding against false sharing
// Spare capacity per row (fraction): regrowth after pruning fits without repacking.
constexpr double kSlack = 0.15;

std::string str(double x) { return std::to_string(x); }

[[noreturn]] void throw_past_time(int64_t now) {
  throw value_error("times: must not lie before the current time (step " + std::to_string(now) +
                    ")");
}

void check_spec(const ValueSpec& s, const char* arg) {
  switch (s.kind) {
    case ValueSpec::Const: require_finite(s.a, arg); break;
    case ValueSpec::Normal:
      require_finite(s.a, arg);
      require_nonnegative(s.b, arg);
      break;
    case ValueSpec::Uniform:
      require_finite(s.a, arg);
      require_finite(s.b, arg);
      require(s.b >= s.a, arg, "uniform bounds must satisfy low <= high");
      break;
    case ValueSpec::Array:
      for (int64_t k = 0; k < s.len; ++k)
        if (!std::isfinite(s.arr[k])) throw value_error(std::string(arg) + ": contains NaN or inf");
      break;
    default: throw value_error(std::string(arg) + ": unknown specification");
  }
}

// Value of synapse k (generation order) of a spec; stream separates weights from delays.
inline double spec_value(const ValueSpec& s, uint64_t seed, uint64_t stream, int64_t k) {
  switch (s.kind) {
    case ValueSpec::Const: return s.a;
    case ValueSpec::Normal: {
      CounterRng r(seed, stream, uint64_t(k), 0);
      return s.a + s.b * r.normal();
    }
    case ValueSpec::Uniform: {
      CounterRng r(seed, stream, uint64_t(k), 0);
      return s.a + (s.b - s.a) * r.uniform();
    }
    case ValueSpec::Array: return s.arr[k];
  }
  return 0;
}
}  // namespace

Network::Network(double dt, int n_threads, uint64_t seed, double max_delay_ms)
    : dt_(dt), seed_(seed) {
  require_positive(dt, "dt");
  require(n_threads >= 1, "n_threads", "must be >= 1, got " + std::to_string(n_threads));
  require(n_threads <= 1024, "n_threads", "must be <= 1024");
  require_positive(max_delay_ms, "max_delay");
  const double md = std::floor(max_delay_ms / dt + 1e-9);
  require(md >= 1, "max_delay", "must be at least one step (dt)");
  max_delay_steps_ = int32_t(std::min<double>(md, 65535.0));
  pool_ = std::make_unique<ThreadPool>(n_threads);
}

void Network::set_step(int64_t s) {
  require(s >= 0, "step", "must be >= 0");
  step_ = s;
}

void Network::set_n_threads(int n) {
  require(n >= 1 && n <= 1024, "n_threads", "must be in [1, 1024], got " + std::to_string(n));
  if (n == pool_->size()) return;
  pool_ = std::make_unique<ThreadPool>(n);
  for (auto& pj : projs_) pj.dirty = true;
}

const Population& Network::population(int32_t p) const {
  require_index(p, int64_t(pops_.size()), "population");
  return pops_[size_t(p)];
}
Population& Network::pop_ref(int32_t p) {
  require_index(p, int64_t(pops_.size()), "population");
  return pops_[size_t(p)];
}
const Projection& Network::projection(int32_t j) const {
  require_index(j, int64_t(projs_.size()), "projection");
  return projs_[size_t(j)];
}

// ------------------------------------------------------------------------------- populations

int32_t Network::add_population(Population&& p) {
  require(p.n >= 1, "n", "must be >= 1 (empty populations are not allowed), got " +
                             std::to_string(p.n));
  p.s.resize(size_t(p.n), p.model == NeuronModel::Source ? 0.f : p.c.lif.v_reset);
  p.a.assign(size_t(p.n), 0.f);
  // receptors: exp synapses (ex, in) and CE-LIF with its own context drive (current, context)
  p.n_rec = p.kind == SynapseKind::Exp || (p.model == NeuronModel::CELIF && !p.ce.shared) ? 2 : 1;
  p.slots = 1;
  p.ring.assign(size_t(p.n) * size_t(p.n_rec), 0.f);
  pops_.push_back(std::move(p));
  return int32_t(pops_.size() - 1);
}

int32_t Network::add_lif(int32_t n, const LIFParams& prm, const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  Population p;
  p.name = name;
  p.n = n;
  p.model = NeuronModel::LIF;
  p.kind = prm.synapse;
  p.c.lif = LIFCoeffs::make(prm, dt_);
  p.cur_scale = float(1.0 - std::exp(-dt_ / prm.tau_m));
  const int32_t id = add_population(std::move(p));
  pops_.back().v0 = float(prm.v_rest);
  std::fill(pops_.back().s.v.begin(), pops_.back().s.v.end(), float(prm.v_rest));
  return id;
}

int32_t Network::add_alif(int32_t n, const ALIFParams& prm, const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  Population p;
  p.name = name;
  p.n = n;
  p.model = NeuronModel::ALIF;
  p.kind = prm.lif.synapse;
  p.c = ALIFCoeffs::make(prm, dt_);
  p.cur_scale = float(1.0 - std::exp(-dt_ / prm.lif.tau_m));
  const int32_t id = add_population(std::move(p));
  pops_.back().v0 = float(prm.lif.v_rest);
  std::fill(pops_.back().s.v.begin(), pops_.back().s.v.end(), float(prm.lif.v_rest));
  return id;
}

int32_t Network::add_discrete(int32_t n, double beta, double v_rest, double v_th, double v_reset,
                              bool soft_reset, double rho, double beta_a,
                              const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  require_finite(beta, "beta");
  require_finite(v_rest, "v_rest");
  require_finite(v_th, "v_th");
  require_finite(v_reset, "v_reset");
  Population p;
  p.name = name;
  p.n = n;
  p.kind = SynapseKind::Delta;
  p.discrete = true;
  p.c.lif = LIFCoeffs::discrete(beta, v_rest, v_th, v_reset, soft_reset);
  if (rho >= 0) {
    require_finite(rho, "rho");
    require(rho <= 1, "rho", "must be in [0, 1]");
    require_finite(beta_a, "beta_a");
    p.model = NeuronModel::ALIF;
    p.c.p_a = float(rho);
    p.c.beta_a = float(beta_a);
  } else {
    p.model = NeuronModel::LIF;
  }
  p.cur_scale = 1.f;
  const int32_t id = add_population(std::move(p));
  pops_.back().v0 = float(v_rest);
  std::fill(pops_.back().s.v.begin(), pops_.back().s.v.end(), float(v_rest));
  return id;
}

int32_t Network::add_celif(int32_t n, double beta, double rho, double beta_a, double gamma,
                           double v_th, const float* lam, const float* one_m_lam, bool shared,
                           const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  // fields: beta, rho, beta_a, lambda_c (checked per neuron below), gamma, v_th
  const CELIFParams prm{beta, rho, beta_a, 0.5, gamma, v_th};
  prm.validate();
  for (int32_t i = 0; i < n; ++i) {
    CELIFParams::check_decay(double(lam[i]), "lambda_c");
    require(std::isfinite(one_m_lam[i]) && one_m_lam[i] >= 0.f && one_m_lam[i] < 1.f,
            "lambda_c", "1 - lambda_c must lie in [0, 1)");
  }
  Population p;
  p.name = name;
  p.n = n;
  p.model = NeuronModel::CELIF;
  p.kind = SynapseKind::Delta;
  p.discrete = true;
  p.cur_scale = 1.f;
  CELIFPopulation& c = p.ce;
  // the float32 values the training kernel multiplies by (bindings/variants.cpp celif_args)
  c.beta = float(beta);
  c.rho = float(rho);
  c.one_m_rho = float(1.0 - rho);
  c.beta_a = float(beta_a);
  c.gamma = float(gamma);
  c.v_th = float(v_th);
  c.lam.assign(lam, lam + n);
  c.one_m_lam.assign(one_m_lam, one_m_lam + n);
  c.shared = shared;
  c.c.assign(size_t(n), 0.f);
  return add_population(std::move(p));  // v starts at 0 (v_reset of the default coefficients)
}

void Network::set_branches(int32_t pop, int32_t K, BranchFn g, double decay, const float* bias) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::LIF || p.model == NeuronModel::ALIF, "branches",
          "only LIF / ALIF populations (continuous or discrete) take dendritic branches");
  require(p.kind == SynapseKind::Delta, "branches",
          "dendritic branches need delta synapses (the branch output is the soma's input)");
  require(K >= 1, "branches", "K must be >= 1, got " + std::to_string(K));
  require(int64_t(p.n) * K < (int64_t(1) << 31), "branches", "n x K must be < 2**31");
  require(int(g) >= 0 && int(g) <= 2, "branch_fn", "must be relu, sigmoid or identity");
  require_finite(decay, "branch_decay");
  require(decay >= 0 && decay <= 1, "branch_decay", "must lie in [0, 1], got " + str(decay));
  for (const auto& pj : projs_)
    require(pj.post != pop, "branches", "set them before connecting projections to the population");
  for (const auto& in : poisson_)
    require(in.pop != pop, "branches", "set them before adding Poisson inputs");
  require(p.ev_step.empty(), "branches", "set them before adding input events");
  p.br.K = K;
  p.br.g = g;
  p.br.decay = float(decay);
  p.br.u.assign(size_t(p.n) * size_t(K), 0.f);
  p.br.bias.clear();
  if (bias) {
    for (int64_t k = 0; k < int64_t(p.n) * K; ++k) require_finite(double(bias[k]), "branch_bias");
    p.br.bias.assign(bias, bias + int64_t(p.n) * K);
  }
  p.slots = 1;
  p.ring.assign(size_t(p.n_rec) * size_t(p.n_targets()), 0.f);
}

int32_t Network::add_source(int32_t n, const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  Population p;
  p.name = name;
  p.n = n;
  p.model = NeuronModel::Source;
  p.kind = SynapseKind::Delta;
  p.c.lif.v_th = std::numeric_limits<float>::infinity();
  return add_population(std::move(p));
}

// ------------------------------------------------------------------------------------- state

static float* var_ptr(Population& p, StateVar v) {
  switch (v) {
    case StateVar::V: return p.s.v.data();
    case StateVar::IEx: return p.s.i_ex.data();
    case StateVar::IIn: return p.s.i_in.data();
    case StateVar::A: return p.a.data();
    case StateVar::C: return p.model == NeuronModel::CELIF ? p.ce.c.data() : nullptr;
    case StateVar::U: return p.br.K > 1 ? p.br.u.data() : nullptr;
    default: return nullptr;
  }
}

int64_t Network::state_size(int32_t pop, StateVar var) const {
  const Population& p = population(pop);
  require(int(var) >= 0 && int(var) <= 6, "variable", "unknown state variable");
  if (var == StateVar::C) return p.model == NeuronModel::CELIF ? p.n : 0;
  if (var == StateVar::U) return p.br.K > 1 ? int64_t(p.n_targets()) : 0;
  return p.n;
}

void Network::init_uniform(int32_t pop, StateVar var, double lo, double hi) {
  Population& p = pop_ref(pop);
  require_finite(lo, "low");
  require_finite(hi, "high");
  require(hi >= lo, "high", "must be >= low");
  float* x = var_ptr(p, var);
  require(x != nullptr, "variable", "cannot be initialised from a distribution");
  const int64_t len = state_size(pop, var);
  for (int64_t i = 0; i < len; ++i) {
    CounterRng r(seed_, kStreamInit + uint64_t(pop) * 8 + uint64_t(var), uint64_t(i), 0);
    x[i] = float(lo + (hi - lo) * r.uniform());
  }
}

void Network::get_state(int32_t pop, StateVar var, float* out) const {
  Population& p = const_cast<Network*>(this)->pop_ref(pop);
  if (var == StateVar::Ref) {
    for (int32_t i = 0; i < p.n; ++i) out[i] = float(p.s.ref[size_t(i)]);
    return;
  }
  const float* x = var_ptr(p, var);
  require(x != nullptr, "variable", "this population has no such state variable");
  std::copy_n(x, state_size(pop, var), out);
}

void Network::set_state(int32_t pop, StateVar var, const float* in) {
  Population& p = pop_ref(pop);
  const int64_t len = state_size(pop, var);
  for (int64_t i = 0; i < len; ++i)
    if (!std::isfinite(in[i])) throw value_error("value: contains NaN or inf");
  if (var == StateVar::Ref) {
    for (int32_t i = 0; i < p.n; ++i) {
      require(in[i] >= 0, "value", "refractory counts must be >= 0");
      p.s.ref[size_t(i)] = int32_t(in[i]);
    }
    return;
  }
  float* x = var_ptr(p, var);
  require(x != nullptr, "variable", "this population has no such state variable");
  std::copy_n(in, len, x);
}

void Network::reset_state(int32_t pop, bool clear_ring) {
  Population& p = pop_ref(pop);
  std::fill(p.s.v.begin(), p.s.v.end(), p.v0);
  std::fill(p.s.i_ex.begin(), p.s.i_ex.end(), 0.f);
  std::fill(p.s.i_in.begin(), p.s.i_in.end(), 0.f);
  std::fill(p.s.ref.begin(), p.s.ref.end(), 0);
  std::fill(p.a.begin(), p.a.end(), 0.f);
  std::fill(p.br.u.begin(), p.br.u.end(), 0.f);
  std::fill(p.ce.c.begin(), p.ce.c.end(), 0.f);
  if (clear_ring) std::fill(p.ring.begin(), p.ring.end(), 0.f);
}

void Network::grow_ring(Population& p, int32_t slots) {
  if (slots <= p.slots) return;
  const size_t stride = size_t(p.n_rec) * size_t(p.n_targets());
  std::vector<float> ring(size_t(slots) * stride, 0.f);
  // The slot of absolute step t is t mod D: move pending steps [step, step + D_old) over.
  for (int64_t t = step_; t < step_ + p.slots; ++t) {
    const size_t from = size_t(t % p.slots) * stride, to = size_t(t % slots) * stride;
    std::copy_n(p.ring.begin() + int64_t(from), stride, ring.begin() + int64_t(to));
  }
  p.ring.swap(ring);
  p.slots = slots;
}

void Network::set_ring(int32_t pop, int32_t slots, const float* data, int64_t len) {
  Population& p = pop_ref(pop);
  require(slots >= 1, "slots", "must be >= 1");
  require(len == int64_t(slots) * p.n_rec * p.n_targets(), "ring",
          "size must be slots x receptors x targets");
  for (int64_t k = 0; k < len; ++k)
    if (!std::isfinite(data[k])) throw value_error("ring: contains NaN or inf");
  if (slots < p.slots) throw value_error("slots: smaller than the ring this network needs");
  p.ring.assign(data, data + len);
  p.slots = slots;
}

// ------------------------------------------------------------------------------- projections

uint16_t Network::delay_steps(double ms, const char* arg) const {
  require_finite(ms, arg);
  const double s = std::round(ms / dt_);
  // called once per synapse: format messages only on failure
  if (!(s >= 1))
    throw value_error(message(arg, "must be at least one step (dt = " + str(dt_) + " ms), got " +
                                       str(ms) + " ms"));
  if (!(s <= max_delay_steps_))
    throw value_error(message(arg, "must be at most max_delay (" + str(max_delay_steps_ * dt_) +
                                       " ms), got " + str(ms) + " ms"));
  return uint16_t(s);
}

int32_t Network::finish_projection(Projection&& pj) {
  Population& q = pop_ref(pj.post);
  const int32_t md = pj.m.max_delay();
  grow_ring(q, md + 1);
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
  const bool same = pre == post;
  const bool no_aut = same && !allow_autapses;
  const uint64_t jid = uint64_t(projs_.size());
  const uint64_t cstream = kStreamConnect + jid;
  std::vector<int32_t> ci, cj;  // generation order
  auto reserve = [&](double n) {
    ci.reserve(size_t(n));
    cj.reserve(size_t(n));
  };
  // Generate synapses for the iterated side [0, n_for) in thread blocks, each index x from its own
  // counter RNG stream, then concatenate in block order: the same list for any thread count.
  const int T = pool_->size();
  auto generate = [&](int32_t n_for, double per, const auto& gen) {
    if (T == 1 || double(n_for) * per < 2e5) {
      reserve(per * n_for * 1.05 + 16);
      gen(0, n_for, ci, cj);
      return;
    }
    std::vector<std::vector<int32_t>> gi(static_cast<size_t>(T)), gj(static_cast<size_t>(T));
    pool_->run([&](int rank) {
      int64_t b, e;
      ThreadPool::block_range(n_for, T, rank, b, e);
      gi[size_t(rank)].reserve(size_t(per * double(e - b) * 1.05 + 16));
      gj[size_t(rank)].reserve(size_t(per * double(e - b) * 1.05 + 16));
      gen(int32_t(b), int32_t(e), gi[size_t(rank)], gj[size_t(rank)]);
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
  switch (rule) {
    case ConnRule::AllToAll: {
      reserve(double(np) * nq);
      for (int32_t i = 0; i < np; ++i)
        for (int32_t j = 0; j < nq; ++j) {
          if (no_aut && i == j) continue;
          ci.push_back(i);
          cj.push_back(j);
        }
      break;
    }
    case ConnRule::OneToOne: {
      require(np == nq, "post", "one_to_one needs populations of equal size (" +
                                    std::to_string(np) + " != " + std::to_string(nq) + ")");
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
        generate(np, param * nq, [&](int32_t b, int32_t e, std::vector<int32_t>& gi,
                                     std::vector<int32_t>& gj) {
          for (int32_t i = b; i < e; ++i) {
            CounterRng r(seed_, cstream, uint64_t(i), 0);
            int64_t j = -1;
            for (;;) {
              // geometric skip, computed in double so that tiny p cannot overflow
              const double skip =
                  param >= 1 ? 0.0 : std::floor(std::log(r.uniform_pos()) / l1p);
              if (double(j) + 1.0 + skip >= double(nq)) break;
              j += 1 + int64_t(skip);
              if (no_aut && j == i) continue;
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
      const int64_t avail = n_from - (no_aut ? 1 : 0);
      if (k > 0) {
        require(avail >= 1, arg, "no possible partner (autapses forbidden, population of one)");
        if (!allow_multapses)
          require(k <= avail, arg,
                  "must be <= " + std::to_string(avail) + " without multapses, got " +
                      std::to_string(k));
      }
      generate(n_for, double(k), [&](int32_t b, int32_t e, std::vector<int32_t>& gi,
                                     std::vector<int32_t>& gj) {
        std::vector<uint8_t> mark(allow_multapses ? 0 : size_t(n_from), 0);
        std::vector<int32_t> picked;
        for (int32_t x = b; x < e; ++x) {
          CounterRng r(seed_, cstream, uint64_t(x), 0);
          picked.clear();
          while (int64_t(picked.size()) < k) {
            const int32_t y = int32_t(r.below(uint64_t(n_from)));
            if (no_aut && y == x) continue;
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
    default: throw value_error("rule: unknown connection rule");
  }
  const int64_t n = int64_t(ci.size());
  if (weight.kind == ValueSpec::Array)
    require(weight.len == n, "weight",
            "array length " + std::to_string(weight.len) + " does not match the " +
                std::to_string(n) + " synapses of this rule");
  if (delay_ms.kind == ValueSpec::Array)
    require(delay_ms.len == n, "delay",
            "array length " + std::to_string(delay_ms.len) + " does not match the " +
                std::to_string(n) + " synapses of this rule");
  std::vector<float> w(static_cast<size_t>(n));
  std::vector<uint16_t> d(static_cast<size_t>(n));
  const bool dist_delay = delay_ms.kind == ValueSpec::Normal || delay_ms.kind == ValueSpec::Uniform;
  const uint16_t dconst = delay_ms.kind == ValueSpec::Const ? delay_steps(delay_ms.a, "delay") : 1;
  if (delay_ms.kind == ValueSpec::Array)  // validate before the (parallel) fill
    for (int64_t k = 0; k < n; ++k) (void)delay_steps(delay_ms.arr[k], "delay");
  auto fill = [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      w[size_t(k)] = float(spec_value(weight, seed_, kStreamWeight + jid, k));
      if (delay_ms.kind == ValueSpec::Const) {
        d[size_t(k)] = dconst;
      } else if (dist_delay) {
        // distributions are clipped to [1 step, max_delay]
        double s = std::round(spec_value(delay_ms, seed_, kStreamDelay + jid, k) / dt_);
        s = std::min<double>(std::max<double>(s, 1.0), max_delay_steps_);
        d[size_t(k)] = uint16_t(s);
      } else {
        d[size_t(k)] = uint16_t(std::round(double(delay_ms.arr[k]) / dt_));
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
                               const int32_t* post_idx, const float* weight,
                               const uint16_t* delay, int64_t n, bool allow_autapses,
                               bool allow_multapses) {
  const Population& P = population(pre);
  const Population& Q = population(post);
  require(Q.model != NeuronModel::Source, "post", "a spike source cannot receive synapses");
  for (int64_t k = 0; k < n; ++k) {
    require_index(pre_idx[k], P.n, "pre_index");
    require_index(post_idx[k], Q.n_targets(), "post_index");
    require(delay[k] >= 1 && delay[k] <= max_delay_steps_, "delay",
            "must be in [1, max_delay] steps");
    if (!std::isfinite(weight[k])) throw value_error("weight: contains NaN or inf");
    if (!allow_autapses && pre == post && pre_idx[k] == post_idx[k])
      throw value_error("pre_index: autapse " + std::to_string(pre_idx[k]) +
                        " while allow_autapses is False");
  }
  Projection pj;
  pj.pre = pre;
  pj.post = post;
  pj.allow_autapses = allow_autapses;
  pj.allow_multapses = allow_multapses;
  pj.m = SynapseMatrix::from_coo(P.n, Q.n_targets(), pre_idx, post_idx, weight, delay, n, kSlack);
  if (!allow_multapses) {
    for (int32_t r = 0; r < pj.m.n_pre(); ++r)
      for (int64_t k = pj.m.row_begin(r) + 1; k < pj.m.row_end(r); ++k)
        if (pj.m.post()[k] == pj.m.post()[k - 1])
          throw value_error("post_index: multapse " + std::to_string(r) + " -> " +
                            std::to_string(pj.m.post()[k]) + " while allow_multapses is False");
  }
  return finish_projection(std::move(pj));
}

void Network::set_receptor(int32_t j, int32_t r) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  const Population& q = population(pj.post);
  require(r >= -1 && r < q.n_rec, "receptor",
          "must be -1 (default) or in [0, " + std::to_string(q.n_rec) + ") for population '" +
              q.name + "', got " + std::to_string(r));
  pj.receptor = r;
  pj.dirty = true;
}

void Network::set_weights(int32_t j, const float* w, int64_t n) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  require(n == pj.m.nnz(), "weight", "length must equal the number of synapses (" +
                                         std::to_string(pj.m.nnz()) + ")");
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(w[k])) throw value_error("weight: contains NaN or inf");
  int64_t i = 0;
  for (int32_t r = 0; r < pj.m.n_pre(); ++r)
    for (int64_t p = pj.m.row_begin(r); p < pj.m.row_end(r); ++p) pj.m.weight()[p] = w[i++];
  pj.dirty = true;
}

// ------------------------------------------------------------------- structural plasticity

int64_t Network::prune_fraction(int32_t j, double fraction, bool random) {
  require_index(j, int64_t(projs_.size()), "projection");
  Projection& pj = projs_[size_t(j)];
  require_probability(fraction, "fraction");
  const int64_t k = random ? pj.m.prune_random(fraction, seed_ ^ (kStreamPlastic + uint64_t(j)),
                                               uint64_t(step_))
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
  require_finite(weight, "weight");
  const uint16_t d = delay_steps(delay_ms, "delay");
  Projection& pj = projs_[size_t(j)];
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k = pj.m.regrow_random(count, float(weight), d, aut, pj.allow_multapses,
                                       seed_ ^ (kStreamPlastic + uint64_t(j)), uint64_t(step_));
  grow_ring(pop_ref(pj.post), int32_t(d) + 1);
  pj.dirty = true;
  return k;
}

int64_t Network::regrow_scores(int32_t j, int64_t count, const float* scores, double weight,
                               double delay_ms) {
  require_index(j, int64_t(projs_.size()), "projection");
  require(count >= 0, "count", "must be >= 0");
  require_finite(weight, "weight");
  const uint16_t d = delay_steps(delay_ms, "delay");
  Projection& pj = projs_[size_t(j)];
  const bool aut = pj.allow_autapses || pj.pre != pj.post;
  const int64_t k = pj.m.regrow_top_scores(count, scores, float(weight), d, aut);
  grow_ring(pop_ref(pj.post), int32_t(d) + 1);
  pj.dirty = true;
  return k;
}

// ------------------------------------------------------------------------------------ inputs

int32_t Network::add_poisson(int32_t pop, double rate_hz, double weight, int32_t lo, int32_t hi) {
  const Population& p = population(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  require_nonnegative(rate_hz, "rate");
  require_finite(weight, "weight");
  require(lo >= 0 && hi <= p.n_targets() && lo < hi, "neurons",
          "range must be non-empty and inside the population (its branch compartments for a "
          "dendritic population)");
  PoissonInput in;
  in.pop = pop;
  in.rate_hz = rate_hz;
  in.weight = float(weight);
  in.lo = lo;
  in.hi = hi;
  in.stream = kStreamPoisson + uint64_t(poisson_.size());
  in.lambda = rate_hz * dt_ * 1e-3;
  in.exp_minus_lambda = std::exp(-in.lambda);
  require(in.lambda < 1e6, "rate", "too high for this dt");
  if (in.lambda > 0 && in.lambda < 10.0) {
    // thr[k] = ceil(2^32 P(X <= k)) below 2^32: a 32-bit word u gives #{k : u >= thr[k]}
    double p = in.exp_minus_lambda, f = p;
    for (int k = 0; k < 200; ++k) {
      const double x = std::ceil(f * 4294967296.0);
      if (x >= 4294967296.0) break;
      in.thr.push_back(uint32_t(x));
      p *= in.lambda / double(k + 1);
      f += p;
    }
  }
  poisson_.push_back(in);
  return int32_t(poisson_.size() - 1);
}

void Network::add_events(int32_t pop, const int64_t* step, const int32_t* id, const float* w,
                         int64_t n) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  for (int64_t k = 0; k < n; ++k) {
    if (step[k] < step_) throw_past_time(step_);
    require_index(id[k], p.n_targets(), "neurons");
    if (!std::isfinite(w[k])) throw value_error("weight: contains NaN or inf");
  }
  // events of past steps were used already: drop them so that scheduling stays O(pending)
  {
    const size_t past = size_t(std::lower_bound(p.ev_step.begin(), p.ev_step.end(), step_) -
                               p.ev_step.begin());
    p.ev_step.erase(p.ev_step.begin(), p.ev_step.begin() + int64_t(past));
    p.ev_id.erase(p.ev_id.begin(), p.ev_id.begin() + int64_t(past));
    p.ev_w.erase(p.ev_w.begin(), p.ev_w.begin() + int64_t(past));
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return step[a] < step[b]; });
  // merge with the existing (sorted) events: existing ones first on equal steps
  std::vector<int64_t> s2;
  std::vector<int32_t> i2;
  std::vector<float> w2;
  s2.reserve(p.ev_step.size() + size_t(n));
  i2.reserve(s2.capacity());
  w2.reserve(s2.capacity());
  size_t a = 0, b = 0;
  while (a < p.ev_step.size() || b < size_t(n)) {
    if (b == size_t(n) || (a < p.ev_step.size() && p.ev_step[a] <= step[order[b]])) {
      s2.push_back(p.ev_step[a]);
      i2.push_back(p.ev_id[a]);
      w2.push_back(p.ev_w[a]);
      ++a;
    } else {
      const int64_t k = order[b++];
      s2.push_back(step[k]);
      i2.push_back(id[k]);
      w2.push_back(w[k]);
    }
  }
  p.ev_step.swap(s2);
  p.ev_id.swap(i2);
  p.ev_w.swap(w2);
}

void Network::add_source_spikes(int32_t pop, const int64_t* step, const int32_t* id, int64_t n) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::Source, "population", "is not a spike source");
  for (int64_t k = 0; k < n; ++k) {
    if (step[k] < step_) throw_past_time(step_);
    require_index(id[k], p.n, "neurons");
  }
  std::vector<std::pair<int64_t, int32_t>> ev;
  ev.reserve(p.src_step.size() + size_t(n));
  // spikes of past steps were emitted already: keep only pending ones
  for (size_t k = 0; k < p.src_step.size(); ++k)
    if (p.src_step[k] >= step_) ev.emplace_back(p.src_step[k], p.src_id[k]);
  for (int64_t k = 0; k < n; ++k) ev.emplace_back(step[k], id[k]);
  if (!std::is_sorted(ev.begin(), ev.end())) std::sort(ev.begin(), ev.end());  // often sorted
  ev.erase(std::unique(ev.begin(), ev.end()), ev.end());
  p.src_step.resize(ev.size());
  p.src_id.resize(ev.size());
  for (size_t k = 0; k < ev.size(); ++k) {
    p.src_step[k] = ev[k].first;
    p.src_id[k] = ev[k].second;
  }
}

void Network::set_source_rates(int32_t pop, const float* rate_hz) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::Source, "population", "is not a spike source");
  std::vector<uint64_t> thr(size_t(p.n));
  bool any = false;
  for (int32_t i = 0; i < p.n; ++i) {
    const double r = rate_hz[i];
    require_nonnegative(r, "rate");
    const double prob = r * dt_ * 1e-3;
    if (!(prob <= 1.0))
      throw value_error("rate: must be <= 1 / dt (at most one spike per step), got " +
                        std::to_string(r) + " Hz");
    thr[size_t(i)] = uint64_t(std::llround(prob * 4294967296.0));
    any |= thr[size_t(i)] > 0;
  }
  if (!any) {
    p.src_rate.clear();
    p.src_thr.clear();
    return;
  }
  p.src_rate.assign(rate_hz, rate_hz + p.n);
  p.src_thr.swap(thr);
}

void Network::set_current_const(int32_t pop, const float* i) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  for (int32_t k = 0; k < p.n; ++k)
    if (!std::isfinite(i[k])) throw value_error("current: contains NaN or inf");
  if (p.i_const.empty()) p.i_const.assign(size_t(p.n), 0.f);
  for (int32_t k = 0; k < p.n; ++k) p.i_const[size_t(k)] += i[k];
}

void Network::set_current_steps(int32_t pop, int64_t start, int64_t len, const float* i) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  require(start >= 0, "start", "must be >= 0");
  require(len >= 0, "current", "must have >= 0 rows");
  const int64_t total = len * p.n;
  for (int64_t k = 0; k < total; ++k)
    if (!std::isfinite(i[k])) throw value_error("current: contains NaN or inf");
  require(start >= step_, "start", "must not lie before the current time (step " +
                                      std::to_string(step_) + ")");
  // rows of past steps were used already: drop them (repeated trials stay O(pending))
  if (p.i_len > 0 && p.i_start < step_) {
    const int64_t drop = std::min(p.i_len, step_ - p.i_start);
    p.i_steps.erase(p.i_steps.begin(), p.i_steps.begin() + drop * p.n);
    p.i_start += drop;
    p.i_len -= drop;
  }
  // Merge with an existing array over the union of step ranges (sums where they overlap).
  const int64_t b = p.i_len ? std::min(p.i_start, start) : start;
  const int64_t e = p.i_len ? std::max(p.i_start + p.i_len, start + len) : start + len;
  std::vector<float> out(size_t(e - b) * size_t(p.n), 0.f);
  for (int64_t t = 0; t < p.i_len; ++t)
    std::copy_n(p.i_steps.begin() + t * p.n, p.n, out.begin() + (p.i_start - b + t) * p.n);
  for (int64_t t = 0; t < len; ++t)
    for (int32_t k = 0; k < p.n; ++k) out[size_t((start - b + t) * p.n + k)] += i[t * p.n + k];
  p.i_steps.swap(out);
  p.i_start = b;
  p.i_len = e - b;
}

// ---------------------------------------------------------------------------------- monitors

int32_t Network::record_spikes(int32_t pop) {
  (void)population(pop);
  SpikeRecord r;
  r.pop = pop;
  spike_recs_.push_back(std::move(r));
  return int32_t(spike_recs_.size() - 1);
}

int32_t Network::record_state(int32_t pop, const std::vector<int32_t>& vars,
                              const std::vector<int32_t>& idx, int64_t every) {
  const Population& p = population(pop);
  require(every >= 1, "every", "must be >= 1 step");
  require(!vars.empty(), "variables", "must name at least one variable");
  for (int32_t v : vars) {
    require(v >= 0 && v <= 5, "variables",
            v == 6 ? "branch potentials u cannot be recorded; read them with get_state"
                   : "unknown state variable");
    require(v != 5 || p.model == NeuronModel::CELIF, "variables",
            "c (context) exists only in CE-LIF populations");
  }
  for (size_t k = 0; k < idx.size(); ++k) {
    require_index(idx[k], p.n, "neurons");
    require(k == 0 || idx[k] > idx[k - 1], "neurons", "must be strictly increasing");
  }
  StateRecord r;
  r.pop = pop;
  r.vars = vars;
  r.idx = idx;
  r.every = every;
  r.start = step_;
  state_recs_.push_back(std::move(r));
  return int32_t(state_recs_.size() - 1);
}

int32_t Network::record_rate(int32_t pop) {
  (void)population(pop);
  RateRecord r;
  r.pop = pop;
  r.start = step_;
  rate_recs_.push_back(std::move(r));
  return int32_t(rate_recs_.size() - 1);
}

SpikeRecord& Network::spike_record(int32_t r) {
  require_index(r, int64_t(spike_recs_.size()), "recorder");
  return spike_recs_[size_t(r)];
}
StateRecord& Network::state_record(int32_t r) {
  require_index(r, int64_t(state_recs_.size()), "recorder");
  return state_recs_[size_t(r)];
}
RateRecord& Network::rate_record(int32_t r) {
  require_index(r, int64_t(rate_recs_.size()), "recorder");
  return rate_recs_[size_t(r)];
}

size_t Network::memory_bytes() const {
  size_t b = 0;
  for (const auto& pj : projs_) b += pj.m.memory_bytes() + pj.bounds.capacity() * 8;
  for (const auto& p : pops_)
    b += p.ring.capacity() * 4 + p.s.size() * 16 + p.a.capacity() * 4 +
         (p.br.u.capacity() + p.br.bias.capacity() + p.ce.c.capacity() + p.ce.lam.capacity() +
          p.ce.one_m_lam.capacity()) * 4;
  return b;
}

// ----------------------------------------------------------------------------------- running

void Network::prepare(int64_t n_steps) {
  const int T = pool_->size();
  for (auto& pj : projs_) {
    if (!pj.dirty && pj.bounds_t == T) continue;
    const SynapseMatrix& m = pj.m;
    const int32_t nq = pops_[size_t(pj.post)].n;
    const int32_t K = pops_[size_t(pj.post)].br.K;  // targets are branch compartments j K + k
    pj.bounds.assign(size_t(m.n_pre()) * size_t(T + 1), 0);
    std::vector<int64_t> lo(size_t(T) + 1);
    for (int b = 0; b < T; ++b) {
      int64_t e;
      ThreadPool::block_range(nq, T, b, lo[size_t(b)], e);
      lo[size_t(b)] *= K;
    }
    uint16_t dmin = 65535, dmax = 1;
    bool any_pos = false, any_neg = false;
    bool wconst = m.nnz() > 0, first = true;
    uint32_t wbits0 = 0;
    for (int32_t r = 0; r < m.n_pre(); ++r) {
      const int32_t* pb = m.post() + m.row_begin(r);
      const int32_t* pe = m.post() + m.row_end(r);
      int64_t* out = pj.bounds.data() + size_t(r) * size_t(T + 1);
      for (int b = 0; b < T; ++b)
        out[b] = int64_t(std::lower_bound(pb, pe, int32_t(lo[size_t(b)])) - m.post());
      out[T] = m.row_end(r);
      for (int64_t k = m.row_begin(r); k < m.row_end(r); ++k) {
        dmin = std::min(dmin, m.delay()[k]);
        dmax = std::max(dmax, m.delay()[k]);
        const float w = m.weight()[k];
        any_pos |= !(w < 0);
        any_neg |= (w < 0);
        uint32_t wb;
        std::memcpy(&wb, &w, 4);
        if (first) wbits0 = wb;
        first = false;
        wconst &= wb == wbits0;
      }
    }
    pj.wconst = wconst;
    std::memcpy(&pj.wval, &wbits0, 4);
    if (dmin > dmax) dmin = dmax;
    pj.dmin = dmin;
    pj.dmax = dmax;
    const Population& q = pops_[size_t(pj.post)];
    if (pj.receptor >= 0) pj.recmode = pj.receptor;
    else if (q.n_rec == 1 || q.kind != SynapseKind::Exp || !any_neg) pj.recmode = 0;
    else if (!any_pos) pj.recmode = 1;
    else pj.recmode = 2;
    pj.bounds_t = T;
    pj.dirty = false;
  }
  // spike exchange window: the smallest delay of any projection (spikes of a window only land
  // after it), capped so that spike buffers stay small
  window_ = 64;
  for (const auto& pj : projs_)
    if (pj.m.nnz() > 0) window_ = std::min<int32_t>(window_, pj.dmin);
  window_ = std::max<int32_t>(window_, 1);
  for (int par = 0; par < 2; ++par) {
    spikes_[par].resize(pops_.size());
    for (size_t p = 0; p < pops_.size(); ++p) {
      spikes_[par][p].resize(size_t(T));
      for (auto& l : spikes_[par][p]) {
        l.v.clear();
        l.off.assign(1, 0);
        l.v.reserve(size_t(pops_[p].n / T + 1));
      }
    }
  }
  poisson_by_pop_.assign(pops_.size(), {});
  for (size_t k = 0; k < poisson_.size(); ++k)
    poisson_by_pop_[size_t(poisson_[k].pop)].push_back(int32_t(k));
  thread_events_.assign(size_t(T) * kPad, 0);
  // state recorders: rows for the steps of this run
  const int64_t t0 = step_, t1 = step_ + n_steps;
  for (auto& r : state_recs_) {
    const int64_t first = std::max(r.start, t0);
    int64_t s = r.start + ((first - r.start + r.every - 1) / r.every) * r.every;
    for (; s < t1; s += r.every) r.step.push_back(s);
    const size_t per = r.vars.size() * r.idx.size();
    r.data.resize(r.step.size() * per, 0.f);
  }
  for (auto& r : rate_recs_) r.count.resize(size_t(t1 - r.start), 0);
}

namespace {

// Philox4x32-10 on L independent counters at once (structure of arrays, so the compiler
// vectorises the 32 x 32 -> 64-bit products); the same function as philox4x32() lane by lane.
template <int L>
inline void philox_lanes(uint32_t* __restrict c0, uint32_t* __restrict c1, uint32_t* __restrict c2,
                         uint32_t* __restrict c3, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    for (int l = 0; l < L; ++l) {
      const uint64_t p0 = uint64_t(M0) * c0[l];
      const uint64_t p1 = uint64_t(M1) * c2[l];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[l] ^ k0;
      const uint32_t n2 = uint32_t(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = uint32_t(p1);
      c2[l] = n2;
      c3[l] = uint32_t(p0);
    }
    k0 += W0;
    k1 += W1;
  }
}

// Poisson counts for neurons [lo, hi) at step t, by inversion of a 32-bit uniform word:
// count = #{k : u >= thr[k]}, branch-free and vectorised. Neurons are grouped in global batches
// of 4 L: neuron i = 4 L B + L q + l uses word q of the Philox block with counter (L B + l, 0, t).
// A pure function of (seed, stream, neuron, step), whatever the thread blocks.
inline void poisson_counts(const PoissonInput& in, uint64_t seed, int64_t t, int32_t lo,
                           int32_t hi, float* dst_ex, float* dst_in) {
  float* dst = (in.weight < 0 && dst_in) ? dst_in : dst_ex;
  const float w = in.weight;
  if (in.lambda <= 0) return;
  if (in.thr.empty()) {
    for (int32_t i = lo; i < hi; ++i) {
      CounterRng r(seed, in.stream, uint64_t(i), uint64_t(t));
      const int64_t c = r.poisson(in.lambda);
      if (c) dst[i] += float(c) * w;
    }
    return;
  }
  const uint64_t key = splitmix64(seed ^ splitmix64(in.stream + 0x632BE59BD9B4E019ull));
  const uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  const uint32_t tlo = uint32_t(uint64_t(t)), thi = uint32_t(uint64_t(t) >> 32);
  constexpr int L = 64;
  alignas(64) uint32_t c[4][L];
  alignas(64) uint32_t cnt[L];
  const uint32_t* thr = in.thr.data();
  const int nthr = int(in.thr.size());
  for (int64_t B = lo / (4 * L); B * 4 * L < hi; ++B) {
    for (int l = 0; l < L; ++l) {
      c[0][l] = uint32_t(B * L + l);
      c[1][l] = 0;
      c[2][l] = tlo;
      c[3][l] = thi;
    }
    philox_lanes<L>(c[0], c[1], c[2], c[3], k0, k1);
    for (int q = 0; q < 4; ++q) {
      const int64_t base = B * 4 * L + int64_t(q) * L;
      const int64_t a = std::max<int64_t>(lo, base) - base;
      const int64_t b = std::min<int64_t>(hi, base + L) - base;
      if (a >= b) continue;
      const uint32_t* u = c[q];
      for (int l = 0; l < L; ++l) cnt[l] = 0;
      for (int k = 0; k < nthr; ++k) {
        const uint32_t th = thr[k];
        for (int l = 0; l < L; ++l) cnt[l] += u[l] >= th ? 1u : 0u;
      }
      float* d = dst + base;
      for (int64_t l = a; l < b; ++l) d[l] += float(cnt[l]) * w;
    }
  }
}

// Update neurons [lo, hi) with this step's input (read and cleared from the ring slot) and
// collect the spiking ones. Two passes: the neuron step over a chunk writes spike flags (no
// push_back inside, so the compiler can vectorise the shared lif_step / alif_step), then the
// flags are gathered in neuron order.
// Branch-free LIF chunk: the same float operations in the same order as lif_step<K> (so results
// are bitwise equal), with the refractory and threshold branches written as selects so that the
// loop vectorises. Spike flags are int32 so every array in the loop has 4-byte lanes.
template <SynapseKind K, bool Cur, bool Soft>
inline void lif_chunk(const LIFCoeffs& c, int32_t b, int32_t n, float* __restrict v,
                      float* __restrict iex, float* __restrict iin, int32_t* __restrict ref,
                      float* __restrict in0, float* __restrict in1, const float* __restrict cur,
                      float scale, int32_t* __restrict flag) {
  const float vd = c.v_drive, p22 = c.p22, p21ex = c.p21ex, p21in = c.p21in;
  const float p11ex = c.p11ex, p11in = c.p11in, vr = c.v_reset, vth = c.v_th;
  const float jump = c.reset_jump;
  const int32_t nref = c.n_ref;
  v += b; iex += b; iin += b; ref += b; in0 += b;
  if (K == SynapseKind::Exp) in1 += b;
  if (Cur) cur += b;
  for (int32_t k = 0; k < n; ++k) {
    const float x0 = in0[k];
    in0[k] = 0.f;
    const float drive = Cur ? cur[k] * scale : 0.f;
    const int32_t r = ref[k];
    const bool refr = r > 0;
    float vi = v[k];
    int32_t s;
    if constexpr (K == SynapseKind::Exp) {
      const float x1 = in1[k];
      in1[k] = 0.f;
      const float ei = iex[k], ii = iin[k];
      const float vn = (vd + drive) + vi * p22 + ei * p21ex + ii * p21in;
      vi = refr ? vr : vn;
      iex[k] = ei * p11ex + x0;
      iin[k] = ii * p11in + x1;
      s = vi >= vth ? 1 : 0;
    } else {
      const float vn = (vd + drive) + vi * p22 + x0;
      vi = refr ? vr : vn;
      s = (!refr && vi >= vth) ? 1 : 0;
    }
    const float vs = Soft ? vi - jump : vr;
    v[k] = s ? vs : vi;
    ref[k] = s ? nref : (refr ? r - 1 : r);
    flag[k] = s;
  }
}

template <SynapseKind K, bool Adapt, bool Cur>
void update_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                  std::vector<int32_t>& out) {
  if constexpr (!Adapt) {
    constexpr int C = 512;
    alignas(64) int32_t flag[C];
    const LIFCoeffs& lc = p.c.lif;
    for (int32_t b = lo; b < hi; b += C) {
      const int32_t n = std::min(C, hi - b);
      if (lc.soft_reset)
        lif_chunk<K, Cur, true>(lc, b, n, p.s.v.data(), p.s.i_ex.data(), p.s.i_in.data(),
                                p.s.ref.data(), in0, in1, cur, p.cur_scale, flag);
      else
        lif_chunk<K, Cur, false>(lc, b, n, p.s.v.data(), p.s.i_ex.data(), p.s.i_in.data(),
                                 p.s.ref.data(), in0, in1, cur, p.cur_scale, flag);
      // gather in neuron order, skipping silent groups of 16 with one vector test
      for (int32_t k = n; k < ((n + 15) & ~15); ++k) flag[k] = 0;
      for (int32_t g = 0; g < n; g += 16) {
        int32_t any = 0;
        for (int32_t k = 0; k < 16; ++k) any |= flag[g + k];
        if (!any) continue;
        for (int32_t k = g; k < g + 16; ++k)
          if (flag[k]) out.push_back(b + k);
      }
    }
    return;
  }
  const ALIFCoeffs c = p.c;
  float* __restrict v = p.s.v.data();
  float* __restrict iex = p.s.i_ex.data();
  float* __restrict iin = p.s.i_in.data();
  int32_t* __restrict ref = p.s.ref.data();
  float* __restrict a = p.a.data();
  const float scale = p.cur_scale;
  constexpr int C = 256;
  alignas(64) uint8_t flag[C];
  for (int32_t b = lo; b < hi; b += C) {
    const int32_t n = std::min(C, hi - b);
    for (int32_t k = 0; k < n; ++k) {
      const int32_t i = b + k;
      const float x0 = in0[i];
      const float x1 = K == SynapseKind::Exp ? in1[i] : 0.f;
      in0[i] = 0.f;
      if (K == SynapseKind::Exp) in1[i] = 0.f;
      const float drive = Cur ? cur[i] * scale : 0.f;
      float vi = v[i], ei = iex[i], ii = iin[i], ai = a[i];
      int32_t ri = ref[i];
      bool s;
      if (Adapt)
        s = alif_step<K>(c, vi, ei, ii, ri, ai, x0, x1, drive);
      else
        s = lif_step<K>(c.lif, vi, ei, ii, ri, x0, x1, drive);
      v[i] = vi;
      ref[i] = ri;
      if (K == SynapseKind::Exp) {
        iex[i] = ei;
        iin[i] = ii;
      }
      if (Adapt) a[i] = ai;
      flag[k] = s;
    }
    for (int32_t k = 0; k < n; ++k)
      if (flag[k]) out.push_back(b + k);
  }
}

// Dendritic branch stage of neurons [lo, hi) (Branches in engine/network.hpp): reads and clears
// the branch inputs `in` [n K], advances the branch state and writes the soma input y[j]. Same
// float operations in the same order as dendritic_soma_input (y summed from 0 over k).
template <BranchFn G>
void branch_range(Branches& br, int32_t lo, int32_t hi, float* __restrict in,
                  float* __restrict y) {
  const int32_t K = br.K;
  const float d = br.decay;
  const float* __restrict b = br.bias.empty() ? nullptr : br.bias.data();
  float* __restrict u = br.u.data();
  for (int32_t j = lo; j < hi; ++j) {
    float acc = 0.f;
    for (int64_t k = int64_t(j) * K; k < int64_t(j + 1) * K; ++k) {
      const float s = in[k];
      in[k] = 0.f;
      const float uk = d == 0.f ? s : u[k] * d + s;
      u[k] = uk;
      acc += branch_g<float>(G, b ? uk + b[k] : uk);
    }
    y[j] = acc;
  }
}

// CE-LIF neurons [lo, hi): current I = receptor 0 (+ current input), context q = receptor 1 (or
// I when shared); celif_pre / celif_post as the training kernel, spike when h - theta >= 0.
void celif_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                 std::vector<int32_t>& out) {
  CELIFPopulation& c = p.ce;
  float* __restrict v = p.s.v.data();
  float* __restrict a = p.a.data();
  float* __restrict cc = c.c.data();
  const float* __restrict lam = c.lam.data();
  const float* __restrict oml = c.one_m_lam.data();
  for (int32_t i = lo; i < hi; ++i) {
    float I = in0[i];
    in0[i] = 0.f;
    if (cur) I = I + cur[i];
    float q = I;
    if (!c.shared) {
      q = in1[i];
      in1[i] = 0.f;
    }
    float x;
    const float h = celif_pre<float>(v[i], a[i], cc[i], I, q, c.beta, lam[i], oml[i], c.beta_a,
                                     c.gamma, c.v_th, x);
    const float z = x >= 0.f ? 1.f : 0.f;
    celif_post<float>(v[i], a[i], h, z, c.rho, c.one_m_rho);
    if (z != 0.f) out.push_back(i);
  }
}

template <SynapseKind K, bool Adapt>
void update_dispatch_cur(Population& p, int32_t lo, int32_t hi, float* in0, float* in1,
                         const float* cur, std::vector<int32_t>& out) {
  if (cur) update_range<K, Adapt, true>(p, lo, hi, in0, in1, cur, out);
  else update_range<K, Adapt, false>(p, lo, hi, in0, in1, cur, out);
}

}  // namespace

void Network::update_block(Population& p, int32_t pi, int rank, int64_t t,
                           std::vector<int32_t>& out) {
  int64_t lo64, hi64;
  ThreadPool::block_range(p.n, pool_->size(), rank, lo64, hi64);
  const int32_t lo = int32_t(lo64), hi = int32_t(hi64);
  if (lo >= hi) return;  // spikes are appended to `out`
  if (p.model == NeuronModel::Source) {
    auto b = std::lower_bound(p.src_step.begin(), p.src_step.end(), t);
    auto e = std::upper_bound(b, p.src_step.end(), t);
    const size_t ib = size_t(b - p.src_step.begin()), ie = size_t(e - p.src_step.begin());
    auto ids_b = p.src_id.begin() + int64_t(ib), ids_e = p.src_id.begin() + int64_t(ie);
    auto it = std::lower_bound(ids_b, ids_e, lo);
    if (p.src_thr.empty()) {
      for (; it != ids_e && *it < hi; ++it) out.push_back(*it);
      return;
    }
    // Poisson source: neuron i spikes if its uniform word u < thr[i] (or if scheduled).
    // Words as in poisson_counts: neuron i = 4 L B + L q + l, Philox counter (L B + l, 0, t).
    const uint64_t key =
        splitmix64(seed_ ^ splitmix64(kStreamSource + uint64_t(pi) + 0x632BE59BD9B4E019ull));
    const uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
    constexpr int L = 64;
    alignas(64) uint32_t c[4][L];
    const uint64_t* thr = p.src_thr.data();
    for (int64_t B = lo / (4 * L); B * 4 * L < hi; ++B) {
      for (int l = 0; l < L; ++l) {
        c[0][l] = uint32_t(B * L + l);
        c[1][l] = 0;
        c[2][l] = uint32_t(uint64_t(t));
        c[3][l] = uint32_t(uint64_t(t) >> 32);
      }
      philox_lanes<L>(c[0], c[1], c[2], c[3], k0, k1);
      const int64_t ia = std::max<int64_t>(lo, B * 4 * L), iz = std::min<int64_t>(hi, (B + 1) * 4 * L);
      for (int64_t i = ia; i < iz; ++i) {
        const int64_t j = i - B * 4 * L;
        bool s = uint64_t(c[j / L][j % L]) < thr[i];
        while (it != ids_e && *it < i) ++it;
        if (it != ids_e && *it == i) s = true;
        if (s) out.push_back(int32_t(i));
      }
    }
    return;
  }
  // ring targets: neurons, or the branch compartments j K + k of a dendritic population
  const int32_t nt = p.n_targets(), K = p.br.K;
  const int32_t tlo = lo * K, thi = hi * K;
  const size_t stride = size_t(p.n_rec) * size_t(nt);
  float* in0 = p.ring.data() + size_t(t % p.slots) * stride;
  float* in1 = p.n_rec == 2 ? in0 + nt : nullptr;
  float* in_neg = p.kind == SynapseKind::Exp ? in1 : nullptr;  // inhibitory receptor
  // external input into this step's slot, in a fixed order: Poisson inputs, then events
  for (int32_t k : poisson_by_pop_[size_t(pi)]) {
    const PoissonInput& in = poisson_[size_t(k)];
    const int32_t a = std::max(tlo, in.lo), b = std::min(thi, in.hi);
    if (a < b) poisson_counts(in, seed_, t, a, b, in0, in_neg);
  }
  if (!p.ev_step.empty()) {
    auto b = std::lower_bound(p.ev_step.begin(), p.ev_step.end(), t);
    for (size_t k = size_t(b - p.ev_step.begin()); k < p.ev_step.size() && p.ev_step[k] == t; ++k) {
      const int32_t id = p.ev_id[k];
      if (id < tlo || id >= thi) continue;
      const float w = p.ev_w[k];
      ((w < 0 && in_neg) ? in_neg : in0)[id] += w;
    }
  }
  // current input of this step
  const float* cur = nullptr;
  const bool arr = p.i_len > 0 && t >= p.i_start && t < p.i_start + p.i_len;
  thread_local std::vector<float> cbuf;
  if (arr && !p.i_const.empty()) {
    cbuf.resize(size_t(p.n));
    const float* row = p.i_steps.data() + (t - p.i_start) * p.n;
    for (int32_t i = lo; i < hi; ++i) cbuf[size_t(i)] = p.i_const[size_t(i)] + row[i];
    cur = cbuf.data();
  } else if (arr) {
    cur = p.i_steps.data() + (t - p.i_start) * p.n;
  } else if (!p.i_const.empty()) {
    cur = p.i_const.data();
  }
  if (p.model == NeuronModel::CELIF) {
    celif_range(p, lo, hi, in0, in1, cur, out);
    return;
  }
  if (K > 1) {  // branch stage: the soma's input of the step replaces the ring slot
    thread_local std::vector<float> ybuf;
    ybuf.resize(size_t(p.n));
    switch (p.br.g) {
      case BranchFn::ReLU: branch_range<BranchFn::ReLU>(p.br, lo, hi, in0, ybuf.data()); break;
      case BranchFn::Sigmoid:
        branch_range<BranchFn::Sigmoid>(p.br, lo, hi, in0, ybuf.data());
        break;
      default: branch_range<BranchFn::Identity>(p.br, lo, hi, in0, ybuf.data()); break;
    }
    in0 = ybuf.data();
  }
  const bool adapt = p.model == NeuronModel::ALIF;
  if (p.kind == SynapseKind::Exp) {
    if (adapt) update_dispatch_cur<SynapseKind::Exp, true>(p, lo, hi, in0, in1, cur, out);
    else update_dispatch_cur<SynapseKind::Exp, false>(p, lo, hi, in0, in1, cur, out);
  } else {
    if (adapt) update_dispatch_cur<SynapseKind::Delta, true>(p, lo, hi, in0, in1, cur, out);
    else update_dispatch_cur<SynapseKind::Delta, false>(p, lo, hi, in0, in1, cur, out);
  }
}

namespace {
template <bool Uniform, int Mode, bool ConstW, typename Lists>
inline int64_t deliver_rows(const Projection& pj, const Lists& lists, int s,
                            int rank, int T, float* const* base, int32_t n) {
  const float wval = pj.wval;
  const int32_t* post = pj.m.post();
  const float* weight = pj.m.weight();
  const uint16_t* delay = pj.m.delay();
  const int64_t* bounds = pj.bounds.data();
  float* const slot = base[pj.dmin];
  int64_t ev = 0;
  for (int rr = 0; rr < T; ++rr) {
    const auto& L = lists[size_t(rr)];
    const int32_t xe = L.off[size_t(s) + 1];
    for (int32_t x = L.off[size_t(s)]; x < xe; ++x) {
      // software prefetch: the bounds of the spike after next, the row slice of the next one
      if (x + 2 < xe) __builtin_prefetch(bounds + size_t(L.v[size_t(x) + 2]) * size_t(T + 1) + rank);
      if (x + 1 < xe) {
        const int64_t kn = bounds[size_t(L.v[size_t(x) + 1]) * size_t(T + 1) + size_t(rank)];
        __builtin_prefetch(post + kn);
        __builtin_prefetch(post + kn + 16);
        if (!ConstW) {
          __builtin_prefetch(weight + kn);
          __builtin_prefetch(weight + kn + 16);
        }
      }
      const int32_t r = L.v[size_t(x)];
      const int64_t* bd = bounds + size_t(r) * size_t(T + 1);
      const int64_t k0 = bd[rank], k1 = bd[rank + 1];
      ev += k1 - k0;
      for (int64_t k = k0; k < k1; ++k) {
        const float w = ConstW ? wval : weight[k];
        float* dst = Uniform ? slot : base[delay[k]];
        if (Mode == 0) dst[post[k]] += w;
        else if (Mode == 1) dst[post[k] + n] += w;
        else dst[post[k] + (w < 0 ? n : 0)] += w;
      }
    }
  }
  return ev;
}
}  // namespace

void Network::deliver(Projection& pj, int rank, int64_t t, int par, int s) {
  const auto& lists = spikes_[par][size_t(pj.pre)];
  bool any = false;
  for (const auto& l : lists) any |= l.off[size_t(s) + 1] > l.off[size_t(s)];
  if (!any) return;
  Population& q = pops_[size_t(pj.post)];
  const int T = pool_->size();
  const int32_t nt = q.n_targets();
  const size_t stride = size_t(q.n_rec) * size_t(nt);
  float* base[65536 / 64];  // enough for typical delays; larger handled below
  std::vector<float*> big;
  float** bp = base;
  if (pj.dmax + 1 > int(sizeof(base) / sizeof(base[0]))) {
    big.resize(size_t(pj.dmax) + 1);
    bp = big.data();
  }
  for (int d = pj.dmin; d <= pj.dmax; ++d) bp[d] = q.ring.data() + size_t((t + d) % q.slots) * stride;
  const bool uni = pj.dmin == pj.dmax;
  int64_t ev;
  switch ((pj.recmode * 2 + (uni ? 1 : 0)) * 2 + (pj.wconst ? 1 : 0)) {
    case 0: ev = deliver_rows<false, 0, false>(pj, lists, s, rank, T, bp, nt); break;
    case 1: ev = deliver_rows<false, 0, true>(pj, lists, s, rank, T, bp, nt); break;
    case 2: ev = deliver_rows<true, 0, false>(pj, lists, s, rank, T, bp, nt); break;
    case 3: ev = deliver_rows<true, 0, true>(pj, lists, s, rank, T, bp, nt); break;
    case 4: ev = deliver_rows<false, 1, false>(pj, lists, s, rank, T, bp, nt); break;
    case 5: ev = deliver_rows<false, 1, true>(pj, lists, s, rank, T, bp, nt); break;
    case 6: ev = deliver_rows<true, 1, false>(pj, lists, s, rank, T, bp, nt); break;
    case 7: ev = deliver_rows<true, 1, true>(pj, lists, s, rank, T, bp, nt); break;
    case 8: ev = deliver_rows<false, 2, false>(pj, lists, s, rank, T, bp, nt); break;
    case 9: ev = deliver_rows<false, 2, true>(pj, lists, s, rank, T, bp, nt); break;
    case 10: ev = deliver_rows<true, 2, false>(pj, lists, s, rank, T, bp, nt); break;
    default: ev = deliver_rows<true, 2, true>(pj, lists, s, rank, T, bp, nt); break;
  }
  thread_events_[size_t(rank) * kPad] += ev;
}

void Network::run(int64_t n_steps) {
  require(n_steps >= 0, "n_steps", "must be >= 0");
  if (n_steps == 0) return;
  prepare(n_steps);
  const int T = pool_->size();
  const int64_t t0 = step_;
  const int32_t n_pops = int32_t(pops_.size());
  // state recorder row lookup: per recorder, first row index of this run
  std::vector<size_t> rec_row0(state_recs_.size());
  for (size_t r = 0; r < state_recs_.size(); ++r) {
    const auto& sr = state_recs_[r];
    rec_row0[r] = size_t(std::lower_bound(sr.step.begin(), sr.step.end(), t0) - sr.step.begin());
  }
  const int64_t W = window_;
  pool_->run([&](int rank) {
    std::vector<size_t> next_row(rec_row0);
    int64_t widx = 0;
    for (int64_t w0 = t0; w0 < t0 + n_steps; w0 += W, ++widx) {
      const int64_t wn = std::min<int64_t>(W, t0 + n_steps - w0);
      const int par = int(widx & 1);
      for (int32_t p = 0; p < n_pops; ++p) {
        SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
        l.v.clear();
        l.off.assign(1, 0);
      }
      // phase 1: update my block of every population for the steps of the window
      for (int64_t t = w0; t < w0 + wn; ++t) {
        for (int32_t p = 0; p < n_pops; ++p) {
          SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
          update_block(pops_[size_t(p)], p, rank, t, l.v);
          l.off.push_back(int32_t(l.v.size()));
        }
        // state recorders: each thread writes its own neurons
        for (size_t r = 0; r < state_recs_.size(); ++r) {
          StateRecord& sr = state_recs_[r];
          if (next_row[r] >= sr.step.size() || sr.step[next_row[r]] != t) continue;
          const Population& p = pops_[size_t(sr.pop)];
          int64_t lo, hi;
          ThreadPool::block_range(p.n, T, rank, lo, hi);
          const size_t ni = sr.idx.size();
          float* row = sr.data.data() + next_row[r] * sr.vars.size() * ni;
          const auto b = std::lower_bound(sr.idx.begin(), sr.idx.end(), int32_t(lo));
          for (auto it = b; it != sr.idx.end() && *it < hi; ++it) {
            const size_t col = size_t(it - sr.idx.begin());
            for (size_t v = 0; v < sr.vars.size(); ++v) {
              float x = 0;
              switch (StateVar(sr.vars[v])) {
                case StateVar::V: x = p.s.v[size_t(*it)]; break;
                case StateVar::IEx: x = p.s.i_ex[size_t(*it)]; break;
                case StateVar::IIn: x = p.s.i_in[size_t(*it)]; break;
                case StateVar::A: x = p.a[size_t(*it)]; break;
                case StateVar::Ref: x = float(p.s.ref[size_t(*it)]); break;
                case StateVar::C: x = p.ce.c[size_t(*it)]; break;
                default: break;
              }
              row[v * ni + col] = x;
            }
          }
          ++next_row[r];
        }
      }
      pool_->barrier();
      // phase 2: deliver the window's spikes step by step into my targets' ring slots
      for (int64_t t = w0; t < w0 + wn; ++t) {
        const int s = int(t - w0);
        for (auto& pj : projs_) deliver(pj, rank, t, par, s);
        if (rank == 0) {
          for (auto& sr : spike_recs_) {
            for (const auto& l : spikes_[par][size_t(sr.pop)]) {
              for (int32_t x = l.off[size_t(s)]; x < l.off[size_t(s) + 1]; ++x) {
                sr.step.push_back(t);
                sr.id.push_back(l.v[size_t(x)]);
              }
            }
          }
          for (auto& rr : rate_recs_) {
            if (t < rr.start) continue;
            int32_t c = 0;
            for (const auto& l : spikes_[par][size_t(rr.pop)])
              c += l.off[size_t(s) + 1] - l.off[size_t(s)];
            rr.count[size_t(t - rr.start)] = c;
          }
        }
      }
    }
  });
  for (int r = 0; r < T; ++r) events_ += thread_events_[size_t(r) * kPad];
  step_ += n_steps;
}

}  // namespace spikecore
