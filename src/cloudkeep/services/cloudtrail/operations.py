"""CloudTrail's ``operation`` registry; ``ops_history`` (event history) and ``ops_trails``
(trails, event selectors, tags, public keys) register into it.

https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Operations.html

Must not: import the pipeline.
"""

from __future__ import annotations

from cloudkeep.services.framework import Operations

operation = Operations()
