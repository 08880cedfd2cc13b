"""Online EM through ``GaussianMixture.partial_fit``: batches that arrive one at a time end close
to the batch fit, the state survives pickling, and bad settings are errors."""

import pickle

import numpy as np
import pytest

import em


def _stream(seed, n_batches, size=1000):
    rng = np.random.default_rng(seed)
    means = np.array([[-3.0, 0.0], [3.0, 1.0], [0.0, 4.0]])
    for _ in range(n_batches):
        labels = rng.choice(3, size=size, p=[0.3, 0.3, 0.4])
        yield means[labels] + rng.normal(size=(size, 2)) * [1.0, 0.7]


def test_partial_fit_ends_close_to_the_batch_fit():
    batches = list(_stream(0, 60))
    online = em.GaussianMixture(3, random_state=0)
    for batch in batches:
        online.partial_fit(batch)
    assert online.n_batches_seen_ == 60
    assert online.n_samples_seen_ == 60_000
    everything = np.vstack(batches)
    batch_fit = em.GaussianMixture(3, random_state=0, tol=1e-8, max_iter=1000).fit(everything)
    gap = batch_fit.score(everything) - online.score(everything)
    assert -1e-9 < gap < 1e-3
    assert np.isclose(online.weights_.sum(), 1.0)


def test_the_first_call_fits_and_fit_starts_the_average_afresh():
    first = next(_stream(1, 1))
    a = em.GaussianMixture(3, random_state=0).partial_fit(first)
    assert a.n_batches_seen_ == 1
    a.fit(first)
    assert a._online["updates"] == 0
    a.partial_fit(first)
    assert a.n_batches_seen_ == 1


def test_pickling_mid_stream_changes_nothing():
    batches = list(_stream(2, 20))
    a = em.GaussianMixture(3, random_state=0)
    for batch in batches[:10]:
        a.partial_fit(batch)
    b = pickle.loads(pickle.dumps(a))
    for batch in batches[10:]:
        a.partial_fit(batch)
        b.partial_fit(batch)
    assert np.array_equal(a.means_, b.means_)
    assert np.array_equal(a.covariances_, b.covariances_)
    assert a.n_batches_seen_ == b.n_batches_seen_ == 20


@pytest.mark.parametrize("decay", [0.5, 1.5, 0.0])
def test_learning_decay_outside_the_range_is_an_error(decay):
    with pytest.raises(ValueError, match="learning_decay"):
        em.GaussianMixture(3, learning_decay=decay).partial_fit(next(_stream(3, 1)))


def test_a_batch_of_another_width_is_an_error():
    gm = em.GaussianMixture(3, random_state=0).partial_fit(next(_stream(4, 1)))
    with pytest.raises(ValueError):
        gm.partial_fit(np.zeros((10, 3)))
