"""Analysis of lab results: pure pandas from a results folder to frames, findings and a report.

load     results/<run_id>/ -> RunData (tidy tables, failures, points), schema checked
stats    repetitions -> medians with a min-max interval (see README.md)
findings sentences whose every number comes from the data; blocking verdicts
figures  matplotlib (Agg) figures embedded as base64 PNG
report   one self-contained HTML file per run (Jinja2)
compare  two runs side by side, with the change judged against each run's own noise
"""
