"""Entry point of a measuring process: `python -m bench.probe warm|memory|memory-floor ...`.

Enters the Lambda-like sandbox before anything imports botocore, silences what the function prints, and
prints one JSON document with the measurement.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import sandbox


def main() -> None:
    sandbox.enter()
    from bench import invoke
    from bench.subjects import SUBJECTS

    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    parser.add_argument("mode", choices=("warm", "memory", "memory-floor"))
    parser.add_argument("--subject", choices=sorted(SUBJECTS))
    parser.add_argument("--handler", help="module.function")
    parser.add_argument("--events", type=Path, help="JSON lines, one event each")
    parser.add_argument("--calls", type=Path, help="the floor's SDK calls (memory-floor)")
    parser.add_argument("--pairs", type=int, default=100, help="events measured next to their floor (warm)")
    parser.add_argument("--count", type=int, default=10, help="events to run (memory)")
    args = parser.parse_args()

    out = invoke.quiet_stdout()
    if args.mode == "warm":
        from bench import warm

        result = warm.measure(SUBJECTS[args.subject], args.handler, args.events, args.pairs)
    else:
        from bench import memory

        if args.mode == "memory":
            result = memory.peak(SUBJECTS[args.subject], args.handler, args.events, args.count)
        else:
            result = memory.floor_peak(args.calls, args.count)
    out.write(json.dumps(result, default=invoke.bytes_as_json))
    out.flush()


if __name__ == "__main__":
    main()
