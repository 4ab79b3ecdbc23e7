"""Data drift from binned counts: a reference profile and a sliding window of live rows.

The reference (training data, or a stored profile of it) is reduced once to, per feature:

- a *fine grid*: the sorted distinct reference values (at most MAX_GRID; above that, quantiles).
  A live value falls in one of 2g+1 fine bins: below/between grid points, or exactly on one.
  The cumulative counts at the bin boundaries are both samples' ECDFs at every point where the
  KS statistic can peak, so KS from these counts equals scipy's ks_2samp on the raw data
  whenever the grid is the whole reference support (and is within one grid step otherwise);
- *coarse bins*: 10 reference-quantile bins (inner edges at the deciles) for PSI and
  Jensen-Shannon, as the metrics contract says.

A window keeps, for its last N rows, each row's fine and coarse bin per feature in a ring buffer
and the counts per bin. Adding a row adds its bins and subtracts those of the row it evicts, so
the cost per row does not depend on N, and computing the scores costs O(features x bins),
whatever the window size. Rows are binned in batches (the monitor buffers them), which is where
numpy pays off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml_monitoring import stats

METHODS = ("psi", "ks", "jensenshannon")
PRIMARY_METHOD = "psi"
N_BINS = 10
MAX_GRID = 4096
PROFILE_FORMAT = 1
# share of healthy rows the outlier detector lets through: it flags about 1 - this
OUTLIER_QUANTILE = 0.999


def _fine_index(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fine bin per value: 2k for the open interval below grid[k], 2k+1 for exactly grid[k]."""
    return np.searchsorted(grid, values, "left") + np.searchsorted(grid, values, "right")


def _coarse_edges(column: np.ndarray) -> np.ndarray:
    return np.unique(np.quantile(column, np.linspace(0, 1, N_BINS + 1)[1:-1]))


