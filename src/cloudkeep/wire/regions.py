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


#: the aws partition's Regions launched before March 20, 2019, enabled in every account; the
#: later ones are opt-in Regions, disabled until the account enables them
#: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
_DEFAULT_ENABLED = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
})


def default_regions(partition: str = "aws") -> frozenset[str]:
    """The partition's Regions enabled by default (every Region of the other partitions)."""
    regions = partition_regions(partition)
    return regions & _DEFAULT_ENABLED if partition == "aws" else regions


def is_valid_region(region: str, partition: str = "aws") -> bool:
    return region in partition_regions(partition)


def effective_region(service_name: str, region: str) -> str:
    """The region a call acts in: us-east-1 for global services, else the signed region."""
    return GLOBAL_REGION if service_name in GLOBAL_SERVICES else region
