"""Streaming detection: audio in chunks of any size, speech start/end events out.

:class:`StreamingDetector` = frame probabilities equal to a whole-file pass (the numpy
engine, :class:`~voicecnn.net.engine.FrameEngine`, or
:class:`~voicecnn.detection.frames.FrameProbStream`
for any frame model) + the same :class:`~voicecnn.detection.segments.SegmentRules` as offline
detection,
applied to a sliding window of frames. An event is emitted as soon as no later audio can change
it, so the events of a stream pair up into exactly the segments that :func:`voicecnn.detect`
returns for the same audio, for every way of cutting it into chunks. Most chunks switch
nothing: the tracker then only counts frames, so a chunk costs little more than its frames.

When is a boundary decided?

* a start: when its segment reaches ``min_speech_s`` (shorter ones are dropped), plus the model's
  lookahead;
* an end: after ``max(min_silence_s, 2 * pad_s)`` of silence (a shorter pause could still be
  bridged), plus the lookahead;
* a ``max_segment_s`` cut: when the segment has run ``2 * max_segment_s`` past the previous cut,
  or when it ends (the last cut of a segment balances the last two pieces).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import soxr

from voicecnn.detection.frames import DetectCfg, FrameModel, FrameProbStream, FrameStream
from voicecnn.detection.segments import Segment, SegmentRules
from voicecnn.errors import VoiceCNNError
from voicecnn.io.audio import prepare_audio
from voicecnn.net.engine import NumpyVad
from voicecnn.net.models.vad_spec import VadCnnCfg

_NEVER = 2**62  # a frame count no stream reaches
_SHORT = 64  # pushes of at most this many frames run the hysteresis in a Python loop

__all__ = [
    "SegmentTracker",
    "SpeechEvent",
    "StreamUpdate",
    "StreamingDetector",
    "events_to_segments",
]


@dataclass(frozen=True)
class SpeechEvent:
    """Speech starts or ends at ``time_s`` seconds from the start of the stream."""

    kind: Literal["start", "end"]
    time_s: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"event": self.kind, "time_s": round(self.time_s, 3)}


@dataclass
class StreamUpdate:
    """What one ``feed`` or ``flush`` decided.

    Attributes:
        events: Speech starts and ends, in time order.
        probs: Speech probabilities of the newly decided frames.
        first_frame: Index of ``probs[0]`` in the stream (frame t covers
            ``[t * frame_hop_s, (t + 1) * frame_hop_s)``).
    """

    events: list[SpeechEvent] = field(default_factory=list)
    probs: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    first_frame: int = 0


def events_to_segments(events: list[SpeechEvent]) -> list[Segment]:
    """Pair start/end events into segments (an unmatched start is left out)."""
    segs, start = [], None
    for ev in events:
        if ev.kind == "start":
            start = ev.time_s
        elif start is not None:
            segs.append(Segment(start, ev.time_s))
            start = None
    return segs


class SegmentTracker:
    """The offline post-processing rules, applied incrementally to frame probabilities.

    ``push`` probabilities as they are decided; the start/end events returned pair up into
    exactly ``rules.apply(all_probs, duration_s)``, however the probabilities are split.
    Memory holds only the frames of the segment in progress.

    Args:
        rules: The post-processing rules (see :meth:`voicecnn.DetectCfg.rules`).
    """

    def __init__(self, rules: SegmentRules) -> None:
        self.rules = rules
        self.reset()

    def reset(self) -> None:
        """Start a new stream at frame 0."""
        self._n = 0  # frames held: from self._anchor on
        # Their probabilities, kept only where they can matter (max_segment cuts).
        self._probs = np.zeros(0, np.float64)
        self._anchor = 0  # a silent, settled frame: nothing before it changes what follows
        self._run_starts: list[int] = []  # raw speech runs after the anchor (absolute frames)
        self._run_ends: list[int] = []
        self._on = False  # hysteresis state after the last frame
        self._wake = 0  # frame count at which decisions must be re-made (see _next_wake)
        self._start_sent = -1  # start frame of the last group whose start event was sent
        self._end_sent = -1  # end frame of the last group whose end event was sent
        self._cuts_sent = 0  # max_segment cuts sent for the group whose start was sent last
        self._final = False

    @property
    def buffered_frames(self) -> int:
        """Frames held because what they decide is not known yet."""
        return self._n

    def push(
        self, probs: npt.ArrayLike, *, final: bool = False, duration_s: float | None = None
    ) -> list[SpeechEvent]:
        """Add the next frame probabilities; return the events they decide.

        Args:
            probs: Probabilities of the frames that follow those pushed before.
            final: The stream ends after these frames: close everything.
            duration_s: With ``final``, the stream's duration (segments are clipped to it);
                default: the frames' total span.
        """
        if self._final:
            raise VoiceCNNError("the stream was flushed; call reset() to start a new one")
        rules = self.rules
        if not final and rules.max_len is None and type(probs) is np.ndarray and probs.ndim == 1:
            # Fast path: if no frame crosses the threshold that would switch the hysteresis,
            # no speech starts or stops; until the next deadline nothing changes but counts.
            # (Comparisons as Python floats, i.e. in float64 like the offline rules; a NaN
            # compares false, so it keeps the state, as in segments.hysteresis.)
            size, switch = probs.size, False
            if size <= _SHORT:
                if self._on:
                    off = rules.offset
                    for p in probs.tolist():
                        if p < off:
                            switch = True
                            break
                else:
                    onset = rules.onset
                    for p in probs.tolist():
                        if p >= onset:
                            switch = True
                            break
            elif self._on:
                switch = float(np.fmin.reduce(probs)) < rules.offset
            else:
                switch = float(np.fmax.reduce(probs)) >= rules.onset
            total = self._anchor + self._n + size
            if not switch and total < self._wake:
                if self._on:
                    self._run_ends[-1] = total  # the open run goes on
                    self._n += size
                elif self._run_starts:
                    self._n += size
                else:  # silence after settled frames: nothing to keep
                    self._anchor = total
                return []
        new = np.asarray(probs, np.float64).reshape(-1)
        transitions = self._add_runs(new)
        if rules.max_len is not None:
            self._probs = np.concatenate([self._probs, new])
        self._n += new.size
        self._final = final
        total = self._anchor + self._n
        if not final and not transitions and total < self._wake and rules.max_len is None:
            return []  # nothing new and no deadline reached: every decision stays as it was
        if final and duration_s is None:
            duration_s = total * self.rules.frame_hop_s
        events = self._decide(final=final, duration_s=duration_s or 0.0)
        self._wake = self._next_wake()
        return events

    def _add_runs(self, new: npt.NDArray[np.float64]) -> bool:
        """Continue the hysteresis over ``new`` frames and record their speech runs.

        Returns:
            Whether speech started or stopped within ``new`` (a run merely going on does not
            count).
        """
        offset = self._anchor + self._n  # absolute index of new[0]
        rules, starts, ends = self.rules, self._run_starts, self._run_ends
        was_on, n_runs = self._on, len(starts)
        if new.size <= _SHORT:  # a few frames: a loop beats a dozen numpy calls
            on, onset, off = was_on, rules.onset, rules.offset
            for i, p in enumerate(new.tolist()):  # as segments.hysteresis: NaN keeps the state
                if on:
                    if p < off:
                        on = False
                        ends[-1] = offset + i
                elif p >= onset:
                    on = True
                    starts.append(offset + i)
                    ends.append(offset + i)
            if on:
                ends[-1] = offset + new.size
            self._on = on
        else:
            s, e = rules.runs(new, start_on=was_on)
            s_list, e_list = (s + offset).tolist(), (e + offset).tolist()
            if was_on and s_list and s_list[0] == offset:  # the open run goes on
                ends[-1] = e_list[0]
                s_list, e_list = s_list[1:], e_list[1:]
            starts += s_list
            ends += e_list
            self._on = bool(ends) and ends[-1] == offset + new.size
        return len(starts) > n_runs or was_on != self._on

    def _groups(self) -> tuple[list[int], list[int]]:
        """The runs after the anchor with pauses shorter than ``min_silence`` filled, relative
        to the anchor (``SegmentRules.merge`` on a handful of runs, without numpy)."""
        a, gap = self._anchor, self.rules.min_silence
        gs: list[int] = []
        ge: list[int] = []
        for start, end in zip(self._run_starts, self._run_ends, strict=True):
            if gs and start - a - ge[-1] < gap:
                ge[-1] = end - a
            else:
                gs.append(start - a)
                ge.append(end - a)
        return gs, ge

    def _next_wake(self) -> int:
        """First frame count at which time alone (no speech starting or stopping) could change
        a decision: a group reaching ``min_speech``, settling after ``min_silence``, or moving
        out of reach of two pads. Until then a push without transitions decides nothing."""
        rules, n = self.rules, self._n
        wake = _NEVER  # silence: only a transition matters
        for start, end in zip(*self._groups(), strict=True):
            times = [start + rules.min_speech]
            if end != n:  # a group still growing has no settling times yet
                times += [end + rules.min_silence, end + 2 * rules.pad_frames + 1]
            wake = min([wake, *(t for t in times if t > n)])
        return wake if wake == _NEVER else self._anchor + wake

    def _decide(self, *, final: bool, duration_s: float) -> list[SpeechEvent]:
        """Send the boundaries no later audio can change, then drop settled frames.

        Works on groups (speech runs with short pauses filled), relative to ``self._anchor``:
        a group is *decided* once it cannot grow (a later group exists, or ``min_silence`` of
        quiet follows it); a kept group's end is *final* once it is decided and the start of the
        next kept segment, which its padding may meet, is known or cannot come within 2 pads.
        """
        rules, p, n, a = self.rules, self._probs, self._n, self._anchor
        if not self._run_starts:  # silence so far: nothing to decide, nothing to keep
            self._anchor += n
            self._n = 0
            self._probs = p[n:]
            return []
        gs, ge = self._groups()
        decided = [True] * len(gs)
        if not final:
            decided[-1] = ge[-1] < n and n - ge[-1] >= rules.min_silence
        kept = [end - start >= rules.min_speech for start, end in zip(gs, ge, strict=True)]
        events: list[SpeechEvent] = []
        if self._may_send(gs, ge, kept, decided, n, final=final):
            kept_idx = [k for k, keep in enumerate(kept) if keep]
            ks = np.array([gs[k] for k in kept_idx], np.int64)
            ke = np.array([ge[k] for k in kept_idx], np.int64)
            if rules.max_len is None:  # one piece per group
                piece_s, piece_e = ks, ke
                pieces = [[i] for i in range(len(kept_idx))]
            else:
                piece_s, piece_e = rules.split(ks, ke, p)
                owner = np.searchsorted(ks, piece_s, side="right") - 1
                pieces = [np.flatnonzero(owner == i).tolist() for i in range(len(kept_idx))]
            if not final:  # not clipped at the moving end: only final boundaries are used
                duration_s = (a + n) * rules.frame_hop_s + rules.pad_s + 1.0
            padded = rules.to_segments(piece_s + a, piece_e + a, duration_s)
            for k, idx in zip(kept_idx, pieces, strict=True):
                start, end = a + gs[k], a + ge[k]
                if start > self._start_sent:
                    events.append(SpeechEvent("start", padded[idx[0]].start))
                    self._start_sent, self._cuts_sent = start, 0
                if end <= self._end_sent:
                    continue
                # Every cut but a group's last is final; the last one waits for the group's end.
                n_final = len(idx) - 1 if decided[k] else max(len(idx) - 2, 0)
                for j in idx[1 + self._cuts_sent : 1 + n_final]:
                    events += [SpeechEvent("end", padded[j - 1].end),
                               SpeechEvent("start", padded[j].start)]
                self._cuts_sent = max(self._cuts_sent, n_final)
                if decided[k] and (final or self._next_known(k, kept, decided, gs, ge, n)):
                    events.append(SpeechEvent("end", padded[idx[-1]].end))
                    self._end_sent = end
        self._drop_settled(gs, ge, kept, decided, n, final=final)
        return events

    def _may_send(
        self,
        gs: list[int],
        ge: list[int],
        kept: list[bool],
        decided: list[bool],
        n: int,
        *,
        final: bool,
    ) -> bool:
        """Whether ``_decide`` has an event to send: the conditions of its loop, checked
        without building segments (most transitions, pauses within speech, send nothing)."""
        a = self._anchor
        for k, keep in enumerate(kept):
            if not keep:
                continue
            if a + gs[k] > self._start_sent or self.rules.max_len is not None:
                return True
            if a + ge[k] <= self._end_sent:
                continue
            if decided[k] and (final or self._next_known(k, kept, decided, gs, ge, n)):
                return True
        return False

    def _next_known(
        self, k: int, kept: list[bool], decided: list[bool], gs: list[int], ge: list[int], n: int
    ) -> bool:
        """Whether the padding of group ``k``'s end can no longer meet a later segment."""
        if any(kept[k + 1 :]):
            return True
        # One frame past two pads: at exactly two pads the offline midpoint still applies.
        reach = ge[k] + 2 * self.rules.pad_frames + 1
        near = any(s < reach and not d for s, d in zip(gs[k + 1 :], decided[k + 1 :], strict=True))
        return n >= reach and not near

    def _drop_settled(
        self,
        gs: list[int],
        ge: list[int],
        kept: list[bool],
        decided: list[bool],
        n: int,
        *,
        final: bool,
    ) -> None:
        """Move the anchor past groups that are done; the anchor frame is always silent."""
        settled = n
        for k in range(len(gs)):
            done = decided[k] and (not kept[k] or self._anchor + ge[k] <= self._end_sent)
            if not done:
                settled = ge[k - 1] if k else 0
                break
        if final:
            settled = n
        if settled:
            self._anchor += settled
            self._n -= settled
            self._probs = self._probs[settled:]
            gone = bisect.bisect_left(self._run_starts, self._anchor)
            del self._run_starts[:gone], self._run_ends[:gone]


