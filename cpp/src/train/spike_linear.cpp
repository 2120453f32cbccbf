// Spike-sparse dense-weight products: only the active inputs of each row are touched.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "spikecore/train/kernels.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace spikecore::train {

namespace {

// Bit j of the result: x[j] != 0 (NaN counts as nonzero, -0 as zero), for the n <= 64 values
// from x: vector compares of the ISA the file is compiled for (the portable build compiles it
// per variant), a scalar loop for a last word of fewer than 64. Same bits on every path.
template <typename T>
inline uint64_t nonzero_bits_scalar(const T* x, int64_t n) {
  uint64_t m = 0;
  for (int64_t j = 0; j < n; ++j) m |= uint64_t(x[j] != T(0)) << j;
  return m;
}

// One vector compare: bit j set where p[j] != 0 (unordered compare: NaN is nonzero).
template <typename T>
struct NonzeroVec {  // no vector path: one value at a time
  static constexpr int lanes = 1;
  static unsigned bits(const T* p) { return unsigned(*p != T(0)); }
};
#if defined(__AVX512F__)
template <>
struct NonzeroVec<float> {
  static constexpr int lanes = 16;
  static unsigned bits(const float* p) {
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_setzero_ps(), _CMP_NEQ_UQ);
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 8;
  static unsigned bits(const double* p) {
    return _mm512_cmp_pd_mask(_mm512_loadu_pd(p), _mm512_setzero_pd(), _CMP_NEQ_UQ);
  }
};
#elif defined(__AVX__)
template <>
struct NonzeroVec<float> {
  static constexpr int lanes = 8;
  static unsigned bits(const float* p) {
    return unsigned(
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), _mm256_setzero_ps(), _CMP_NEQ_UQ)));
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 4;
  static unsigned bits(const double* p) {
    return unsigned(
        _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p), _mm256_setzero_pd(), _CMP_NEQ_UQ)));
  }
};
#elif defined(__SSE2__)
template <>
struct NonzeroVec<float> {
  static constexpr int lanes = 4;
  static unsigned bits(const float* p) {
    return unsigned(_mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(p), _mm_setzero_ps())));
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 2;
  static unsigned bits(const double* p) {
    return unsigned(_mm_movemask_pd(_mm_cmpneq_pd(_mm_loadu_pd(p), _mm_setzero_pd())));
  }
};
#endif

template <typename T>
inline uint64_t nonzero_bits(const T* x, int64_t n) {
  if (n < 64) return nonzero_bits_scalar(x, n);
  constexpr int L = NonzeroVec<T>::lanes;
  uint64_t m = 0;
  for (int j = 0; j < 64; j += L) m |= uint64_t(NonzeroVec<T>::bits(x + j)) << j;
  return m;
}

}  // namespace

template <typename T>
int64_t gather_active(const T* x, int64_t rows, int64_t k, int64_t* row_ptr, int32_t* idx, T* val,
                      int n_threads, bool counted) {
  // Both passes read each row as 64-value words of nonzero bits (compare + movemask): pass 1
  // counts per row (parallel), then a prefix sum; pass 2 writes the set bits' indices and values
  // in ascending order straight to their place (parallel; rows own disjoint ranges).
  if (!counted) {
    row_ptr[0] = 0;
    parallel_blocks(
        n_threads, rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t c = 0;
            for (int64_t i = 0; i < k; i += 64)
              c += __builtin_popcountll(nonzero_bits(xr + i, std::min<int64_t>(64, k - i)));
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
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t p = row_ptr[r];
            for (int64_t i = 0; i < k; i += 64) {
              uint64_t m = nonzero_bits(xr + i, std::min<int64_t>(64, k - i));
              while (m != 0) {
                const int64_t j = i + __builtin_ctzll(m);
                idx[p] = int32_t(j);
                val[p] = xr[j];
                ++p;
                m &= m - 1;
              }
            }
          }
        },
        64);
  }
  return row_ptr[rows];
}

