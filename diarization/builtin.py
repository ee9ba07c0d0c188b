"""The built-in diarizer: Silero VAD → Resemblyzer window embeddings → clustering → speaker turns."""

from __future__ import annotations

import numpy as np

from diarization.embeddings import WindowEmbeddings, window_embeddings
from diarization.types import Diarization, DiarizationOptions, SpeakerTurn

RESOLUTION = 0.05  # seconds per timeline cell when turning window labels into turns


def speech_spans(audio: np.ndarray, options: DiarizationOptions) -> list[tuple[float, float]]:
    """Speech spans (seconds) by the Silero VAD that ships with faster-whisper; finer than ASR's."""
    from asr import find_speech

    return find_speech(audio, options.vad_threshold, options.min_silence_ms, options.speech_pad_ms)


def _centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    rows = []
    for k in range(labels.max() + 1):
        mean = vectors[labels == k].mean(axis=0)
        rows.append(mean / (np.linalg.norm(mean) or 1.0))
    return np.stack(rows)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Consecutive labels 0..k-1 in order of first appearance."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels])


def _refine(vectors: np.ndarray, labels: np.ndarray, rounds: int = 5) -> np.ndarray:
    """Move every window to its nearest centroid (k-means steps on the sphere); keeps empty clusters out."""
    for _ in range(rounds):
        nearest = np.argmax(vectors @ _centroids(vectors, labels).T, axis=1)
        nearest = _relabel(nearest)
        if np.array_equal(nearest, labels):
            break
        labels = nearest
    return labels


def _affinity(vectors: np.ndarray, keep: float) -> np.ndarray:
    """Cosine affinity, each row pruned to its `keep` share of nearest neighbours, made symmetric."""
    affinity = np.clip(vectors @ vectors.T, 0.0, 1.0)
    n = len(affinity)
    kept = max(2, int(np.ceil(keep * n)))
    threshold = np.sort(affinity, axis=1)[:, -kept][:, None]
    pruned = np.where(affinity >= threshold, affinity, 0.0)
    return (pruned + pruned.T) / 2


def _eigengap_count(eigenvalues: np.ndarray, max_speakers: int) -> int:
    """Number of speakers where the Laplacian's spectrum jumps most (the eigengap heuristic)."""
    gaps = np.diff(eigenvalues[: max_speakers + 1])
    return int(np.argmax(gaps)) + 1 if len(gaps) else 1


MAX_SPECTRAL_WINDOWS = 1500  # eigendecomposition is cubic: long calls cluster an even sample of windows


def cluster(vectors: np.ndarray, options: DiarizationOptions) -> np.ndarray:
    """Speaker label per embedding by spectral clustering; a fixed speaker count or counted by eigengap."""
    n = len(vectors)
    if n > MAX_SPECTRAL_WINDOWS:
        sample = np.linspace(0, n - 1, MAX_SPECTRAL_WINDOWS).astype(int)
        labels = _cluster_spectral(vectors[sample], options)
        nearest = np.argmax(vectors @ _centroids(vectors[sample], labels).T, axis=1)
        return _relabel(nearest)
    return _cluster_spectral(vectors, options)


def _cluster_spectral(vectors: np.ndarray, options: DiarizationOptions) -> np.ndarray:
    from scipy.linalg import eigh
    from sklearn.cluster import KMeans

    n = len(vectors)
    if n < 4:
        return np.zeros(n, dtype=int)
    affinity = _affinity(vectors, options.affinity_keep)
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    eigenvalues, eigenvectors = eigh(laplacian)
    if options.speakers > 0:
        count = min(options.speakers, n)
    else:
        count = _eigengap_count(eigenvalues, min(options.max_speakers, n - 1))
    if count == 1:
        labels = np.zeros(n, dtype=int)
    else:
        spectral = eigenvectors[:, :count]
        spectral = spectral / (np.linalg.norm(spectral, axis=1, keepdims=True) + 1e-9)
        labels = _relabel(KMeans(count, n_init=10, random_state=0).fit_predict(spectral))
    labels = _merge_tiny(vectors, labels, options)
    return _merge_same_voice(vectors, labels, options.same_voice_similarity)


def _merge_tiny(vectors: np.ndarray, labels: np.ndarray, options: DiarizationOptions) -> np.ndarray:
    """Fold clusters too small to be a speaker (under 2 windows) or beyond `max_speakers` into the nearest."""
    while True:
        counts = np.bincount(labels)
        limit = options.max_speakers if options.speakers <= 0 else options.speakers
        if len(counts) <= 1 or (counts.min() >= 2 and len(counts) <= limit):
            return labels
        smallest = int(np.argmin(counts))
        centroids = _centroids(vectors, labels)
        similarity = centroids @ centroids[smallest]
        similarity[smallest] = -np.inf
        labels = np.where(labels == smallest, int(np.argmax(similarity)), labels)
        labels = _refine(vectors, _relabel(labels))


