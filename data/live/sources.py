"""Clients that ask a switch for its calls in progress, each by the switch's own documented interface.

- Kamailio: the dialog module's ``dlg.list`` over JSON-RPC (jsonrpcs + xhttp, docs/switches/kamailio.cfg).
- Asterisk: the Manager Interface (AMI): ``Login``, then ``CoreShowChannels``, whose answer is an event
  list (``CoreShowChannel`` events ended by ``CoreShowChannelsComplete``).
- FreeSWITCH: the event socket (ESL): ``auth``, then ``api show calls as json``.

Each returns ``LiveCall`` rows or raises ``SwitchUnreachable`` (nothing answers, bad credentials, an answer
that is not the protocol's): the poller then marks the switch unreachable.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 2.0
# Kamailio dialog states: 1 unconfirmed, 2 early, 3 confirmed (not ACKed), 4 confirmed, 5 deleted.
KAMAILIO_ANSWERED_STATES = (3, 4)
KAMAILIO_ENDED_STATE = 5
ASTERISK_UP = "6"  # ChannelState of an answered channel (AST_STATE_UP)


class SwitchUnreachable(RuntimeError):
    """The switch did not answer its live interface, or answered something else."""


@dataclass(frozen=True)
class LiveCall:
    key: str
    started_at: datetime | None
    answered: bool
    caller: str
    destination: str
    accountcode: str


def _user_of(uri: str) -> str:
    """The user part of a SIP URI (``sip:34911234567@host`` -> ``34911234567``)."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0] if "@" in rest else ""


def _epoch(value) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds > 0 else None


# ---------------------------------------------------------------------------------------------- Kamailio