namespace {

// 32-byte vectors (GCC/Clang vector extensions; lowered to two 16-byte halves below AVX).
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(32)));
};

// out[a, c0 : c0 + NV * L] = sum over q in [ptr[a], ptr[a + 1]) of val[q] * M[src[q], c0 : ...]
// (+ bias), for a in [a0, a1), L = lanes per vector: summed from 0 in list order, bias last.
// The NV vector sums live in registers while a list is walked (one load per vector of M, no load
// or store of the output per list entry). A value of exactly 1 adds the row unscaled (spikes);
// val == null: all values 1.
template <int NV, typename T>
void gather_tile(const int64_t* __restrict__ ptr, const int32_t* __restrict__ src,
                 const T* __restrict__ val, const T* __restrict__ M, int64_t m,
                 const T* __restrict__ bias, T* __restrict__ out, int64_t a0, int64_t a1,
                 int64_t c0) {
  using V = typename Vec<T>::type;
  constexpr int L = int(sizeof(V) / sizeof(T));
  for (int64_t a = a0; a < a1; ++a) {
    V acc[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[v] = V{} * T(0);
    const int64_t q1 = ptr[a + 1];
    for (int64_t q = ptr[a]; q < q1; ++q) {
      const T* w = M + int64_t(src[q]) * m + c0;
      if (val == nullptr || val[q] == T(1)) {
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          V x;
          std::memcpy(&x, w + v * L, sizeof(V));
          acc[v] += x;
        }
      } else {
        const T s = val[q];
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          V x;
          std::memcpy(&x, w + v * L, sizeof(V));
          acc[v] += s * x;
        }
      }
    }
    if (bias) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        V x;
        std::memcpy(&x, bias + c0 + v * L, sizeof(V));
        acc[v] += x;
      }
    }
    T* o = out + a * m + c0;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) std::memcpy(o + v * L, &acc[v], sizeof(V));
  }
}

// The last W columns (fewer than one vector), W sums in registers, same order.
template <int W, typename T>
void gather_cols(const int64_t* __restrict__ ptr, const int32_t* __restrict__ src,
                 const T* __restrict__ val, const T* __restrict__ M, int64_t m,
                 const T* __restrict__ bias, T* __restrict__ out, int64_t a0, int64_t a1,
                 int64_t c0) {
  for (int64_t a = a0; a < a1; ++a) {
    T acc[W];
    for (int j = 0; j < W; ++j) acc[j] = T(0);
    for (int64_t q = ptr[a]; q < ptr[a + 1]; ++q) {
      const T* w = M + int64_t(src[q]) * m + c0;
      const T s = val ? val[q] : T(1);
      if (s == T(1)) {
        for (int j = 0; j < W; ++j) acc[j] += w[j];
      } else {
        for (int j = 0; j < W; ++j) acc[j] += s * w[j];
      }
    }
    if (bias)
      for (int j = 0; j < W; ++j) acc[j] += bias[c0 + j];
    for (int j = 0; j < W; ++j) out[a * m + c0 + j] = acc[j];
  }
}

// f(std::integral_constant<int, n>) for 1 <= n <= 7; nothing for n == 0.
template <typename F>
void with_small(int n, F&& f) {
  switch (n) {
    case 7:
      f(std::integral_constant<int, 7>{});
      break;
    case 6:
      f(std::integral_constant<int, 6>{});
      break;
    case 5:
      f(std::integral_constant<int, 5>{});
      break;
    case 4:
      f(std::integral_constant<int, 4>{});
      break;
    case 3:
      f(std::integral_constant<int, 3>{});
      break;
    case 2:
      f(std::integral_constant<int, 2>{});
      break;
    case 1:
      f(std::integral_constant<int, 1>{});
      break;
    default:
      break;
  }
}

