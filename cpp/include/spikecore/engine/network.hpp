#pragma once
// The event-driven simulation engine: populations of neurons, projections (one SynapseMatrix
// each), per-population delay rings (calendar queues), inputs and monitors, advanced by a
// persistent thread team.
//
// Time: t_k = k dt. Step k advances every neuron from t_k to t_{k+1}; a spike emitted in step k
// carries the time t_{k+1} and reaches its targets in step k + d (d = delay in steps >= 1), so its
// effect is visible in their state at t_{k+1} + d dt. State recorded after step k is labelled
// t_{k+1}.
//
// Threads: every population is split into n_threads contiguous blocks; thread b updates block b of
// every population, then delivers the spikes of the step (all populations, in neuron order) into the
// ring slots of its own targets only: every projection row (sorted by post) is cut into per-block
// slices by precomputed boundaries. No locks, no atomics, and each target sums its inputs in one
// fixed order, so rasters are bitwise identical for any number of threads.
// As in NEST, threads exchange spikes once per window of W = (minimum delay) steps: a spike of
// step t lands in slot t + d >= t + W, after the window, so each thread can update W steps on its
// own, then (one barrier) deliver the window's spikes step by step. The summation order per target
// is the same as with W = 1 (ascending spike step, then population, then neuron). Spike lists are
// double buffered by window parity, so one barrier per window suffices.
//
// Random numbers: counter-based (seed, stream, element, step) draws only, never per thread.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spikecore/core/thread_pool.hpp"
#include "spikecore/neurons/alif.hpp"
#include "spikecore/neurons/celif.hpp"
#include "spikecore/neurons/dendritic.hpp"
#include "spikecore/neurons/lif.hpp"
#include "spikecore/synapses/synapse_matrix.hpp"