@dataclass
class Profile:
    """What the library keeps of a reference sample: bins, ranges and moments per feature.

    Build with :meth:`from_data`; store with :meth:`save` and reload with :meth:`load` (a `.npz`
    file of numbers only: no raw rows beyond the grid's distinct values).
    """

    features: tuple[str, ...]
    grids: list[np.ndarray]
    edges: list[np.ndarray]
    ref_cdf: np.ndarray  # features x G: reference ECDF at the end of each fine bin (padded 1.0)
    ref_coarse: np.ndarray  # features x N_BINS: reference shares per coarse bin (padded 0)
    n_reference: int
    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray
    inv_cov: np.ndarray
    # the OUTLIER_QUANTILE of the reference rows' own squared Mahalanobis distances (NaN: unknown,
    # e.g. a profile saved before it was kept): the outlier detector's cut for skewed features
    outlier_quantile: float = float("nan")

    @classmethod
    def from_data(cls, data, features) -> Profile:
        X = np.asarray(data, dtype=float)
        features = tuple(str(f) for f in features)
        if X.ndim != 2 or X.shape[1] != len(features):
            raise ValueError(f"reference has shape {X.shape}, expected (rows, {len(features)})")
        if len(X) < 2:
            raise ValueError("reference needs at least 2 rows")
        grids, edges, cols = [], [], []
        for f in range(X.shape[1]):
            col = X[:, f][np.isfinite(X[:, f])]
            if len(col) < 2:
                raise ValueError(f"reference feature {features[f]!r} has fewer than 2 values")
            grid = np.unique(col)
            if len(grid) > MAX_GRID:  # MAX_GRID evenly spaced order statistics
                ordered = np.sort(col)
                grid = np.unique(ordered[np.round(np.linspace(0, len(col) - 1, MAX_GRID))
                                         .astype(int)])
            grids.append(grid)
            edges.append(_coarse_edges(col))
            cols.append(col)
        width = 2 * max(len(g) for g in grids) + 1
        ref_cdf = np.ones((len(features), width))
        ref_coarse = np.zeros((len(features), N_BINS))
        for f, col in enumerate(cols):
            fine = np.bincount(_fine_index(grids[f], col), minlength=2 * len(grids[f]) + 1)
            ref_cdf[f, : len(fine)] = np.cumsum(fine) / len(col)
            coarse = np.bincount(np.searchsorted(edges[f], col, "right"),
                                 minlength=len(edges[f]) + 1)
            ref_coarse[f, : len(coarse)] = coarse
        mask = np.arange(N_BINS)[None, :] <= np.array([len(e) for e in edges])[:, None]
        clean = X[np.isfinite(X).all(axis=1)]
        mean = clean.mean(axis=0) if len(clean) else np.nanmean(X, axis=0)
        cov = stats.shrunk_covariance(clean) if len(clean) > 1 else np.eye(len(features))
        inv_cov = np.linalg.pinv(cov)
        quantile = float("nan")
        if len(clean) > 1:
            d = clean - mean
            quantile = float(np.quantile(np.einsum("ij,jk,ik->i", d, inv_cov, d), OUTLIER_QUANTILE))
        return cls(features, grids, edges, ref_cdf, stats.shares(ref_coarse, mask),
                   int(len(X)), np.nanmin(X, axis=0), np.nanmax(X, axis=0), mean,
                   inv_cov, quantile)

    @property
    def coarse_mask(self) -> np.ndarray:
        return np.arange(N_BINS)[None, :] <= np.array([len(e) for e in self.edges])[:, None]

    def save(self, path: str | Path) -> None:
        """Write the profile as a .npz file (atomic: temp file + rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        arrays = {"format": np.array(PROFILE_FORMAT), "features": np.array(self.features),
                  "ref_cdf": self.ref_cdf, "ref_coarse": self.ref_coarse,
                  "n_reference": np.array(self.n_reference), "minimum": self.minimum,
                  "maximum": self.maximum, "mean": self.mean, "inv_cov": self.inv_cov,
                  "outlier_quantile": np.array(self.outlier_quantile)}
        for f in range(len(self.features)):
            arrays[f"grid_{f}"] = self.grids[f]
            arrays[f"edges_{f}"] = self.edges[f]
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        with np.load(Path(path), allow_pickle=False) as z:
            if int(z["format"]) != PROFILE_FORMAT:
                raise ValueError(f"{path}: profile format {int(z['format'])} is not supported")
            features = tuple(str(f) for f in z["features"])
            return cls(features, [z[f"grid_{f}"] for f in range(len(features))],
                       [z[f"edges_{f}"] for f in range(len(features))], z["ref_cdf"],
                       z["ref_coarse"], int(z["n_reference"]), z["minimum"], z["maximum"],
                       z["mean"], z["inv_cov"],
                       float(z["outlier_quantile"]) if "outlier_quantile" in z.files
                       else float("nan"))


@dataclass
class DriftScores:
    n: int
    psi: np.ndarray
    ks: np.ndarray
    jensenshannon: np.ndarray
    ks_pvalue: np.ndarray

    def method(self, name: str) -> np.ndarray:
        return getattr(self, name)


class DriftWindow:
    """The last `size` rows of live inputs as binned counts against a :class:`Profile`."""

    def __init__(self, profile: Profile, size: int) -> None:
        if size < 1:
            raise ValueError("window size must be >= 1")
        self.profile = profile
        self.size = int(size)
        n_features = len(profile.features)
        self._width = profile.ref_cdf.shape[1]
        self._fine = np.zeros((self.size, n_features), dtype=np.int64)
        self._coarse = np.zeros((self.size, n_features), dtype=np.int64)
        self.fine_counts = np.zeros((n_features, self._width), dtype=np.int64)
        self.coarse_counts = np.zeros((n_features, N_BINS), dtype=np.int64)
        self._fine_offset = np.arange(n_features) * self._width
        self._coarse_offset = np.arange(n_features) * N_BINS
        self.n = 0  # rows in the window
        self._pos = 0  # next slot of the ring buffer

    def bin(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.profile
        fine = np.empty(X.shape, dtype=np.int64)
        coarse = np.empty(X.shape, dtype=np.int64)
        for f in range(X.shape[1]):
            fine[:, f] = _fine_index(p.grids[f], X[:, f])
            coarse[:, f] = np.searchsorted(p.edges[f], X[:, f], "right")
        return fine, coarse

    def _count(self, counts: np.ndarray, idx: np.ndarray, offset: np.ndarray, sign: int) -> None:
        flat = (idx + offset[None, :]).ravel()
        delta = np.bincount(flat, minlength=counts.size).reshape(counts.shape)
        if sign > 0:
            counts += delta
        else:
            counts -= delta

    def add(self, X) -> None:
        """Add rows (n x features, finite values) and evict the oldest beyond the window size."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if len(X) == 0:
            return
        if len(X) >= self.size:
            X = X[-self.size:]
            self.fine_counts[:] = 0
            self.coarse_counts[:] = 0
            self.n = 0
            self._pos = 0
        fine, coarse = self.bin(X)
        slots = (self._pos + np.arange(len(X))) % self.size
        n_evicted = max(self.n + len(X) - self.size, 0)
        if n_evicted:
            # the oldest rows sit right after the write position
            old = (self._pos - self.n + np.arange(n_evicted)) % self.size
            self._count(self.fine_counts, self._fine[old], self._fine_offset, -1)
            self._count(self.coarse_counts, self._coarse[old], self._coarse_offset, -1)
        self._fine[slots] = fine
        self._coarse[slots] = coarse
        self._count(self.fine_counts, fine, self._fine_offset, +1)
        self._count(self.coarse_counts, coarse, self._coarse_offset, +1)
        self._pos = int((self._pos + len(X)) % self.size)
        self.n = min(self.n + len(X), self.size)

    def scores(self) -> DriftScores:
        """PSI, KS (statistic and asymptotic p-value) and Jensen-Shannon distance per feature."""
        p = self.profile
        n = max(self.n, 1)
        cdf = np.cumsum(self.fine_counts, axis=1) / n
        ks = stats.ks_from_cdfs(cdf, p.ref_cdf)
        actual = stats.shares(self.coarse_counts, p.coarse_mask)
        return DriftScores(
            n=self.n,
            psi=np.atleast_1d(stats.psi_from_shares(actual, p.ref_coarse)),
            ks=np.atleast_1d(ks),
            jensenshannon=np.atleast_1d(stats.js_from_shares(actual, p.ref_coarse)),
            ks_pvalue=np.atleast_1d(stats.ks_pvalue(ks, self.n, p.n_reference)),
        )


class CategoricalWindow:
    """A sliding window of category indices (predicted classes, output bins, true labels)."""

    def __init__(self, n_categories: int, size: int) -> None:
        self.size = int(size)
        self.counts = np.zeros(n_categories, dtype=np.int64)
        self._ring = np.zeros(self.size, dtype=np.int64)
        self._pos = 0
        self.n = 0

    def add(self, category: int) -> None:
        if self.n == self.size:
            self.counts[self._ring[self._pos]] -= 1
        else:
            self.n += 1
        self._ring[self._pos] = category
        self.counts[category] += 1
        self._pos = (self._pos + 1) % self.size

    def shares(self) -> np.ndarray:
        return stats.shares(self.counts)
