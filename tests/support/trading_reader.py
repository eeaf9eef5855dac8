#!/usr/bin/python3
"""A reader of a node's market-data stream and standard channels, written with Debian's
python3-redis -- a Redis client none of us wrote -- as any other program would read them.

It joins a consumer group on the market stream (XREADGROUP, XACK), listens on every trading:*
channel, publishes one TRADE_SIGNAL of its own, and decodes every message it gets. It prints a
JSON summary on stdout; it exits 1 if anything it read could not be decoded as documented."""

import argparse
import json
import math
import sys
import time

import redis

TYPES_BY_CHANNEL = {
    "trading:signals": {"TRADE_SIGNAL"},
    "trading:orders": {"ORDER_UPDATE"},
    "trading:positions": {"POSITION_UPDATE"},
    "trading:alerts": {"PRICE_ALERT", "RISK_ALERT"},
    "trading:system": {"SYSTEM_EVENT", "HEARTBEAT"},
}


def decode_tick(fields):
    """A stream entry's fields as a tick; raises ValueError when they are not one."""
    tick = {
        "symbol": fields[b"symbol"].decode(),
        "price": float(fields[b"price"]),
        "bid": float(fields[b"bid"]),
        "ask": float(fields[b"ask"]),
        "volume": float(fields[b"volume"]),
        "at_us": int(fields[b"at_us"]),
    }
    if not tick["symbol"] or not math.isfinite(tick["price"]) or tick["price"] <= 0:
        raise ValueError("not a tick: %r" % fields)
    if tick["bid"] and tick["ask"] and tick["bid"] > tick["ask"]:
        raise ValueError("bid above ask: %r" % fields)
    return tick


def decode_message(channel, payload):
    """A channel message as documented in the README; raises ValueError when it is not one."""
    message = json.loads(payload)
    kind = message["type"]
    if kind not in TYPES_BY_CHANNEL.get(channel, set()):
        raise ValueError("%s on %s" % (kind, channel))
    if message["channel"] != channel or not isinstance(message["data"], dict):
        raise ValueError("bad envelope: %r" % message)
    if not message["timestamp"].endswith("Z") or not isinstance(message["at_us"], int):
        raise ValueError("bad time: %r" % message)
    data = message["data"]
    if kind == "ORDER_UPDATE":
        for field in ("order_id", "status", "symbol", "side", "quantity", "bot_id"):
            data[field]
    elif kind == "POSITION_UPDATE":
        for field in ("symbol", "quantity", "average_price", "realized_pnl"):
            data[field]
    elif kind == "HEARTBEAT":
        for field in ("node", "level", "uptime_s", "services"):
            data[field]
    elif kind == "SYSTEM_EVENT":
        data["event"]
    return message


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--stream", required=True, help="the stream's Redis key")
    parser.add_argument("--group", default="python-readers")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--signal-symbol", default="BTC-USD")
    args = parser.parse_args()

    client = redis.Redis.from_url(args.url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("trading:*")
    try:
        client.xgroup_create(args.stream, args.group, id="0", mkstream=True)
    except redis.ResponseError as err:
        if "BUSYGROUP" not in str(err):
            raise

    summary = {"ticks": 0, "acknowledged": 0, "messages": {}, "errors": [], "symbols": []}
    symbols = set()
    deadline = time.time() + args.seconds
    signal_sent = False
    while time.time() < deadline:
        entries = client.xreadgroup(args.group, "reader-1", {args.stream: ">"}, count=500,
                                    block=100)
        for _stream, items in entries or []:
            ids = []
            for entry_id, fields in items:
                try:
                    symbols.add(decode_tick(fields)["symbol"])
                    summary["ticks"] += 1
                except (KeyError, ValueError) as err:
                    summary["errors"].append("tick %s: %s" % (entry_id, err))
                ids.append(entry_id)
            if ids:
                summary["acknowledged"] += client.xack(args.stream, args.group, *ids)
        while True:
            message = pubsub.get_message(timeout=0.01)
            if message is None:
                break
            channel = message["channel"].decode()
            if b'"source": "python-reader"' in message["data"]:
                continue  # our own, below
            try:
                kind = decode_message(channel, message["data"])["type"]
                summary["messages"][kind] = summary["messages"].get(kind, 0) + 1
            except (KeyError, ValueError, TypeError) as err:
                summary["errors"].append("%s: %s" % (channel, err))
        if not signal_sent and time.time() > deadline - args.seconds / 2:
            client.publish("trading:signals", json.dumps({
                "type": "TRADE_SIGNAL", "channel": "trading:signals", "source": "python-reader",
                "timestamp": "2026-12-01T00:00:00.000000Z", "at_us": 0,
                "data": {"symbol": args.signal_symbol, "signal": "BUY", "confidence": 0.85}}))
            # One that is not a signal: the node must refuse it, and count it.
            client.publish("trading:signals", json.dumps({"type": "TRADE_SIGNAL", "data": {},
                                                          "source": "python-reader"}))
            signal_sent = True
    summary["pending"] = client.xpending(args.stream, args.group)["pending"]
    summary["symbols"] = sorted(symbols)
    print(json.dumps(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
