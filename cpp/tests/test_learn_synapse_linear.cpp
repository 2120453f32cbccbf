// Synapse-sparse products equal the dense products of the scattered weight matrix, and do not
// depend on the thread count.
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/learn/synapse_linear.hpp"

using namespace spikecore;

namespace {
struct Net {
  int64_t n_in = 40, n_out = 30, rows = 70;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> post;
  std::vector<double> w, dense;  // dense [n_out, n_in]
  explicit Net(unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::bernoulli_distribution keep(0.25);
    row_ptr.push_back(0);
    dense.assign(size_t(n_in * n_out), 0.0);
    for (int64_t i = 0; i < n_in; ++i) {
      for (int64_t j = 0; j < n_out; ++j)
        if (keep(g)) {
          post.push_back(int32_t(j));
          w.push_back(u(g));
          dense[size_t(j * n_in + i)] = w.back();
        }
      row_ptr.push_back(int64_t(post.size()));
    }
  }
};
}  // namespace

TEST_CASE("synapse_linear forward / grad input / grad weight equal dense products") {
  Net net(3);
  std::mt19937 g(4);
  std::bernoulli_distribution spike(0.3);
  std::normal_distribution<double> nd;
  std::vector<double> xt(size_t(net.n_in * net.rows)), gyt(size_t(net.n_out * net.rows));
  for (auto& v : xt) v = spike(g) ? 1.0 : 0.0;
  for (auto& v : gyt) v = nd(g);
  std::vector<double> bias(size_t(net.n_out));
  for (auto& v : bias) v = nd(g);
  std::vector<double> yt_ref(size_t(net.n_out * net.rows)), gxt_ref(xt.size()),
      gw_ref(net.w.size());
  for (int64_t j = 0; j < net.n_out; ++j)
    for (int64_t r = 0; r < net.rows; ++r) {
      double acc = bias[size_t(j)];
      for (int64_t i = 0; i < net.n_in; ++i)
        acc += net.dense[size_t(j * net.n_in + i)] * xt[size_t(i * net.rows + r)];
      yt_ref[size_t(j * net.rows + r)] = acc;
    }
  for (int64_t i = 0; i < net.n_in; ++i)
    for (int64_t r = 0; r < net.rows; ++r) {
      double acc = 0;
      for (int64_t j = 0; j < net.n_out; ++j)
        acc += net.dense[size_t(j * net.n_in + i)] * gyt[size_t(j * net.rows + r)];
      gxt_ref[size_t(i * net.rows + r)] = acc;
    }
  for (int64_t i = 0; i < net.n_in; ++i)
    for (int64_t s = net.row_ptr[size_t(i)]; s < net.row_ptr[size_t(i + 1)]; ++s) {
      double acc = 0;
      for (int64_t r = 0; r < net.rows; ++r)
        acc += xt[size_t(i * net.rows + r)] * gyt[size_t(net.post[size_t(s)] * net.rows + r)];
      gw_ref[size_t(s)] = acc;
    }
  std::vector<double> first_y, first_gx, first_gw;
  for (int threads : {1, 2, 3}) {
    std::vector<double> yt(yt_ref.size()), gxt(xt.size()), gw(net.w.size());
    learn::synapse_linear_forward<double>(xt.data(), net.rows, net.n_in, net.row_ptr.data(),
                                          net.post.data(), net.w.data(), net.n_out, bias.data(),
                                          yt.data(), threads);
    learn::synapse_linear_grad_input<double>(gyt.data(), net.rows, net.n_in, net.row_ptr.data(),
                                             net.post.data(), net.w.data(), net.n_out, gxt.data(),
                                             threads);
    learn::synapse_linear_grad_weight<double>(xt.data(), gyt.data(), net.rows, net.n_in,
                                              net.row_ptr.data(), net.post.data(), net.n_out,
                                              gw.data(), threads);
    for (size_t k = 0; k < yt.size(); ++k) CHECK(std::fabs(yt[k] - yt_ref[k]) < 1e-12);
    for (size_t k = 0; k < gxt.size(); ++k) CHECK(std::fabs(gxt[k] - gxt_ref[k]) < 1e-12);
    for (size_t k = 0; k < gw.size(); ++k) CHECK(std::fabs(gw[k] - gw_ref[k]) < 1e-12);
    if (threads == 1) {
      first_y = yt;
      first_gx = gxt;
      first_gw = gw;
    } else {
      CHECK(yt == first_y);
      CHECK(gxt == first_gx);
      CHECK(gw == first_gw);
    }
  }
}

TEST_MAIN()
