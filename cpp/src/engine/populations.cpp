// Populations: adding them (one per neuron model), dendritic branches, and reading, writing,
// initialising and resetting their state and delay rings.
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "internal.hpp"

namespace spikecore {

using namespace engine_detail;

int32_t Network::add_population(Population&& p) {
  require(p.n >= 1, "n",
          "must be >= 1 (empty populations are not allowed), got " + std::to_string(p.n));
  require_population_memory(p.n, p.n_targets(), "n");
  p.s.resize(size_t(p.n), p.model == NeuronModel::Source ? 0.f : p.c.lif.v_reset);
  p.a.assign(size_t(p.n), 0.f);
  // receptors: exp synapses (ex, in) and CE-LIF with its own context drive (current, context)
  p.ring.reset(
      p.kind == SynapseKind::Exp || (p.model == NeuronModel::CELIF && !p.ce.shared) ? 2 : 1, p.n);
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
                              bool soft_reset, double rho, double beta_a, const std::string& name) {
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
  // fields: beta, rho, beta_a, lambda_c (given per neuron), gamma, v_th; validated by make()
  const CELIFCoeffs coeffs = CELIFCoeffs::make(CELIFParams{beta, rho, beta_a, 0.5, gamma, v_th},
                                               size_t(n), lam, one_m_lam);
  Population p;
  p.name = name;
  p.n = n;
  p.model = NeuronModel::CELIF;
  p.kind = SynapseKind::Delta;
  p.discrete = true;
  p.cur_scale = 1.f;
  static_cast<CELIFCoeffs&>(p.ce) = coeffs;
  p.ce.shared = shared;
  p.ce.c.assign(size_t(n), 0.f);
  return add_population(std::move(p));  // v starts at 0 (v_reset of the default coefficients)
}

// ------------------------------------------------------------------ conversion populations

static std::vector<float> thresholds(int32_t n, const float* theta) {
  require(theta != nullptr, "v_threshold", "expected one threshold per neuron");
  for (int32_t i = 0; i < n; ++i)
    require(std::isfinite(theta[i]) && theta[i] > 0, "v_threshold",
            "every threshold must be finite and > 0, got " + std::to_string(theta[i]));
  return std::vector<float>(theta, theta + n);
}

// A discrete delta-synapse population of a conversion model (start: window offset).
static Population conversion_population(int32_t n, NeuronModel model, int32_t start,
                                        const std::string& name) {
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  require(start >= 0, "start", "window offset must be >= 0 steps, got " + std::to_string(start));
  Population p;
  p.name = name;
  p.n = n;
  p.model = model;
  p.kind = SynapseKind::Delta;
  p.discrete = true;
  p.conv.start = start;
  return p;
}

int32_t Network::add_if(int32_t n, const IFParams& prm, const float* theta,
                        const std::string& name) {
  Population p = conversion_population(n, NeuronModel::IF, 0, name);
  p.conv.ifc = IFCoeffs::make(prm);
  p.conv.is_signed = prm.is_signed();
  p.conv.theta = thresholds(n, theta);
  const int32_t id = add_population(std::move(p));
  reset_state(id);
  return id;
}

int32_t Network::add_stdi(int32_t n, const STDIParams& prm, const float* theta, int32_t start,
                          const std::string& name) {
  Population p = conversion_population(n, NeuronModel::STDI, start, name);
  p.conv.sc = STDICoeffs::make(prm);
  p.conv.is_signed = prm.is_signed();
  p.conv.theta = thresholds(n, theta);
  const STDICoeffs& c = p.conv.sc;
  p.conv.window = c.T + c.D;
  p.conv.spike_w.assign(size_t(c.T + c.D), 0.f);  // bit r - D at relative step r
  for (int32_t t = 0; t < c.T; ++t) p.conv.spike_w[size_t(c.D + t)] = c.factor[size_t(t)];
  const int32_t id = add_population(std::move(p));
  reset_state(id);
  return id;
}

int32_t Network::add_maxgate(int32_t n, int32_t K, const int32_t* count, int32_t stdi_T,
                             bool is_signed, int32_t start, const std::string& name) {
  require(K >= 1 && K <= 4096, "kernel", "candidates per neuron must lie in [1, 4096]");
  require(int64_t(n) * K < (int64_t(1) << 31), "kernel", "n x kernel must be < 2**31");
  require(n >= 1, "n", "must be >= 1 (empty populations are not allowed)");
  require_population_memory(n, int64_t(n) * K, "n");
  require(stdi_T >= 0 && stdi_T <= 30, "T", "must lie in [1, 30] for STDI codes (0: rate)");
  Population p = conversion_population(n, NeuronModel::MaxGate, start, name);
  p.conv.is_signed = is_signed;
  p.conv.count.assign(size_t(n), K);
  if (count)
    for (int32_t j = 0; j < n; ++j) {
      require(count[j] >= 1 && count[j] <= K, "count",
              "valid candidates per neuron must lie in [1, kernel]");
      p.conv.count[size_t(j)] = count[j];
    }
  if (stdi_T > 0) {  // the STDI spike weights of a source with D = 0 (bit r at step r)
    p.conv.gate_stdi = true;
    p.conv.window = stdi_T;
    STDIParams sp;
    sp.T = stdi_T;
    const STDICoeffs c = STDICoeffs::make(sp);
    p.conv.spike_w = c.factor;
  }
  p.br.K = K;
  const int32_t id = add_population(std::move(p));
  Population& q = pops_.back();
  q.ring.reset(q.ring.receptors(), q.n_targets());
  reset_state(id);
  return id;
}

void Network::set_branches(int32_t pop, int32_t K, BranchFn g, double decay, const float* bias) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::LIF || p.model == NeuronModel::ALIF, "branches",
          "only LIF / ALIF populations (continuous or discrete) take dendritic branches");
  require(p.kind == SynapseKind::Delta, "branches",
          "dendritic branches need delta synapses (the branch output is the soma's input)");
  DendriticParams{K, g, decay}.validate();
  require(int64_t(p.n) * K < (int64_t(1) << 31), "branches", "n x K must be < 2**31");
  require_population_memory(p.n, int64_t(p.n) * K, "branches");
  for (const auto& pj : projs_)
    require(pj.post != pop, "branches", "set them before connecting projections to the population");
  for (const auto& in : poisson_)
    require(in.pop != pop, "branches", "set them before adding Poisson inputs");
  require(p.ev_step.empty(), "branches", "set them before adding input events");
  p.br.K = K;
  p.br.g = g;
  p.br.decay = float(decay);
  p.br.bias.clear();
  if (bias) {
    for (int64_t k = 0; k < int64_t(p.n) * K; ++k) require_finite(double(bias[k]), "branch_bias");
    p.br.bias.assign(bias, bias + int64_t(p.n) * K);
  }
  DendriticState u;  // at rest: u = b
  u.resize(size_t(p.n) * size_t(K), bias);
  p.br.u = std::move(u.u);
  p.ring.reset(p.ring.receptors(), p.n_targets());
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
    case StateVar::V:
      return p.s.v.data();
    case StateVar::IEx:
      return p.s.i_ex.data();
    case StateVar::IIn:
      return p.s.i_in.data();
    case StateVar::A:
      return p.a.data();
    case StateVar::C:
      return p.model == NeuronModel::CELIF ? p.ce.c.data() : nullptr;
    case StateVar::U:
      return p.br.K > 1 || p.model == NeuronModel::MaxGate ? p.br.u.data() : nullptr;
    default:
      return nullptr;
  }
}

