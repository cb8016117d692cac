"""Catalog runs: many items through chains, in local worker processes or on a Dask cluster, with a manifest."""

from soundstage.batch.jobs import BatchItem, load_jobs
from soundstage.batch.manifest import Manifest
from soundstage.batch.run import BatchResult, run_batch

__all__ = ["BatchItem", "BatchResult", "Manifest", "load_jobs", "run_batch"]
