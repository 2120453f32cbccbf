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
// every population, then delivers the spikes of the step (all populations, in neuron order) into
// the ring slots of its own targets only: every projection row (sorted by post) is cut into
// per-block slices by precomputed boundaries. No locks, no atomics, and each target sums its inputs
// in one fixed order, so rasters are bitwise identical for any number of threads. As in NEST,
// threads exchange spikes once per window of W = (minimum delay) steps: a spike of step t lands in
// slot t + d >= t + W, after the window, so each thread can update W steps on its own, then (one
// barrier) deliver the window's spikes step by step. The summation order per target is the same as
// with W = 1 (ascending spike step, then population, then neuron). Spike lists are double buffered
// by window parity, so one barrier per window suffices. The barrier is split (SplitBarrier): a
// thread that arrives first draws the next window's Poisson input for its own block until the
// others arrive. Each thread's targets have a ring region of their own (DelayRing blocks), so the
// threads' caches and prefetchers never share a line or page of the rings.
//
// Random numbers: counter-based (seed, stream, element, step) draws only, never per thread.
//
// The implementation is split by concern (docs/engine.md lists the files): populations.cpp
// (populations and their state), update.cpp (the neuron update of a block), connect.cpp
// (connection rules), delivery.cpp (spike propagation into the delay rings, DelayRing in
// delay_ring.hpp), inputs.cpp, recording.cpp, plasticity.cpp (structural plasticity) and
// network.cpp (construction and the run loop).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spikecore/core/thread_pool.hpp"
#include "spikecore/engine/population.hpp"
#include "spikecore/engine/projection.hpp"
#include "spikecore/engine/records.hpp"
#include "spikecore/core/barrier.hpp"

