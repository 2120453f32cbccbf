#pragma once
// Leaky integrate-and-fire neuron: one definition for the event engine and the training kernels.
//
// Units: time in ms, voltages in mV; synaptic "currents" i are expressed as the voltage they
// drive (R * I, in mV), as in Brian2's CUBA example. Dynamics between input events:
//
//   tau_m dv/dt = -(v - v_rest) + i_ex + i_in + i_e
//   tau_ex di_ex/dt = -i_ex,   tau_in di_in/dt = -i_in          (current-based exponential
//   synapses)
//
// integrated exactly over a step dt (exponential-Euler / exact propagators, Rotter & Diesmann
// 1999):
//
//   v'    = v_rest + (v - v_rest) P22 + i_ex P21ex + i_in P21in + i_e (1 - P22)
//   i_ex' = i_ex P11ex + in_ex,  i_in' = i_in P11in + in_in
//
// with P22 = exp(-dt/tau_m), P11 = exp(-dt/tau_s),
// P21 = tau_s / (tau_s - tau_m) (P11 - P22)   (= dt/tau_m P22 when tau_s == tau_m).
// Delta synapses (SynapseKind::Delta) add their weight to v directly: v' = ... + in.
// After the update: if v' >= v_th the neuron spikes, v <- v_reset (hard reset) or
// v <- v - (v_th - v_reset) (soft reset), and it is refractory for round(t_ref / dt) steps, during
// which v is clamped to v_reset and delta input is discarded (NEST's iaf_psc_delta convention);
// synaptic currents keep integrating while refractory.
//
// The step order (integrate v with the old currents, then add this step's input to the currents,
// then threshold) is NEST's iaf_psc_exp order. The delta-synapse membrane and the reset are the
// discrete LIF's point functions (lif_discrete.hpp: lif_membrane, lif_reset) with beta = P22 and
// d = v_drive: a discrete LIF is this model with LIFCoeffs::discrete.
//
// lif_step is the scalar step; lif_block the engine's branch-free block step over a range of
// neurons (the same float operations in the same order, so the results are bitwise equal).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"
#include "spikecore/neurons/lif_discrete.hpp"

namespace spikecore {

enum class SynapseKind : int { Delta = 0, Exp = 1 };

struct LIFParams {
  double tau_m = 20.0;       // membrane time constant [ms]
  double v_rest = 0.0;       // resting (leak reversal) potential [mV]
  double v_reset = 0.0;      // reset potential [mV]
  double v_th = 20.0;        // firing threshold [mV]
  double t_ref = 2.0;        // absolute refractory period [ms]
  double tau_syn_ex = 5.0;   // excitatory synaptic decay [ms] (Exp synapses; weight > 0)
  double tau_syn_in = 10.0;  // inhibitory synaptic decay [ms] (Exp synapses; weight < 0)
  double i_e = 0.0;          // constant bias input, as the voltage it drives (R I_e) [mV]
  bool soft_reset = false;   // subtract (v_th - v_reset) instead of setting v_reset
  SynapseKind synapse = SynapseKind::Delta;

  void validate() const {
    require_positive(tau_m, "tau_m");
    require_finite(v_rest, "v_rest");
    require_finite(v_reset, "v_reset");
    require_finite(v_th, "v_th");
    require(v_th > v_reset, "v_th", "must be greater than v_reset");
    require_nonnegative(t_ref, "t_ref");
    require_finite(i_e, "i_e");
    if (synapse == SynapseKind::Exp) {
      require_positive(tau_syn_ex, "tau_syn_ex");
      require_positive(tau_syn_in, "tau_syn_in");
    }
  }
};

// Derived once from Params and dt (the only place exp() is called).
struct LIFCoeffs {
  float p22 = 0, p21ex = 0, p21in = 0, p11ex = 0, p11in = 0;
  float v_drive = 0;  // v_rest (1 - P22) + i_e (1 - P22): the constant part of v'
  float v_reset = 0, v_th = 0, reset_jump = 0;
  int32_t n_ref = 0;  // refractory steps
  bool soft_reset = false;

