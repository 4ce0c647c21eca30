"""The services cloudkeep implements, by botocore service name.

Must not: import the pipeline.
"""

from __future__ import annotations

from cloudkeep.services import cloudtrail, iam, kms, organizations, s3, s3control, sts
from cloudkeep.services.framework import Service

SERVICES: dict[str, Service] = {s.name: s for s in (iam.SERVICE, sts.SERVICE, kms.SERVICE, organizations.SERVICE,
                                                  s3.SERVICE, s3control.SERVICE, cloudtrail.SERVICE)}
