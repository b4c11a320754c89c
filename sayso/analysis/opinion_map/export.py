"""JSON-ready views of an opinion map, and the one-call entry point for export folders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .compute import compute_opinion_map
from .model import OpinionMap, Options
from .polis_io import read_polis_export


def opinion_map_to_dict(result: OpinionMap) -> dict[str, Any]:
    """Plain dicts, lists, ints, floats and strings only. Participant and statement ids
    are int keys (json.dumps writes them as strings)."""
    statement_ids = result.statement_ids.tolist()
    member = result.in_conversation
    return {
        "n_participants": len(result.participant_ids),
        "n_statements": len(statement_ids),
        "n_in_conversation": int(member.sum()),
        "k": result.k,
        "silhouette": {int(k): float(v) for k, v in result.silhouette.items()},
        "groups": result.groups(),
        "in_conversation": result.participant_ids[member].tolist(),
        "projections": dict(
            zip(
                result.participant_ids.tolist(), result.participant_projection.tolist(), strict=True
            )
        ),
        "statement_projections": dict(
            zip(statement_ids, result.statement_projection.tolist(), strict=True)
        ),
        "extremity": dict(zip(statement_ids, result.extremity.tolist(), strict=True)),
        "repness": {
            int(g): [
                {
                    "statement": r.statement,
                    "direction": r.direction,
                    "n_success": r.n_success,
                    "n_trials": r.n_trials,
                    "p_success": r.p_success,
                    "p_test": r.p_test,
                    "repness": r.repness,
                    "repness_test": r.repness_test,
                    "best_agree": r.best_agree,
                }
                for r in reps
            ]
            for g, reps in result.repness.items()
        },
        "consensus": {
            direction: [
                {
                    "statement": c.statement,
                    "n_success": c.n_success,
                    "n_trials": c.n_trials,
                    "p_success": c.p_success,
                    "p_test": c.p_test,
                }
                for c in items
            ]
            for direction, items in (
                ("agree", result.consensus.agree),
                ("disagree", result.consensus.disagree),
            )
        },
        "group_informed_consensus": dict(
            zip(statement_ids, result.group_informed_consensus.tolist(), strict=True)
        ),
        "priority": dict(zip(statement_ids, result.priority.tolist(), strict=True)),
        "moderated_out": sorted(result.moderated_out),
        "meta": sorted(result.meta),
        "timings": dict(result.timings),
    }


def run_polis_export(path: Path | str, options: Options | None = None) -> dict[str, Any]:
    """Read a Polis export folder, compute its opinion map, return it JSON-ready.

    Raises PolisImportError (naming file, line and problem) on a malformed export.
    """
    start = time.perf_counter()
    export = read_polis_export(path, with_participants=False)
    loaded = time.perf_counter() - start
    result = compute_opinion_map(
        export.votes,
        moderated_out=export.moderated_out,
        meta=export.meta,
        statements=export.statement_ids,
        options=options,
    )
    out = opinion_map_to_dict(result)
    out["timings"] = {"load": loaded, **out["timings"]}
    out["source"] = str(path)
    return out
