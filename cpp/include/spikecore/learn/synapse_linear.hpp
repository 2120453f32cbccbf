#pragma once
// Synapse-sparse linear products for structure learning (ESL-SNN): cost proportional to the
// number of synapses times the batch, not to in x out. The synapses are a SynapseMatrix in row
// order (by pre, then post): row i owns positions [row_ptr[i], row_ptr[i + 1]) of post / w.
//
// Feature-major layout (transposed activations, [features, rows], row-major), so every synapse
// is one contiguous, vectorised axpy or dot over the batch rows:
//
//   forward      yt[j, r]  = b[j] + sum_{s: pre(s) = i, post(s) = j} w[s] xt[i, r]
//   grad input   gxt[i, r] = sum_{s in row i} w[s] gyt[post[s], r]
//   grad weight  gw[s]     = sum_r xt[pre(s), r] gyt[post[s], r]
//
// Threads own fixed blocks of batch rows (forward, grad input) or of synapse rows (grad weight);
// each output element is summed in a fixed order (s ascending, or r ascending), so results do
// not depend on the thread count. Arrays are caller-allocated.
#include <cstdint>

namespace spikecore::learn {

template <typename T>
void synapse_linear_forward(const T* xt, int64_t rows, int64_t n_in, const int64_t* row_ptr,
                            const int32_t* post, const T* w, int64_t n_out, const T* bias, T* yt,
                            int n_threads);

template <typename T>
void synapse_linear_grad_input(const T* gyt, int64_t rows, int64_t n_in, const int64_t* row_ptr,
                               const int32_t* post, const T* w, int64_t n_out, T* gxt,
                               int n_threads);

template <typename T>
void synapse_linear_grad_weight(const T* xt, const T* gyt, int64_t rows, int64_t n_in,
                                const int64_t* row_ptr, const int32_t* post, int64_t n_out, T* gw,
                                int n_threads);

}  // namespace spikecore::learn
