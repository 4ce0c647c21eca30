"""STS's authorization table.

GetCallerIdentity needs no permission: "No permissions are required to perform this operation.
If an administrator attaches a policy to your identity that explicitly denies access to the
sts:GetCallerIdentity action, you can still perform this operation."
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""

from cloudkeep.services.framework import EXEMPT

AUTHZ = {
    "GetCallerIdentity": EXEMPT,
}