def kamailio_calls(url: str, timeout: float = TIMEOUT_SECONDS) -> list[LiveCall]:
    """``dlg.list`` at ``url`` (``http://host:port/RPC``). The dialog variables set by docs/switches/kamailio.cfg
    give the dialled number and accountcode; without them, the To and From URIs do."""
    body = json.dumps({"jsonrpc": "2.0", "method": "dlg.list", "id": 1}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise SwitchUnreachable(f"Kamailio JSON-RPC at {url}: {exc}") from exc
    if not isinstance(answer, dict) or "error" in answer:
        raise SwitchUnreachable(
            f"Kamailio JSON-RPC at {url}: {answer.get('error') if isinstance(answer, dict) else answer}"
        )
    calls = []
    for dialog in answer.get("result") or []:
        if dialog.get("state") == KAMAILIO_ENDED_STATE:
            continue  # ended, kept by Kamailio for a moment
        variables = {k: v for item in dialog.get("variables") or [] for k, v in item.items()}
        calls.append(
            LiveCall(
                key=str(dialog.get("call-id") or f"{dialog.get('h_entry')}:{dialog.get('h_id')}"),
                started_at=_epoch(variables.get("invite_time") or dialog.get("init_ts")),
                answered=dialog.get("state") in KAMAILIO_ANSWERED_STATES,
                caller=str(variables.get("src_user") or _user_of(str(dialog.get("from_uri") or ""))),
                destination=str(variables.get("dst_user") or _user_of(str(dialog.get("to_uri") or ""))),
                accountcode=str(variables.get("accountcode") or ""),
            )
        )
    return calls


# ---------------------------------------------------------------------------------------------- Asterisk AMI


def _read_headers(stream, closed: str) -> dict[str, str]:
    """``Key: Value`` lines ended by an empty line (AMI messages and ESL headers are both written so); blank
    lines before the first header are skipped. ``closed`` says which connection ended early."""
    headers: dict[str, str] = {}
    while True:
        line = stream.readline()
        if not line:
            raise SwitchUnreachable(closed)
        line = line.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if headers:
                return headers
            continue
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()


def _read_ami_message(stream) -> dict[str, str]:
    """One AMI message: ``Key: Value`` lines ended by an empty line."""
    return _read_headers(stream, "Asterisk AMI closed the connection")


def ami_calls(address: str, username: str, secret: str, timeout: float = TIMEOUT_SECONDS) -> list[LiveCall]:
    """``CoreShowChannels`` on the AMI at ``address`` (``host:port``, 5038 by default). Both legs of a
    bridged call share a ``Linkedid``: one call per Linkedid, described by its first channel."""
    host, port = _host_port(address, 5038)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn, conn.makefile("rwb") as stream:
            banner = stream.readline().decode("utf-8", "replace")
            if not banner.startswith("Asterisk Call Manager"):
                raise SwitchUnreachable(f"Asterisk AMI at {address}: not an AMI banner: {banner.strip()!r}")
            _ami_send(stream, {"Action": "Login", "Username": username, "Secret": secret, "Events": "off"}, "1")
            login = _ami_response(stream, "1")
            if login.get("Response") != "Success":
                raise SwitchUnreachable(f"Asterisk AMI at {address}: login refused: {login.get('Message', '')}")
            _ami_send(stream, {"Action": "CoreShowChannels"}, "2")
            listing = _ami_response(stream, "2")
            if listing.get("Response") != "Success":
                raise SwitchUnreachable(
                    f"Asterisk AMI at {address}: {listing.get('Message', 'CoreShowChannels failed')}"
                )
            channels = []
            while True:
                event = _read_ami_message(stream)
                if event.get("ActionID", "2") != "2":
                    continue
                if event.get("Event") == "CoreShowChannel":
                    channels.append(event)
                elif event.get("Event") == "CoreShowChannelsComplete":
                    break
            _ami_send(stream, {"Action": "Logoff"}, "3")
    except OSError as exc:
        raise SwitchUnreachable(f"Asterisk AMI at {address}: {exc}") from exc
    now = datetime.now(timezone.utc)
    calls: dict[str, LiveCall] = {}
    for channel in channels:
        linked = channel.get("Linkedid") or channel.get("Uniqueid") or channel.get("Channel", "")
        answered = channel.get("ChannelState") == ASTERISK_UP
        if linked in calls:
            if answered and not calls[linked].answered:
                first = calls[linked]
                calls[linked] = LiveCall(
                    first.key, first.started_at, True, first.caller, first.destination, first.accountcode
                )
            continue
        calls[linked] = LiveCall(
            key=linked,
            started_at=now - _hms(channel.get("Duration", "")),
            answered=answered,
            caller=channel.get("CallerIDNum", ""),
            destination=channel.get("Exten", ""),
            accountcode=channel.get("AccountCode", ""),
        )
    return list(calls.values())


def _ami_send(stream, fields: dict[str, str], action_id: str) -> None:
    lines = [f"{k}: {v}" for k, v in fields.items()] + [f"ActionID: {action_id}"]
    stream.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    stream.flush()


def _ami_response(stream, action_id: str) -> dict[str, str]:
    while True:
        message = _read_ami_message(stream)
        if "Response" in message and message.get("ActionID", action_id) == action_id:
            return message


def _hms(text: str) -> timedelta:
    try:
        hours, minutes, seconds = (int(part) for part in text.split(":"))
    except ValueError:
        return timedelta(0)
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(address if "//" in address else f"//{address}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


# ---------------------------------------------------------------------------------------------- FreeSWITCH ESL


def _read_esl_message(stream) -> tuple[dict[str, str], str]:
    """One ESL message: headers, an empty line, then ``Content-Length`` bytes of body if given."""
    headers = _read_headers(stream, "FreeSWITCH event socket closed the connection")
    length = int(headers.get("Content-Length") or 0)
    body = stream.read(length).decode("utf-8", "replace") if length else ""
    return headers, body


def esl_calls(address: str, password: str, timeout: float = TIMEOUT_SECONDS) -> list[LiveCall]:
    """``show calls as json`` on the event socket at ``address`` (``host:port``, 8021 by default): one row
    per call, its A leg's columns first (``uuid``, ``created_epoch``, ``cid_num``, ``dest``, ``callstate``)."""
    host, port = _host_port(address, 8021)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn, conn.makefile("rwb") as stream:
            headers, _ = _read_esl_message(stream)
            if headers.get("Content-Type") != "auth/request":
                raise SwitchUnreachable(f"FreeSWITCH at {address}: no auth/request, got {headers}")
            stream.write(f"auth {password}\n\n".encode())
            stream.flush()
            headers, _ = _read_esl_message(stream)
            if not headers.get("Reply-Text", "").startswith("+OK"):
                raise SwitchUnreachable(f"FreeSWITCH at {address}: auth refused: {headers.get('Reply-Text', '')}")
            stream.write(b"api show calls as json\n\n")
            stream.flush()
            headers, body = _read_esl_message(stream)
            stream.write(b"exit\n\n")
            stream.flush()
    except OSError as exc:
        raise SwitchUnreachable(f"FreeSWITCH at {address}: {exc}") from exc
    if body.startswith("-ERR"):
        raise SwitchUnreachable(f"FreeSWITCH at {address}: {body.strip()}")
    try:
        listing = json.loads(body)
    except ValueError as exc:
        raise SwitchUnreachable(f"FreeSWITCH at {address}: not JSON: {body[:200]!r}") from exc
    return [
        LiveCall(
            key=str(row.get("uuid") or row.get("call_uuid") or ""),
            started_at=_epoch(row.get("created_epoch")),
            answered=str(row.get("callstate", "")).upper() in ("ACTIVE", "HELD"),
            caller=str(row.get("cid_num") or ""),
            destination=str(row.get("dest") or ""),
            accountcode=str(row.get("accountcode") or ""),
        )
        for row in listing.get("rows") or []
    ]


def poll(kind: str, address: str, username: str = "", secret: str = "") -> list[LiveCall]:
    if kind == "kamailio":
        return kamailio_calls(address)
    if kind == "asterisk":
        return ami_calls(address, username, secret)
    if kind == "freeswitch":
        return esl_calls(address, secret)
    raise ValueError(f"live source {kind!r}: use kamailio, asterisk or freeswitch")