int64_t Network::state_size(int32_t pop, StateVar var) const {
  const Population& p = population(pop);
  require(int(var) >= 0 && int(var) <= 7, "variable", "unknown state variable");
  if (var == StateVar::C) return p.model == NeuronModel::CELIF ? p.n : 0;
  if (var == StateVar::U)
    return p.br.K > 1 || p.model == NeuronModel::MaxGate ? int64_t(p.n_targets()) : 0;
  if (var == StateVar::Phase)
    return p.model == NeuronModel::STDI || p.model == NeuronModel::MaxGate ? 1 : 0;
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
  if (var == StateVar::Phase) {
    require(state_size(pop, var) == 1, "variable", "this population has no such state variable");
    out[0] = float(step_ - p.conv.t0);
    return;
  }
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
  if (var == StateVar::Phase) {
    require(len == 1, "variable", "this population has no such state variable");
    require(in[0] == std::floor(in[0]) && std::fabs(in[0]) < 1e9f, "phase",
            "must be a whole number of steps");
    p.conv.t0 = step_ - int64_t(in[0]);
    return;
  }
  if (var == StateVar::Ref) {
    for (int32_t i = 0; i < p.n; ++i) {
      require(in[i] >= 0, "ref", "refractory counts must be >= 0");
      // int32 counter: range-check before converting (issue 12: 1e30 left it not refractory)
      if (!(double(in[i]) <= 2147483647.0))
        throw value_error(message("ref",
                                  "refractory counts (steps) must be at most 2**31 - 1 = "
                                  "2147483647, got " +
                                      std::to_string(double(in[i]))));
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
  if (p.br.bias.empty())
    std::fill(p.br.u.begin(), p.br.u.end(), 0.f);
  else
    p.br.u = p.br.bias;  // branches rest at their bias
  std::fill(p.ce.c.begin(), p.ce.c.end(), 0.f);
  // conversion populations: IF v = v0 theta, STDI u = 0, gate P = 0 (valid) / -inf; window
  // restarts `start` steps from now
  ConversionPopulation& cv = p.conv;
  cv.t0 = step_ + cv.start;
  if (p.model == NeuronModel::IF)
    for (int32_t i = 0; i < p.n; ++i) p.s.v[size_t(i)] = cv.ifc.v0 * cv.theta[size_t(i)];
  if (p.model == NeuronModel::MaxGate) {
    const int32_t K = p.br.K;
    p.br.u.resize(size_t(p.n) * size_t(K));
    for (int32_t j = 0; j < p.n; ++j)
      for (int32_t k = 0; k < K; ++k)
        p.br.u[size_t(j) * size_t(K) + size_t(k)] =
            k < cv.count[size_t(j)] ? 0.f : -std::numeric_limits<float>::infinity();
  }
  if (clear_ring) p.ring.clear();
}

void Network::set_ring(int32_t pop, int32_t slots, const float* data, int64_t len) {
  Population& p = pop_ref(pop);
  require(slots >= 1, "slots", "must be >= 1");
  require(len == int64_t(slots) * p.n_rec() * p.n_targets(), "ring",
          "size must be slots x receptors x targets");
  for (int64_t k = 0; k < len; ++k)
    if (!std::isfinite(data[k])) throw value_error("ring: contains NaN or inf");
  if (slots < p.ring.slots()) throw value_error("slots: smaller than the ring this network needs");
  p.ring.assign(slots, data, len);
}
}  // namespace spikecore