  static double p21(double tau_s, double tau_m, double dt) {
    const double p11 = std::exp(-dt / tau_s), p22 = std::exp(-dt / tau_m);
    if (std::fabs(tau_s - tau_m) < 1e-12 * tau_m) return dt / tau_m * p22;
    return tau_s / (tau_s - tau_m) * (p11 - p22);
  }

  static LIFCoeffs make(const LIFParams& p, double dt) {
    p.validate();
    require_positive(dt, "dt");
    LIFCoeffs c;
    const double p22 = std::exp(-dt / p.tau_m);
    c.p22 = float(p22);
    c.v_drive = float((p.v_rest + p.i_e) * (1.0 - p22));
    if (p.synapse == SynapseKind::Exp) {
      c.p11ex = float(std::exp(-dt / p.tau_syn_ex));
      c.p11in = float(std::exp(-dt / p.tau_syn_in));
      c.p21ex = float(p21(p.tau_syn_ex, p.tau_m, dt));
      c.p21in = float(p21(p.tau_syn_in, p.tau_m, dt));
    }
    c.v_reset = float(p.v_reset);
    c.v_th = float(p.v_th);
    c.reset_jump = float(p.v_th - p.v_reset);
    // the refractory counter is int32: range-check before converting (issue 12: t_ref = 2.2e8
    // ms at dt 0.1 wrapped around to a negative count, i.e. no refractoriness)
    const double n_ref = std::round(p.t_ref / dt);
    if (!(n_ref <= 2147483647.0)) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "%g ms is %.10g steps of dt = %g ms; the largest value allowed is "
                    "(2**31 - 1) x dt = %.10g ms",
                    p.t_ref, n_ref, dt, 2147483647.0 * dt);
      throw value_error(message("t_ref", buf));
    }
    c.n_ref = int32_t(n_ref);
    c.soft_reset = p.soft_reset;
    return c;
  }

  // Discrete-time form used by trained models (lif_discrete.hpp): v' = beta v + (1 - beta) v_rest
  // + x, with x the (already weighted) input of the step; no synaptic current, no refractoriness.
  static LIFCoeffs discrete(const DiscreteLIFParams& p) {
    const auto d = DiscreteLIFCoeffs<float>::make(p);  // validates
    LIFCoeffs c;
    c.p22 = d.beta;
    c.v_drive = d.drive;
    c.v_reset = d.v_reset;
    c.v_th = d.v_th;
    c.reset_jump = d.jump;
    c.soft_reset = d.soft;
    return c;
  }
  static LIFCoeffs discrete(double beta, double v_rest, double v_th, double v_reset,
                            bool soft_reset) {
    return discrete(DiscreteLIFParams{beta, v_rest, v_th, v_reset, soft_reset});
  }
};

// Structure of arrays over neurons.
struct LIFState {
  std::vector<float> v, i_ex, i_in;
  std::vector<int32_t> ref;  // remaining refractory steps
  void resize(size_t n, float v0) {
    v.assign(n, v0);
    i_ex.assign(n, 0.f);
    i_in.assign(n, 0.f);
    ref.assign(n, 0);
  }
  size_t size() const { return v.size(); }
};

// One neuron, one step. in_ex / in_in: this step's summed synaptic input (Exp: to the currents,
// by sign of weight; Delta: in_ex is added to v and in_in is ignored). `drive` is an extra
// constant-over-the-step part of v' (the engine's current inputs: I (1 - P22) for an input current
// I given as the voltage it drives); with drive = 0 the result is bitwise that of the 7-argument
// form. Returns true on a spike.
// Membrane of the exponential-synapse step (exact propagators; the old currents drive v).
inline float lif_membrane_exp(float d, float v, float p22, float i_ex, float p21ex, float i_in,
                              float p21in) {
  return d + v * p22 + i_ex * p21ex + i_in * p21in;
}

