"""Amazon S3: buckets (location, tagging, versioning, default encryption, bucket policies),
objects with their versions, metadata, tags and checksums, conditional and ranged reads, copies,
multipart uploads; bodies encrypted at rest in the blob store under per-object data keys.

Module map: ``domain.py`` (rules), ``conditions.py`` (ranges, conditional requests),
``entities.py`` (values), ``repository.py`` (SQL),
``bodies.py`` (data keys, blobs, checksums), ``versions.py`` (versioning semantics),
``authz.py`` (the authorization table), ``ops_*.py`` (operations), ``post_form.py`` (POST Object's
form and policy), ``errors.py``.
"""

from cloudkeep.services.framework import Service

from . import ops_attributes  # noqa: F401  (GetObjectAttributes)
from . import ops_access  # noqa: F401  (Object Ownership, ACLs, Block Public Access)
from . import ops_buckets  # noqa: F401  (registers the bucket operations)
from . import ops_copy  # noqa: F401  (CopyObject, DeleteObjects)
from . import ops_listing  # noqa: F401  (ListObjects, ListObjectsV2, ListObjectVersions)
from . import ops_multipart  # noqa: F401  (multipart uploads)
from . import ops_objects  # noqa: F401  (PutObject, GetObject, HeadObject, DeleteObject, tagging)
from . import ops_post  # noqa: F401  (PostObject: browser form uploads)
from .authz import AUTHZ
from .common import operation
from .errors import ERRORS

SERVICE = Service(name="s3", action_prefix="s3", operations=operation, authz=AUTHZ, errors=ERRORS)
