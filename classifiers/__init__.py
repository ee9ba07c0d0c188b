"""Judgements on transcribed calls: exclusions, transfers, purpose, script compliance, linking, PII, KPIs."""

__all__: list[str] = []
