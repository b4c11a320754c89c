"""Planted opinion groups for tests and benchmarks (research/polis-math.md, appendix A).

Vectorised rather than the note's per-participant loop so a million participants take
seconds; the distribution is the same: a geometric number of votes per participant
(mean 40), each group with its own agree and pass rates per statement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import IntArray, Votes


@dataclass(frozen=True, slots=True)
class PlantedConversation:
    votes: Votes
    truth: IntArray  # planted group per participant id (ids are 0..n-1)


def planted_groups(
    n_participants: int,
    n_statements: int,
    n_groups: int = 3,
    *,
    mean_votes: float = 40.0,
    seed: int = 0,
) -> PlantedConversation:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_groups, n_participants)
    p_agree = rng.uniform(0.05, 0.95, (n_groups, n_statements))
    p_pass = rng.uniform(0.05, 0.25, (n_groups, n_statements))
    per_person = np.clip(rng.geometric(1.0 / mean_votes, n_participants), 1, n_statements)
    participant = np.repeat(np.arange(n_participants, dtype=np.int64), per_person)
    statement = rng.integers(0, n_statements, len(participant), dtype=np.int64)
    # Drawing with replacement then dropping repeats stands in for choice(replace=False)
    # per participant, which cannot be vectorised; it removes about 2 % of draws.
    key = participant * n_statements + statement
    key = np.unique(key)
    participant, statement = key // n_statements, key % n_statements
    group = truth[participant]
    passes = rng.random(len(key)) < p_pass[group, statement]
    agrees = rng.random(len(key)) < p_agree[group, statement]
    value = np.where(passes, 0, np.where(agrees, 1, -1)).astype(np.int8)
    time = rng.permutation(len(key)).astype(np.int64)
    return PlantedConversation(Votes(participant, statement, value, time), truth.astype(np.int64))
