// Spike-sparse dense-weight products: only the active inputs of each row are touched.
#include <cstring>
#include <vector>

#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

template <typename T>
int64_t gather_active(const T* x, int64_t rows, int64_t k, int64_t* row_ptr, int32_t* idx, T* val,
                      int n_threads, bool counted) {
  // pass 1: counts per row (parallel), prefix sum; pass 2: fill (parallel, branch-free into a
  // per-block buffer, then copied: random spikes would defeat the branch predictor)
  if (!counted) {
    row_ptr[0] = 0;
    parallel_blocks(
        n_threads, rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t c = 0;
            for (int64_t i = 0; i < k; ++i) c += xr[i] != T(0);
            row_ptr[r + 1] = c;
          }
        },
        64);
    for (int64_t r = 0; r < rows; ++r) row_ptr[r + 1] += row_ptr[r];
  }
  if (idx != nullptr) {
    parallel_blocks(
        n_threads, rows,
        [&](int64_t r0, int64_t r1) {
          std::vector<int32_t> bi(size_t(k) + 1);
          std::vector<T> bv(size_t(k) + 1);
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t c = 0;
            for (int64_t i = 0; i < k; ++i) {
              const T v = xr[i];
              bi[size_t(c)] = int32_t(i);
              bv[size_t(c)] = v;
              c += v != T(0);
            }
            const int64_t p = row_ptr[r];
            if (c == 0) continue;
            std::memcpy(idx + p, bi.data(), size_t(c) * sizeof(int32_t));
            std::memcpy(val + p, bv.data(), size_t(c) * sizeof(T));
          }
        },
        64);
  }
  return row_ptr[rows];
}

template <typename T>
void sparse_rows_matmul(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                        const T* wt, int64_t m, const T* bias, T* y, int n_threads) {
  parallel_blocks(
      n_threads, rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          // inputs summed from 0 in ascending index order (the engine's delivery order), bias last
          T* yr = y + r * m;
          for (int64_t j = 0; j < m; ++j) yr[j] = T(0);
          for (int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
            const T* w = wt + int64_t(idx[p]) * m;
            const T s = val ? val[p] : T(1);
            if (s == T(1)) {
              for (int64_t j = 0; j < m; ++j) yr[j] += w[j];
            } else {
              for (int64_t j = 0; j < m; ++j) yr[j] += s * w[j];
            }
          }
          if (bias)
            for (int64_t j = 0; j < m; ++j) yr[j] += bias[j];
        }
      },
      16);
}

template <typename T>
void sparse_rows_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                             const T* gy, int64_t k, int64_t m, T* gwt, int n_threads) {
  // threads own column blocks [j0, j1) of gwt: a fixed summation order for any thread count
  parallel_blocks(
      n_threads, m,
      [&](int64_t j0, int64_t j1) {
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = j0; j < j1; ++j) gwt[i * m + j] = T(0);
        for (int64_t r = 0; r < rows; ++r) {
          const T* g = gy + r * m;
          for (int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
            T* w = gwt + int64_t(idx[p]) * m;
            const T s = val ? val[p] : T(1);
            if (s == T(1)) {
              for (int64_t j = j0; j < j1; ++j) w[j] += g[j];
            } else {
              for (int64_t j = j0; j < j1; ++j) w[j] += s * g[j];
            }
          }
        }
      },
      64);
}

template <typename T>
void sparse_syn_forward(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                        const int64_t* syn_ptr, const int32_t* post, const T* w, int64_t m,
                        const T* bias, T* y, int n_threads) {
  parallel_blocks(
      n_threads, rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          T* yr = y + r * m;
          for (int64_t j = 0; j < m; ++j) yr[j] = T(0);
          for (int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
            const int64_t i = idx[p];
            const T s = val ? val[p] : T(1);
            if (s == T(1)) {
              for (int64_t q = syn_ptr[i]; q < syn_ptr[i + 1]; ++q) yr[post[q]] += w[q];
            } else {
              for (int64_t q = syn_ptr[i]; q < syn_ptr[i + 1]; ++q) yr[post[q]] += s * w[q];
            }
          }
          if (bias)
            for (int64_t j = 0; j < m; ++j) yr[j] += bias[j];
        }
      },
      16);
}

template <typename T>
void sparse_syn_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                            const int64_t* syn_ptr, const int32_t* post, int64_t k, const T* gy,
                            int64_t m, T* gw, int n_threads) {
  (void)m;
  parallel_blocks(
      n_threads, k,
      [&](int64_t i0, int64_t i1) {
        for (int64_t q = syn_ptr[i0]; q < syn_ptr[i1]; ++q) gw[q] = T(0);
        for (int64_t r = 0; r < rows; ++r) {
          const T* g = gy + r * m;
          for (int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
            const int64_t i = idx[p];
            if (i < i0 || i >= i1) continue;
            const T s = val ? val[p] : T(1);
            for (int64_t q = syn_ptr[i]; q < syn_ptr[i + 1]; ++q) gw[q] += s * g[post[q]];
          }
        }
      },
      16);
}

template <typename T>
void sparse_syn_input_grad(const int64_t* syn_ptr, const int32_t* post, const T* w, int64_t k,
                           const T* gy, int64_t rows, int64_t m, T* gx, int n_threads) {
  parallel_blocks(
      n_threads, rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const T* g = gy + r * m;
          T* gxr = gx + r * k;
          for (int64_t i = 0; i < k; ++i) {
            T acc = T(0);
            for (int64_t q = syn_ptr[i]; q < syn_ptr[i + 1]; ++q) acc += w[q] * g[post[q]];
            gxr[i] = acc;
          }
        }
      },
      16);
}

#define SPIKECORE_INSTANTIATE(T)                                                                   \
  template int64_t gather_active<T>(const T*, int64_t, int64_t, int64_t*, int32_t*, T*, int,       \
                                    bool);                                                         \
  template void sparse_rows_matmul<T>(const int64_t*, const int32_t*, const T*, int64_t, const T*, \
                                      int64_t, const T*, T*, int);                                 \
  template void sparse_rows_weight_grad<T>(const int64_t*, const int32_t*, const T*, int64_t,      \
                                           const T*, int64_t, int64_t, T*, int);                   \
  template void sparse_syn_forward<T>(const int64_t*, const int32_t*, const T*, int64_t,           \
                                      const int64_t*, const int32_t*, const T*, int64_t, const T*, \
                                      T*, int);                                                    \
  template void sparse_syn_weight_grad<T>(const int64_t*, const int32_t*, const T*, int64_t,       \
                                          const int64_t*, const int32_t*, int64_t, const T*,       \
                                          int64_t, T*, int);                                       \
  template void sparse_syn_input_grad<T>(const int64_t*, const int32_t*, const T*, int64_t,        \
                                         const T*, int64_t, int64_t, T*, int);

SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::train
