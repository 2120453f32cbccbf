#pragma once
// Fused multi-step forward / BPTT backward of a recurrent LIF-family layer
// (spikecore.nn.Recurrent). Arrays are time-major and caller-owned: I, z, h, aprev [T, B, n]
// (row-major, N = B n), the state [B, n], the recurrent weight transposed, wt = W_rec^T [n_pre,
// n_post] (row-major; a sparse W_rec arrives with its masked entries zero). Per batch row b, neuron
// j and step t:
//
//   x_t = I_t + W_rec z_{t-1}                 (I_t = W s_t + b: the input layer, done by torch)
//   h_t = (d + beta v_{t-1}) + x_t           (lif_membrane; d = (1 - beta) v_rest)
//   theta_t = v_th (LIF)  or  v_th + a_{t-1} (ALIF, a_t = rho a_{t-1} + beta_a z_t)
//   z_t = H((h_t - theta_t) + eps_t)         (smooth mode: g(...); eps: NoisyLIF noise or 0)
//   v_t = lif_reset(h_t, z_t; jump = theta_t - v_reset)   (hard or soft)
//
// i.e. the neuron steps of lif_discrete.hpp / alif_discrete.hpp (their block steps run here)
// fed by x_t. The recurrent product is event-driven: r_t = sum over i with z_{t-1,i} != 0, in
// ascending i, of z_{t-1,i} wt[i, :] (an Eigen row axpy), the event engine's summation order.
//
// Backward (adjoints gv, ga of v_t, a_t, and gr = W_rec^T gh_{t+1}, from the end; rk = 0 with
// detach_reset, else 1; s = g'(h_t - theta_t), smooth: g'(y_t)):
//   gzz = gz_t + gr + beta_a ga;   soft: gzz -= rk gv (theta_t - v_reset), dvdh = 1
//                                   hard: gzz += rk gv (v_reset - h_t),    dvdh = 1 - z_t
//   gh = gzz s + gv dvdh;  gI_t = gh;  gbeta += gh v_{t-1};  gdrive += gh;  gv <- beta gh
//   ga <- rho ga - gzz s (- gv_old z_t, soft);   gr <- W_rec^T gh  (an Eigen GEMV, wt gh)
//   gW_rec^T[i, :] = sum over t, b of z_{t-1,i} gh_t   (event-driven, t and b ascending)
// and gv0, ga0, gz0 = gr after step 0.
//
// Threads: the time loops split the batch rows into fixed blocks (each row runs alone, so its
// numbers do not depend on the split); the weight gradient splits the pre rows i; parameter
// gradients are summed over batch rows in ascending order. Results are bitwise identical for
// any thread count.
#include <cstdint>

#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

template <typename T>
struct RecurrentArgs {
  // neuron.n = n (neurons of one batch row); neuron.beta / drive arrays of length n; neuron.eps
  // [T, B n] or null; neuron.bits unused
  NeuronArgs<T> neuron;
  int64_t batch = 1;
  bool adaptive = false;  // ALIF threshold (neuron.rho, neuron.beta_a)
};

// forward: I [T,B,n], wt [n,n], v0, a0 (ALIF, else null), z0 [B,n] -> z [T,B,n], h [T,B,n]
// (saved for backward, or null), aprev [T,B,n] (ALIF, saved; or null), vT, aT (ALIF) [B,n].
template <typename T>
void recurrent_forward(const RecurrentArgs<T>& a, const T* I, const T* wt, const T* v0, const T* a0,
                       const T* z0, T* z, T* h, T* aprev, T* vT, T* aT);

// backward: the saved h, aprev (ALIF), z (the forward's spikes) and v0, z0; gz [T,B,n]; gvT,
// gaT [B,n] or null -> gI [T,B,n], gwt [n,n] (dL/dW_rec^T), gv0, ga0 (ALIF), gz0 [B,n], and the
// per-neuron parameter gradients gbeta, gdrive [n] (summed over time and batch).
template <typename T>
void recurrent_backward(const RecurrentArgs<T>& a, const T* h, const T* aprev, const T* z,
                        const T* v0, const T* z0, const T* wt, const T* gz, const T* gvT,
                        const T* gaT, T* gI, T* gwt, T* gv0, T* ga0, T* gz0, T* gbeta, T* gdrive);

}  // namespace spikecore::train
