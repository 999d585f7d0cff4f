"""The gateway's durable spool (:mod:`.store`) and the pacing of its delivery (:mod:`.window`).

Batches go agent → :class:`Spool` (numbered, on disk) → publisher, which asks its
:class:`DeliveryWindow` what to publish when, and deletes from the spool what the platform's
watermark covers.
"""

from edge.spool.store import Spool, SpoolCounters, SpooledBatch
from edge.spool.window import DeliveryWindow

__all__ = ["DeliveryWindow", "Spool", "SpoolCounters", "SpooledBatch"]
