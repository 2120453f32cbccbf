// Microbenchmark: SynapseMatrix construction, memory and structural plasticity on Brunel's
// 12.5 M recurrent synapses: from_coo, prune 10 % (at random and by smallest |w|), regrow 10 % at
// random (fixed density). Prints medians over repeats.
#include "bench_common.hpp"

using spikecore::SynapseMatrix;

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  const double scale = q ? 0.2 : 1.0;
  const int repeats = q ? 3 : 5;
  const auto coo = bench::brunel_coo(scale, 15);
  const int64_t nnz = int64_t(coo.pre.size());
  std::printf("bench_prune_regrow: N = %d, synapses = %lld\n", coo.n, (long long)nnz);

  std::vector<double> tb;
  SynapseMatrix m;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = bench::now_s();
    m = bench::brunel_matrix(coo, 0.15);
    tb.push_back(bench::now_s() - t0);
  }
  bench::report("from_coo (slack 0.15)", bench::median(tb), "s");
  bench::report("memory (capacity incl. slack)", double(m.memory_bytes()) / double(m.nnz()),
                "bytes/syn");
  const SynapseMatrix tight = bench::brunel_matrix(coo, 0.0);
  bench::report("memory (no slack)", double(tight.memory_bytes()) / double(tight.nnz()),
                "bytes/syn");

  const int64_t count = int64_t(0.1 * double(nnz) + 0.5);
  std::vector<double> tp, tr, ts, tboth;
  for (int r = 0; r < repeats; ++r) {
    double t0 = bench::now_s();
    m.prune_random(0.1, 1, uint64_t(r));
    const double a = bench::now_s() - t0;
    t0 = bench::now_s();
    m.regrow_random(count, 0.1f, 15, false, false, 2, uint64_t(r));
    const double b = bench::now_s() - t0;
    tp.push_back(a);
    tr.push_back(b);
    tboth.push_back(a + b);
    t0 = bench::now_s();
    m.prune_smallest(0.1);
    ts.push_back(bench::now_s() - t0);
    m.regrow_random(count, 0.1f, 15, false, false, 3, uint64_t(r));
  }
  m.check_invariants();
  bench::report("prune_random 10%", bench::median(tp), "s");
  bench::report("regrow_random 10%", bench::median(tr), "s");
  bench::report("prune 10% + regrow 10%", bench::median(tboth), "s", "target <= 0.3 s");
  bench::report("prune_smallest 10%", bench::median(ts), "s");
  return 0;
}
