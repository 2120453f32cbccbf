#pragma once
// Fused multi-step CE-LIF forward / BPTT backward (equations: neurons/celif.hpp). Arrays are
// time-major [T, N] (N = batch x neurons), caller-owned. The decays beta, lam, one_m_lam are
// either all arrays of length N (beta_stride = lam_stride = 1) or all of length 1 (both 0). Forward saves h, c and aprev
// (a_{t-1}) per step; spikes and v_{t-1} are recomputed in backward.
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

// forward: I, q [T,N]; v0, a0, c0 [N] -> z, h, c, aprev [T,N]; vT, aT, cT [N].
// h == nullptr: inference, nothing saved for backward (c and aprev are then ignored too).
template <typename T>
void celif_forward(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
                   const T* c0, T* z, T* h, T* c, T* ap, T* vT, T* aT, T* cT);

// backward: gz [T,N]; gvT, gaT, gcT [N] or null -> gI, gq [T,N] (gq unused when shared); gv0, ga0, gc0, gbeta, glam,
// gomlam [N] (per-neuron sums over time; the caller reduces broadcast parameters).
template <typename T>
void celif_backward(const CELIFArgs<T>& a, const T* q, const T* h, const T* c, const T* ap,
                    const T* v0, const T* c0, const T* gz, const T* gvT, const T* gaT,
                    const T* gcT, T* gI, T* gq, T* gv0, T* ga0, T* gc0, T* gbeta, T* glam,
                    T* gomlam);

}  // namespace spikecore::train
