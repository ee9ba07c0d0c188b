"""A kernel SVM over text features: a linear kernel on TF-IDF plus an RBF kernel on sentence embeddings.

The sum of the two kernels lets the embeddings act locally (near neighbours in meaning) while the words
keep their linear weight, which a linear model over both cannot do. libsvm trains it one-vs-one, so
each of the many small pairwise problems is quick even with tens of purposes. The kernel matrix is
n × n, so memory grows with the square of the examples (10,000: 0.8 GB).

Probabilities: each pairwise decision becomes a probability through one sigmoid, and a class's score is
the sum of the log-probabilities of its pairwise wins; a softmax with a temperature turns scores into
probabilities. The sigmoid's slope and the temperature are fitted on a held-out quarter of the training
data (one extra fit, far cheaper than Platt scaling per pair). The predicted purpose is the one-vs-one
vote winner, which is a little more accurate than the top score; it takes the top probability.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["SumKernelSVC"]

# Used when a purpose has a single example and nothing can be held out (measured on banking77).
_DEFAULT_SLOPE, _DEFAULT_TEMPERATURE = 10.0, 2.8
_BLOCK = 2048  # kernel rows computed at a time, so the temporaries stay small


def _decisions(svc, kernel: np.ndarray) -> np.ndarray:
    """One-vs-one decisions, one column per class pair (i < j), positive when the first class wins."""
    decisions = svc.decision_function(kernel)
    if decisions.ndim == 1:  # two classes: scikit-learn's sign favours the second
        return -decisions[:, None]
    return decisions


class SumKernelSVC(ClassifierMixin, BaseEstimator):
    """SVM on `X` = [embeddings | TF-IDF] (the first `embedding_columns` columns are the embeddings) with
    kernel `tfidf·tfidf' + weight · exp(-gamma · |e - e'|²)`.

    Learned attributes: `classes_`, `svc_` (the libsvm model on the precomputed kernel), the support
    examples' features (`support_tfidf_`, `support_embeddings_`), `slope_` and `temperature_` (how
    pairwise decisions become probabilities)."""

    def __init__(
        self,
        embedding_columns: int = 0,
        gamma: float = 6.0,
        weight: float = 4.0,
        C: float = 0.5,
        class_weight: str | None = "balanced",
        holdout: float = 0.25,
        random_state: int | None = 0,
    ) -> None:
        self.embedding_columns = embedding_columns
        self.gamma = gamma
        self.weight = weight
        self.C = C
        self.class_weight = class_weight
        self.holdout = holdout
        self.random_state = random_state

    def _split(self, X):
        X = sp.csr_matrix(X, dtype=np.float64)
        d = self.embedding_columns
        return X[:, d:], np.asarray(X[:, :d].todense())

    def _kernel(self, tfidf, emb, tfidf_b, emb_b) -> np.ndarray:
        out = np.empty((tfidf.shape[0], tfidf_b.shape[0]))
        norms_b = (emb_b**2).sum(1)
        for start in range(0, tfidf.shape[0], _BLOCK):
            rows = slice(start, start + _BLOCK)
            e = emb[rows]
            distance = (e**2).sum(1)[:, None] + norms_b[None, :] - 2 * e @ emb_b.T
            block = np.exp(-self.gamma * np.maximum(distance, 0.0)) * self.weight
            out[rows] = block + (tfidf[rows] @ tfidf_b.T).toarray()
        return out

    def _svc(self, kernel: np.ndarray, y: np.ndarray):
        from sklearn.svm import SVC

        svc = SVC(C=self.C, kernel="precomputed", class_weight=self.class_weight,
                  decision_function_shape="ovo")  # fmt: skip
        return svc.fit(kernel, y)

    def fit(self, X, y) -> SumKernelSVC:
        """Learn from feature rows `X` and labels `y`; returns self."""
        tfidf, emb = self._split(X)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("need at least two different labels")
        self.slope_, self.temperature_ = self._fit_probabilities(tfidf, emb, codes)
        svc = self._svc(self._kernel(tfidf, emb, tfidf, emb), codes)
        support = svc.support_
        # Kept in single precision: the saved model holds these rows (most of the examples).
        self.support_tfidf_ = tfidf[support].astype(np.float32)
        self.support_embeddings_ = emb[support].astype(np.float32)
        self.n_fit_ = tfidf.shape[0]
        self.svc_ = svc
        return self

    def _fit_probabilities(self, tfidf, emb, codes: np.ndarray) -> tuple[float, float]:
        """Sigmoid slope for pairwise decisions and softmax temperature, fitted on held-out examples."""
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedShuffleSplit

        counts = np.bincount(codes)
        held = round(self.holdout * len(codes))
        if counts.min() < 2 or held < len(counts) or len(codes) - held < len(counts):
            return _DEFAULT_SLOPE, _DEFAULT_TEMPERATURE
        split = StratifiedShuffleSplit(1, test_size=held, random_state=self.random_state)
        train, test = next(split.split(codes, codes))
        svc = self._svc(self._kernel(tfidf[train], emb[train], tfidf[train], emb[train]), codes[train])
        pairwise = _decisions(svc, self._kernel(tfidf[test], emb[test], tfidf[train], emb[train]))
        truth = codes[test]
        first, second = np.triu_indices(len(self.classes_), 1)
        # Decisions in favour of the true class, from every pair that holds it.
        margins = np.concatenate([pairwise[first[None, :] == truth[:, None]],
                                  -pairwise[second[None, :] == truth[:, None]]])  # fmt: skip

        def pair_loss(log_slope: float) -> float:
            return float(np.logaddexp(0.0, -np.exp(log_slope) * margins).mean())

        slope = float(np.exp(minimize_scalar(pair_loss, bounds=(-3, 5), method="bounded").x))
        scores = self._scores(pairwise, slope)

        def class_loss(log_temperature: float) -> float:
            z = scores / np.exp(log_temperature)
            z = z - z.max(axis=1, keepdims=True)
            return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(truth)), truth]).mean())

        temperature = float(np.exp(minimize_scalar(class_loss, bounds=(-4, 4), method="bounded").x))
        return slope, temperature

    def _scores(self, pairwise: np.ndarray, slope: float) -> np.ndarray:
        """Each class's summed log-probability of winning its pairs."""
        first, second = self._pair_members()
        wins = -np.logaddexp(0.0, -slope * pairwise)  # log sigmoid: the first class of the pair wins
        losses = -np.logaddexp(0.0, slope * pairwise)
        return wins @ first + losses @ second

    def _pair_members(self) -> tuple[np.ndarray, np.ndarray]:
        """One-hot (pairs × classes) matrices of each pair's first and second class."""
        k = len(self.classes_)
        first, second = np.triu_indices(k, 1)
        return np.eye(k)[first], np.eye(k)[second]

    def _pairwise(self, X) -> np.ndarray:
        check_is_fitted(self)
        tfidf, emb = self._split(X)
        kernel = np.zeros((tfidf.shape[0], self.n_fit_))
        kernel[:, self.svc_.support_] = self._kernel(
            tfidf, emb, self.support_tfidf_, self.support_embeddings_
        )
        return _decisions(self.svc_, kernel)

    def _votes(self, pairwise: np.ndarray) -> np.ndarray:
        first, second = self._pair_members()
        return (pairwise > 0) @ first + (pairwise <= 0) @ second

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each of `classes_` for each row; the vote winner holds the top probability."""
        pairwise = self._pairwise(X)
        scores = self._scores(pairwise, self.slope_)
        z = scores / self.temperature_
        z = z - z.max(axis=1, keepdims=True)
        probabilities = np.exp(z)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        # The vote winner (ties: the higher score) swaps places with the most probable class.
        winner = np.lexsort((scores, self._votes(pairwise)), axis=-1)[:, -1]
        rows = np.arange(len(probabilities))
        top = probabilities.argmax(axis=1)
        swapped = probabilities[rows, top].copy()
        probabilities[rows, top] = probabilities[rows, winner]
        probabilities[rows, winner] = swapped
        return probabilities

    def predict(self, X) -> np.ndarray:
        """The vote winner of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
