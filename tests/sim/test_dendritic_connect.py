"""Connection rules onto dendritic populations (issue 12, bug 1): targets are branch
compartments ``j * K + k``, and an autapse is pre neuron ``i`` -> any branch of neuron ``i``
(compartments ``i*K .. i*K+K-1``), never pre ``i`` -> compartment ``i``."""

import numpy as np
import pytest

from spikecore.sim import Network

N, K = 3, 2


def _dendritic(seed=0):
    net = Network(seed=seed)
    return net, net.add_population(N, "lif", branches=K)


def _pairs(proj):
    pre, post, _, _ = proj.to_coo()
    return pre, post


def _all_but_autapses():
    return {(i, c) for i in range(N) for c in range(N * K) if c // K != i}


def test_all_to_all_drops_the_branches_of_the_own_neuron():
    net, a = _dendritic()
    pre, post = _pairs(net.connect(a, a, "all_to_all", allow_autapses=False))
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()


def test_all_to_all_weight_array_keeps_each_value_on_its_synapse():
    net, a = _dendritic()
    w = (10 * np.arange(N)[:, None] + np.arange(N * K)[None, :]).astype(np.float32)
    d = 0.1 * (1 + (np.arange(N)[:, None] + np.arange(N * K)[None, :]) % 3)
    proj = net.connect(a, a, "all_to_all", allow_autapses=False, weight=w, delay=d)
    pre, post, ws, ds = proj.to_coo()
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()
    np.testing.assert_array_equal(ws, w[pre, post])
    np.testing.assert_allclose(ds, d[pre, post])


def test_pairwise_bernoulli_p1_gives_every_non_autapse_pair():
    net, a = _dendritic()
    pre, post = _pairs(net.connect(a, a, "pairwise_bernoulli", p=1.0, allow_autapses=False))
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()
    assert pre.size == len(_all_but_autapses())


@pytest.mark.parametrize("seed", range(4))
def test_fixed_indegree_draws_only_other_neurons(seed):
    net, a = _dendritic(seed)
    # N - 1 = 2 other neurons for each compartment; without multapses every one is drawn
    pre, post = _pairs(
        net.connect(a, a, "fixed_indegree", k=N - 1, allow_autapses=False, allow_multapses=False)
    )
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()
    with pytest.raises(ValueError, match="indegree"):
        net.connect(a, a, "fixed_indegree", k=N, allow_autapses=False, allow_multapses=False)


@pytest.mark.parametrize("seed", range(4))
def test_fixed_outdegree_draws_only_branches_of_other_neurons(seed):
    net, a = _dendritic(seed)
    # each neuron has N K - K = 4 compartments of other neurons
    k = N * K - K
    pre, post = _pairs(
        net.connect(a, a, "fixed_outdegree", k=k, allow_autapses=False, allow_multapses=False)
    )
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()
    with pytest.raises(ValueError, match="outdegree"):
        net.connect(a, a, "fixed_outdegree", k=k + 1, allow_autapses=False, allow_multapses=False)
    # with multapses: many draws, still never onto the own branches
    pre, post = _pairs(net.connect(a, a, "fixed_outdegree", k=50, allow_autapses=False))
    assert pre.size == 50 * N and np.all(post // K != pre)


def test_one_to_one_counts_compartments():
    net, a = _dendritic()
    src = net.add_population(N * K, "lif")
    pre, post = _pairs(net.connect(src, a, "one_to_one"))
    np.testing.assert_array_equal(pre, post)
    with pytest.raises(ValueError, match=r"post: .*3 neurons x 2 branches"):
        net.connect(a, a, "one_to_one", allow_autapses=False)


def test_explicit_autapse_check_uses_the_neuron_of_the_compartment():
    net, a = _dendritic()
    # pre 1 -> compartment 1 is neuron 0's second branch: allowed
    proj = net.connect(a, a, "explicit", pre_index=[1], post_index=[1], allow_autapses=False)
    assert proj.nnz == 1
    # pre 1 -> compartment 3 is neuron 1's second branch: an autapse
    with pytest.raises(ValueError, match="autapse"):
        net.connect(a, a, "explicit", pre_index=[1], post_index=[3], allow_autapses=False)


def test_regrow_random_fills_every_free_non_autapse_position():
    net, a = _dendritic()
    proj = net.connect(
        a, a, "explicit", pre_index=[0], post_index=[2], allow_autapses=False, allow_multapses=False
    )
    free = len(_all_but_autapses()) - 1
    assert net.regrow(proj, free, weight=1.0) == free
    pre, post = _pairs(proj)
    assert set(zip(pre.tolist(), post.tolist())) == _all_but_autapses()
    with pytest.raises(ValueError, match="count"):
        net.regrow(proj, 1)


def test_regrow_scores_skips_the_own_branches():
    net, a = _dendritic()
    proj = net.connect(a, a, "explicit", pre_index=[0], post_index=[2], allow_autapses=False)
    scores = np.zeros((N, N * K), np.float32)
    scores[np.arange(N * K) // K, np.arange(N * K)] = 100.0  # the autapse positions score best
    scores[2, 1] = 50.0
    net.regrow(proj, 1, method="scores", scores=scores, weight=1.0)
    pre, post = _pairs(proj)
    assert set(zip(pre.tolist(), post.tolist())) == {(0, 2), (2, 1)}
