#pragma once
// Fused multi-step training kernels (forward and BPTT backward) for the spikecore.nn neurons,
// and spike-sparse linear products. Arrays are time-major [T, N] (N = all neurons of all batch
// entries), row-major, owned by the caller (torch tensors through the bindings).
//
// Neuron dynamics, per neuron n and step t (d = (1 - beta) v_rest, precomputed by the caller):
//
//   h_t = (d + beta v_{t-1}) + x_t                          (lif_step<Delta> order)
//   y_t = (h_t - theta_t) + eps_t                            (eps: NoisyLIF threshold noise, or 0)
//   z_t = H(y_t)          (smooth mode: g(y_t))
//   v_t = h_t (1 - z_t) + z_t v_reset     (hard)   or   h_t - z_t (theta_t - v_reset)   (soft)
//   LIF:  theta_t = v_th.   ALIF: theta_t = v_th + a_{t-1},  a_t = rho a_{t-1} + beta_a z_t.
//
// For z in {0, 1} these are exactly lif_step<Delta> / alif_step<Delta> with
// LIFCoeffs::discrete(beta, v_rest, v_th, v_reset, soft) (cpp/tests/test_train_kernels.cpp checks
// the spikes bit for bit). Backward: dz/dy := g'(x_t) with x_t = h_t - theta_t (smooth mode:
// g'(y_t)); detach_reset drops dv/dz. Forward saves only h (and a for ALIF); spikes and the
// previous membrane are recomputed in backward.
#include <cstdint>
#include <functional>

#include "spikecore/train/surrogate.hpp"

namespace spikecore::train {

template <typename T>
struct NeuronArgs {
  int64_t steps = 0, n = 0;
  // per-neuron parameters, arrays of length n: decay beta and drive d = (1 - beta) v_rest
  const T* beta = nullptr;
  const T* drive = nullptr;
  T v_th = 1, v_reset = 0;
  bool soft = false, detach_reset = false, smooth = false;
  SurrogateKind kind = SurrogateKind::ATan;
  T alpha = 2;
  const T* eps = nullptr;  // [T, N] threshold noise or null
  // Spikes as bits, [T, ceil(N / 8)] bytes, bit i % 8 of byte i / 8 = neuron i. lif_forward
  // writes them when non-null; lif_backward then reads spikes from them instead of recomputing
  // (NoisyLIF: the noise itself need not be kept). Not with smooth mode.
  uint8_t* bits = nullptr;
  // ALIF
  T rho = 1, beta_a = 0;
  int n_threads = 1;
};

// LIF / NoisyLIF. forward: x [T,N], v0 [N] -> z [T,N], h [T,N] (saved; may be null when no
// backward follows), vT [N].
template <typename T>
void lif_forward(const NeuronArgs<T>& a, const T* x, const T* v0, T* z, T* h, T* vT);
// backward: gz [T,N], gvT [N] (may be null) -> gx [T,N], gv0 [N], gbeta [N], gdrive [N]
// (per-neuron sums over time; the caller reduces broadcast parameters).
template <typename T>
void lif_backward(const NeuronArgs<T>& a, const T* h, const T* v0, const T* gz, const T* gvT, T* gx,
                  T* gv0, T* gbeta, T* gdrive);

// ALIF. forward also saves aprev [T,N] (a_{t-1}) and returns aT.
template <typename T>
void alif_forward(const NeuronArgs<T>& a, const T* x, const T* v0, const T* a0, T* z, T* h,
                  T* aprev, T* vT, T* aT);
template <typename T>
void alif_backward(const NeuronArgs<T>& a, const T* h, const T* aprev, const T* v0, const T* gz,
                   const T* gvT, const T* gaT, T* gx, T* gv0, T* ga0, T* gbeta, T* gdrive);

// Leaky integrator: out_t = (d + beta out_{t-1}) + x_t.
template <typename T>
void li_forward(const NeuronArgs<T>& a, const T* x, const T* v0, T* out);
template <typename T>
void li_backward(const NeuronArgs<T>& a, const T* out, const T* v0, const T* gout, const T* gvT,
                 T* gx, T* gv0, T* gbeta, T* gdrive);

// ---- spike-sparse products -----------------------------------------------------------------
// Active inputs of x [R, K] as CSR: row_ptr [R + 1], idx (column indices of nonzero entries),
// val (their values). Returns the number of nonzeros. In the products below val may be null:
// all values 1 (spikes are then kept as index lists only).
template <typename T>
int64_t gather_active(const T* x, int64_t rows, int64_t k, int64_t* row_ptr, int32_t* idx, T* val,
                      int n_threads, bool counted = false, uint64_t* masks = nullptr,
                      bool* ones = nullptr);
// (counted = true: row_ptr already holds the offsets from an earlier call with idx == null on
// the same x; only the fill pass runs. masks [R, ceil(K / 64)] (optional): the counting pass
// keeps each row's 64-value words of nonzero bits there and the fill pass reads them instead of
// x (pass the same masks to both calls). ones (optional, counting pass): set to whether every
// nonzero value is exactly 1, so val can be skipped (null) for spikes.)
// y [R, M] = bias + sum over active (r, i): val * wt[i, :], wt = W^T [K, M] row-major; each
// y[r, j] is summed from 0 over the active i of row r in ascending order, bias last. The sums are
// kept in registers, 64 floats / 32 doubles of a row at a time (the columns in tiles).
template <typename T>
void sparse_rows_matmul(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                        const T* wt, int64_t m, const T* bias, T* y, int n_threads);
// The weight gradient: gwt [K, M] (zeroed here) = sum over active (r, i): val * gy[r, :], summed
// in row order; with gw_rows it is stored as gw [M, K] (gw[j, i] = gwt[i, j], the layout of the
// weight: no transposed copy for the optimizer). gb [M] (may be null): the bias gradient
// sum_r gy[r, :], summed in row order in the same pass over gy. Threads own column blocks of M,
// so every sum has a fixed order for any thread count.
template <typename T>
void sparse_rows_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                             const T* gy, int64_t k, int64_t m, T* gw, int n_threads,
                             T* gb = nullptr, bool gw_rows = false);

