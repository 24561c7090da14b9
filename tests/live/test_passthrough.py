"""The encoded hand-over from aiortc's receiver to its track, on the queues aiortc uses: frames
arrive in order as packets, in the loop, and the worker thread always ends when the receiver
stops, even if it stops before the loop could take over the queue."""

from __future__ import annotations

import asyncio
import queue
import threading

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from zerotrip.live.passthrough import passthrough_worker

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
KEY, DELTA = b"\x10\x02\x00\x9d\x01\x2a", b"\x11\x00\x00"


def _start(input_q: queue.Queue, output_q: asyncio.Queue) -> threading.Thread:
    loop = asyncio.get_running_loop()
    thread = threading.Thread(target=passthrough_worker, args=(input_q, output_q, loop))
    thread.start()
    return thread


async def _drain(output_q: asyncio.Queue) -> list:
    items = []
    while True:
        item = await asyncio.wait_for(output_q.get(), 5)
        items.append(item)
        if item is None:
            return items


async def test_frames_go_straight_to_the_track_once_the_loop_takes_over():
    input_q: queue.Queue = queue.Queue()
    output_q: asyncio.Queue = asyncio.Queue()
    input_q.put((VP8, JitterFrame(data=KEY, timestamp=0)))  # before the thread starts
    thread = _start(input_q, output_q)
    for _ in range(100):  # until switch() has run in the loop
        await asyncio.sleep(0.01)
        if "put" in vars(input_q):
            break
    assert "put" in vars(input_q)
    for n in range(1, 50):
        input_q.put((VP8, JitterFrame(data=DELTA, timestamp=n * 3000)))
        assert output_q.qsize() == n + 1  # forwarded synchronously, no thread in between
    input_q.put(None)
    thread.join(2)
    assert not thread.is_alive()
    items = await _drain(output_q)
    packets = items[:-1]
    assert [p.pts for p in packets] == [n * 3000 for n in range(50)]
    assert packets[0].is_keyframe and not any(p.is_keyframe for p in packets[1:])
    assert {p.opaque.codec for p in packets} == {"vp8"} and input_q.empty()


async def test_a_receiver_stopped_before_the_take_over_still_ends_the_thread():
    input_q: queue.Queue = queue.Queue()
    output_q: asyncio.Queue = asyncio.Queue()
    thread = _start(input_q, output_q)
    # What aiortc's __stop_decoder does, without yielding to the loop: put the end, then join.
    input_q.put((VP8, JitterFrame(data=KEY, timestamp=0)))
    input_q.put((VP8, JitterFrame(data=DELTA, timestamp=3000)))
    input_q.put(None)
    thread.join(3)
    assert not thread.is_alive()
    items = await _drain(output_q)
    assert [p.pts for p in items[:-1]] == [0, 3000] and items[-1] is None
    await asyncio.sleep(0.05)
    assert output_q.empty() and "put" not in vars(input_q)  # the late switch did nothing
