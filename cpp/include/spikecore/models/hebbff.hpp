#pragma once
// HebbFF plastic recurrence (Tyulmankov et al. 2022), fused forward and backward (BPTT through A).
//
//   a_t     = (W1 + A_t) x_t + b1            a_t: [N], x_t: [d], W1, A_t: [N, d]
//   h_t     = sigmoid(a_t)
//   A_{t+1} = lam * A_t + eta * h_t x_t^T,   A_0 = 0
//
// The readout y_t = sigmoid(w2 . h_t + b2) is cheap and stays in torch; this kernel returns the
// pre-activations a (time-first [T, B, N]). W1 x_t for all steps is one matrix product; the plastic
// part runs per step, batch elements split over threads (each thread owns whole batch elements).
// Backward keeps dL/da_t (incl. the path through A) for all steps and forms dW1, db1 and the W1
// part of dx as matrix products afterwards, single-threaded, so results are bitwise identical for
// any thread count.
//
// Backward recomputes A inside segments of K steps from checkpoints A_{sK} saved by the forward
// pass (memory ~ (T/K + K) B N d instead of T B N d). With G = dL/dA_{t+1}, backwards in t:
//   ga_t  = g_t + h_t (1 - h_t) * eta (G x_t)
//   dW1  += ga_t x_t^T,  db1 += ga_t,  deta += h_t . (G x_t),  dlam += <G, A_t>
//   dx_t  = (W1 + A_t)^T ga_t + eta G^T h_t
//   G    <- lam G + ga_t x_t^T
#include <cstdint>

namespace spikecore {
namespace models {

struct HebbFFShape {
  int64_t T = 0, B = 0, N = 0, d = 0;
  void validate() const;
};

// Checkpoint interval used by hebbff_forward for a sequence of T steps (about sqrt(T)).
int64_t hebbff_checkpoint_interval(int64_t T);
inline int64_t hebbff_num_checkpoints(int64_t T, int64_t K) { return (T + K - 1) / K; }

// x [T,B,d], W1 [N,d], b1 [N] -> a [T,B,N]; ckpt [ceil(T/K), B, N, d] (A before steps 0, K, 2K...)
// ckpt may be null (inference only). A_final [B, N, d] may be null.
template <typename S>
void hebbff_forward(const HebbFFShape& s, const S* x, const S* W1, const S* b1, S eta, S lam,
                    int64_t K, S* a, S* ckpt, S* A_final, int n_threads);

// Gradients given g_a = dL/da [T,B,N]. gx may be null (not needed). Outputs are overwritten.
template <typename S>
void hebbff_backward(const HebbFFShape& s, const S* x, const S* W1, S eta, S lam, int64_t K,
                     const S* a, const S* ckpt, const S* g_a, S* gx, S* gW1, S* gb1, double* geta,
                     double* glam, int n_threads);

}  // namespace models
}  // namespace spikecore