namespace spikecore {

enum class NeuronModel : int { LIF = 0, ALIF = 1, Source = 2, CELIF = 3 };

// State variables that can be read, written and recorded (U: K values per neuron, read/write
// only; C: CE-LIF context).
enum class StateVar : int { V = 0, IEx = 1, IIn = 2, A = 3, Ref = 4, C = 5, U = 6 };

// Dendritic branches of a (multi-compartment) population: neuron j has K branch compartments
// j K + k, which are the targets of its synapses and inputs. Per step
//   u_jk(t) = delta u_jk(t-1) + s_jk(t)       (s: the summed input of the step; delta = decay)
//   y_j(t)  = sum_k g(u_jk(t) + b_jk)
// and y_j(t) is the soma's input of the step (as a delta synapse). delta = 0 is the
// instantaneous branch of spikecore.nn.DendriticLinear (then u = s and y is bitwise the
// training kernel's dendritic_soma_input).
struct Branches {
  int32_t K = 1;  // 1: point neurons (no branch stage)
  BranchFn g = BranchFn::ReLU;
  float decay = 0.f;
  std::vector<float> u;     // [n K] branch state
  std::vector<float> bias;  // [n K] or empty
};

// A CE-LIF population: the model's coefficients (neurons/celif.hpp), the context state c and
// the receptor layout. shared: the context drive is the current (q = I); otherwise receptor 1
// carries q.
struct CELIFPopulation : CELIFCoeffs {
  bool shared = false;
  std::vector<float> c;  // context state [n]
};

struct Population {
  std::string name;
  int32_t n = 0;
  NeuronModel model = NeuronModel::LIF;
  SynapseKind kind = SynapseKind::Delta;
  bool discrete = false;
  float v0 = 0.f;         // resting value of v (reset_state)
  ALIFCoeffs c;           // c.lif for LIF populations
  float cur_scale = 1.f;  // drive per unit of current input and step: 1 - P22 (or 1 if discrete)
  LIFState s;
  std::vector<float> a;   // ALIF / CE-LIF threshold adaptation
  Branches br;            // dendritic branches (br.K > 1)
  CELIFPopulation ce;     // CE-LIF populations
  int32_t n_rec = 1;      // receptors: 1 (delta), 2 (exp: ex, in; CE-LIF: current, context)
  int32_t slots = 1;      // ring length D (max incoming delay + 1)
  std::vector<float> ring;  // [slots][n_rec][n_targets()]
  // synapse and input targets: the n K branch compartments, or the n neurons
  int32_t n_targets() const { return n * br.K; }
  // current input: constant per neuron and/or per step [len][n] from step `i_start`
  std::vector<float> i_const;
  std::vector<float> i_steps;
  int64_t i_start = 0, i_len = 0;
  // direct input events (step, neuron, weight), sorted by step (stable)
  std::vector<int64_t> ev_step;
  std::vector<int32_t> ev_id;
  std::vector<float> ev_w;
  // spike-source schedule (step, neuron), sorted by (step, neuron), unique
  std::vector<int64_t> src_step;
  std::vector<int32_t> src_id;
  // Poisson spike source: per-neuron rate [Hz] and the 32-bit threshold of rate dt (empty: none)
  std::vector<float> src_rate;
  std::vector<uint64_t> src_thr;
};

struct Projection {
  int32_t pre = 0, post = 0;
  SynapseMatrix m;
  bool allow_autapses = true, allow_multapses = true;
  // derived before a run (recomputed after any change)
  bool dirty = true;
  int32_t bounds_t = 0;
  std::vector<int64_t> bounds;  // n_pre x (n_threads + 1) absolute positions
  uint16_t dmin = 1, dmax = 1;
  int recmode = 0;  // 0: receptor 0 only; 1: receptor 1 only; 2: by sign of weight
  int32_t receptor = -1;  // fixed receptor (0, 1), or -1: by sign (exp synapses) / 0
  // every weight bitwise equal (NEST-style models: one weight per projection): delivery then
  // reads no weight array, half the memory traffic per synapse
  bool wconst = false;
  float wval = 0.f;
};

struct PoissonInput {
  int32_t pop = 0;
  double rate_hz = 0;
  float weight = 0;
  int32_t lo = 0, hi = 0;  // target neurons [lo, hi)
  uint64_t stream = 0;
  double lambda = 0, exp_minus_lambda = 1;
  // inversion table for lambda < 10: count = #{k : u >= thr[k]}, u a uniform 32-bit word
  std::vector<uint32_t> thr;
};

struct SpikeRecord {
  int32_t pop = 0;
  std::vector<int64_t> step;
  std::vector<int32_t> id;
};

struct StateRecord {
  int32_t pop = 0;
  std::vector<int32_t> vars;  // StateVar codes
  std::vector<int32_t> idx;   // recorded neurons (ascending)
  int64_t every = 1, start = 0;
  std::vector<int64_t> step;  // recorded steps
  std::vector<float> data;    // [rows][vars][idx]
};

struct RateRecord {
  int32_t pop = 0;
  int64_t start = 0;
  std::vector<int32_t> count;  // spikes per step, from `start`
};

// A weight or delay specification: a constant, a distribution or a per-synapse array.
struct ValueSpec {
  enum Kind : int { Const = 0, Normal = 1, Uniform = 2, Array = 3 };
  Kind kind = Const;
  double a = 0, b = 0;  // Const: a; Normal: mean a, std b; Uniform: [a, b)
  const float* arr = nullptr;
  int64_t len = 0;
};

enum class ConnRule : int {
  AllToAll = 0,
  PairwiseBernoulli = 1,
  FixedIndegree = 2,
  FixedOutdegree = 3,
  OneToOne = 4
};

class Network {
 public:
  Network(double dt, int n_threads, uint64_t seed, double max_delay_ms);

