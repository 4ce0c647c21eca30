"""STS operations.

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

Must not: import the pipeline.
"""

from __future__ import annotations

from cloudkeep.services.framework import Call, Operations, Params, Result

operation = Operations()


@operation("GetCallerIdentity")
def get_caller_identity(call: Call, params: Params) -> Result:
    p = call.principal
    return {"UserId": p.principal_id, "Account": p.account_id, "Arn": p.arn}