class StreamingDetector:
    """Detect speech in a stream, chunk by chunk.

    Args:
        model: A frame model in eval mode (e.g. :func:`voicecnn.load_model`).
        cfg: Post-processing settings, as for offline detection.
        sample_rate: Rate of the audio that will be fed; resampled to the model's rate in-stream.
        engine: ``"incremental"`` computes each frame once with the numpy engine (a model
            from :func:`voicecnn.load_model`, or a torch :class:`~voicecnn.VadCnn`, whose
            weights are copied); ``"torch"`` re-runs a torch model over each chunk with its
            context (:class:`FrameProbStream`, any frame model). Both equal offline output.

    Example::

        det = StreamingDetector(model, sample_rate=48000)
        for chunk in chunks:                 # any sizes, (S,) or (S, C), int or float
            for event in det.feed(chunk).events:
                print(event.kind, event.time_s)
        det.flush()                          # end of stream: remaining events
        det.reset()                          # ready for a new stream
    """

    def __init__(
        self,
        model: FrameModel,
        cfg: DetectCfg = DetectCfg(),
        *,
        sample_rate: int | None = None,
        engine: Literal["incremental", "torch"] = "incremental",
    ) -> None:
        self.model = model
        self.cfg = cfg
        self.sample_rate = model.sample_rate if sample_rate is None else int(sample_rate)
        if self.sample_rate <= 0:
            raise VoiceCNNError(f"sample_rate must be positive, got {sample_rate}")
        self._frames: FrameStream
        if callable(getattr(model, "stream", None)):
            if engine == "torch":
                raise VoiceCNNError("engine='torch' needs a torch model (load_model(device=...))")
            self._frames = model.stream()  # type: ignore[attr-defined]
        elif engine == "incremental" and isinstance(getattr(model, "cfg", None), VadCnnCfg):
            self._frames = NumpyVad.from_module(model).stream()
        else:
            self._frames = FrameProbStream(model, chunk_s=cfg.chunk_s)
        self._tracker = SegmentTracker(cfg.rules(model.frame_hop_s))
        self.reset()

    @property
    def duration_s(self) -> float:
        """Seconds of audio fed since the last reset (at the model's rate)."""
        return self._frames.n_samples / self.model.sample_rate

    @property
    def lookahead_s(self) -> float:
        """Audio after a frame that is needed before its probability is known (in seconds)."""
        return self.model.context_frames[1] * self.model.frame_hop_s

    def reset(self) -> None:
        """Forget the stream: the next ``feed`` starts a new one at time 0."""
        self._frames.reset()
        self._resampler: Any = None
        if self.sample_rate != self.model.sample_rate:
            self._resampler = soxr.ResampleStream(
                self.sample_rate, self.model.sample_rate, 1, dtype="float32", quality="HQ"
            )
        self._tracker.reset()
        self._flushed = False

    def feed(self, chunk: npt.ArrayLike) -> StreamUpdate:
        """Add audio (any length; (S,) or (S, C); float, or int scaled to [-1, 1))."""
        if self._flushed:
            raise VoiceCNNError("the stream was flushed; call reset() to start a new one")
        x = np.asarray(chunk)
        if x.size == 0:
            return StreamUpdate(first_frame=self._frames.next_frame)
        if (
            x.ndim == 1
            and x.dtype.char in "fd"
            and self._resampler is None
            and math.isfinite(x.dot(x))  # else prepare_audio says what is wrong
        ):
            mono = x  # mono float at the model's rate: nothing to convert
        else:
            mono = prepare_audio(x, self.sample_rate, target_rate=self.sample_rate)
            if self._resampler is not None:
                mono = self._resampler.resample_chunk(mono, last=False)
        first = self._frames.next_frame
        probs = self._frames.push(mono)
        return StreamUpdate(self._tracker.push(probs), probs, first)

    def flush(self) -> StreamUpdate:
        """End of stream: decide the remaining frames and close an open segment."""
        if self._flushed:
            return StreamUpdate(first_frame=self._frames.next_frame)
        tail = np.zeros(0, np.float32)
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(tail, last=True)
        first = self._frames.next_frame
        probs = np.concatenate([self._frames.push(tail), self._frames.flush()])
        self._flushed = True
        events = self._tracker.push(probs, final=True, duration_s=self.duration_s)
        return StreamUpdate(events, probs, first)

