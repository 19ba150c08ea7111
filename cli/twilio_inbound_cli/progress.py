"""Progress of a long command on a terminal, and nothing when its output is piped or redirected.

`reconcile`, `replay --since` and `media replay` (and any long command after them) count what they have done
on stderr while they work; stdout carries only their JSON result, so a script reading it sees the same bytes
either way. tqdm draws the line and
stays off unless stderr is a terminal (`disable=None`). The final count stays on the terminal.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(description: str, unit: str, total: int | None = None) -> tqdm[Any]:
    """A counter for `with progress(...) as bar:`; hand `bar.update` (and `bar.reset`, to set a total found
    later) to the work. Without a total it shows the count and the rate."""
    return tqdm(
        desc=description, unit=f" {unit}", total=total, file=sys.stderr, disable=None, leave=True, dynamic_ncols=True
    )