// All columns of out[a0:a1, :]: tiles of 8 vectors (64 floats / 32 doubles), then one tile of
// the remaining whole vectors, then one of the remaining columns. Tile outermost, so one
// tile's slab of M stays in cache while every list of [a0, a1) is walked.
template <int NV, typename T>
void gather_rows(const int64_t* ptr, const int32_t* src, const T* val, const T* M, int64_t m,
                 const T* bias, T* out, int64_t a0, int64_t a1) {
  constexpr int L = int(sizeof(typename Vec<T>::type) / sizeof(T));
  int64_t c = 0;
  for (; c + NV * L <= m; c += NV * L) gather_tile<NV>(ptr, src, val, M, m, bias, out, a0, a1, c);
  with_small(int((m - c) / L), [&](auto nv) {  // the remaining whole vectors (< NV)
    gather_tile<decltype(nv)::value>(ptr, src, val, M, m, bias, out, a0, a1, c);
    c += decltype(nv)::value * L;
  });
  with_small(int(m - c), [&](auto w) {  // the remaining columns (< L <= 8)
    gather_cols<decltype(w)::value>(ptr, src, val, M, m, bias, out, a0, a1, c);
  });
}

constexpr int64_t kRowBlock = 64;  // least rows per parallel chunk

}  // namespace

template <typename T>
void sparse_rows_matmul(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                        const T* wt, int64_t m, const T* bias, T* y, int n_threads) {
  // y[r, :] sums the rows wt[i, :] of the active inputs i of row r from 0 in ascending index
  // order (the engine's delivery order), bias last; each output is written by one task.
  parallel_blocks(
      n_threads, rows,
      [&](int64_t r0, int64_t r1) { gather_rows<8, T>(row_ptr, idx, val, wt, m, bias, y, r0, r1); },
      kRowBlock);
}

template <typename T>
void sparse_rows_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                             const T* gy, int64_t k, int64_t m, T* gw, int n_threads, T* gb,
                             bool gw_rows) {
  // Threads own column blocks [j0, j1) of gy: a fixed summation order for any thread count.
  // The rows of gy stream once; each active input adds the block of its row to its row of the
  // sum. gw_rows: the block is summed in a thread-local [k, j1 - j0] buffer, then stored
  // transposed (16-row tiles) as rows j0..j1 of gw [M, K]; else straight into gwt [K, M].
  parallel_blocks(
      n_threads, m,
      [&](int64_t j0, int64_t j1) {
        const int64_t w = j1 - j0;
        thread_local std::vector<T> local;
        T* acc;  // acc[i * ld + (j - j0)] sums column j of row i
        int64_t ld;
        if (gw_rows) {
          local.resize(size_t(k * w));
          acc = local.data();
          ld = w;
        } else {
          acc = gw + j0;
          ld = m;
        }
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < w; ++j) acc[i * ld + j] = T(0);
        if (gb)
          for (int64_t j = j0; j < j1; ++j) gb[j] = T(0);
        for (int64_t r = 0; r < rows; ++r) {
          const T* g = gy + r * m + j0;
          if (gb) {
            T* b = gb + j0;
            for (int64_t j = 0; j < w; ++j) b[j] += g[j];
          }
          for (int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
            T* a = acc + int64_t(idx[p]) * ld;
            const T s = val ? val[p] : T(1);
            if (s == T(1)) {
              for (int64_t j = 0; j < w; ++j) a[j] += g[j];
            } else {
              for (int64_t j = 0; j < w; ++j) a[j] += s * g[j];
            }
          }
        }
        if (gw_rows)
          for (int64_t i0 = 0; i0 < k; i0 += 16) {
            const int64_t i1 = std::min(i0 + 16, k);
            for (int64_t j = 0; j < w; ++j) {
              T* o = gw + (j0 + j) * k;
              for (int64_t i = i0; i < i1; ++i) o[i] = acc[i * w + j];
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
                                           const T*, int64_t, int64_t, T*, int, T*, bool);         \
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
