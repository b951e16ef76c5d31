"""The live event feed: every journaled event, in journal order with its global position, on
NATS JetStream (:class:`NatsRelay`, exactly-once effect) and ZeroMQ PUB (:class:`ZmqRelay`,
with :class:`ZmqSubscriber` filling gaps from the journal)."""

from oms.feed.checkpoint import Checkpoint
from oms.feed.message import SubjectNamer, body, parse
from oms.feed.nats_relay import POSITION_HEADER, NatsRelay
from oms.feed.subscriber import ZmqSubscriber
from oms.feed.zmq_relay import ZmqRelay

__all__ = [
    "POSITION_HEADER",
    "Checkpoint",
    "NatsRelay",
    "SubjectNamer",
    "ZmqRelay",
    "ZmqSubscriber",
    "body",
    "parse",
]
