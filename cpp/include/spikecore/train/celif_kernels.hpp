#pragma once
// Fused multi-step CE-LIF forward / BPTT backward (equations: neurons/celif.hpp). Arrays are
// time-major, caller-owned. The decays beta, lam, one_m_lam are either all arrays of length N
// (beta_stride = lam_stride = 1) or all of length 1 (both 0).
//
// Nothing is saved between forward and backward: backward takes the inputs I, q again and, per
// block of neurons, recomputes the forward trajectory (h, x = h - theta, c, v) into a small
// per-thread buffer that stays in cache, then runs the adjoint recursion on it. The recomputed
// values come from the same celif_pre/celif_post calls in the same order, so they equal the
// forward's bit for bit.
//
// bias (or null): [cols] added to the currents first, I' = I + b (as a Linear adds its bias
// after the product), for neuron i at column i % cols (cols: neurons per batch row); backward
// then sums gI over time per neuron into gbias [N].
//
// Backward (adjoints gv, ga, gc of v_t, a_t, c_t, from the end):
//   s = g'(x_t) (smooth: g'(y_t), y = x + eps),  gzz = gz_t + (1 - rho) ga - [!detach] gv h_t
//   gh = gzz s + gv (1 - z_t);  gI_t = gh;  gbeta += gh v_{t-1};  gv <- gh beta
//   gth = -gzz s;  ga <- rho ga + beta_a gth;  gct = gc + gamma gth
//   gq_t = (1 - lam) gct;  glam += gct c_{t-1};  gomlam += gct q_t;  gc <- lam gct
#include <cstdint>

#include "spikecore/train/surrogate.hpp"

namespace spikecore::train {

template <typename T>
struct CELIFArgs {
  int64_t steps = 0, n = 0;
  int64_t cols = 0;  // neurons per batch row, for the bias (0: n)
  const T* bias = nullptr;
  const T* beta = nullptr;
  int64_t beta_stride = 1;
  const T* lam = nullptr;
  const T* one_m_lam = nullptr;
  int64_t lam_stride = 1;
  T rho = T(0.9), one_m_rho = T(0.1), beta_a = T(0.5), gamma = T(20), v_th = T(1);
  bool detach_reset = false, smooth = false;
  // shared context (q is I): backward writes gI = gh + (1 - lam) gct and no gq
  bool shared = false;
  SurrogateKind kind = SurrogateKind::ATan;
  T alpha = 2;
  const T* eps = nullptr;  // [T, N] NDL threshold noise, or null
  int n_threads = 1;
};

// forward: I, q [T, N]; v0, a0, c0 [N] -> spikes z [T, N]; final state vT, aT, cT [N].
template <typename T>
void celif_forward(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
                   const T* c0, T* z, T* vT, T* aT, T* cT);

// backward: the forward's inputs; gz [T, N]; gvT, gaT, gcT [N] or null -> gI (and gq unless
// shared) [T, N]; gv0, ga0, gc0 [N]; the parameter gradients gbeta,
// glam, gomlam [N] (per-neuron sums over time; the caller reduces broadcast parameters) are
// optional: all three, glam and gomlam only (gbeta null), or none (all null; their sums are
// then skipped); gbias [N] when a.bias is set.
template <typename T>
void celif_backward(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
                    const T* c0, const T* gz, const T* gvT, const T* gaT, const T* gcT, T* gI,
                    T* gq, T* gv0, T* ga0, T* gc0, T* gbeta, T* glam, T* gomlam, T* gbias);

}  // namespace spikecore::train
