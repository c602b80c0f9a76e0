"""Provider webhook deliveries as the providers send them: headers, bytes and signatures.

- GitHub: `X-GitHub-Event`, `X-GitHub-Delivery` (GUID, reused on redelivery),
  `X-GitHub-Hook-ID`, `User-Agent: GitHub-Hookshot/…`, `X-Hub-Signature-256` (sha256 HMAC
  of the raw body with the webhook secret); JSON or form (`payload=`) bodies [C GH-9, GH-10].
- Meta / Instagram: ``{"object", "entry": [{"id", "time", "changes"}]}`` signed with the app
  secret in `X-Hub-Signature-256`, over the escaped-unicode JSON (``\\uXXXX``) [S META-S8,
  META-S9].
- YouTube WebSub: an Atom feed (`yt:videoId`, `yt:channelId`) or an `at:deleted-entry`
  tombstone, `X-Hub-Signature: sha1=…` with the subscription's `hub.secret` [C YT-1, WS-1;
  S YT-S1].

`deliver()` sends one with httpx. The simulator's admin API exposes the same builders
(`POST /_admin/webhooks/send`), so a test or `make run` can have "the provider" call a
running api.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx


@dataclass(frozen=True)
class WebhookDelivery:
    headers: dict[str, str]
    body: bytes
    #: The provider's delivery id where it sends one (GitHub), else "".
    delivery_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def tampered(self) -> WebhookDelivery:
        """The same headers over a body changed by one byte (signature no longer matches)."""
        flipped = bytes([self.body[0] ^ 0x01]) + self.body[1:]
        return WebhookDelivery(self.headers, flipped, self.delivery_id)


def hub_signature(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


def github(
    secret: str,
    login: str,
    *,
    event: str = "push",
    delivery_id: str | None = None,
    form: bool = False,
    repository: str = "demo",
    padding: int = 0,
) -> WebhookDelivery:
    """A `push` (or `ping`) to ``login``'s repository, signed with ``secret``."""
    delivery_id = delivery_id or str(uuid.uuid4())
    owner = {"login": login, "id": abs(hash(login)) % 10**8, "type": "User"}
    repo = {"id": 1296269, "name": repository, "full_name": f"{login}/{repository}", "owner": owner}
    payload: dict[str, Any]
    if event == "ping":
        payload = {
            "zen": "Keep it logically awesome.",
            "hook_id": 1,
            "hook": {"type": "Repository"},
        }
        payload["repository"] = repo
    else:
        sha = hashlib.sha1(delivery_id.encode()).hexdigest()
        payload = {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"https://github.com/{login}/{repository}/compare/{sha[:12]}",
            "commits": [
                {
                    "id": sha,
                    "message": "Update README" + " " * padding,
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "url": f"https://github.com/{login}/{repository}/commit/{sha}",
                    "author": {"name": login, "email": f"{login}@example.com"},
                    "committer": {"name": login, "email": f"{login}@example.com"},
                    "added": [],
                    "modified": ["README.md"],
                    "removed": [],
                    "distinct": True,
                }
            ],
            "head_commit": None,
            "pusher": {"name": login, "email": f"{login}@example.com"},
            "repository": repo,
            "sender": owner,
        }
    raw = json.dumps(payload, separators=(",", ":"))
    if form:
        body = urlencode({"payload": raw}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = raw.encode()
        content_type = "application/json"
    headers = {
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/8e03811",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": str(repo["id"]),
        "X-Hub-Signature-256": hub_signature(secret, body),
    }
    return WebhookDelivery(headers, body, delivery_id)


def meta(
    app_secret: str,
    object_ids: list[str],
    *,
    kind: str = "instagram",
    field_name: str = "comments",
    text: str = "Nice photo ✨",
) -> WebhookDelivery:
    """One notification batching an entry per object id, signed over escaped-unicode JSON."""
    now = int(time.time())
    payload = {
        "object": kind,
        "entry": [
            {
                "id": object_id,
                "time": now,
                "changes": [
                    {"field": field_name, "value": {"id": str(uuid.uuid4().int)[:17], "text": text}}
                ],
            }
            for object_id in object_ids
        ],
    }
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": hub_signature(app_secret, body),
        "X-Hub-Signature": hub_signature(app_secret, body, "sha1"),
    }
    return WebhookDelivery(headers, body)


ATOM_FEED = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns="http://www.w3.org/2005/Atom">
 <link rel="hub" href="https://pubsubhubbub.appspot.com"/>
 <link rel="self" href="https://www.youtube.com/xml/feeds/videos.xml?channel_id={channel}"/>
 <title>YouTube video feed</title>
 <updated>{now}</updated>
 <entry>
  <id>yt:video:{video}</id>
  <yt:videoId>{video}</yt:videoId>
  <yt:channelId>{channel}</yt:channelId>
  <title>New upload</title>
  <link rel="alternate" href="http://www.youtube.com/watch?v={video}"/>
  <author>
   <name>Channel</name>
   <uri>http://www.youtube.com/channel/{channel}</uri>
  </author>
  <published>{now}</published>
  <updated>{now}</updated>
 </entry>
</feed>
"""

TOMBSTONE_FEED = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns="http://www.w3.org/2005/Atom">
 <at:deleted-entry ref="yt:video:{video}" when="{now}">
  <link href="https://www.youtube.com/watch?v={video}"/>
  <at:by>
   <name>Channel</name>
   <uri>https://www.youtube.com/channel/{channel}</uri>
  </at:by>
 </at:deleted-entry>
</feed>
"""


def youtube(
    secret: str, channel_id: str, *, video_id: str | None = None, deleted: bool = False
) -> WebhookDelivery:
    """A WebSub notification for ``channel_id`` (an upload, or a deletion tombstone)."""
    video_id = video_id or uuid.uuid4().hex[:11]
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    template = TOMBSTONE_FEED if deleted else ATOM_FEED
    body = template.format(channel=channel_id, video=video_id, now=now).encode()
    headers = {
        "Content-Type": "application/atom+xml",
        "User-Agent": "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)",
        "X-Hub-Signature": hub_signature(secret, body, "sha1"),
    }
    return WebhookDelivery(headers, body)


def build(spec: dict[str, Any]) -> WebhookDelivery:
    """A delivery from an admin request: ``{provider, secret, account | accounts, ...}``."""
    provider = spec.get("provider")
    secret = str(spec.get("secret") or "")
    if provider == "github":
        return github(
            secret,
            str(spec["account"]),
            event=str(spec.get("event", "push")),
            delivery_id=spec.get("deliveryId"),
            form=bool(spec.get("form", False)),
        )
    if provider == "meta":
        return meta(
            secret, [str(a) for a in spec["accounts"]], kind=str(spec.get("kind", "instagram"))
        )
    if provider == "youtube":
        return youtube(secret, str(spec["account"]), deleted=bool(spec.get("deleted", False)))
    raise ValueError("provider must be github, meta or youtube")


def deliver(
    url: str,
    delivery: WebhookDelivery,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST ``delivery`` to ``url`` exactly as built (same bytes, same headers)."""
    if client is not None:
        return client.post(url, content=delivery.body, headers=delivery.headers, timeout=timeout)
    return httpx.post(url, content=delivery.body, headers=delivery.headers, timeout=timeout)