  double dt() const { return dt_; }
  int64_t step() const { return step_; }
  void set_step(int64_t s);
  uint64_t seed() const { return seed_; }
  int n_threads() const { return pool_->size(); }
  void set_n_threads(int n);
  int32_t max_delay_steps() const { return max_delay_steps_; }

  // --- populations -------------------------------------------------------------------------
  int32_t add_lif(int32_t n, const LIFParams& p, const std::string& name);
  int32_t add_alif(int32_t n, const ALIFParams& p, const std::string& name);
  // Discrete-time LIF / ALIF (trained models): v' = beta v + (1 - beta) v_rest + x. For ALIF,
  // rho = exp(-dt / tau_a) and beta_a the threshold jump (pass rho < 0 for plain LIF).
  int32_t add_discrete(int32_t n, double beta, double v_rest, double v_th, double v_reset,
                       bool soft_reset, double rho, double beta_a, const std::string& name);
  int32_t add_source(int32_t n, const std::string& name);
  // CE-LIF (neurons/celif.hpp), discrete time: lam / one_m_lam hold n values each.
  int32_t add_celif(int32_t n, double beta, double rho, double beta_a, double gamma, double v_th,
                    const float* lam, const float* one_m_lam, bool shared,
                    const std::string& name);
  // Give a LIF / ALIF population (delta synapses, nothing connected to it yet) K dendritic
  // branches (see Branches); bias: n K values or null.
  void set_branches(int32_t pop, int32_t K, BranchFn g, double decay, const float* bias);
  int32_t n_populations() const { return int32_t(pops_.size()); }
  const Population& population(int32_t p) const;

  // --- state -------------------------------------------------------------------------------
  void init_uniform(int32_t pop, StateVar var, double lo, double hi);
  // Values of a state variable: n (U: n K; 0 where the population has no such variable).
  int64_t state_size(int32_t pop, StateVar var) const;
  void get_state(int32_t pop, StateVar var, float* out) const;  // state_size floats
  void set_state(int32_t pop, StateVar var, const float* in);
  // Back to the resting state: v = v_rest (v0), currents, adaptation, context, branch state and
  // refractoriness zero, and (clear_ring) the delay ring emptied (spikes in flight are dropped).
  // Time, inputs and monitors are kept.
  void reset_state(int32_t pop, bool clear_ring = true);
  int32_t ring_slots(int32_t pop) const { return population(pop).slots; }
  int32_t ring_receptors(int32_t pop) const { return population(pop).n_rec; }
  const std::vector<float>& ring(int32_t pop) const { return population(pop).ring; }
  // Replace a ring (slots x n_rec x n, in the layout of a network at the same step).
  void set_ring(int32_t pop, int32_t slots, const float* data, int64_t len);

  // --- projections -------------------------------------------------------------------------
  int32_t connect(int32_t pre, int32_t post, ConnRule rule, double param, const ValueSpec& weight,
                  const ValueSpec& delay_ms, bool allow_autapses, bool allow_multapses);
  // Route all synapses of a projection to receptor r (0 or 1; -1: the default, by the sign of
  // the weight for exp synapses, else receptor 0).
  void set_receptor(int32_t j, int32_t r);
  // Explicit synapses; weight/delay specs of kind Array are aligned with pre/post.
  int32_t connect_explicit(int32_t pre, int32_t post, const int32_t* pre_idx,
                           const int32_t* post_idx, int64_t n, const ValueSpec& weight,
                           const ValueSpec& delay_ms, bool allow_autapses, bool allow_multapses);
  // Same, with delays already in steps (load).
  int32_t connect_steps(int32_t pre, int32_t post, const int32_t* pre_idx,
                        const int32_t* post_idx, const float* weight, const uint16_t* delay,
                        int64_t n, bool allow_autapses, bool allow_multapses);
  int32_t n_projections() const { return int32_t(projs_.size()); }
  const Projection& projection(int32_t j) const;
  const SynapseMatrix& matrix(int32_t j) const { return projection(j).m; }
  void set_weights(int32_t j, const float* w, int64_t n);  // row order

