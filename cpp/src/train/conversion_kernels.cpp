// Fused forward kernels of the conversion neurons: an outer loop over time and fixed neuron blocks
// around the block steps of neurons/if_neuron.hpp and neurons/stdi.hpp.
#include "spikecore/train/conversion_kernels.hpp"

#include <vector>

#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

template <typename T>
void if_forward(const IFParams& p, const T* x, const T* theta, int64_t steps, int64_t n, T* z,
                int n_threads) {
  const IFCoeffs c = IFCoeffs::make(p);
  require(steps >= 1, "x", "needs at least one time step");
  parallel_blocks(
      n_threads, n,
      [&](int64_t b, int64_t e) {
        std::vector<T> v(size_t(e - b));
        for (int64_t i = b; i < e; ++i) v[size_t(i - b)] = T(c.v0) * theta[i];
        T* vb = v.data() - b;  // indexed by the global neuron index
        for (int64_t t = 0; t < steps; ++t) {
          const T* xt = x + t * n;
          T* zt = z + t * n;
          if (p.is_signed())
            if_block_step<true, T>(T(c.slope), theta, vb, xt, zt, b, e);
          else
            if_block_step<false, T>(T(c.slope), theta, vb, xt, zt, b, e);
        }
      },
      1024);
}

template <typename T>
void stdi_forward(const STDIParams& p, const T* x, const T* theta, int64_t n, T* z, int n_threads) {
  const STDICoeffs c = STDICoeffs::make(p);
  parallel_blocks(
      n_threads, n,
      [&](int64_t b, int64_t e) {
        std::vector<T> u(size_t(e - b), T(0));
        T* ub = u.data() - b;
        for (int32_t r = 0; r < c.T + c.D; ++r) {
          const T* xr = x + int64_t(r < c.T ? r : 0) * n;
          T* zr = z + int64_t(r >= c.D ? r - c.D : 0) * n;
          if (p.is_signed())
            stdi_block_step<true, T>(r, c, theta, ub, xr, zr, b, e);
          else
            stdi_block_step<false, T>(r, c, theta, ub, xr, zr, b, e);
        }
      },
      1024);
}

template void if_forward<float>(const IFParams&, const float*, const float*, int64_t, int64_t,
                                float*, int);
template void if_forward<double>(const IFParams&, const double*, const double*, int64_t, int64_t,
                                 double*, int);
template void stdi_forward<float>(const STDIParams&, const float*, const float*, int64_t, float*,
                                  int);
template void stdi_forward<double>(const STDIParams&, const double*, const double*, int64_t,
                                   double*, int);

}  // namespace spikecore::train
