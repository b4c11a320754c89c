"""Typed inputs and results of the opinion map.

Every result is a frozen dataclass. Arrays inside results are made read-only so that a
result can be cached and shared between requests without defensive copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

type IntArray = NDArray[np.int64]
type FloatArray = NDArray[np.float64]
type VoteArray = NDArray[np.int8]

AGREE = 1
DISAGREE = -1
PASS = 0


def readonly[T: np.generic](array: NDArray[T]) -> NDArray[T]:
    """Return `array` flagged read-only (no copy), so frozen results stay frozen."""
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class Votes:
    """Vote events in column form: row i is one vote.

    `value` uses the export convention: +1 agree, -1 disagree, 0 pass. `time` orders
    re-votes (the latest one counts); it may be None when every pair is voted once.
    Columns rather than one object per vote, because 40 million objects would not fit.
    """

    participant: IntArray
    statement: IntArray
    value: VoteArray
    time: IntArray | None = None

    def __post_init__(self) -> None:
        n = len(self.participant)
        if len(self.statement) != n or len(self.value) != n:
            raise ValueError("participant, statement and value must have the same length")
        if self.time is not None and len(self.time) != n:
            raise ValueError("time must have one entry per vote")

    def __len__(self) -> int:
        return len(self.participant)

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, int]] | list[tuple[int, int, int, int]]) -> Votes:
        """Build from (participant, statement, value[, time]) tuples; handy in tests."""
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), np.zeros(0, dtype=np.int8), None)
        columns = list(zip(*rows, strict=True))
        time = np.asarray(columns[3], dtype=np.int64) if len(columns) > 3 else None
        return cls(
            np.asarray(columns[0], dtype=np.int64),
            np.asarray(columns[1], dtype=np.int64),
            np.asarray(columns[2], dtype=np.int8),
            time,
        )


@dataclass(frozen=True, slots=True)
class Options:
    """Tunable constants; the defaults are Polis's (see docs in research/polis-math.md)."""

    n_components: int = 2
    min_votes: int = 7  # in-conversation threshold, capped at the number of statements
    min_in_conversation: int = 15  # greedy fill when fewer pass the threshold
    base_k: int = 100
    base_iterations: int = 100
    max_k: int = 5
    group_iterations: int = 100
    # Silhouette over base centres weighted by their sizes (see compute.silhouette);
    # False gives Polis's unweighted score.
    weighted_silhouette: bool = True
    # How group k-means picks among its starts (warm start first, when there is one).
    # "polis": Polis's own cold start (the first k distinct base centres, and for the
    # participant-level refinement the two-level solution) is kept unless one of
    # `group_restarts` seeded k-means++ starts lowers the inertia by more than
    # `restart_gain`. "kmeans++": the lowest inertia wins. On the openData conversations
    # "polis" reaches red-dwarf's agreement with Polis on all five where red-dwarf
    # reaches 0.8; "kmeans++" falls short on one (docs/benchmarks.md).
    group_start: Literal["polis", "kmeans++"] = "polis"
    group_restarts: int = 8  # seeded k-means++ restarts; group k-means is tiny (<= base_k points)
    restart_gain: float = 0.01
    pick_repness: int = 5
    pick_consensus: int = 5
    z_threshold: float = 1.2816  # one-sided 90 %
    meta_priority: float = 7.0
    seed: int = 0


type Direction = Literal["agree", "disagree"]


@dataclass(frozen=True, slots=True)
class RepStatement:
    """One representative statement of a group (Polis `repness` entry)."""

    statement: int
    direction: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    best_agree: bool = False


@dataclass(frozen=True, slots=True)
class ConsensusStatement:
    """One statement most participants agree (or disagree) with."""

    statement: int
    direction: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float


@dataclass(frozen=True, slots=True)
class Consensus:
    agree: tuple[ConsensusStatement, ...]
    disagree: tuple[ConsensusStatement, ...]


@dataclass(frozen=True, slots=True)
class StatementStats:
    """Per-group vote tallies over in-conversation participants (Polis `group-votes`).

    Arrays are groups x statements, aligned with `OpinionMap.statement_ids`.
    """

    agree: IntArray
    disagree: IntArray
    seen: IntArray
    members: IntArray  # in-conversation participants per group


@dataclass(frozen=True, slots=True)
class OpinionMap:
    """Everything the deliberation report and comment routing need.

    Arrays are aligned with `participant_ids` (rows) or `statement_ids` (columns).
    `group` is -1 for participants outside the conversation (too few votes).
    """

    participant_ids: IntArray
    statement_ids: IntArray
    center: FloatArray  # column means used to centre the votes
    components: FloatArray  # n_components x statements
    participant_projection: FloatArray  # participants x n_components
    statement_projection: FloatArray  # statements x n_components
    extremity: FloatArray
    in_conversation: NDArray[np.bool_]
    base_label: IntArray  # base cluster per participant, -1 outside
    base_centers: FloatArray
    group: IntArray
    k: int
    silhouette: Mapping[int, float]  # candidate k -> silhouette on base centres
    group_stats: StatementStats
    repness: Mapping[int, tuple[RepStatement, ...]]
    consensus: Consensus
    group_informed_consensus: FloatArray
    priority: FloatArray
    moderated_out: frozenset[int]
    meta: frozenset[int]
    timings: Mapping[str, float] = field(default_factory=dict)

    def groups(self) -> dict[int, int]:
        """participant id -> group id, for clustered participants only."""
        mask = self.group >= 0
        return dict(
            zip(
                self.participant_ids[mask].tolist(),
                self.group[mask].tolist(),
                strict=True,
            )
        )