  // --- structural plasticity (O(nnz)) --------------------------------------------------------
  int64_t prune_fraction(int32_t j, double fraction, bool random);
  int64_t prune_threshold(int32_t j, double threshold);
  int64_t regrow_random(int32_t j, int64_t count, double weight, double delay_ms);
  int64_t regrow_scores(int32_t j, int64_t count, const float* scores, double weight,
                        double delay_ms);

  // --- inputs ------------------------------------------------------------------------------
  int32_t add_poisson(int32_t pop, double rate_hz, double weight, int32_t lo, int32_t hi);
  const std::vector<PoissonInput>& poisson_inputs() const { return poisson_; }
  // Events at absolute steps (added to the input of that step).
  void add_events(int32_t pop, const int64_t* step, const int32_t* id, const float* w, int64_t n);
  void add_source_spikes(int32_t pop, const int64_t* step, const int32_t* id, int64_t n);
  // Make a source population fire as independent Poisson processes (at most one spike per step:
  // P(spike) = rate dt), on top of its scheduled spikes. rate_hz: n values (all 0: off).
  void set_source_rates(int32_t pop, const float* rate_hz);
  void set_current_const(int32_t pop, const float* i);  // n values, adds to existing
  void set_current_steps(int32_t pop, int64_t start, int64_t len, const float* i);  // [len][n]

  // --- monitors ------------------------------------------------------------------------------
  int32_t record_spikes(int32_t pop);
  int32_t record_state(int32_t pop, const std::vector<int32_t>& vars,
                       const std::vector<int32_t>& idx, int64_t every);
  int32_t record_rate(int32_t pop);
  SpikeRecord& spike_record(int32_t r);
  StateRecord& state_record(int32_t r);
  RateRecord& rate_record(int32_t r);
  int32_t n_spike_records() const { return int32_t(spike_recs_.size()); }
  int32_t n_state_records() const { return int32_t(state_recs_.size()); }
  int32_t n_rate_records() const { return int32_t(rate_recs_.size()); }

  // --- running -------------------------------------------------------------------------------
  // Advance n_steps steps (releases nothing itself; the binding drops the GIL).
  void run(int64_t n_steps);
  // Synaptic events delivered so far (spikes x targets of their rows).
  int64_t events() const { return events_; }
  void set_events(int64_t e) { events_ = e; }
  size_t memory_bytes() const;

 private:
  Population& pop_ref(int32_t p);
  int32_t add_population(Population&& p);
  void grow_ring(Population& p, int32_t slots);
  int32_t finish_projection(Projection&& pj);
  uint16_t delay_steps(double ms, const char* arg) const;
  void prepare(int64_t n_steps);
  void update_block(Population& p, int32_t pi, int rank, int64_t t, std::vector<int32_t>& out);
  void deliver(Projection& pj, int rank, int64_t t, int par, int s);

  double dt_;
  uint64_t seed_;
  int32_t max_delay_steps_;
  int64_t step_ = 0;
  int64_t events_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<Population> pops_;
  std::vector<Projection> projs_;
  std::vector<PoissonInput> poisson_;
  std::vector<SpikeRecord> spike_recs_;
  std::vector<StateRecord> state_recs_;
  std::vector<RateRecord> rate_recs_;
  // spikes_[parity][pop][rank]: the spikes of one window of steps (ids of step s in
  // v[off[s], off[s + 1])), one cache line per list header (no false sharing)
  struct alignas(64) SpikeList {
    std::vector<int32_t> v;
    std::vector<int32_t> off;
  };
  int32_t window_ = 1;  // steps between spike exchanges: min delay of all projections
  std::vector<std::vector<SpikeList>> spikes_[2];
  std::vector<std::vector<int32_t>> poisson_by_pop_;
  std::vector<int64_t> thread_events_;
};

}  // namespace spikecore
