// Spike-sparse dense-weight products: only the active inputs of each row are touched.
#include <algorithm>
#include <atomic>
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
  static unsigned ones(const T* p) { return unsigned(*p == T(1)); }
};
#if defined(__AVX512F__)
template <>
struct NonzeroVec<float> {
  static constexpr int lanes = 16;
  static unsigned bits(const float* p) {
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_setzero_ps(), _CMP_NEQ_UQ);
  }
  static unsigned ones(const float* p) {
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_set1_ps(1.f), _CMP_EQ_OQ);
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 8;
  static unsigned bits(const double* p) {
    return _mm512_cmp_pd_mask(_mm512_loadu_pd(p), _mm512_setzero_pd(), _CMP_NEQ_UQ);
  }
  static unsigned ones(const double* p) {
    return _mm512_cmp_pd_mask(_mm512_loadu_pd(p), _mm512_set1_pd(1.0), _CMP_EQ_OQ);
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
  static unsigned ones(const float* p) {
    return unsigned(
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), _mm256_set1_ps(1.f), _CMP_EQ_OQ)));
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 4;
  static unsigned bits(const double* p) {
    return unsigned(
        _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p), _mm256_setzero_pd(), _CMP_NEQ_UQ)));
  }
  static unsigned ones(const double* p) {
    return unsigned(
        _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p), _mm256_set1_pd(1.0), _CMP_EQ_OQ)));
  }
};
#elif defined(__SSE2__)
template <>
struct NonzeroVec<float> {
  static constexpr int lanes = 4;
  static unsigned bits(const float* p) {
    return unsigned(_mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(p), _mm_setzero_ps())));
  }
  static unsigned ones(const float* p) {
    return unsigned(_mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(p), _mm_set1_ps(1.f))));
  }
};
template <>
struct NonzeroVec<double> {
  static constexpr int lanes = 2;
  static unsigned bits(const double* p) {
    return unsigned(_mm_movemask_pd(_mm_cmpneq_pd(_mm_loadu_pd(p), _mm_setzero_pd())));
  }
  static unsigned ones(const double* p) {
    return unsigned(_mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(p), _mm_set1_pd(1.0))));
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

// Bit j: x[j] == 1 (the same word layout as nonzero_bits).
template <typename T>
inline uint64_t one_bits(const T* x, int64_t n) {
  uint64_t m = 0;
  if (n < 64) {
    for (int64_t j = 0; j < n; ++j) m |= uint64_t(x[j] == T(1)) << j;
    return m;
  }
  constexpr int L = NonzeroVec<T>::lanes;
  for (int j = 0; j < 64; j += L) m |= uint64_t(NonzeroVec<T>::ones(x + j)) << j;
  return m;
}

}  // namespace