def _merge_same_voice(vectors: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Merge clusters whose centroids are so alike that they are one voice."""
    while labels.max() > 0:
        centroids = _centroids(vectors, labels)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -np.inf)
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if similarity[a, b] < threshold:
            break
        labels = _relabel(np.where(labels == b, a, labels))
    return labels


def smooth_labels(windows: WindowEmbeddings, labels: np.ndarray, penalty: float) -> np.ndarray:
    """The most likely speaker per window when a change of speaker inside one stretch of speech costs
    `penalty` (in cosine similarity to the speakers' centroids): Viterbi over the windows in time order.

    Window labels flicker where two voices are alike (1 s of an operator's greeting given to the caller
    between two stretches given to the operator); a change between stretches (across a pause) is free.
    """
    if penalty <= 0 or len(labels) < 3 or labels.max() == 0:
        return labels
    similarity = windows.vectors @ _centroids(windows.vectors, labels).T  # windows × speakers
    stretch = windows.stretches
    cost = -similarity[0]
    back = np.zeros(similarity.shape, dtype=int)
    for i in range(1, len(labels)):
        switch = penalty if stretch[i] == stretch[i - 1] else 0.0
        moves = cost[:, None] + switch * (1 - np.eye(len(cost)))  # from (rows) → to (columns)
        back[i] = np.argmin(moves, axis=0)
        cost = moves[back[i], np.arange(len(cost))] - similarity[i]
    path = np.zeros(len(labels), dtype=int)
    path[-1] = int(np.argmin(cost))
    for i in range(len(labels) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return _relabel(path)  # a speaker whose every window was smoothed away is gone


def turns_from_windows(
    windows: WindowEmbeddings,
    labels: np.ndarray,
    spans: list[tuple[float, float]],
    min_turn: float,
) -> list[SpeakerTurn]:
    """Label each speech cell by the window centred nearest to it; fold turns shorter than `min_turn`."""
    if not len(windows):
        return []
    centres = (windows.starts + windows.ends) / 2  # ascending: windows are made in time order
    turns: list[SpeakerTurn] = []
    for start, end in spans:
        cells = np.arange(start, end, RESOLUTION) + RESOLUTION / 2
        # Only windows near the span can be nearest to its cells.
        low = max(0, int(np.searchsorted(centres, start)) - 1)
        high = min(len(centres), int(np.searchsorted(centres, end)) + 1)
        if high <= low:
            low, high = 0, len(centres)
        nearby = centres[low:high]
        nearest = labels[low:high][np.abs(cells[:, None] - nearby[None, :]).argmin(axis=1)]
        run_start = start
        for i in range(1, len(cells) + 1):
            if i == len(cells) or nearest[i] != nearest[i - 1]:
                run_end = end if i == len(cells) else start + i * RESOLUTION
                turns.append(SpeakerTurn(f"S{nearest[i - 1]}", round(run_start, 3), round(run_end, 3)))
                run_start = run_end
    return _fold_short(turns, min_turn)


def _fold_short(turns: list[SpeakerTurn], min_turn: float) -> list[SpeakerTurn]:
    """A turn shorter than `min_turn` joins the neighbour it touches; same-speaker neighbours merge."""
    out: list[SpeakerTurn] = []
    for i, turn in enumerate(turns):
        short = turn.end - turn.start < min_turn
        previous = out[-1] if out else None
        following = turns[i + 1] if i + 1 < len(turns) else None
        if short and previous and abs(previous.end - turn.start) < 1e-6:
            turn = SpeakerTurn(previous.speaker, turn.start, turn.end)
        elif short and following and abs(following.start - turn.end) < 1e-6:
            turn = SpeakerTurn(following.speaker, turn.start, turn.end)
        if previous and previous.speaker == turn.speaker and abs(previous.end - turn.start) < 1e-6:
            previous.end = turn.end
        else:
            out.append(SpeakerTurn(turn.speaker, turn.start, turn.end))
    return out


def diarize_builtin(audio: np.ndarray, options: DiarizationOptions | None = None) -> Diarization:
    """Who spoke when in a mono 16 kHz signal."""
    options = options or DiarizationOptions()
    spans = speech_spans(audio, options)
    windows = window_embeddings(audio, spans, options.window_seconds, options.step_seconds, options.device)
    if not len(windows):
        return Diarization(backend="builtin")
    labels = cluster(windows.vectors, options)
    labels = smooth_labels(windows, labels, options.switch_penalty)
    turns = turns_from_windows(windows, labels, spans, options.min_turn_seconds)
    centroids = _centroids(windows.vectors, labels)
    speakers = sorted({t.speaker for t in turns}, key=lambda s: int(s[1:]))
    return Diarization(
        turns=turns,
        speakers=speakers,
        centroids={s: [round(float(x), 6) for x in centroids[int(s[1:])]] for s in speakers},
        backend="builtin",
    )
