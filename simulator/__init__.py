"""A Russian support-desk simulator: calls with real synthesised speech, PBX records and ground truth.

`simulate(out_dir)` writes MixMonitor recordings, Master.csv, queue_log, a helpdesk incident export,
a purpose-labelled training file (separate calls) and ground_truth.json. Deterministic for a seed;
needs Festival (festvox-ru) and sox only when run.
"""

from simulator.simulate import SimulationSummary, simulate

__all__ = ["SimulationSummary", "simulate"]