namespace spikecore {

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
                    const float* lam, const float* one_m_lam, bool shared, const std::string& name);
  // ANN-to-SNN conversion populations (ConversionPopulation in population.hpp). theta: n
  // thresholds (> 0); start: the window offset after a reset (steps, >= 0).
  int32_t add_if(int32_t n, const IFParams& p, const float* theta, const std::string& name);
  int32_t add_stdi(int32_t n, const STDIParams& p, const float* theta, int32_t start,
                   const std::string& name);
  // Max-pool gate: K candidate compartments per neuron, count: n valid counts in [1, K];
  // stdi_T > 0: STDI codes of T bits (window T), 0: rate coding (no window).
  int32_t add_maxgate(int32_t n, int32_t K, const int32_t* count, int32_t stdi_T, bool is_signed,
                      int32_t start, const std::string& name);
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
  int32_t ring_slots(int32_t pop) const { return population(pop).ring.slots(); }
  int32_t ring_receptors(int32_t pop) const { return population(pop).ring.receptors(); }
  std::vector<float> ring(int32_t pop) const { return population(pop).ring.data(); }
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
  int32_t connect_steps(int32_t pre, int32_t post, const int32_t* pre_idx, const int32_t* post_idx,
                        const float* weight, const uint16_t* delay, int64_t n, bool allow_autapses,
                        bool allow_multapses);
  int32_t n_projections() const { return int32_t(projs_.size()); }
  const Projection& projection(int32_t j) const;
  const SynapseMatrix& matrix(int32_t j) const { return projection(j).m; }
  void set_weights(int32_t j, const float* w, int64_t n);  // row order

  // --- structural plasticity (O(nnz)) --------------------------------------------------------
  // On a partitioned network (set_partition) these are collective: every rank calls them with
  // the same arguments and a `reduce` over the ranks (see RankSplit, synapse_matrix.hpp); the
  // synapses removed and grown, and the counts returned, are those of one process.
  using RankReduce = std::function<void(int64_t* v, int64_t n, bool exscan)>;
  int64_t prune_fraction(int32_t j, double fraction, bool random, const RankReduce& reduce = {});
  int64_t prune_threshold(int32_t j, double threshold, const RankReduce& reduce = {});
  int64_t regrow_random(int32_t j, int64_t count, double weight, double delay_ms,
                        const RankReduce& reduce = {});
  int64_t regrow_scores(int32_t j, int64_t count, const float* scores, double weight,
                        double delay_ms, const RankReduce& reduce = {});

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
  // Restoring saved recordings (Network.load): every field is checked against the network
  // (ids < population size, steps sorted in [start, step), sizes consistent), so an edited file
  // cannot make the run loop write outside a recorder's buffers.
  void restore_spikes(int32_t r, const int64_t* step, const int32_t* id, int64_t n);
  void restore_state_record(int32_t r, int64_t start, const int64_t* steps, int64_t n_steps,
                            const float* data, int64_t n_data);
  void restore_rate(int32_t r, int64_t start, const int32_t* count, int64_t n);

  // --- running -------------------------------------------------------------------------------
  // Advance n_steps steps (releases nothing itself; the binding drops the GIL).
  void run(int64_t n_steps);
  // Synaptic events delivered so far (spikes x targets of their rows).
  int64_t events() const { return events_; }
  void set_events(int64_t e) { events_ = e; }
  size_t memory_bytes() const;
  // Bytes by part (capacities): [0] synapses (matrices, row bounds), [1] delay rings, [2] neuron
  // state, [3] monitors (recorded spikes, states, rates), [4] inputs (currents, events, source
  // schedules, Poisson tables, spike buffers). On a partitioned network only [0] falls with the
  // ranks; the others are held whole by every rank.
  std::vector<int64_t> memory_parts() const;

  // --- distributed runs (several processes; the Python layer exchanges the spikes) ---------
  // This process is rank `rank` of `n_ranks`: it owns the neurons ThreadPool::block_range(n,
  // n_ranks, rank) of every population of n neurons, updates only them and keeps only the
  // synapses onto them (connect, connect_steps); state arrays stay full size. Connection rules
  // draw exactly as in one process (fixed in-degree generates the owned targets only, the other
  // rules generate everything and keep the owned targets). Set before the first projection.
  void set_partition(int rank, int n_ranks);
  int part_rank() const { return part_rank_; }
  int part_size() const { return part_size_; }
  // Owned neurons [lo, hi) of a population of n.
  void owned_range(int32_t n, int64_t& lo, int64_t& hi) const;
  // Neurons [lo, hi) of a population of n that thread b updates: block b of the owned range.
  void thread_block(int32_t n, int b, int64_t& lo, int64_t& hi) const;
  // The window API (what run() does in one process, cut at the spike exchange): window_begin
  // prepares a run of n_steps and returns the window W (steps between exchanges: the minimum
  // delay); window_update advances the owned neurons by min(W, steps left) steps and returns the
  // local spikes of the window (ids step by step, population by population, in neuron order;
  // counts[s * n_pops + p]); window_deliver takes the spikes of every rank (rank-major: counts
  // [rank][s][p], ids in the same order), delivers them into the owned targets' rings, records
  // spikes and rates, and ends the window. Step by step and target by target the summation order
  // is that of run(): rasters are bitwise identical for any ranks x threads.
  int32_t window_begin(int64_t n_steps);
  // Shrink the window to w steps (1 <= w <= window_begin's value) between windows: the ranks
  // must exchange at the same steps, so each passes the minimum of their windows (a rank whose
  // synapses are all longer than another rank's shortest would otherwise wait longer).
  void set_window(int32_t w);
  int64_t window_steps_left() const { return win_end_ - step_; }
  int32_t window_update(std::vector<int32_t>& ids, std::vector<int32_t>& counts);
  void window_deliver(const int32_t* ids, int64_t n_ids, const int32_t* counts, int64_t n_counts,
                      int32_t n_ranks);
  // A window updated and not yet delivered (an exchange was interrupted)?
  bool window_pending() const { return win_n_ > 0; }
  // One rank only: deliver the pending window from its own spike lists (as run() does), e.g.
  // after an exception between window_update and window_deliver.
  void window_finish();
  // End a run early, at the current step (between windows; an interrupted run): drops the
  // state-record rows and rate counts that window_begin prepared for steps not run. The next
  // window_begin does it too.
  void window_abandon();

 private:
  Population& pop_ref(int32_t p);
  // populations.cpp
  int32_t add_population(Population&& p);
  // connect.cpp
  int32_t finish_projection(Projection&& pj);
  uint16_t delay_steps(double ms, const char* arg) const;
  // network.cpp: everything a run needs derived before its first step; the two phases of a
  // window for thread `rank` (update: my blocks; deliver: into my targets)
  void prepare(int64_t n_steps);
  void update_phase(int rank, int par, int64_t w0, int64_t wn, std::vector<size_t>& next_row);
  void deliver_phase(int rank, int par, int64_t w0, int64_t wn);
  // deliver the pending window from spikes_[par] and end it (window_deliver, window_finish)
  void end_window(int par);
  // update.cpp: advance block `rank` of population p (index pi) by step t; spikes -> out
  void update_block(Population& p, int32_t pi, int rank, int64_t t, std::vector<int32_t>& out);
  // inputs.cpp
  void prepare_inputs();
  // spikes of source neurons [lo, hi) at step t (scheduled and Poisson), appended to out
  void fire_sources(const Population& p, int32_t pi, int32_t lo, int32_t hi, int64_t t,
                    std::vector<int32_t>& out) const;
  // Poisson inputs and input events of step t for thread `rank`'s targets [tlo, thi), added to
  // the step's slot (in0: receptor 0; in_neg: the inhibitory receptor or null)
  void inject_inputs(const Population& p, int32_t pi, int rank, int32_t tlo, int32_t thi, int64_t t,
                     float* in0, float* in_neg) const;
  // Poisson counts drawn ahead: thread `rank`'s units (one table-driven Poisson input x its
  // targets in the rank's block) for steps [w0, w0 + wn); ahead_step draws the next unit (step
  // by step) and returns false when all are drawn. inject_inputs adds a drawn unit's counts
  // exactly as it would add them drawn in place (same words, same float operations).
  void prepare_ahead();
  void ahead_begin(int rank, int64_t w0, int64_t wn);
  bool ahead_step(int rank);
  // current input of step t for neurons [lo, hi) (null: none)
  const float* current_input(const Population& p, int32_t lo, int32_t hi, int64_t t) const;
  // delivery.cpp
  void prepare_delivery();
  void deliver(Projection& pj, int rank, int64_t t, int par, int s);
  // recording.cpp
  void prepare_records(int64_t n_steps);
  std::vector<size_t> state_record_rows(int64_t t) const;  // per recorder: first row >= t
  void record_state_block(int rank, int64_t t, std::vector<size_t>& next_row);
  void record_spike_step(int par, int s, int64_t t);

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
  // per thread: the Poisson counts of the next window, drawn while waiting at its barrier
  struct alignas(64) PoissonAhead {
    std::vector<int32_t> in, lo, hi;   // per unit: Poisson input, targets [lo, hi)
    std::vector<int64_t> off;          // per unit: offset in a step's row of counts
    std::vector<int32_t> unit_of;      // per Poisson input: its unit, or -1
    int64_t stride = 0;                // counts per step (all units)
    std::vector<uint8_t> cnt;          // [step - w0][stride]
    int64_t w0 = 0, wn = 0, done = 0;  // the window drawn; units drawn (step-major)
  };
  std::vector<PoissonAhead> ahead_;
  std::unique_ptr<SplitBarrier> wbar_;
  std::vector<int64_t> thread_events_;
  int part_rank_ = 0, part_size_ = 1;
  int64_t win_end_ = 0, win_idx_ = 0;  // window API: end of the run, windows done
  int32_t win_n_ = 0;                  // steps of the window updated, not yet delivered
};

}  // namespace spikecore
