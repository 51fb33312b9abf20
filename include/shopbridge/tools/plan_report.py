"""A dry run's plan as a table (pandas): the file an integrator hands the bookkeeper before
the first real run.

Ids, actions and reasons only, never personal data (the plan holds none). pandas is
imported by the CLI command only, never at DAG parse or in a task.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopbridge.tools.dry_run import ACTIONS, Plan

COLUMNS = ["entity", "record_id", "action", "detail"]


def plan_frame(result: Plan) -> pd.DataFrame:
    """One row a record, in the CLI's order: creates first, then by entity and id."""
    frame = pd.DataFrame(
        [(r.entity, r.record_id, r.action, r.detail) for r in result.rows], columns=COLUMNS
    )
    frame["action"] = pd.Categorical(frame["action"], categories=list(ACTIONS), ordered=True)
    return frame.sort_values(["action", "entity", "record_id"], kind="stable").reset_index(
        drop=True
    )


def write_csv(result: Plan, path: Path) -> int:
    """Write the plan with its window, so a file read later still says what it covers."""
    frame = plan_frame(result)
    frame.insert(0, "window_start", result.window[0].isoformat())
    frame.insert(1, "window_end", result.window[1].isoformat())
    frame.insert(0, "dag_id", result.dag_id)
    frame.to_csv(path, index=False)
    return len(frame)