template <typename T>
int64_t gather_active(const T* x, int64_t rows, int64_t k, int64_t* row_ptr, int32_t* idx, T* val,
                      int n_threads, bool counted, uint64_t* masks, bool* ones) {
  // Both passes read each row as 64-value words of nonzero bits (compare + movemask): pass 1
  // counts per row (parallel), then a prefix sum; pass 2 writes the set bits' indices and values
  // in ascending order straight to their place (parallel; rows own disjoint ranges). With
  // masks, pass 1 keeps the words ([R, ceil(K / 64)]) and pass 2 reads them instead of x (x is
  // read again only for the values, when val is not null). ones: whether every nonzero is 1.
  const int64_t words = (k + 63) / 64;
  if (!counted) {
    row_ptr[0] = 0;
    std::atomic<bool> all_ones{true};
    parallel_blocks(
        n_threads, rows,
        [&](int64_t r0, int64_t r1) {
          bool one = ones != nullptr && all_ones.load(std::memory_order_relaxed);
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t c = 0;
            for (int64_t w = 0; w < words; ++w) {
              const int64_t n = std::min<int64_t>(64, k - w * 64);
              const uint64_t b = nonzero_bits(xr + w * 64, n);
              if (masks) masks[r * words + w] = b;
              if (one && b != 0 && one_bits(xr + w * 64, n) != b) one = false;
              c += __builtin_popcountll(b);
            }
            row_ptr[r + 1] = c;
          }
          if (ones != nullptr && !one) all_ones.store(false, std::memory_order_relaxed);
        },
        64);
    for (int64_t r = 0; r < rows; ++r) row_ptr[r + 1] += row_ptr[r];
    if (ones) *ones = all_ones.load();
  }
  if (idx != nullptr) {
    parallel_blocks(
        n_threads, rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * k;
            int64_t p = row_ptr[r];
            for (int64_t w = 0; w < words; ++w) {
              const int64_t i = w * 64;
              uint64_t m =
                  masks ? masks[r * words + w] : nonzero_bits(xr + i, std::min<int64_t>(64, k - i));
              while (m != 0) {
                const int64_t j = i + __builtin_ctzll(m);
                idx[p] = int32_t(j);
                if (val) val[p] = xr[j];
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

// The widest vector of the build variant (64 bytes with AVX-512, else 32: lowered to halves).
template <typename T>
struct WVec;
#if defined(__AVX512F__)
template <>
struct WVec<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct WVec<double> {
  typedef double type __attribute__((vector_size(64)));
};
#else
template <>
struct WVec<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct WVec<double> {
  typedef double type __attribute__((vector_size(32)));
};
#endif

// acc[v] += the v-th vector at p (v < NV; unaligned loads), and acc[v] += s * that vector: the
// inner step of the list walks below (inlined: acc stays in registers).
template <int NV, typename V, typename T>
__attribute__((always_inline)) inline void add_vectors(V* acc, const T* p) {
  constexpr int L = int(sizeof(V) / sizeof(T));
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    V x;
    std::memcpy(&x, p + v * L, sizeof(V));
    acc[v] += x;
  }
}
template <int NV, typename V, typename T>
__attribute__((always_inline)) inline void add_scaled_vectors(V* acc, T s, const T* p) {
  constexpr int L = int(sizeof(V) / sizeof(T));
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    V x;
    std::memcpy(&x, p + v * L, sizeof(V));
    acc[v] += s * x;
  }
}

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
  using V = typename WVec<T>::type;
  constexpr int L = int(sizeof(V) / sizeof(T));
  for (int64_t a = a0; a < a1; ++a) {
    V acc[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[v] = V{} * T(0);
    const int64_t q1 = ptr[a + 1];
    for (int64_t q = ptr[a]; q < q1; ++q) {
      const T* w = M + int64_t(src[q]) * m + c0;
      if (val == nullptr || val[q] == T(1)) {
        add_vectors<NV>(acc, w);
      } else {
        const T s = val[q];
        add_scaled_vectors<NV>(acc, s, w);
      }
    }
    if (bias) {
      add_vectors<NV>(acc, bias + c0);
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

// f(std::integral_constant<int, n>) for 1 <= n <= 15; nothing for n == 0.
template <int N, typename F>
void with_small_upto(int n, F& f) {
  if constexpr (N > 0) {
    if (n == N)
      f(std::integral_constant<int, N>{});
    else
      with_small_upto<N - 1>(n, f);
  }
}
template <typename F>
void with_small(int n, F&& f) {
  with_small_upto<15>(n, f);
}

// All columns of out[a0:a1, :]: tiles of 8 vectors (64 floats / 32 doubles), then one tile of
// the remaining whole vectors, then one of the remaining columns. Tile outermost, so one
// tile's slab of M stays in cache while every list of [a0, a1) is walked.
template <int NV, typename T>
void gather_rows(const int64_t* ptr, const int32_t* src, const T* val, const T* M, int64_t m,
                 const T* bias, T* out, int64_t a0, int64_t a1) {
  constexpr int L = int(sizeof(typename WVec<T>::type) / sizeof(T));
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

namespace {

constexpr int kWgradVecs = 8;  // vectors per column tile of the weight gradient (registers)
// rows of gy per block: a tile's slab of them (256 KiB of float32 at 16 lanes) stays in L2
constexpr int64_t kWgradRows = 512;

// The active inputs transposed: for each input i, the rows r with x[r, i] active, ascending
// (and their values when val is not null). Counting sort of the row lists.
template <typename T>
void transpose_active(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                      int64_t k, std::vector<int64_t>& cptr, std::vector<int32_t>& crow,
                      std::vector<T>& cval) {
  const int64_t nnz = row_ptr[rows];
  cptr.assign(size_t(k) + 1, 0);
  crow.resize(size_t(nnz));
  cval.resize(val ? size_t(nnz) : 0);
  for (int64_t q = 0; q < nnz; ++q) ++cptr[size_t(idx[q]) + 1];
  for (int64_t i = 0; i < k; ++i) cptr[size_t(i) + 1] += cptr[size_t(i)];
  std::vector<int64_t> cur(cptr.begin(), cptr.end() - 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = row_ptr[r]; q < row_ptr[r + 1]; ++q) {
      const int64_t p = cur[size_t(idx[q])]++;
      crow[size_t(p)] = int32_t(r);
      if (val) cval[size_t(p)] = val[q];
    }
}

// One column tile [c0, c0 + NV * L) of the weight gradient: acc[i * W + j] (W = NV * L) =
// sum over the rows r of input i's list, ascending, from 0, of s * gy[r, c0 + j] (s = 1 for
// spikes), and gb[c0 + j] = sum of gy[r, c0 + j] over all rows ascending, from 0. gy is walked
// in blocks of kWgradRows rows (its slab for this tile stays in L2); within a block, each input's
// run of rows is summed in NV vector registers on top of its sums so far (one load + store of
// the input's row of acc per block, none per active entry).
template <int NV, typename T>
void wgrad_tile(const int64_t* __restrict__ cptr, const int32_t* __restrict__ crow,
                const T* __restrict__ cval, const T* __restrict__ gy, int64_t rows, int64_t k,
                int64_t m, int64_t c0, T* __restrict__ acc, int64_t* __restrict__ cur,
                T* __restrict__ gb) {
  using V = typename WVec<T>::type;
  constexpr int L = int(sizeof(V) / sizeof(T));
  constexpr int W = NV * L;
  for (int64_t i = 0; i < k; ++i) cur[i] = cptr[i];
  std::memset(acc, 0, sizeof(T) * size_t(k * W));
  V b[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) b[v] = V{} * T(0);
  for (int64_t r0 = 0; r0 < rows; r0 += kWgradRows) {
    const int64_t r1 = std::min(r0 + kWgradRows, rows);
    // the block's slab of gy, read in order first (the hardware prefetcher streams it into
    // cache; the per-input runs below then read it in random row order): the bias sums, or a
    // software prefetch of every line
    if (gb) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* g = gy + r * m + c0;
        add_vectors<NV>(b, g);
      }
    } else {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < W; j += 64 / int64_t(sizeof(T)))
          __builtin_prefetch(gy + r * m + c0 + j, 0, 2);
    }
    for (int64_t i = 0; i < k; ++i) {
      int64_t q = cur[i];
      const int64_t qe = cptr[i + 1];
      if (q >= qe || crow[q] >= r1) continue;
      T* ai = acc + i * W;
      V a[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) std::memcpy(&a[v], ai + v * L, sizeof(V));
      do {
        const T* g = gy + int64_t(crow[q]) * m + c0;
        if (cval == nullptr || cval[q] == T(1)) {
          add_vectors<NV>(a, g);
        } else {
          const T s = cval[q];
          add_scaled_vectors<NV>(a, s, g);
        }
        ++q;
      } while (q < qe && crow[q] < r1);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) std::memcpy(ai + v * L, &a[v], sizeof(V));
      cur[i] = q;
    }
  }
  if (gb)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) std::memcpy(gb + c0 + v * L, &b[v], sizeof(V));
}

// The same for the last W < L columns: W sums in registers per input, all rows at once (a
// narrow slab of gy), same summation order.
template <int W, typename T>
void wgrad_cols(const int64_t* __restrict__ cptr, const int32_t* __restrict__ crow,
                const T* __restrict__ cval, const T* __restrict__ gy, int64_t rows, int64_t k,
                int64_t m, int64_t c0, T* __restrict__ acc, T* __restrict__ gb) {
  for (int64_t i = 0; i < k; ++i) {
    T a[W];
    for (int j = 0; j < W; ++j) a[j] = T(0);
    for (int64_t q = cptr[i]; q < cptr[i + 1]; ++q) {
      const T* g = gy + int64_t(crow[q]) * m + c0;
      if (cval == nullptr || cval[q] == T(1)) {
        for (int j = 0; j < W; ++j) a[j] += g[j];
      } else {
        const T s = cval[q];
        for (int j = 0; j < W; ++j) a[j] += s * g[j];
      }
    }
    for (int j = 0; j < W; ++j) acc[i * W + j] = a[j];
  }
  if (gb) {
    T b[W];
    for (int j = 0; j < W; ++j) b[j] = T(0);
    for (int64_t r = 0; r < rows; ++r)
      for (int j = 0; j < W; ++j) b[j] += gy[r * m + c0 + j];
    for (int j = 0; j < W; ++j) gb[c0 + j] = b[j];
  }
}

}  // namespace

template <typename T>
void sparse_rows_weight_grad(const int64_t* row_ptr, const int32_t* idx, const T* val, int64_t rows,
                             const T* gy, int64_t k, int64_t m, T* gw, int n_threads, T* gb,
                             bool gw_rows) {
  // gw[j, i] (gw_rows) or gwt[i, j] = sum over the rows r where input i is active, ascending, of
  // val * gy[r, j]; gb[j] = sum over all rows, ascending. The active lists are transposed to
  // per-input row lists once; then column tiles (kWgradVecs vectors, then one tile of the
  // remaining whole vectors, then the remaining columns) are independent tasks: the summation
  // order of every output is fixed, whatever the thread count.
  using V = typename WVec<T>::type;
  constexpr int L = int(sizeof(V) / sizeof(T));
  constexpr int64_t TW = int64_t(kWgradVecs) * L;
  thread_local std::vector<int64_t> cptr;
  thread_local std::vector<int32_t> crow;
  thread_local std::vector<T> cval;
  transpose_active(row_ptr, idx, val, rows, k, cptr, crow, cval);
  const int64_t* cp = cptr.data();
  const int32_t* cr = crow.data();
  const T* cv = val ? cval.data() : nullptr;
  const int64_t full = m / TW, rest_vecs = (m - full * TW) / L;
  const int64_t c_cols = full * TW + rest_vecs * L, rest_cols = m - c_cols;
  const int64_t n_tiles = full + (rest_vecs > 0) + (rest_cols > 0);
  // tile t covers units [16 t, 16 t + 16): parallel_blocks' 16-aligned boundaries split on tiles
  parallel_blocks(
      n_threads, n_tiles * 16,
      [&](int64_t u0, int64_t u1) {
        thread_local std::vector<T> acc;
        thread_local std::vector<int64_t> cur;
        acc.resize(size_t(k * TW));
        cur.resize(size_t(k));
        for (int64_t t = u0 / 16; t < (u1 + 15) / 16; ++t) {
          int64_t c0, w;
          if (t < full) {
            c0 = t * TW;
            w = TW;
            wgrad_tile<kWgradVecs>(cp, cr, cv, gy, rows, k, m, c0, acc.data(), cur.data(), gb);
          } else if (t == full && rest_vecs > 0) {
            c0 = full * TW;
            w = rest_vecs * L;
            with_small(int(rest_vecs), [&](auto nv) {
              wgrad_tile<decltype(nv)::value>(cp, cr, cv, gy, rows, k, m, c0, acc.data(),
                                              cur.data(), gb);
            });
          } else {
            c0 = c_cols;
            w = rest_cols;
            with_small(int(rest_cols), [&](auto nw) {
              wgrad_cols<decltype(nw)::value>(cp, cr, cv, gy, rows, k, m, c0, acc.data(), gb);
            });
          }
          if (gw_rows) {  // transposed, 16 inputs at a time
            for (int64_t i0 = 0; i0 < k; i0 += 16) {
              const int64_t i1 = std::min(i0 + 16, k);
              for (int64_t j = 0; j < w; ++j) {
                T* o = gw + (c0 + j) * k;
                for (int64_t i = i0; i < i1; ++i) o[i] = acc[size_t(i * w + j)];
              }
            }
          } else {
            for (int64_t i = 0; i < k; ++i)
              std::memcpy(gw + i * m + c0, acc.data() + i * w, sizeof(T) * size_t(w));
          }
        }
      },
      16);
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
  template int64_t gather_active<T>(const T*, int64_t, int64_t, int64_t*, int32_t*, T*, int, bool, \
                                    uint64_t*, bool*);                                             \
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
