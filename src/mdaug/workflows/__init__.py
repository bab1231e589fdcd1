"""Orchestration: the jobs that call the library in order (the pipeline, the utility study, the family benchmark,
the simulator tour) and the time estimates of their steps. The library never imports this package."""
