"""Who spoke when: stereo channel maps, built-in embedding clustering, optional pyannote.audio; roles."""

from diarization.metrics import ConversationMetrics, MetricOptions, conversation_metrics

__all__ = ["ConversationMetrics", "MetricOptions", "conversation_metrics"]
