"""The protobuf wire format, as far as lc0 weight files need it: read and write.

lc0 networks are ``pblczero.Net`` messages (``net.proto`` of the LCZero
project), usually gzipped. This module knows the wire format only
(varints, length-delimited fields, 32- and 64-bit fields: the protobuf
encoding guide); :mod:`conceptlab_chess.lc0.weights` knows which field
number means what. No protobuf runtime is needed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias, Union

from conceptlab.errors import CheckpointError

__all__ = ["Fields", "Fixed32", "Value", "encode_message", "parse_message"]

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

Value: TypeAlias = Union[int, bytes]
"""A field's raw value: an ``int`` for varints, ``bytes`` for everything else."""

Fields: TypeAlias = dict[int, list[Value]]
"""A message's fields by number, each with its values in file order."""


class Fixed32(int):
    """An ``int`` that :func:`encode_message` writes as a little-endian 32-bit field (``fixed32``)."""


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise CheckpointError("truncated protobuf message: a varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("malformed protobuf message: a varint longer than 10 bytes")


def _fields(data: bytes | memoryview) -> Iterator[tuple[int, Value]]:
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise CheckpointError("malformed protobuf message: field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
            yield number, value
            continue
        if wire == LENGTH_DELIMITED:
            size, pos = _varint(data, pos)
        elif wire == FIXED32:
            size = 4
        elif wire == FIXED64:
            size = 8
        else:
            raise CheckpointError(f"malformed protobuf message: wire type {wire} of field {number}")
        if pos + size > end:
            raise CheckpointError(f"truncated protobuf message: field {number} runs past the end")
        yield number, bytes(data[pos:pos + size])
        pos += size


def parse_message(data: bytes) -> Fields:
    """The fields of one message (nested messages stay as ``bytes``; parse them in turn).

    Raises:
        CheckpointError: The bytes are not a well-formed protobuf message.
    """
    fields: Fields = {}
    for number, value in _fields(memoryview(data)):
        fields.setdefault(number, []).append(value)
    return fields


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_message(fields: Mapping[int, Sequence[object]]) -> bytes:
    """The wire form of a message: ``int`` values as varints (:class:`Fixed32` as 32-bit), ``float`` as 32-bit floats,
    ``bytes`` and ``str`` as length-delimited fields, a nested mapping as a sub-message.

    The inverse of :func:`parse_message` up to field order (fields are written by number).
    """
    out = bytearray()
    for number in sorted(fields):
        for value in fields[number]:
            if isinstance(value, bool) or not isinstance(value, (int, float, bytes, str, Mapping)):
                raise TypeError(f"field {number}: cannot encode {type(value).__name__}")
            if isinstance(value, Fixed32):
                out += _encode_varint(number << 3 | FIXED32) + struct.pack("<I", value)
            elif isinstance(value, int):
                out += _encode_varint(number << 3 | VARINT) + _encode_varint(value)
            elif isinstance(value, float):
                out += _encode_varint(number << 3 | FIXED32) + struct.pack("<f", value)
            else:
                payload = (
                    encode_message(value) if isinstance(value, Mapping)
                    else value.encode() if isinstance(value, str) else value
                )
                out += _encode_varint(number << 3 | LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload
    return bytes(out)
