#pragma once
// A population of the engine: its neuron model, coefficients, state, delay ring and the inputs
// scheduled onto it (the state the update of engine/update.cpp advances).
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/engine/delay_ring.hpp"
#include "spikecore/neurons/alif.hpp"
#include "spikecore/neurons/celif.hpp"
#include "spikecore/neurons/dendritic.hpp"
#include "spikecore/neurons/if_neuron.hpp"
#include "spikecore/neurons/lif.hpp"
#include "spikecore/neurons/stdi.hpp"
#include "spikecore/synapses/synapse_matrix.hpp"

namespace spikecore {

// IF / STDI: the ANN-to-SNN conversion neurons (neurons/if_neuron.hpp, neurons/stdi.hpp);
// MaxGate: the max-pool gate of a converted network (ConversionPopulation).
enum class NeuronModel : int {
  LIF = 0,
  ALIF = 1,
  Source = 2,
  CELIF = 3,
  IF = 4,
  STDI = 5,
  MaxGate = 6
};

// State variables that can be read, written and recorded (U: K values per neuron, read/write
// only; C: CE-LIF context).
// Phase: the relative step r of a conversion population's window at the current step (one
// value; STDI and MaxGate populations only).
enum class StateVar : int { V = 0, IEx = 1, IIn = 2, A = 3, Ref = 4, C = 5, U = 6, Phase = 7 };

// Dendritic branches of a (multi-compartment) population: neuron j has K branch compartments
// j K + k, which are the targets of its synapses and inputs. Per step
//   u_jk(t) = (s_jk(t) + b_jk) + delta (u_jk(t-1) - b_jk)   (s: the summed input of the step)
//   y_j(t)  = sum_k g(u_jk(t))
// (neurons/dendritic.hpp: the branch potential u includes the bias b, its resting value; u starts
// at b) and y_j(t) is the soma's input of the step (as a delta synapse). delta = 0 is the
// instantaneous branch of spikecore.nn.DendriticLinear (then u = s + b and y are bitwise the
// training kernel's dendritic_soma_input).
struct Branches {
  int32_t K = 1;  // 1: point neurons (no branch stage)
  BranchFn g = BranchFn::ReLU;
  float decay = 0.f;
  std::vector<float> u;     // [n K] branch state (branch potentials, bias included)
  std::vector<float> bias;  // [n K] or empty
};

// A CE-LIF population: the model's coefficients (neurons/celif.hpp: the float32 values the
// training kernel uses, lambda_c per neuron), the context state c and the receptor layout.
// shared: the context drive is the current (q = I); otherwise receptor 1 carries q.
struct CELIFPopulation : CELIFCoeffs {
  bool shared = false;
  std::vector<float> c;  // context state [n]
};

// The conversion populations (IF, STDI, MaxGate). The membrane (IF: v, STDI: the window sum u)
// is Population::s.v; theta: the threshold per neuron.
//
// Window: STDI and MaxGate populations run one window of relative steps r = t - t0 after each
// reset (t0 = the step of the reset + start): STDI integrates r in [0, T) and fires bit r - D at
// r in [D, D + T); outside [0, T + D) it ignores its input and stays silent. IF populations
// integrate at every step (no window).
//
// Spike weights (delivery.cpp): a spike emitted at relative step r weighs spike_w[r] downstream
// (STDI: T 2^-(r-D+1) for bit r - D; a STDI max-pool gate: T 2^-(r+1); 1 for IF and rate gates);
// the threshold theta is folded into the synaptic weights. A signed neuron i reports its negative
// spike as the id n + i, which delivery turns into -1 times the row of i.
//
// MaxGate (rate or STDI max-pooling, exact for STDI codes): neuron j has K candidate
// compartments j K + k (Population::br.K = K; each a synapse target, weight 1, in the pooling
// window's scan order), of which the first count[j] are valid. P_jk (br.u) is the candidate's
// running value, P_jk += spike_jk w_r (w_r = spike_w[r], 1 under rate coding; invalid: -inf).
// At each step the gate passes the spike (-1, 0, +1) of the first candidate with the largest P,
// so the output is the code of the largest input under STDI (MSB-first: a candidate behind by
// one bit never catches up) and the count gate under rate coding. spikecore.convert's
// SpikeMaxPool2d states the same rule (torch).
struct ConversionPopulation {
  bool is_signed = false;
  IFCoeffs ifc;
  STDICoeffs sc;
  std::vector<float> theta;     // [n]
  int32_t start = 0;            // window offset after a reset, in steps
  int64_t t0 = 0;               // absolute step of relative step 0
  std::vector<float> spike_w;   // [window] spike weight per relative step (empty: 1)
  int32_t window = 0;           // STDI: T + D; gate: T (0: no window)
  std::vector<int32_t> count;   // MaxGate: valid candidates per neuron [n]
  bool gate_stdi = false;       // MaxGate: STDI (weighted running values) or rate (counts)

  float spike_weight(int64_t t) const {
    if (spike_w.empty()) return 1.f;
    const int64_t r = t - t0;
    return r >= 0 && r < int64_t(spike_w.size()) ? spike_w[size_t(r)] : 0.f;
  }
  bool scaled() const { return is_signed || !spike_w.empty(); }
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
  std::vector<float> a;  // ALIF / CE-LIF threshold adaptation
  Branches br;           // dendritic branches (br.K > 1)
  CELIFPopulation ce;    // CE-LIF populations
  ConversionPopulation conv;  // IF / STDI / MaxGate populations
  // input of the coming steps per target and receptor: 1 receptor (delta), 2 (exp: ex, in;
  // CE-LIF: current, context); slots = max incoming delay + 1
  DelayRing ring;
  int32_t n_rec() const { return ring.receptors(); }
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

}  // namespace spikecore