template <SynapseKind K>
inline bool lif_step(const LIFCoeffs& c, float& v, float& i_ex, float& i_in, int32_t& ref,
                     float in_ex, float in_in, float drive) {
  if constexpr (K == SynapseKind::Exp) {
    if (ref > 0) {
      --ref;
      v = c.v_reset;
    } else {
      v = lif_membrane_exp(c.v_drive + drive, v, c.p22, i_ex, c.p21ex, i_in, c.p21in);
    }
    i_ex = i_ex * c.p11ex + in_ex;
    i_in = i_in * c.p11in + in_in;
  } else {
    (void)i_ex;
    (void)i_in;
    (void)in_in;
    if (ref > 0) {
      --ref;
      v = c.v_reset;
      return false;
    }
    v = lif_membrane(c.v_drive + drive, v, c.p22, in_ex);
  }
  if (v >= c.v_th) {
    v = c.soft_reset ? lif_reset_spiked<true>(v, c.v_reset, c.reset_jump)
                     : lif_reset_spiked<false>(v, c.v_reset, c.reset_jump);
    ref = c.n_ref;
    return true;
  }
  return false;
}

template <SynapseKind K>
inline bool lif_step(const LIFCoeffs& c, float& v, float& i_ex, float& i_in, int32_t& ref,
                     float in_ex, float in_in) {
  return lif_step<K>(c, v, i_ex, i_in, ref, in_ex, in_in, 0.f);
}

// Block step of neurons [b, b + n) of state s (the engine's update): reads and clears this
// step's inputs in0[i] (Exp: excitatory; Delta: to v) and in1[i] (Exp: inhibitory), adds the
// current input cur[i] * scale to the drive when Cur, and writes spike flags flag[i - b] (0/1,
// int32 so that every array of the loop has 4-byte lanes). The same float operations in the
// same order as lif_step<K>, with the refractory and threshold branches written as selects so
// that the loop vectorises (v = s ? lif_reset_spiked(v) : v is lif_reset(v, z) for z in {0, 1}).
// Soft must equal c.soft_reset.
template <SynapseKind K, bool Soft, bool Cur>
inline void lif_block_raw(const LIFCoeffs& c, int32_t n, float* __restrict v, float* __restrict iex,
                          float* __restrict iin, int32_t* __restrict ref, float* __restrict in0,
                          float* __restrict in1, const float* __restrict cur, float scale,
                          int32_t* __restrict flag) {
  const float vd = c.v_drive, p22 = c.p22, p21ex = c.p21ex, p21in = c.p21in;
  const float p11ex = c.p11ex, p11in = c.p11in, vr = c.v_reset, vth = c.v_th;
  const float jump = c.reset_jump;
  const int32_t nref = c.n_ref;
  for (int32_t k = 0; k < n; ++k) {
    const float x0 = in0[k];
    in0[k] = 0.f;
    const float drive = Cur ? cur[k] * scale : 0.f;
    const int32_t r = ref[k];
    const bool refr = r > 0;
    float vi = v[k];
    int32_t sp;
    if constexpr (K == SynapseKind::Exp) {
      const float x1 = in1[k];
      in1[k] = 0.f;
      const float ei = iex[k], ii = iin[k];
      const float vn = lif_membrane_exp(vd + drive, vi, p22, ei, p21ex, ii, p21in);
      vi = refr ? vr : vn;
      iex[k] = ei * p11ex + x0;
      iin[k] = ii * p11in + x1;
      sp = vi >= vth ? 1 : 0;
    } else {
      const float vn = lif_membrane(vd + drive, vi, p22, x0);
      vi = refr ? vr : vn;
      sp = (!refr && vi >= vth) ? 1 : 0;
    }
    const float vs = lif_reset_spiked<Soft>(vi, vr, jump);
    v[k] = sp ? vs : vi;
    ref[k] = sp ? nref : (refr ? r - 1 : r);
    flag[k] = sp;
  }
}

// (The loop lives in lif_block_raw, whose restrict-qualified pointer parameters let the
// compiler vectorise it as the engine's former lif_chunk.)
template <SynapseKind K, bool Soft, bool Cur>
inline void lif_block(const LIFCoeffs& c, LIFState& s, int32_t b, int32_t n, float* in0, float* in1,
                      const float* cur, float scale, int32_t* flag) {
  lif_block_raw<K, Soft, Cur>(c, n, s.v.data() + b, s.i_ex.data() + b, s.i_in.data() + b,
                              s.ref.data() + b, in0 + b, K == SynapseKind::Exp ? in1 + b : in1,
                              Cur ? cur + b : cur, scale, flag);
}

}  // namespace spikecore
