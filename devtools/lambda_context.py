"""A stand-in for the context object Lambda hands a handler: the parts handlers and Powertools read.

Stdlib only: the benchmark's measuring processes import it next to the function they measure.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"  # moto's default account: the one every local ARN names


@dataclass
class LocalContext:
    function_name: str
    region: str = "us-east-1"
    memory_limit_in_mb: int = 128  # template.yaml's MemorySize
    timeout_seconds: float = 10.0  # template.yaml's Timeout: the deadline counts down from creation
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_stream_name: str = "local"
    _deadline: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
