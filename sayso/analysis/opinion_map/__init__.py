"""Polis-style opinion maps: who is in which opinion group, and what each group thinks.

Plain inputs (votes as columns of ints) in, a frozen `OpinionMap` out. No Django here.
"""

from .compute import compute_opinion_map
from .export import opinion_map_to_dict, run_polis_export
from .model import (
    Consensus,
    ConsensusStatement,
    OpinionMap,
    Options,
    RepStatement,
    StatementStats,
    Votes,
)
from .polis_io import (
    PolisExport,
    PolisImportError,
    PolisParticipant,
    PolisStatement,
    read_polis_export,
    write_polis_export,
)

__all__ = [
    "Consensus",
    "ConsensusStatement",
    "OpinionMap",
    "Options",
    "PolisExport",
    "PolisImportError",
    "PolisParticipant",
    "PolisStatement",
    "RepStatement",
    "StatementStats",
    "Votes",
    "compute_opinion_map",
    "opinion_map_to_dict",
    "read_polis_export",
    "run_polis_export",
    "write_polis_export",
]
