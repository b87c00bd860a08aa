"""One connection's conversation: subscribe (with replay), unsubscribe, ping; every answer goes to its queue."""

from __future__ import annotations

import logging

from gateway.auth import Principal, may
from gateway.live.client import LiveClient
from gateway.live.hub import Hub, topic_of_stored
from gateway.live.protocol import (
    Inbound, ProtocolError, decode_inbound, error_message, event_message, message, now_iso, subscribe_options,
)
from gateway.live.replay import TooFarBehind, replay
from gateway.live.topics import Topic, TopicError, covers, parse_topic

log = logging.getLogger(__name__)

REPLAY_TIMEOUT_S = 30.0


class LiveSession:
    def __init__(self, hub: Hub, client: LiveClient, principal: Principal) -> None:
        self.hub, self.client, self.principal = hub, client, principal
        self.settings = hub.settings

    async def handle(self, raw: str | bytes) -> None:
        """Act on one client message; every error is answered as an `error` message, never raised."""
        request_id, topic_text = "", None
        try:
            msg = decode_inbound(raw)
            request_id, topic_text = msg.id, msg.topic
            if msg.type == "ping":
                self.client.reply(message("pong", id=msg.id, data=msg.data))
            elif msg.type == "subscribe":
                await self._subscribe(msg, self._topic(msg))
            elif msg.type == "unsubscribe":
                topic = self._topic(msg)
                removed = self.hub.unsubscribe(self.client, topic)
                self.client.reply(message("unsubscribe", id=msg.id, topic=str(topic), data={"unsubscribed": removed}))
            # "pong" answers a ping of ours: nothing to do
        except ProtocolError as err:
            self.client.reply(error_message(err, id=request_id, topic=topic_text))

    @staticmethod
    def _topic(msg: Inbound) -> Topic:
        if msg.topic is None:
            raise ProtocolError(f"a {msg.type} names its topic", "topic")
        try:
            return parse_topic(msg.topic)
        except TopicError as err:
            raise ProtocolError(str(err), "topic") from err

    async def _subscribe(self, msg: Inbound, topic: Topic) -> None:
        if not may(self.principal, topic.permission):
            raise ProtocolError(f"role(s) {', '.join(self.principal.roles) or 'none'} lack the "
                                f"'{topic.permission}' permission that topic {topic} needs", "topic", status=403)
        options = subscribe_options(msg.data)
        client = self.client
        if topic in client.subscriptions:
            client.reply(message("subscribe", id=msg.id, topic=str(topic), data={"subscribed": True, "seq": self.hub.seq}))
            return
        if len(client.subscriptions) >= self.settings.ws_max_subscriptions:
            raise ProtocolError(f"at most {self.settings.ws_max_subscriptions} topics per connection", "topic")
        subject = topic.replay_subject(self.settings.prefix)
        if options.after_seq is None or subject is None:
            await self.hub.subscribe(client, topic)
            client.reply(message("subscribe", id=msg.id, topic=str(topic), data={"subscribed": True, "seq": self.hub.seq}))
            return
        await self._resume(msg, topic, subject, options.after_seq)

    async def _resume(self, msg: Inbound, topic: Topic, subject: str, after_seq: int) -> None:
        """Replay what the client missed, then go live: no gap (live events are held until the replay
        is queued) and no duplicate (held events the replay already covered are dropped)."""
        client, hub, js, stream = self.client, self.hub, self.hub.js, self.settings.events_stream
        client.hold()
        upto = 0
        try:
            await hub.subscribe(client, topic)
            # Everything the hub routes from here on is held; the replay reads at least up to here.
            upto = (await js.stream_info(stream)).state.last_seq
            events = await replay(js, stream, subject, after_seq, upto, limit=self.settings.ws_replay_limit)
        except Exception as err:
            hub.unsubscribe(client, topic)
            client.release(topic, 2**63)  # drop what was held for this topic; pass on the rest
            if isinstance(err, TooFarBehind):
                raise ProtocolError(str(err), "data.after_seq") from err
            log.warning("replay of %s after %d failed: %s", topic, after_seq, err)
            raise ProtocolError(f"cannot replay from the event log right now ({type(err).__name__}); try again",
                                status=503) from err
        matching = [(seq, data, concrete) for seq, data in events
                    if (concrete := topic_of_stored(data)) is not None and covers(topic, concrete)]
        client.reply(message("subscribe", id=msg.id, topic=str(topic),
                             data={"subscribed": True, "seq": upto, "replayed": len(matching)}))
        timestamp = now_iso()
        try:
            for seq, data, concrete in matching:
                await client.put_replayed(seq, event_message(seq, str(concrete), data, timestamp))
            # The replay may have read past the hub (another consumer, maybe behind): hold until the hub has
            # routed up to `upto` too, so each of those events is held, and dropped, not sent again later.
            await hub.reached(upto, REPLAY_TIMEOUT_S)
        except TimeoutError:
            client.overflow()  # cannot promise "no duplicate" now: cut off, the client resumes by after_seq
        finally:
            client.release(topic, upto)
