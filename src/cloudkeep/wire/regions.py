"""The AWS partition's real region list, from botocore's endpoint data, and global services.

Must not: know anything but regions and which services are global.
"""

from __future__ import annotations

import functools

from botocore.loaders import Loader

#: services whose calls all land in us-east-1 whatever region the client was configured for
GLOBAL_SERVICES = frozenset({"iam", "organizations"})
GLOBAL_REGION = "us-east-1"


@functools.lru_cache(maxsize=None)
def partition_regions(partition: str = "aws") -> frozenset[str]:
    data = Loader().load_data("endpoints")
    for part in data["partitions"]:
        if part["partition"] == partition:
            return frozenset(part["regions"])
    return frozenset()


def is_valid_region(region: str, partition: str = "aws") -> bool:
    return region in partition_regions(partition)


def effective_region(service_name: str, region: str) -> str:
    """The region a call acts in: us-east-1 for global services, else the signed region."""
    return GLOBAL_REGION if service_name in GLOBAL_SERVICES else region
