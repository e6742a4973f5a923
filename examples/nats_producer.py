#!/usr/bin/env python3
"""Publish tradetrail events to a NATS JetStream stream, as `tradetrail ingest nats` consumes them.

    pip install nats-py
    python3 examples/nats_producer.py --url nats://127.0.0.1:4222 --subject audit.oms events.jsonl

Each line of the input (or stdin) is one event, as `tradetrail append` takes it. Before
publishing, each is checked here: a JSON object with `type`, `ts_event`, `source`,
`actor` and a UUID `event_id` (an event without one gets a fresh one, so that a
retried publish is deduplicated). It is published unchanged with the header
`Nats-Msg-Id: <event_id>`: the stream drops a repeat within its duplicate window, the
recorder for ever. The recorder validates every field; an event it refuses goes to the
dead-letter subject with the reason (docs/ingest.md). The Rust library's
`tradetrail_ingest::publish_event` does the recorder's full validation before it
publishes.
"""

import argparse
import asyncio
import json
import sys
import uuid

REQUIRED = ("type", "ts_event", "source", "actor")


def check(line_no, text):
    """The event as bytes to publish and its event_id, or raise ValueError naming the field."""
    try:
        event = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"line {line_no}: not JSON: {e}") from None
    if not isinstance(event, dict):
        raise ValueError(f"line {line_no}: not a JSON object")
    for field in REQUIRED:
        if field not in event:
            raise ValueError(f"line {line_no}: {field}: required")
    if "event_id" not in event:
        # A fresh id, so that a retry of this publish is recognised as the same event;
        # `type` stays first, as the recorder requires.
        event["event_id"] = str(uuid.uuid4())
        text = json.dumps(event, separators=(",", ":"))
    event_id = event["event_id"]
    try:
        if not isinstance(event_id, str) or str(uuid.UUID(event_id)) != event_id.lower():
            raise ValueError
    except ValueError:
        raise ValueError(f"line {line_no}: event_id: not a hyphenated UUID") from None
    return text.encode(), event_id


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="nats://127.0.0.1:4222", help="NATS servers, comma-separated")
    p.add_argument("--subject", default="audit.producer", help="subject to publish to")
    p.add_argument("file", nargs="?", help="JSON Lines of events (default: stdin)")
    args = p.parse_args()

    import nats  # nats-py

    lines = open(args.file, encoding="utf-8") if args.file else sys.stdin
    events = []
    bad = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(check(n, line.strip()))
        except ValueError as e:
            bad.append(str(e))
    if bad:
        print("\n".join(bad), file=sys.stderr)
        print(f"error: {len(bad)} bad line(s); nothing was published", file=sys.stderr)
        return 2

    nc = await nats.connect(servers=args.url.split(","))
    js = nc.jetstream()
    for body, event_id in events:
        ack = await js.publish(args.subject, body, headers={"Nats-Msg-Id": event_id})
        print(json.dumps({"event_id": event_id, "stream": ack.stream, "seq": ack.seq,
                          "duplicate": bool(ack.duplicate)}))
    await nc.drain()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
