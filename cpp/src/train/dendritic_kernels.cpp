// Dendritic layer forward / backward (see train/dendritic_kernels.hpp).
#include "spikecore/train/dendritic_kernels.hpp"

#include <cstring>

#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

template <typename T>
void dendritic_forward(const DendriticArgs& a, const T* x, const T* w, const T* b,
                       const int64_t* idx, T* u, T* y) {
  const int64_t km = a.k * a.m, work = a.out * km;
  parallel_blocks(
      a.n_threads, a.rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const T* xr = x + r * a.in;
          for (int64_t j = 0; j < a.out; ++j)
            y[r * a.out + j] =
                dendritic_soma_input<T>(a.g, a.k, a.m, w + j * km, b ? b + j * a.k : nullptr,
                                        idx + j * km, xr, u + (r * a.out + j) * a.k);
        }
      },
      1 + 65536 / (work > 0 ? work : 1));
}

template <typename T>
void dendritic_backward(const DendriticArgs& a, const T* x, const T* w, const int64_t* idx,
                        const T* u, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t km = a.k * a.m, work = a.out * km;
  const int64_t grain = 1 + 65536 / (work > 0 ? work : 1);
  if (gx) {
    parallel_blocks(
        a.n_threads, a.rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            T* gxr = gx + r * a.in;
            std::memset(gxr, 0, sizeof(T) * size_t(a.in));
            for (int64_t j = 0; j < a.out; ++j) {
              const T gyj = gy[r * a.out + j];
              const T* ur = u + (r * a.out + j) * a.k;
              for (int64_t k = 0; k < a.k; ++k) {
                const T gu = gyj * branch_g_grad(a.g, ur[k]);
                if (gu == T(0)) continue;
                const T* wk = w + j * km + k * a.m;
                const int64_t* ik = idx + j * km + k * a.m;
                for (int64_t i = 0; i < a.m; ++i) gxr[ik[i]] += gu * wk[i];
              }
            }
          }
        },
        grain);
  }
  // weight / bias gradients: neuron blocks, rows summed in order
  parallel_blocks(
      a.n_threads, a.out,
      [&](int64_t j0, int64_t j1) {
        for (int64_t j = j0; j < j1; ++j) {
          T* gwj = gw + j * km;
          std::memset(gwj, 0, sizeof(T) * size_t(km));
          if (gb) std::memset(gb + j * a.k, 0, sizeof(T) * size_t(a.k));
          for (int64_t r = 0; r < a.rows; ++r) {
            const T gyj = gy[r * a.out + j];
            if (gyj == T(0)) continue;
            const T* xr = x + r * a.in;
            const T* ur = u + (r * a.out + j) * a.k;
            for (int64_t k = 0; k < a.k; ++k) {
              const T gu = gyj * branch_g_grad(a.g, ur[k]);
              if (gu == T(0)) continue;
              if (gb) gb[j * a.k + k] += gu;
              T* gwk = gwj + k * a.m;
              const int64_t* ik = idx + j * km + k * a.m;
              for (int64_t i = 0; i < a.m; ++i) gwk[i] += gu * xr[ik[i]];
            }
          }
        }
      },
      1 + 65536 / (a.rows * km > 0 ? a.rows * km : 1));
}

#define SPIKECORE_INSTANTIATE(T)                                                                \
  template void dendritic_forward<T>(const DendriticArgs&, const T*, const T*, const T*,        \
                                     const int64_t*, T*, T*);                                   \
  template void dendritic_backward<T>(const DendriticArgs&, const T*, const T*, const int64_t*, \
                                      const T*, const T*, T*, T*, T*);

SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::train