// ---- spike-sparse products with sparse weights (SparseLinear) --------------------------------
// Synapses in row order (by pre): syn_ptr [K + 1] row offsets, post [nnz], w [nnz].
// y [R, M] = bias + sum over active (r, i), synapses s of row i: val * w[s] -> y[r, post[s]].
template <typename T>
void sparse_syn_forward(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                        const int64_t* syn_ptr, const int32_t* post, const T* w, int64_t m,
                        const T* bias, T* y, int n_threads);
// gw [nnz] = sum over active (r, i): val * gy[r, post[s]] for s in row i (threads own blocks of
// pre rows i, so the sum order is fixed).
template <typename T>
void sparse_syn_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                            const int64_t* syn_ptr, const int32_t* post, int64_t k, const T* gy,
                            int64_t m, T* gw, int n_threads);
// gx [R, K] = for every row r and input i: sum over synapses s of row i: w[s] gy[r, post[s]].
template <typename T>
void sparse_syn_input_grad(const int64_t* syn_ptr, const int32_t* post, const T* w, int64_t k,
                           const T* gy, int64_t rows, int64_t m, T* gx, int n_threads);

// Run f(begin, end) over [0, n) split into fixed blocks (at most 4 per thread, boundaries on
// multiples of 16) that n_threads threads claim; results must not depend on which thread runs a
// block. grain: the least work per block worth a thread (in units of n).
void parallel_blocks(int n_threads, int64_t n, const std::function<void(int64_t, int64_t)>& f,
                     int64_t grain = 4096);

// Where parallel_blocks runs its blocks. Auto (the default): OpenMP when a runtime is resident,
// else Own. OpenMP: the process's resident OpenMP runtime (torch's libgomp; value_error when
// none is loaded), sharing torch's threads instead of a second pool (SHD step, 2 threads, quiet
// machine: 28-31 ms vs 33-39 ms on the own team). Own: spikecore's own team, whose caller never
// waits for a late worker (better on an oversubscribed machine). Results are the same bits on
// every backend and thread count.
enum class ThreadBackend { Auto = 0, OpenMP = 1, Own = 2 };
void set_thread_backend(ThreadBackend b);
ThreadBackend thread_backend();
bool openmp_resident();  // is an OpenMP runtime loaded in this process?

}  // namespace spikecore::train
