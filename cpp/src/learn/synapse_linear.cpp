// Synapse-sparse linear products (see spikecore/learn/synapse_linear.hpp).
#include "spikecore/learn/synapse_linear.hpp"

#include "spikecore/train/kernels.hpp"

namespace spikecore::learn {

using spikecore::train::parallel_blocks;

namespace {
template <typename T>
inline void axpy(T* __restrict y, T a, const T* __restrict x, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
}
}  // namespace

template <typename T>
void synapse_linear_forward(const T* xt, int64_t rows, int64_t n_in, const int64_t* row_ptr,
                            const int32_t* post, const T* w, int64_t n_out, const T* bias, T* yt,
                            int n_threads) {
  parallel_blocks(
      n_threads, rows,
      [&](int64_t b, int64_t e) {
        const int64_t n = e - b;
        for (int64_t j = 0; j < n_out; ++j) {
          T* yj = yt + j * rows + b;
          const T v = bias ? bias[j] : T(0);
          for (int64_t k = 0; k < n; ++k) yj[k] = v;
        }
        for (int64_t i = 0; i < n_in; ++i) {
          const T* xi = xt + i * rows + b;
          const int64_t s1 = row_ptr[i + 1];
          for (int64_t s = row_ptr[i]; s < s1; ++s)
            axpy(yt + int64_t(post[s]) * rows + b, w[s], xi, n);
        }
      },
      64);
}

template <typename T>
void synapse_linear_grad_input(const T* gyt, int64_t rows, int64_t n_in, const int64_t* row_ptr,
                               const int32_t* post, const T* w, int64_t n_out, T* gxt,
                               int n_threads) {
  (void)n_out;
  parallel_blocks(
      n_threads, rows,
      [&](int64_t b, int64_t e) {
        const int64_t n = e - b;
        for (int64_t i = 0; i < n_in; ++i) {
          T* gi = gxt + i * rows + b;
          for (int64_t k = 0; k < n; ++k) gi[k] = T(0);
          const int64_t s1 = row_ptr[i + 1];
          for (int64_t s = row_ptr[i]; s < s1; ++s)
            axpy(gi, w[s], gyt + int64_t(post[s]) * rows + b, n);
        }
      },
      64);
}

template <typename T>
void synapse_linear_grad_weight(const T* xt, const T* gyt, int64_t rows, int64_t n_in,
                                const int64_t* row_ptr, const int32_t* post, int64_t n_out, T* gw,
                                int n_threads) {
  (void)n_out;
  parallel_blocks(
      n_threads, n_in,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const T* __restrict xi = xt + i * rows;
          const int64_t s1 = row_ptr[i + 1];
          for (int64_t s = row_ptr[i]; s < s1; ++s) {
            const T* __restrict gj = gyt + int64_t(post[s]) * rows;
            // 8 partial sums in a fixed pattern (vectorisable without reassociation by the
            // compiler)
            T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t r = 0;
            for (; r + 8 <= rows; r += 8)
              for (int q = 0; q < 8; ++q) acc[q] += xi[r + q] * gj[r + q];
            T tail = 0;
            for (; r < rows; ++r) tail += xi[r] * gj[r];
            gw[s] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                    ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
          }
        }
      },
      4);
}

#define SPIKECORE_INSTANTIATE(T)                                                                 \
  template void synapse_linear_forward<T>(const T*, int64_t, int64_t, const int64_t*,            \
                                          const int32_t*, const T*, int64_t, const T*, T*, int); \
  template void synapse_linear_grad_input<T>(const T*, int64_t, int64_t, const int64_t*,         \
                                             const int32_t*, const T*, int64_t, T*, int);        \
  template void synapse_linear_grad_weight<T>(const T*, const T*, int64_t, int64_t,              \
                                              const int64_t*, const int32_t*, int64_t, T*, int);
SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::learn
